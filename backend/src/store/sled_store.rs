//! The sled 0.34 implementation of the storage traits.
//!
//! Trees and keys:
//! - `meta`: `schema_version` (u32 BE), `setup_token` (JSON)
//! - `users`: user id → User (JSON); `usernames`: lower-case username → user id
//! - `sessions`: SHA-256(cookie token) → Session (JSON); `user_sessions`: user id, 0, session key → ()
//! - `passes`: user id → temporary access pass (hash and expiry)
//! - `audit`, `signins`: (unix millis BE, sequence BE) → entry (JSON); newest is last
//! - `throttle`: lower-case username → AccountThrottle (JSON)
//!
//! Writes are buffered by sled; callers call [`SledStore::flush`] before they
//! acknowledge a change, and multi-tree changes run in one transaction.

use std::path::Path;

use proofup_shared::api::{AuditEntry, Page, SignInLogEntry};
use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use time::OffsetDateTime;

use super::*;

pub const SCHEMA_VERSION: u32 = 1;
const SCHEMA_KEY: &[u8] = b"schema_version";
const SETUP_KEY: &[u8] = b"setup_token";
const SETUP_DONE_KEY: &[u8] = b"setup_done";

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the data directory {dir} is in use by another Proofup process (or could not be locked): {source}")]
    Locked { dir: String, source: sled::Error },
    #[error("could not open the store in {dir}: {source}. If the files are damaged, restore the data directory from a backup.")]
    Other { dir: String, source: sled::Error },
    #[error("the data directory was written by a newer Proofup (schema version {found}); this binary understands up to version {SCHEMA_VERSION}. Run the newer binary, or restore a backup made by this version.")]
    NewerSchema { found: u32 },
    #[error("the data directory has an unreadable schema version record")]
    BadSchema,
}

pub struct SledStore {
    db: sled::Db,
    meta: sled::Tree,
    users: sled::Tree,
    usernames: sled::Tree,
    sessions: sled::Tree,
    user_sessions: sled::Tree,
    passes: sled::Tree,
    audit: sled::Tree,
    signins: sled::Tree,
    throttle: sled::Tree,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn enc<T: Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(backend)
}

fn dec<T: DeserializeOwned>(b: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(b).map_err(backend)
}

fn tx_enc<T: Serialize>(v: &T) -> Result<Vec<u8>, ConflictableTransactionError<StoreError>> {
    serde_json::to_vec(v).map_err(|e| ConflictableTransactionError::Abort(backend(e)))
}

fn tx_err(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => backend(e),
    }
}

