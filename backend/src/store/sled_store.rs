//! The sled 0.34 implementation of the storage traits.
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
//! - `webhook`: `url`, `last_error` (JSON: message, time), `last_delivered_at`; `outbox`: delivery id → Delivery
//! - `alerts`: (unix millis BE, sequence BE) → EmergencyAlert
//! - `regstate`: user id → RegistrationState; `policy_versions`: version (u64 BE) → PolicyVersion
//!
//! Writes are buffered by sled; callers call [`SledStore::flush`] before they
//! acknowledge a change, and multi-tree changes run in one transaction.

use std::path::Path;

use proofup_shared::api::{AuditEntry, Page, SignInLogEntry};
use proofup_shared::directory::MemberKind;
use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use time::OffsetDateTime;

use super::*;

pub const SCHEMA_VERSION: u32 = 1;
const SCHEMA_KEY: &[u8] = b"schema_version";
const SETUP_KEY: &[u8] = b"setup_token";
const SETUP_DONE_KEY: &[u8] = b"setup_done";
/// Set once `method_keys` holds every key of `methods` (stores from before it get it built at open).
const METHOD_KEYS_KEY: &[u8] = b"method_keys_built";

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
    /// User → their session keys, derived from `sessions` at open.
    session_index: SessionIndex,
    passes: sled::Tree,
    audit: sled::Tree,
    signins: sled::Tree,
    throttle: sled::Tree,
    groups: sled::Tree,
    groupnames: sled::Tree,
    edges: sled::Tree,
    member_of: sled::Tree,
    methods: sled::Tree,
    method_keys: sled::Tree,
    credentials: sled::Tree,
    recovery: sled::Tree,
    webhook: sled::Tree,
    outbox: sled::Tree,
    regstate: sled::Tree,
    policy_versions: sled::Tree,
    alerts: sled::Tree,
    /// One thread syncs for every request waiting at that moment (group commit); started on first use.
    committer: std::sync::OnceLock<std::sync::mpsc::Sender<CommitWaiter>>,
}

type CommitWaiter = tokio::sync::oneshot::Sender<Result<(), String>>;

