//! The embedded engine: sled 0.34, one data directory, no other process. The port's traits
//! are implemented one aggregate per file beside this one; this file holds the tree/key map,
//! opening, the schema check and durability.
//!
//! Trees and keys:
//! - `meta`: `schema_version` (u32 BE), `setup_token` (JSON)
//! - `users`: user id → User (JSON); `usernames`: lower-case username → user id
//! - `sessions`: SHA-256(cookie token) → Session (JSON); which user has which sessions is kept in
//!   memory ([`SessionIndex`]), rebuilt from this tree at open
//! - `passes`: user id → temporary access pass (hash and expiry)
//! - `audit`, `signins`: (unix millis BE, sequence BE) → entry (JSON); newest is last
//! - `throttle`: lower-case username → AccountThrottle (JSON)
//! - `groups`: group id → Group; `groupnames`: lower-case name → group id
//! - `edges`: group id, 0, kind (u|g), 0, member id → (); `member_of`: kind, 0, member id, 0, group id → ()
//! - `methods`: user id, 0, method id → Method (secret sealed); `method_keys`: the same keys → ()
//!   (who has how many methods, read by the report and the impact without loading every method)
//! - `credentials`: passkey credential id (base64url) → user id, 0, method id (unique across users)
//! - `recovery`: user id → RecoveryCodeSet (hashes only)
//! - `webhook`: `url`, and per notification channel `last_error` (JSON: message, time) and `last_delivered_at` (the webhook's under these names); `outbox`: message id → Message (every channel's, each naming its channel)
//! - `alerts`: (unix millis BE, sequence BE) → AlertRecord
//! - `regstate`: user id → RegistrationState; `policy_versions`: version (u64 BE) → PolicyRecord
//! - `applications`: client id → Application (secrets as SHA-256); `signing_keys`: `set` → every
//!   SigningKey (JSON list, private parts sealed), replaced whole
//! - `flows`: flow id → Flow; `codes`: SHA-256(code) → CodeGrant; `access_tokens`:
//!   SHA-256(token) → AccessGrant; `grants`: user id, 0, grant id → Grant; `refresh_tokens`:
//!   SHA-256(token) → RefreshGrant (all swept once expired)
//! - `ceremonies`: kind, `:`, session key (hex) → Ceremony (sealed; swept with the sessions)
//! - `risk_profiles`: user id → risk Profile (last 50 sign-ins: country, network, 0.1° cell,
//!   device hash); `detections`: (unix millis BE, sequence BE) → DetectionRecord;
//!   `user_detections`: user id, 0, detection key → () (kept 90 days, gone with the user)
//!
//! Writes are buffered by sled; callers call [`SledStore::flush`] before they
//! acknowledge a change, and multi-tree changes run in one transaction.

use std::path::Path;

use ::sled::transaction::{ConflictableTransactionError, TransactionError};
use proofup_shared::directory::MemberKind;
use serde::{de::DeserializeOwned, Serialize};
use time::OffsetDateTime;

use super::*;

mod applications;
pub mod backup;
mod export;
pub mod files;
mod grants;
mod groups;
mod logs;
mod methods;
mod policy;
mod risk;
mod seed;
mod session_index;
mod sessions;
mod users;
mod webhook;

use session_index::SessionIndex;

pub const SCHEMA_VERSION: u32 = 1;
const SCHEMA_KEY: &[u8] = b"schema_version";
const SETUP_KEY: &[u8] = b"setup_token";
const SETUP_DONE_KEY: &[u8] = b"setup_done";
/// Set once `method_keys` holds every key of `methods` (stores from before it get it built at open).
const METHOD_KEYS_KEY: &[u8] = b"method_keys_built";
/// Set once the `expiries` index covers the token trees (stores written before it get it at open).
const EXPIRIES_KEY: &[u8] = b"expiries_built";

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the data directory {dir} is in use by another Proofup process (or could not be locked): {source}")]
    Locked { dir: String, source: ::sled::Error },
    #[error("could not open the store in {dir}: {source}. If the files are damaged, restore the data directory from a backup.")]
    Other { dir: String, source: ::sled::Error },
    #[error("the data directory was written by a newer Proofup (schema version {found}); this binary understands up to version {SCHEMA_VERSION}. Run the newer binary, or restore a backup made by this version.")]
    NewerSchema { found: u32 },
    #[error("the data directory has an unreadable schema version record")]
    BadSchema,
}