/// Log keys sort by time, then by a sequence number from sled.
fn log_key(at: OffsetDateTime, seq: u64) -> [u8; 16] {
    let ms = (at.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&ms.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn user_prefix(user_id: &str) -> Vec<u8> {
    let mut k = user_id.as_bytes().to_vec();
    k.push(0);
    k
}

fn user_session_key(user_id: &str, session: &[u8; 32]) -> Vec<u8> {
    let mut k = user_prefix(user_id);
    k.extend_from_slice(session);
    k
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

impl SledStore {
    /// Opens (or creates) the store in `dir` with an explicit page-cache budget.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Self, OpenError> {
        let d = dir.display().to_string();
        let db = sled::Config::new().path(dir).cache_capacity(cache_bytes).open().map_err(|source| {
            let text = source.to_string();
            if text.contains("lock") || text.contains("WouldBlock") || text.contains("Resource temporarily unavailable")
            {
                OpenError::Locked { dir: d.clone(), source }
            } else {
                OpenError::Other { dir: d.clone(), source }
            }
        })?;
        Self::from_db(db, &d)
    }

    /// A store in a fresh temporary directory that sled deletes on drop (tests).
    pub fn temporary() -> Result<Self, OpenError> {
        let db = sled::Config::new()
            .temporary(true)
            .cache_capacity(16 << 20)
            .open()
            .map_err(|source| OpenError::Other { dir: "<temporary>".into(), source })?;
        Self::from_db(db, "<temporary>")
    }

    fn from_db(db: sled::Db, d: &str) -> Result<Self, OpenError> {
        let o = |source| OpenError::Other { dir: d.to_owned(), source };
        let meta = db.open_tree("meta").map_err(o)?;
        match meta.get(SCHEMA_KEY).map_err(o)? {
            None => {
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes()).map_err(o)?;
                db.flush().map_err(o)?;
            }
            Some(v) => {
                let bytes: [u8; 4] = v.as_ref().try_into().map_err(|_| OpenError::BadSchema)?;
                let found = u32::from_be_bytes(bytes);
                if found > SCHEMA_VERSION {
                    return Err(OpenError::NewerSchema { found });
                }
            }
        }
        Ok(Self {
            users: db.open_tree("users").map_err(o)?,
            usernames: db.open_tree("usernames").map_err(o)?,
            sessions: db.open_tree("sessions").map_err(o)?,
            user_sessions: db.open_tree("user_sessions").map_err(o)?,
            passes: db.open_tree("passes").map_err(o)?,
            audit: db.open_tree("audit").map_err(o)?,
            signins: db.open_tree("signins").map_err(o)?,
            throttle: db.open_tree("throttle").map_err(o)?,
            meta,
            db,
        })
    }

    /// Makes every write so far durable. Called before a change is acknowledged.
    pub fn flush(&self) -> StoreResult<()> {
        self.db.flush().map(|_| ()).map_err(backend)
    }

    /// Writes `version` as the schema record (tests of the refuse-newer rule).
    pub fn force_schema_version(&self, version: u32) -> StoreResult<()> {
        self.meta.insert(SCHEMA_KEY, &version.to_be_bytes()).map_err(backend)?;
        self.flush()
    }

    /// A cheap read that proves the store answers.
    pub fn ping(&self) -> StoreResult<()> {
        self.meta.get(SCHEMA_KEY).map(|_| ()).map_err(backend)
    }

    /// Deletes sessions for which `expired` is true; returns how many.
    pub fn sweep_sessions(&self, expired: &dyn Fn(&Session) -> bool) -> StoreResult<u64> {
        let mut n = 0;
        for kv in self.sessions.iter() {
            let (k, v) = kv.map_err(backend)?;
            let gone = dec::<Session>(&v).map(|s| expired(&s)).unwrap_or(true);
            if gone {
                let key: [u8; 32] = k.as_ref().try_into().map_err(backend)?;
                self.delete_session(&key)?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn list_newest_first<T: DeserializeOwned>(
        tree: &sled::Tree,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<T>> {
        let iter = match after {
            Some(a) => {
                let key = unhex(a).ok_or_else(|| StoreError::Precondition("bad cursor".into()))?;
                tree.range(..key)
            }
            None => tree.range::<&[u8], _>(..),
        };
        let mut items = Vec::with_capacity(limit);
        let mut last = None;
        for kv in iter.rev().take(limit) {
            let (k, v) = kv.map_err(backend)?;
            items.push(dec(&v)?);
            last = Some(hex(&k));
        }
        let next_after = if items.len() == limit { last } else { None };
        Ok(Page { items, next_after })
    }

    fn insert_audit_tx(
        audit: &sled::transaction::TransactionalTree,
        draft: AuditDraft,
    ) -> Result<(), ConflictableTransactionError<StoreError>> {
        let mut e = draft.0;
        let key = log_key(e.at, audit.generate_id()?);
        e.id = hex(&key);
        audit.insert(&key[..], tx_enc(&e)?)?;
        Ok(())
    }
}

impl UserStore for SledStore {
    fn user(&self, id: &str) -> StoreResult<Option<User>> {
        self.users.get(id).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        match self.usernames.get(username).map_err(backend)? {
            Some(id) => self.user(std::str::from_utf8(&id).map_err(backend)?),
            None => Ok(None),
        }
    }

    fn count_users(&self) -> StoreResult<u64> {
        Ok(self.usernames.len() as u64)
    }

    fn create_user(&self, user: &User, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(user)?;
        (&self.users, &self.usernames, &self.audit)
            .transaction(|(users, usernames, log)| {
                if usernames.get(user.username.as_bytes())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(StoreError::Conflict(format!(
                        "The username {} is already taken.",
                        user.username
                    ))));
                }
                usernames.insert(user.username.as_bytes(), user.id.as_bytes())?;
                users.insert(user.id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn update_user(&self, user: &User, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(user)?;
        (&self.users, &self.audit)
            .transaction(|(users, log)| {
                if users.get(user.id.as_bytes())?.is_none() {
                    return Err(ConflictableTransactionError::Abort(StoreError::NotFound));
                }
                users.insert(user.id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn delete_user(&self, id: &str, audit: AuditDraft) -> StoreResult<()> {
        (&self.users, &self.usernames, &self.passes, &self.audit)
            .transaction(|(users, usernames, passes, log)| {
                let Some(v) = users.remove(id.as_bytes())? else {
                    return Err(ConflictableTransactionError::Abort(StoreError::NotFound));
                };
                let u: User =
                    serde_json::from_slice(&v).map_err(|e| ConflictableTransactionError::Abort(backend(e)))?;
                usernames.remove(u.username.as_bytes())?;
                passes.remove(id.as_bytes())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.delete_user_sessions(id)?;
        self.flush()
    }

    fn list_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        keep: &dyn Fn(&User) -> bool,
    ) -> StoreResult<Page<User>> {
        let start: Vec<u8> = match after {
            Some(a) if a.as_bytes() >= prefix.as_bytes() => {
                let mut k = a.as_bytes().to_vec();
                k.push(0); // strictly after
                k
            }
            _ => prefix.as_bytes().to_vec(),
        };
        let mut items = Vec::with_capacity(limit);
        for kv in self.usernames.range(start..) {
            let (name, id) = kv.map_err(backend)?;
            if !name.starts_with(prefix.as_bytes()) || items.len() == limit {
                break;
            }
            if let Some(u) = self.user(std::str::from_utf8(&id).map_err(backend)?)? {
                if keep(&u) {
                    items.push(u);
                }
            }
        }
        let next_after = if items.len() == limit { items.last().map(|u: &User| u.username.clone()) } else { None };
        Ok(Page { items, next_after })
    }

    fn count_enabled_global_admins(&self) -> StoreResult<u64> {
        let mut n = 0;
        for v in self.users.iter().values() {
            let u: User = dec(&v.map_err(backend)?)?;
            if u.enabled && u.role == proofup_shared::api::Role::GlobalAdministrator {
                n += 1;
            }
        }
        Ok(n)
    }

    fn set_last_sign_in(&self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        let users = &self.users;
        users
            .transaction(|t| {
                let Some(v) = t.get(id)? else { return Ok(()) };
                let mut u: User =
                    serde_json::from_slice(&v).map_err(|e| ConflictableTransactionError::Abort(backend(e)))?;
                u.last_sign_in_at = Some(at);
                t.insert(id.as_bytes(), tx_enc(&u)?)?;
                Ok(())
            })
            .map_err(tx_err)
    }
}

impl SetupStore for SledStore {
    fn setup_token(&self) -> StoreResult<Option<SetupTokenRecord>> {
        self.meta.get(SETUP_KEY).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn setup_done(&self) -> StoreResult<bool> {
        Ok(self.meta.get(SETUP_DONE_KEY).map_err(backend)?.is_some())
    }

    fn put_setup_token(&self, record: &SetupTokenRecord) -> StoreResult<()> {
        self.meta.insert(SETUP_KEY, enc(record)?).map_err(backend)?;
        self.flush()
    }

    fn complete_setup(&self, token: &SetupTokenRecord, admin: &User, audit: AuditDraft) -> StoreResult<()> {
        let token_bytes = enc(token)?;
        let user_bytes = enc(admin)?;
        (&self.meta, &self.users, &self.usernames, &self.audit)
            .transaction(|(meta, users, usernames, log)| {
                let abort = |m: &str| ConflictableTransactionError::Abort(StoreError::Precondition(m.into()));
                if meta.get(SETUP_KEY)?.as_deref() != Some(&token_bytes[..]) {
                    return Err(abort("the setup token was already used"));
                }
                if meta.get(SETUP_DONE_KEY)?.is_some() {
                    return Err(abort("setup already done"));
                }
                meta.remove(SETUP_KEY)?;
                meta.insert(SETUP_DONE_KEY, &b"1"[..])?;
                if usernames.get(admin.username.as_bytes())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(StoreError::Conflict("username taken".into())));
                }
                usernames.insert(admin.username.as_bytes(), admin.id.as_bytes())?;
                users.insert(admin.id.as_bytes(), user_bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}

impl PassStore for SledStore {
    fn put_pass(&self, user_id: &str, pass: &TapRecord, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(pass)?;
        (&self.passes, &self.audit)
            .transaction(|(passes, log)| {
                passes.insert(user_id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn take_pass(&self, user_id: &str, check: &dyn Fn(&TapRecord) -> bool) -> StoreResult<bool> {
        let taken = self
            .passes
            .transaction(|passes| {
                let Some(v) = passes.get(user_id.as_bytes())? else { return Ok(false) };
                let rec: TapRecord =
                    serde_json::from_slice(&v).map_err(|e| ConflictableTransactionError::Abort(backend(e)))?;
                if !check(&rec) {
                    return Ok(false);
                }
                passes.remove(user_id.as_bytes())?;
                Ok(true)
            })
            .map_err(tx_err)?;
        Ok(taken)
    }
}

impl SessionStore for SledStore {
    fn create_session(&self, key: &[u8; 32], session: &Session) -> StoreResult<()> {
        let bytes = enc(session)?;
        (&self.sessions, &self.user_sessions)
            .transaction(|(sessions, index)| {
                sessions.insert(&key[..], bytes.clone())?;
                index.insert(user_session_key(&session.user_id, key), &[][..])?;
                Ok(())
            })
            .map_err(tx_err)
    }

    fn session(&self, key: &[u8; 32]) -> StoreResult<Option<Session>> {
        self.sessions.get(key).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn touch_session(&self, key: &[u8; 32], at: OffsetDateTime) -> StoreResult<()> {
        // Only updates a session that still exists: a concurrent sign-out wins.
        self.sessions
            .update_and_fetch(key, |old| {
                let old = old?;
                let mut s: Session = serde_json::from_slice(old).ok()?;
                s.last_seen_at = at;
                serde_json::to_vec(&s).ok()
            })
            .map(|_| ())
            .map_err(backend)
    }

    fn delete_session(&self, key: &[u8; 32]) -> StoreResult<()> {
        if let Some(old) = self.sessions.remove(key).map_err(backend)? {
            if let Ok(s) = dec::<Session>(&old) {
                self.user_sessions.remove(user_session_key(&s.user_id, key)).map_err(backend)?;
            }
        }
        Ok(())
    }

    fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64> {
        let mut n = 0;
        for k in self.user_sessions.scan_prefix(user_prefix(user_id)).keys() {
            let k = k.map_err(backend)?;
            let session_key = &k[k.len() - 32..];
            self.sessions.remove(session_key).map_err(backend)?;
            self.user_sessions.remove(&k).map_err(backend)?;
            n += 1;
        }
        Ok(n)
    }

    fn count_sessions(&self) -> StoreResult<u64> {
        Ok(self.sessions.len() as u64)
    }
}

impl ThrottleStore for SledStore {
    fn throttle(&self, username: &str) -> StoreResult<AccountThrottle> {
        Ok(self.throttle.get(username).map_err(backend)?.map(|v| dec(&v)).transpose()?.unwrap_or_default())
    }

    fn put_throttle(&self, username: &str, t: &AccountThrottle) -> StoreResult<()> {
        if t.consecutive_failures == 0 {
            self.throttle.remove(username).map_err(backend)?;
        } else {
            self.throttle.insert(username, enc(t)?).map_err(backend)?;
        }
        Ok(())
    }

    fn clear_throttle(&self, username: &str, audit: AuditDraft) -> StoreResult<()> {
        (&self.throttle, &self.audit)
            .transaction(|(throttle, log)| {
                throttle.remove(username.as_bytes())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}

impl AuditLog for SledStore {
    fn append_audit(&self, entry: AuditDraft) -> StoreResult<()> {
        self.audit.transaction(|log| Self::insert_audit_tx(log, entry.clone())).map_err(tx_err)
    }

    fn list_audit(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<AuditEntry>> {
        Self::list_newest_first(&self.audit, after, limit)
    }

    fn count_audit(&self) -> StoreResult<u64> {
        Ok(self.audit.len() as u64)
    }
}

impl SignInLog for SledStore {
    fn append_sign_in(&self, mut entry: SignInLogEntry) -> StoreResult<()> {
        let key = log_key(entry.at, self.db.generate_id().map_err(backend)?);
        entry.id = hex(&key);
        self.signins.insert(key, enc(&entry)?).map_err(backend)?;
        Ok(())
    }

    fn list_sign_ins(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<SignInLogEntry>> {
        Self::list_newest_first(&self.signins, after, limit)
    }

    fn count_sign_ins(&self) -> StoreResult<u64> {
        Ok(self.signins.len() as u64)
    }
}