/// The group-commit thread: waits for a first waiter, takes every waiter queued by then, syncs
/// once, answers them all. A waiter queued during a sync waits for the next one (its writes may
/// have missed this one). Ends, releasing the database, when the store is dropped.
fn spawn_committer(db: sled::Db) -> std::sync::mpsc::Sender<CommitWaiter> {
    let (tx, rx) = std::sync::mpsc::channel::<CommitWaiter>();
    let spawned = std::thread::Builder::new().name("store-commit".into()).spawn(move || {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            batch.extend(rx.try_iter());
            let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
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

/// Reads every session's owner (only that field is decoded). A record that does not decode is
/// left out; the sweep removes it within a minute.
fn index_sessions(sessions: &sled::Tree) -> sled::Result<SessionIndex> {
    #[derive(serde::Deserialize)]
    struct Owner<'a> {
        #[serde(borrow)]
        user_id: std::borrow::Cow<'a, str>,
    }
    let index = SessionIndex::default();
    {
        let mut locked = index.lock();
        for kv in sessions.iter() {
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
        super::files::create_private_dir(dir)
            .map_err(|e| OpenError::Other { dir: d.clone(), source: sled::Error::Io(e) })?;
        let private = |when: &str| {
            for line in super::files::make_private(dir) {
                tracing::warn!(when, "data directory readable by others: {line}");
            }
        };
        private("before opening");
        // sled releases its file lock when its last handle (and flusher thread) is gone, which can
        // trail a drop by a moment: wait up to a second before calling the store busy.
        let mut tries = 0;
        let db = loop {
            match sled::Config::new().path(dir).cache_capacity(cache_bytes).open() {
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
        let db = sled::Config::new()
            .temporary(true)
            .cache_capacity(16 << 20)
            .open()
            .map_err(|source| OpenError::Other { dir: "<temporary>".into(), source })?;
        Self::from_db(db, "<temporary>")
    }

    /// Wraps an open sled database, checking (or writing) the schema version.
    pub fn from_db(db: sled::Db, d: &str) -> Result<Self, OpenError> {
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
        let methods = db.open_tree("methods").map_err(o)?;
        let method_keys = db.open_tree("method_keys").map_err(o)?;
        if meta.get(METHOD_KEYS_KEY).map_err(o)?.is_none() {
            let mut b = sled::Batch::default();
            for k in methods.iter().keys() {
                b.insert(k.map_err(o)?, &[][..]);
            }
            method_keys.apply_batch(b).map_err(o)?;
            meta.insert(METHOD_KEYS_KEY, &[1u8][..]).map_err(o)?;
            db.flush().map_err(o)?;
        }
        Ok(Self {
            users: db.open_tree("users").map_err(o)?,
            usernames: db.open_tree("usernames").map_err(o)?,
            session_index: index_sessions(&sessions).map_err(o)?,
            sessions,
            passes: db.open_tree("passes").map_err(o)?,
            audit: db.open_tree("audit").map_err(o)?,
            signins: db.open_tree("signins").map_err(o)?,
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
            committer: std::sync::OnceLock::new(),
            meta,
            db,
        })
    }

    /// Makes every write so far durable. Called before a change is acknowledged.
    /// Every tree with its name, sorted by name (backups).
    pub fn trees_for_backup(&self) -> StoreResult<Vec<(Vec<u8>, sled::Tree)>> {
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

    pub fn flush(&self) -> StoreResult<()> {
        self.db.flush().map(|_| ()).map_err(backend)
    }

    /// Resolves once everything written before the call is on disk, without holding the
    /// caller's thread. Callers waiting at the same moment share one sync, made by a single
    /// committer thread: flushes never run concurrently with each other (sled 0.34 can
    /// deadlock when many threads flush while transactions commit, as `flush_async` did here).
    pub fn durable(&self) -> impl std::future::Future<Output = StoreResult<()>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self.committer.get_or_init(|| spawn_committer(self.db.clone())).send(tx).is_ok();
        async move {
            if !sent {
                return Err(StoreError::Backend("the store is closing".into()));
            }
            match rx.await {
                Ok(r) => r.map_err(StoreError::Backend),
                Err(_) => Err(StoreError::Backend("the store is closing".into())),
            }
        }
    }

    /// Writes `version` as the schema record (tests of the refuse-newer rule).
    pub fn force_schema_version(&self, version: u32) -> StoreResult<()> {
        self.meta.insert(SCHEMA_KEY, &version.to_be_bytes()).map_err(backend)?;
        self.flush()
    }

    /// Bulk-writes a synthetic directory (`proofup seed`): batches per tree, one flush.
    /// Existing records with the same ids or names are overwritten.
    /// Benchmarks: methods for seeded users, in one batch (no audit entries).
    pub fn seed_methods(&self, methods: &[Method]) -> StoreResult<()> {
        let (mut b, mut keys) = (sled::Batch::default(), sled::Batch::default());
        for m in methods {
            b.insert(method_key(&m.user_id, &m.id), enc(m)?);
            keys.insert(method_key(&m.user_id, &m.id), &[][..]);
        }
        self.method_keys.apply_batch(keys).map_err(backend)?;
        self.methods.apply_batch(b).map_err(backend)
    }

    pub fn seed_directory(
        &self,
        users: &[User],
        groups: &[Group],
        edges: &[(String, MemberKind, String)],
    ) -> StoreResult<()> {
        let (mut u, mut un, mut g, mut gn, mut e, mut mo) = (
            sled::Batch::default(),
            sled::Batch::default(),
            sled::Batch::default(),
            sled::Batch::default(),
            sled::Batch::default(),
            sled::Batch::default(),
        );
        for x in users {
            u.insert(x.id.as_bytes(), enc(x)?);
            un.insert(x.username.as_bytes(), x.id.as_bytes());
        }
        for x in groups {
            g.insert(x.id.as_bytes(), enc(x)?);
            gn.insert(Group::name_key(&x.name).as_bytes(), x.id.as_bytes());
        }
        for (group, kind, member) in edges {
            e.insert(edge_key(group, *kind, member), &[][..]);
            mo.insert(member_of_key(*kind, member, group), &[][..]);
        }
        self.users.apply_batch(u).map_err(backend)?;
        self.usernames.apply_batch(un).map_err(backend)?;
        self.groups.apply_batch(g).map_err(backend)?;
        self.groupnames.apply_batch(gn).map_err(backend)?;
        self.edges.apply_batch(e).map_err(backend)?;
        self.member_of.apply_batch(mo).map_err(backend)?;
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
        search: &LogSearch<'_, T>,
    ) -> StoreResult<Page<T>> {
        // Keys start with the time in milliseconds: the window is a key range.
        let lower = log_key(search.from.unwrap_or(OffsetDateTime::UNIX_EPOCH), 0).to_vec();
        let mut upper = match search.to {
            Some(t) => log_key(t, u64::MAX).to_vec(),
            None => vec![0xff; 17],
        };
        if let Some(a) = after {
            let key = unhex(a).ok_or_else(|| StoreError::Precondition("bad cursor".into()))?;
            // The cursor itself was the last entry of the previous page: the range excludes it.
            if key < upper {
                upper = key;
            }
        }
        let mut items = Vec::with_capacity(limit.min(256));
        let mut last = None;
        let mut scanned = 0;
        for kv in tree.range(lower..upper).rev() {
            let (k, v) = kv.map_err(backend)?;
            scanned += 1;
            last = Some(hex(&k));
            let item: T = dec(&v)?;
            if (search.keep)(&item) {
                items.push(item);
                if items.len() == limit {
                    break;
                }
            }
            if scanned >= SCAN_BUDGET {
                break;
            }
        }
        let next_after = if items.len() == limit || scanned >= SCAN_BUDGET { last } else { None };
        Ok(Page { items, next_after })
    }

    /// Removes a log's entries older than `before` (a key range: keys start with the time), then
    /// its oldest entries beyond `max_rows`.
    fn prune_log(tree: &sled::Tree, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64> {
        let mut removed = 0u64;
        let cutoff = log_key(before, 0);
        for k in tree.range(..cutoff).keys() {
            tree.remove(k.map_err(backend)?).map_err(backend)?;
            removed += 1;
        }
        let len = tree.len() as u64;
        if len > max_rows {
            for k in tree.iter().keys().take((len - max_rows) as usize) {
                tree.remove(k.map_err(backend)?).map_err(backend)?;
                removed += 1;
            }
        }
        Ok(removed)
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
        // Callers serialise directory changes, so these lists stay true until the transaction.
        let parents = self.direct_parents(MemberKind::User, id)?;
        let found: Vec<(sled::IVec, sled::IVec)> =
            self.methods.scan_prefix(user_prefix(id)).collect::<Result<_, _>>().map_err(backend)?;
        let creds: Vec<String> =
            found.iter().filter_map(|(_, v)| dec::<Method>(v).ok().and_then(|m| m.credential_id)).collect();
        let found_keys: Vec<sled::IVec> = found.into_iter().map(|(k, _)| k).collect();
        (
            &self.users,
            &self.usernames,
            &self.passes,
            &self.audit,
            &self.edges,
            &self.member_of,
            &self.methods,
            &self.method_keys,
            &self.regstate,
            &self.credentials,
            &self.recovery,
        )
            .transaction(
                |(
                    users,
                    usernames,
                    passes,
                    log,
                    edges,
                    member_of,
                    methods,
                    method_keys,
                    regstate,
                    credentials,
                    recovery,
                )| {
                    for c in &creds {
                        credentials.remove(c.as_bytes())?;
                    }
                    recovery.remove(id.as_bytes())?;
                    for g in &parents {
                        edges.remove(edge_key(g, MemberKind::User, id))?;
                        member_of.remove(member_of_key(MemberKind::User, id, g))?;
                    }
                    for k in &found_keys {
                        methods.remove(k)?;
                        method_keys.remove(k)?;
                    }
                    regstate.remove(id.as_bytes())?;
                    let Some(v) = users.remove(id.as_bytes())? else {
                        return Err(ConflictableTransactionError::Abort(StoreError::NotFound));
                    };
                    let u: User =
                        serde_json::from_slice(&v).map_err(|e| ConflictableTransactionError::Abort(backend(e)))?;
                    usernames.remove(u.username.as_bytes())?;
                    passes.remove(id.as_bytes())?;
                    Self::insert_audit_tx(log, audit.clone())?;
                    Ok(())
                },
            )
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

    fn for_each_user(&self, f: &mut dyn FnMut(User)) -> StoreResult<()> {
        for v in self.users.iter().values() {
            f(dec(&v.map_err(backend)?)?);
        }
        Ok(())
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
        // One plain write, not a sled transaction (every sled transaction takes the store-wide
        // write lock and forces two log-buffer writes). The user's index entry is in memory and
        // rebuilt from this record at open, so a crash cannot leave the two out of step. The
        // index stays locked across the write so that ending all of a user's sessions cannot
        // miss one being created.
        let value = enc(session)?;
        let mut index = self.session_index.lock();
        self.sessions.insert(&key[..], value).map_err(backend)?;
        index.add(&session.user_id, *key);
        Ok(())
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
                self.session_index.remove(&s.user_id, key);
            }
        }
        Ok(())
    }

    fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64> {
        // Held across the removals: a session created meanwhile waits, then outlives this call.
        let mut index = self.session_index.lock();
        let mut n = 0;
        for key in index.candidates(user_id) {
            let owned = match self.sessions.get(key).map_err(backend)? {
                Some(v) => dec::<Session>(&v).map(|s| s.user_id == user_id).unwrap_or(false),
                None => true, // already gone: drop the stale entry
            };
            if owned {
                if self.sessions.remove(key).map_err(backend)?.is_some() {
                    n += 1;
                }
                index.remove(user_id, &key);
            }
        }
        Ok(n)
    }

    fn user_sessions(&self, user_id: &str) -> StoreResult<Vec<([u8; 32], Session)>> {
        let mut out = Vec::new();
        for key in self.session_index.candidates(user_id) {
            if let Some(v) = self.sessions.get(key).map_err(backend)? {
                let s = dec::<Session>(&v)?;
                if s.user_id == user_id {
                    out.push((key, s));
                }
            }
        }
        out.sort_by_key(|(_, s)| std::cmp::Reverse(s.created_at));
        Ok(out)
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

    fn reserve_attempt(
        &self,
        username: &str,
        now: OffsetDateTime,
    ) -> StoreResult<crate::domain::throttle::ThrottleDecision> {
        use crate::domain::throttle::ThrottleDecision;
        loop {
            let old = self.throttle.get(username).map_err(backend)?;
            let mut t: AccountThrottle = old.as_ref().map(|v| dec(v)).transpose()?.unwrap_or_default();
            let decision = t.reserve(now);
            if decision != ThrottleDecision::Allow {
                return Ok(decision);
            }
            let swapped = self.throttle.compare_and_swap(username, old, Some(enc(&t)?)).map_err(backend)?;
            if swapped.is_ok() {
                return Ok(decision);
            }
            // Another attempt counted itself first: decide again on its count.
        }
    }

    fn attempt_succeeded(&self, username: &str) -> StoreResult<()> {
        self.throttle.remove(username).map_err(backend)?;
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

    fn search_audit(
        &self,
        after: Option<&str>,
        limit: usize,
        search: &LogSearch<'_, AuditEntry>,
    ) -> StoreResult<Page<AuditEntry>> {
        Self::list_newest_first(&self.audit, after, limit, search)
    }

    fn count_audit(&self) -> StoreResult<u64> {
        Ok(self.audit.len() as u64)
    }

    fn prune_audit(&self, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64> {
        Self::prune_log(&self.audit, before, max_rows)
    }
}

impl SignInLog for SledStore {
    fn append_sign_in(&self, mut entry: SignInLogEntry) -> StoreResult<()> {
        let key = log_key(entry.at, self.db.generate_id().map_err(backend)?);
        entry.id = hex(&key);
        self.signins.insert(key, enc(&entry)?).map_err(backend)?;
        Ok(())
    }

    fn search_sign_ins(
        &self,
        after: Option<&str>,
        limit: usize,
        search: &LogSearch<'_, SignInLogEntry>,
    ) -> StoreResult<Page<SignInLogEntry>> {
        Self::list_newest_first(&self.signins, after, limit, search)
    }

    fn count_sign_ins(&self) -> StoreResult<u64> {
        Ok(self.signins.len() as u64)
    }

    fn prune_sign_ins(&self, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64> {
        Self::prune_log(&self.signins, before, max_rows)
    }
}

impl GroupStore for SledStore {
    fn group(&self, id: &str) -> StoreResult<Option<Group>> {
        self.groups.get(id).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>> {
        match self.groupnames.get(Group::name_key(name)).map_err(backend)? {
            Some(id) => self.group(std::str::from_utf8(&id).map_err(backend)?),
            None => Ok(None),
        }
    }

    fn count_groups(&self) -> StoreResult<u64> {
        Ok(self.groupnames.len() as u64)
    }

    fn create_group(&self, group: &Group, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(group)?;
        let key = Group::name_key(&group.name);
        (&self.groups, &self.groupnames, &self.audit)
            .transaction(|(groups, names, log)| {
                if names.get(key.as_bytes())?.is_some() {
                    return abort(StoreError::Conflict(format!("A group named {} already exists.", group.name)));
                }
                names.insert(key.as_bytes(), group.id.as_bytes())?;
                groups.insert(group.id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn update_group(&self, group: &Group, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(group)?;
        let key = Group::name_key(&group.name);
        (&self.groups, &self.groupnames, &self.audit)
            .transaction(|(groups, names, log)| {
                let Some(old) = groups.get(group.id.as_bytes())? else { return abort(StoreError::NotFound) };
                let old: Group = tx_dec(&old)?;
                let old_key = Group::name_key(&old.name);
                if old_key != key {
                    if names.get(key.as_bytes())?.is_some() {
                        return abort(StoreError::Conflict(format!("A group named {} already exists.", group.name)));
                    }
                    names.remove(old_key.as_bytes())?;
                    names.insert(key.as_bytes(), group.id.as_bytes())?;
                }
                groups.insert(group.id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn delete_group(&self, id: &str, audit: AuditDraft) -> StoreResult<()> {
        let members = self.members(id)?;
        let parents = self.direct_parents(MemberKind::Group, id)?;
        (&self.groups, &self.groupnames, &self.edges, &self.member_of, &self.audit)
            .transaction(|(groups, names, edges, member_of, log)| {
                let Some(old) = groups.remove(id.as_bytes())? else { return abort(StoreError::NotFound) };
                let old: Group = tx_dec(&old)?;
                names.remove(Group::name_key(&old.name).as_bytes())?;
                for (kind, m) in &members {
                    edges.remove(edge_key(id, *kind, m))?;
                    member_of.remove(member_of_key(*kind, m, id))?;
                }
                for p in &parents {
                    edges.remove(edge_key(p, MemberKind::Group, id))?;
                    member_of.remove(member_of_key(MemberKind::Group, id, p))?;
                }
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn list_groups(&self, prefix: &str, after: Option<&str>, limit: usize) -> StoreResult<Page<Group>> {
        let start: Vec<u8> = match after {
            Some(a) if a.as_bytes() >= prefix.as_bytes() => {
                let mut k = a.as_bytes().to_vec();
                k.push(0);
                k
            }
            _ => prefix.as_bytes().to_vec(),
        };
        let mut items = Vec::with_capacity(limit);
        let mut last = None;
        for kv in self.groupnames.range(start..) {
            let (name, id) = kv.map_err(backend)?;
            if !name.starts_with(prefix.as_bytes()) || items.len() == limit {
                break;
            }
            if let Some(g) = self.group(std::str::from_utf8(&id).map_err(backend)?)? {
                items.push(g);
                last = Some(String::from_utf8_lossy(&name).into_owned());
            }
        }
        let next_after = if items.len() == limit { last } else { None };
        Ok(Page { items, next_after })
    }

    fn add_member(&self, group: &str, kind: MemberKind, member: &str, audit: AuditDraft) -> StoreResult<bool> {
        let added = (&self.groups, &self.edges, &self.member_of, &self.audit)
            .transaction(|(groups, edges, member_of, log)| {
                if groups.get(group.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                if edges.insert(edge_key(group, kind, member), &[][..])?.is_some() {
                    return Ok(false);
                }
                member_of.insert(member_of_key(kind, member, group), &[][..])?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(true)
            })
            .map_err(tx_err)?;
        self.flush()?;
        Ok(added)
    }

    fn remove_member(&self, group: &str, kind: MemberKind, member: &str, audit: AuditDraft) -> StoreResult<()> {
        (&self.edges, &self.member_of, &self.audit)
            .transaction(|(edges, member_of, log)| {
                if edges.remove(edge_key(group, kind, member))?.is_none() {
                    return abort(StoreError::NotFound);
                }
                member_of.remove(member_of_key(kind, member, group))?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn members(&self, group: &str) -> StoreResult<Vec<(MemberKind, String)>> {
        let prefix = user_prefix(group);
        let mut out = Vec::new();
        for k in self.edges.scan_prefix(&prefix).keys() {
            let k = k.map_err(backend)?;
            let rest = &k[prefix.len()..];
            let kind = if rest.first() == Some(&b'g') { MemberKind::Group } else { MemberKind::User };
            out.push((kind, String::from_utf8_lossy(&rest[2..]).into_owned()));
        }
        Ok(out)
    }

    fn direct_parents(&self, kind: MemberKind, member: &str) -> StoreResult<Vec<String>> {
        let prefix = member_of_prefix(kind, member);
        self.member_of
            .scan_prefix(&prefix)
            .keys()
            .map(|k| k.map(|k| String::from_utf8_lossy(&k[prefix.len()..]).into_owned()).map_err(backend))
            .collect()
    }

    fn for_each_edge(&self, f: &mut dyn FnMut(&str, MemberKind, &str)) -> StoreResult<()> {
        for k in self.edges.iter().keys() {
            let k = k.map_err(backend)?;
            let Some(split) = k.iter().position(|b| *b == 0) else { continue };
            let rest = &k[split + 1..];
            if rest.len() < 2 {
                continue;
            }
            let kind = if rest[0] == b'g' { MemberKind::Group } else { MemberKind::User };
            f(&String::from_utf8_lossy(&k[..split]), kind, &String::from_utf8_lossy(&rest[2..]));
        }
        Ok(())
    }
}

impl MethodStore for SledStore {
    fn methods(&self, user_id: &str) -> StoreResult<Vec<Method>> {
        let mut out: Vec<Method> = self
            .methods
            .scan_prefix(user_prefix(user_id))
            .values()
            .map(|v| dec(&v.map_err(backend)?))
            .collect::<Result<_, _>>()?;
        out.sort_by_key(|m| m.created_at);
        Ok(out)
    }

    fn method(&self, user_id: &str, id: &str) -> StoreResult<Option<Method>> {
        self.methods.get(method_key(user_id, id)).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn add_method(&self, method: &Method, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(method)?;
        let key = method_key(&method.user_id, &method.id);
        (&self.users, &self.methods, &self.method_keys, &self.credentials, &self.audit)
            .transaction(|(users, methods, method_keys, credentials, log)| {
                if users.get(method.user_id.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                if let Some(cred) = &method.credential_id {
                    if credentials.get(cred.as_bytes())?.is_some() {
                        return abort(StoreError::Conflict("This passkey is already registered.".into()));
                    }
                    credentials.insert(cred.as_bytes(), key.as_slice())?;
                }
                methods.insert(key.as_slice(), bytes.clone())?;
                method_keys.insert(key.as_slice(), &[][..])?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn record_totp_use(&self, user_id: &str, id: &str, step: u64, at: OffsetDateTime) -> StoreResult<bool> {
        // Compare-and-swap on the one record, not a sled transaction (which would take the
        // store-wide write lock): of concurrent uses of the same step exactly one swaps.
        let key = method_key(user_id, id);
        loop {
            let Some(old) = self.methods.get(&key).map_err(backend)? else { return Ok(false) };
            let mut m: Method = dec(&old)?;
            if m.last_step.is_some_and(|l| step <= l) {
                return Ok(false);
            }
            m.last_step = Some(step);
            m.last_used_at = Some(at);
            match self.methods.compare_and_swap(&key, Some(old), Some(enc(&m)?)).map_err(backend)? {
                Ok(()) => return Ok(true),
                Err(_) => continue, // changed meanwhile (another use, a rename): look again
            }
        }
    }

    fn rename_method(&self, user_id: &str, id: &str, name: &str, audit: AuditDraft) -> StoreResult<()> {
        let key = method_key(user_id, id);
        (&self.methods, &self.audit)
            .transaction(|(methods, log)| {
                let Some(v) = methods.get(&key)? else { return abort(StoreError::NotFound) };
                let mut m: Method = tx_dec(&v)?;
                m.name = name.to_owned();
                methods.insert(key.as_slice(), tx_enc(&m)?)?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn delete_method(&self, user_id: &str, id: &str, audit: AuditDraft) -> StoreResult<()> {
        let key = method_key(user_id, id);
        // Recovery codes go with the last method (they are a backup for a method, not one).
        let last = self.method_keys.scan_prefix(user_prefix(user_id)).keys().take(2).count() == 1;
        (&self.methods, &self.method_keys, &self.credentials, &self.recovery, &self.audit)
            .transaction(|(methods, method_keys, credentials, recovery, log)| {
                let Some(old) = methods.remove(key.as_slice())? else {
                    return abort(StoreError::NotFound);
                };
                method_keys.remove(key.as_slice())?;
                let old: Method = tx_dec(&old)?;
                if let Some(cred) = &old.credential_id {
                    credentials.remove(cred.as_bytes())?;
                }
                if last {
                    recovery.remove(user_id.as_bytes())?;
                }
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn delete_all_methods(&self, user_id: &str, audit: AuditDraft) -> StoreResult<u64> {
        let found: Vec<(sled::IVec, sled::IVec)> =
            self.methods.scan_prefix(user_prefix(user_id)).collect::<Result<_, _>>().map_err(backend)?;
        let creds: Vec<String> =
            found.iter().filter_map(|(_, v)| dec::<Method>(v).ok().and_then(|m| m.credential_id)).collect();
        let keys: Vec<sled::IVec> = found.into_iter().map(|(k, _)| k).collect();
        (&self.methods, &self.method_keys, &self.credentials, &self.recovery, &self.audit)
            .transaction(|(methods, method_keys, credentials, recovery, log)| {
                for k in &keys {
                    methods.remove(k)?;
                    method_keys.remove(k)?;
                }
                for c in &creds {
                    credentials.remove(c.as_bytes())?;
                }
                recovery.remove(user_id.as_bytes())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.delete_user_sessions(user_id)?;
        self.flush()?;
        Ok(keys.len() as u64)
    }

    fn method_counts(&self) -> StoreResult<std::collections::HashMap<String, u32>> {
        let mut out = std::collections::HashMap::new();
        for k in self.method_keys.iter().keys() {
            let k = k.map_err(backend)?;
            let Some(split) = k.iter().position(|b| *b == 0) else { continue };
            *out.entry(String::from_utf8_lossy(&k[..split]).into_owned()).or_insert(0) += 1;
        }
        Ok(out)
    }

    fn record_passkey_use(
        &self,
        user_id: &str,
        id: &str,
        passkey: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let key = method_key(user_id, id);
        self.methods
            .transaction(|methods| {
                let Some(v) = methods.get(&key)? else { return abort(StoreError::NotFound) };
                let mut m: Method = tx_dec(&v)?;
                if let Some(p) = passkey {
                    m.passkey = Some(p.to_owned());
                }
                m.last_used_at = Some(at);
                methods.insert(key.as_slice(), tx_enc(&m)?)?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn credential_taken(&self, credential_id: &str) -> StoreResult<bool> {
        self.credentials.contains_key(credential_id.as_bytes()).map_err(backend)
    }
}

impl RecoveryStore for SledStore {
    fn recovery_codes(&self, user_id: &str) -> StoreResult<Option<crate::domain::model::RecoveryCodeSet>> {
        self.recovery.get(user_id.as_bytes()).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn set_recovery_codes(
        &self,
        user_id: &str,
        codes: &crate::domain::model::RecoveryCodeSet,
        audit: AuditDraft,
    ) -> StoreResult<()> {
        let bytes = enc(codes)?;
        (&self.users, &self.recovery, &self.audit)
            .transaction(|(users, recovery, log)| {
                if users.get(user_id.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                recovery.insert(user_id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn use_recovery_code(&self, user_id: &str, hash: &str, audit: AuditDraft) -> StoreResult<Option<u32>> {
        let out = (&self.recovery, &self.audit)
            .transaction(|(recovery, log)| {
                let Some(v) = recovery.get(user_id.as_bytes())? else { return Ok(None) };
                let mut set: crate::domain::model::RecoveryCodeSet = tx_dec(&v)?;
                let mut hit = None;
                for (i, h) in set.hashes.iter().enumerate() {
                    if let Some(h) = h {
                        if bool::from(subtle::ConstantTimeEq::ct_eq(h.as_bytes(), hash.as_bytes())) {
                            hit = Some(i);
                        }
                    }
                }
                let Some(i) = hit else { return Ok(None) };
                set.hashes[i] = None;
                recovery.insert(user_id.as_bytes(), tx_enc(&set)?)?;
                let mut entry = audit.clone();
                entry.0.changes.push(proofup_shared::api::FieldChange {
                    field: "recovery codes left".into(),
                    before: Some((set.remaining() + 1).to_string()),
                    after: Some(set.remaining().to_string()),
                });
                Self::insert_audit_tx(log, entry)?;
                Ok(Some(set.remaining()))
            })
            .map_err(tx_err)?;
        self.flush()?;
        Ok(out)
    }
}

impl PolicyStore for SledStore {
    fn policy(&self) -> StoreResult<PolicyVersion> {
        match self.policy_versions.last().map_err(backend)? {
            Some((_, v)) => dec(&v),
            None => Ok(PolicyVersion {
                version: 0,
                policy: Default::default(),
                saved_at: None,
                saved_by: None,
                changes: Vec::new(),
            }),
        }
    }

    fn save_policy(&self, next: &PolicyVersion, based_on: u64, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(next)?;
        (&self.policy_versions, &self.audit)
            .transaction(|(versions, log)| {
                let latest = versions.get((based_on + 1).to_be_bytes())?;
                let base_ok = based_on == 0 || versions.get(based_on.to_be_bytes())?.is_some();
                if latest.is_some() || !base_ok || next.version != based_on + 1 {
                    return abort(StoreError::Conflict(
                        "Someone saved the policy after you opened it. Reload to see their version.".into(),
                    ));
                }
                versions.insert(&next.version.to_be_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn policy_versions(&self, limit: usize) -> StoreResult<Vec<PolicyVersion>> {
        self.policy_versions.iter().values().rev().take(limit).map(|v| dec(&v.map_err(backend)?)).collect()
    }

    fn registration_state(&self, user_id: &str) -> StoreResult<RegistrationState> {
        Ok(self.regstate.get(user_id).map_err(backend)?.map(|v| dec(&v)).transpose()?.unwrap_or_default())
    }

    fn all_registration_states(&self) -> StoreResult<std::collections::HashMap<String, RegistrationState>> {
        let mut out = std::collections::HashMap::new();
        for kv in self.regstate.iter() {
            let (k, v) = kv.map_err(backend)?;
            out.insert(String::from_utf8_lossy(&k).into_owned(), dec(&v)?);
        }
        Ok(out)
    }

    fn put_registration_state(
        &self,
        user_id: &str,
        state: &RegistrationState,
        audit: Option<AuditDraft>,
    ) -> StoreResult<()> {
        let bytes = enc(state)?;
        (&self.users, &self.regstate, &self.audit)
            .transaction(|(users, regstate, log)| {
                if users.get(user_id.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                regstate.insert(user_id.as_bytes(), bytes.clone())?;
                if let Some(a) = &audit {
                    Self::insert_audit_tx(log, a.clone())?;
                }
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}

impl AlertStore for SledStore {
    fn add_alert(&self, mut alert: proofup_shared::api::EmergencyAlert) -> StoreResult<()> {
        let key = log_key(alert.at, self.db.generate_id().map_err(backend)?);
        alert.id = hex(&key);
        self.alerts.insert(key, enc(&alert)?).map_err(backend)?;
        Ok(())
    }

    fn alert(&self, id: &str) -> StoreResult<Option<proofup_shared::api::EmergencyAlert>> {
        let Some(key) = unhex(id) else { return Ok(None) };
        self.alerts.get(key).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn open_alerts(&self, limit: usize) -> StoreResult<Vec<proofup_shared::api::EmergencyAlert>> {
        let mut out = Vec::new();
        for v in self.alerts.iter().values().rev() {
            let a: proofup_shared::api::EmergencyAlert = dec(&v.map_err(backend)?)?;
            if a.acknowledged_at.is_none() {
                out.push(a);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn acknowledge_alert(&self, id: &str, by: &str, at: OffsetDateTime, audit: AuditDraft) -> StoreResult<()> {
        let key = unhex(id).ok_or(StoreError::NotFound)?;
        (&self.alerts, &self.audit)
            .transaction(|(alerts, log)| {
                let Some(v) = alerts.get(&key)? else { return abort(StoreError::NotFound) };
                let mut a: proofup_shared::api::EmergencyAlert = tx_dec(&v)?;
                if a.acknowledged_at.is_none() {
                    a.acknowledged_by = Some(by.to_owned());
                    a.acknowledged_at = Some(at);
                    alerts.insert(key.as_slice(), tx_enc(&a)?)?;
                    Self::insert_audit_tx(log, audit.clone())?;
                }
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}

impl WebhookStore for SledStore {
    fn webhook_url(&self) -> StoreResult<Option<String>> {
        Ok(self.webhook.get(b"url").map_err(backend)?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn set_webhook_url(&self, url: Option<&str>, audit: AuditDraft) -> StoreResult<()> {
        let dead: Vec<sled::IVec> = self
            .outbox
            .iter()
            .filter_map(|r| r.ok())
            .filter(|(_, v)| dec::<crate::domain::webhook::Delivery>(v).is_ok_and(|d| d.given_up))
            .map(|(k, _)| k)
            .collect();
        (&self.webhook, &self.outbox, &self.audit)
            .transaction(|(webhook, outbox, log)| {
                match url {
                    Some(u) => webhook.insert(b"url".as_slice(), u.as_bytes())?,
                    None => webhook.remove(b"url".as_slice())?,
                };
                webhook.remove(b"last_error".as_slice())?;
                for k in &dead {
                    outbox.remove(k)?;
                }
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn enqueue_delivery(&self, d: &crate::domain::webhook::Delivery) -> StoreResult<()> {
        self.outbox.insert(d.id.as_bytes(), enc(d)?).map_err(backend)?;
        self.flush()
    }

    fn due_deliveries(&self, now: OffsetDateTime, limit: usize) -> StoreResult<Vec<crate::domain::webhook::Delivery>> {
        let mut out = Vec::new();
        for v in self.outbox.iter().values() {
            let d: crate::domain::webhook::Delivery = dec(&v.map_err(backend)?)?;
            if d.due(now) {
                out.push(d);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn delivery_succeeded(&self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        self.outbox.remove(id.as_bytes()).map_err(backend)?;
        self.webhook.insert(b"last_delivered_at", enc(&at.unix_timestamp())?).map_err(backend)?;
        self.flush()
    }

    fn delivery_failed(&self, d: &crate::domain::webhook::Delivery, at: OffsetDateTime) -> StoreResult<()> {
        // A delivery removed meanwhile (webhook turned off) stays removed.
        if self.outbox.contains_key(d.id.as_bytes()).map_err(backend)? {
            self.outbox.insert(d.id.as_bytes(), enc(d)?).map_err(backend)?;
        }
        let err = (d.last_error.clone().unwrap_or_default(), at.unix_timestamp());
        self.webhook.insert(b"last_error", enc(&err)?).map_err(backend)?;
        self.flush()
    }

    fn webhook_status(&self) -> StoreResult<proofup_shared::webhook::WebhookStatus> {
        let url = self.webhook_url()?;
        let mut st = proofup_shared::webhook::WebhookStatus {
            configured: url.is_some(),
            destination: url.as_deref().map(proofup_shared::webhook::redact_webhook_url),
            ..Default::default()
        };
        for v in self.outbox.iter().values() {
            let d: crate::domain::webhook::Delivery = dec(&v.map_err(backend)?)?;
            if d.given_up {
                st.given_up += 1;
            } else {
                st.pending += 1;
                if d.attempts > 0 {
                    st.failing += 1;
                }
            }
        }
        let ts = |t: i64| OffsetDateTime::from_unix_timestamp(t).ok();
        if let Some(v) = self.webhook.get(b"last_error").map_err(backend)? {
            let (msg, at): (String, i64) = dec(&v)?;
            st.last_error = Some(msg);
            st.last_error_at = ts(at);
        }
        if let Some(v) = self.webhook.get(b"last_delivered_at").map_err(backend)? {
            st.last_delivered_at = ts(dec(&v)?);
        }
        Ok(st)
    }
}