pub struct SledStore {
    db: ::sled::Db,
    meta: ::sled::Tree,
    users: ::sled::Tree,
    usernames: ::sled::Tree,
    sessions: ::sled::Tree,
    /// Sign-ins in progress (login flows), keyed like sessions and in the same per-user index.
    logins: ::sled::Tree,
    /// User → their session keys, derived from `sessions` at open.
    session_index: SessionIndex,
    passes: ::sled::Tree,
    audit: ::sled::Tree,
    signins: ::sled::Tree,
    /// Aggregate sign-in rows of the last minutes: key (see `domain::signin::aggregate_key`) → log key.
    signin_counts: ::sled::Tree,
    throttle: ::sled::Tree,
    groups: ::sled::Tree,
    groupnames: ::sled::Tree,
    edges: ::sled::Tree,
    member_of: ::sled::Tree,
    methods: ::sled::Tree,
    method_keys: ::sled::Tree,
    credentials: ::sled::Tree,
    recovery: ::sled::Tree,
    webhook: ::sled::Tree,
    outbox: ::sled::Tree,
    regstate: ::sled::Tree,
    policy_versions: ::sled::Tree,
    alerts: ::sled::Tree,
    applications: ::sled::Tree,
    signing_keys: ::sled::Tree,
    flows: ::sled::Tree,
    codes: ::sled::Tree,
    access_tokens: ::sled::Tree,
    grants: ::sled::Tree,
    refresh_tokens: ::sled::Tree,
    /// The five trees above by expiry (`grants::expiry_key`): what the minute's sweep reads, so
    /// that it visits what expired, not every record.
    expiries: ::sled::Tree,
    ceremonies: ::sled::Tree,
    /// Each user's sign-in profile (risk), by user id.
    risk_profiles: ::sled::Tree,
    /// Risk detections by time; `user_detections` indexes them by user (user id, 0, key).
    detections: ::sled::Tree,
    user_detections: ::sled::Tree,
    /// One thread syncs for every request waiting at that moment (group commit); started on first use.
    committer: std::sync::OnceLock<std::sync::mpsc::Sender<CommitWaiter>>,
}

type CommitWaiter = tokio::sync::oneshot::Sender<Result<(), String>>;

/// The group-commit thread: waits for a first waiter, takes every waiter queued by then, syncs
/// once, answers them all. A waiter queued during a sync waits for the next one (its writes may
/// have missed this one). Ends, releasing the database, when the store is dropped.
fn spawn_committer(db: ::sled::Db) -> std::sync::mpsc::Sender<CommitWaiter> {
    let (tx, rx) = std::sync::mpsc::channel::<CommitWaiter>();
    let spawned = std::thread::Builder::new().name("store-commit".into()).spawn(move || {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            batch.extend(rx.try_iter());
            let started = std::time::Instant::now();
            let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
            crate::metrics::store_call("sled", started.elapsed().as_secs_f64());
            for w in batch {
                let _ = w.send(result.clone());
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the store's commit thread");
    }
    tx
}

/// A sled I/O error (the disk is full, read-only or failing) is [`StoreError::Unavailable`]:
/// nothing the client did, and it may pass. Anything else (corruption, a bug, bad bytes) stays
/// `Backend`.
fn backend<E: std::fmt::Display + 'static>(e: E) -> StoreError {
    let any: &dyn std::any::Any = &e;
    match any.downcast_ref::<::sled::Error>() {
        Some(::sled::Error::Io(io)) => StoreError::Unavailable(format!("the data directory: {io}")),
        _ => StoreError::Backend(e.to_string()),
    }
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

/// Reads every session's owner (only that field is decoded). A record that does not decode is
/// left out; the sweep removes it within a minute.
fn index_sessions(trees: &[&::sled::Tree]) -> ::sled::Result<SessionIndex> {
    #[derive(serde::Deserialize)]
    struct Owner<'a> {
        #[serde(borrow)]
        user_id: std::borrow::Cow<'a, str>,
    }
    let index = SessionIndex::default();
    {
        let mut locked = index.lock();
        for kv in trees.iter().flat_map(|t| t.iter()) {
            let (k, v) = kv?;
            if let (Ok(key), Ok(owner)) = (<[u8; 32]>::try_from(k.as_ref()), serde_json::from_slice::<Owner<'_>>(&v)) {
                locked.add(&owner.user_id, key);
            }
        }
    }
    Ok(index)
}

fn kind_byte(kind: MemberKind) -> u8 {
    match kind {
        MemberKind::User => b'u',
        MemberKind::Group => b'g',
    }
}

fn edge_key(group: &str, kind: MemberKind, member: &str) -> Vec<u8> {
    let mut k = user_prefix(group);
    k.push(kind_byte(kind));
    k.push(0);
    k.extend_from_slice(member.as_bytes());
    k
}

fn member_of_prefix(kind: MemberKind, member: &str) -> Vec<u8> {
    let mut k = vec![kind_byte(kind), 0];
    k.extend_from_slice(member.as_bytes());
    k.push(0);
    k
}

fn member_of_key(kind: MemberKind, member: &str, group: &str) -> Vec<u8> {
    let mut k = member_of_prefix(kind, member);
    k.extend_from_slice(group.as_bytes());
    k
}

fn method_key(user_id: &str, id: &str) -> Vec<u8> {
    let mut k = user_prefix(user_id);
    k.extend_from_slice(id.as_bytes());
    k
}

fn abort<T>(e: StoreError) -> Result<T, ConflictableTransactionError<StoreError>> {
    Err(ConflictableTransactionError::Abort(e))
}

fn tx_dec<T: DeserializeOwned>(b: &[u8]) -> Result<T, ConflictableTransactionError<StoreError>> {
    serde_json::from_slice(b).map_err(|e| ConflictableTransactionError::Abort(backend(e)))
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
        files::create_private_dir(dir)
            .map_err(|e| OpenError::Other { dir: d.clone(), source: ::sled::Error::Io(e) })?;
        let private = |when: &str| {
            for line in files::make_private(dir) {
                tracing::warn!(when, "data directory readable by others: {line}");
            }
        };
        private("before opening");
        // sled releases its file lock when its last handle (and flusher thread) is gone, which can
        // trail a drop by a moment: wait up to a second before calling the store busy.
        let mut tries = 0;
        let db = loop {
            match ::sled::Config::new().path(dir).cache_capacity(cache_bytes).open() {
                Ok(db) => break db,
                Err(source) => {
                    let text = source.to_string();
                    let locked = text.contains("lock")
                        || text.contains("WouldBlock")
                        || text.contains("Resource temporarily unavailable");
                    if locked && tries < 20 {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        continue;
                    }
                    return Err(if locked {
                        OpenError::Locked { dir: d, source }
                    } else {
                        OpenError::Other { dir: d, source }
                    });
                }
            }
        };
        // The files sled just created (under the process umask) are made private too.
        private("after opening");
        Self::from_db(db, &d)
    }

    /// A store in a fresh temporary directory that sled deletes on drop (tests).
    pub fn temporary() -> Result<Self, OpenError> {
        let db = ::sled::Config::new()
            .temporary(true)
            .cache_capacity(16 << 20)
            .open()
            .map_err(|source| OpenError::Other { dir: "<temporary>".into(), source })?;
        Self::from_db(db, "<temporary>")
    }

    /// Wraps an open sled database, checking (or writing) the schema version.
    pub fn from_db(db: ::sled::Db, d: &str) -> Result<Self, OpenError> {
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
        // Stores written before the index moved into memory kept it in a tree of its own.
        db.drop_tree("user_sessions").map_err(o)?;
        let sessions = db.open_tree("sessions").map_err(o)?;
        let logins = db.open_tree("logins").map_err(o)?;
        let methods = db.open_tree("methods").map_err(o)?;
        let method_keys = db.open_tree("method_keys").map_err(o)?;
        if meta.get(METHOD_KEYS_KEY).map_err(o)?.is_none() {
            let mut b = ::sled::Batch::default();
            for k in methods.iter().keys() {
                b.insert(k.map_err(o)?, &[][..]);
            }
            method_keys.apply_batch(b).map_err(o)?;
            meta.insert(METHOD_KEYS_KEY, &[1u8][..]).map_err(o)?;
            db.flush().map_err(o)?;
        }
        let store = Self {
            users: db.open_tree("users").map_err(o)?,
            usernames: db.open_tree("usernames").map_err(o)?,
            session_index: index_sessions(&[&sessions, &logins]).map_err(o)?,
            sessions,
            logins,
            passes: db.open_tree("passes").map_err(o)?,
            audit: db.open_tree("audit").map_err(o)?,
            signins: db.open_tree("signins").map_err(o)?,
            signin_counts: db.open_tree("signin_counts").map_err(o)?,
            throttle: db.open_tree("throttle").map_err(o)?,
            groups: db.open_tree("groups").map_err(o)?,
            groupnames: db.open_tree("groupnames").map_err(o)?,
            edges: db.open_tree("edges").map_err(o)?,
            member_of: db.open_tree("member_of").map_err(o)?,
            methods,
            method_keys,
            credentials: db.open_tree("credentials").map_err(o)?,
            recovery: db.open_tree("recovery").map_err(o)?,
            webhook: db.open_tree("webhook").map_err(o)?,
            outbox: db.open_tree("outbox").map_err(o)?,
            regstate: db.open_tree("regstate").map_err(o)?,
            policy_versions: db.open_tree("policy_versions").map_err(o)?,
            alerts: db.open_tree("alerts").map_err(o)?,
            applications: db.open_tree("applications").map_err(o)?,
            signing_keys: db.open_tree("signing_keys").map_err(o)?,
            flows: db.open_tree("flows").map_err(o)?,
            codes: db.open_tree("codes").map_err(o)?,
            access_tokens: db.open_tree("access_tokens").map_err(o)?,
            grants: db.open_tree("grants").map_err(o)?,
            refresh_tokens: db.open_tree("refresh_tokens").map_err(o)?,
            expiries: db.open_tree("expiries").map_err(o)?,
            ceremonies: db.open_tree("ceremonies").map_err(o)?,
            risk_profiles: db.open_tree("risk_profiles").map_err(o)?,
            detections: db.open_tree("detections").map_err(o)?,
            user_detections: db.open_tree("user_detections").map_err(o)?,
            committer: std::sync::OnceLock::new(),
            meta,
            db,
        };
        if store.meta.get(EXPIRIES_KEY).map_err(o)?.is_none() {
            store.index_expiries().map_err(o)?;
            store.meta.insert(EXPIRIES_KEY, &[1u8][..]).map_err(o)?;
            store.db.flush().map_err(o)?;
        }
        Ok(store)
    }

    /// Every tree with its name, sorted by name (backups).
    pub fn trees_for_backup(&self) -> StoreResult<Vec<(Vec<u8>, ::sled::Tree)>> {
        let mut names = self.db.tree_names();
        names.sort();
        names.into_iter().map(|n| Ok((n.to_vec(), self.db.open_tree(&n).map_err(backend)?))).collect()
    }

    /// A SHA-256 over every tree's keys and values except `skip` (tests: "nothing changed").
    pub fn digest(&self, skip: &[&str]) -> StoreResult<[u8; 32]> {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let mut names = self.db.tree_names();
        names.sort();
        for name in names {
            if skip.iter().any(|s| s.as_bytes() == name.as_ref()) {
                continue;
            }
            h.update(&name);
            let tree = self.db.open_tree(&name).map_err(backend)?;
            for kv in tree.iter() {
                let (k, v) = kv.map_err(backend)?;
                h.update((k.len() as u64).to_be_bytes());
                h.update(&k);
                h.update((v.len() as u64).to_be_bytes());
                h.update(&v);
            }
        }
        Ok(h.finalize().into())
    }

    /// Writes `version` as the schema record (tests of the refuse-newer rule).
    pub fn force_schema_version(&self, version: u32) -> StoreResult<()> {
        self.meta.insert(SCHEMA_KEY, &version.to_be_bytes()).map_err(backend)?;
        self.flush()
    }

    fn insert_audit_tx(
        audit: &::sled::transaction::TransactionalTree,
        draft: AuditDraft,
    ) -> Result<(), ConflictableTransactionError<StoreError>> {
        let mut e = draft.0;
        let key = log_key(e.at, audit.generate_id()?);
        e.id = hex(&key);
        audit.insert(&key[..], tx_enc(&e)?)?;
        Ok(())
    }
}

impl Durability for SledStore {
    fn flush(&self) -> StoreResult<()> {
        self.db.flush().map(|_| ()).map_err(backend)
    }

    /// Callers waiting at the same moment share one sync, made by a single committer thread:
    /// flushes never run concurrently with each other (sled 0.34 can deadlock when many threads
    /// flush while transactions commit, as `flush_async` did here).
    fn durable(&self) -> Durable {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self.committer.get_or_init(|| spawn_committer(self.db.clone())).send(tx).is_ok();
        Box::pin(async move {
            if !sent {
                return Err(StoreError::Backend("the store is closing".into()));
            }
            match rx.await {
                Ok(r) => r.map_err(StoreError::Backend),
                Err(_) => Err(StoreError::Backend("the store is closing".into())),
            }
        })
    }

    fn ping(&self) -> StoreResult<()> {
        self.meta.get(SCHEMA_KEY).map(|_| ()).map_err(backend)
    }

    fn sweep_sessions(&self, now: OffsetDateTime, limits: crate::domain::session::SessionLimits) -> StoreResult<u64> {
        self.sweep_expired_sessions(now, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_unavailable_and_the_rest_are_backend_errors() {
        let io = ::sled::Error::Io(std::io::Error::other("no space left on device"));
        assert!(matches!(backend(io), StoreError::Unavailable(m) if m.contains("no space")));
        assert!(matches!(backend(::sled::Error::Unsupported("x".into())), StoreError::Backend(_)));
        assert!(matches!(backend("bad bytes"), StoreError::Backend(_)));
    }
}
