//! The PostgreSQL engine: several Proofup nodes on one database (issue 18, in progress).
//!
//! - **Threads, not the async client.** The store port is synchronous (the sled engine answers
//!   in microseconds on the caller's thread). `postgres::Client` is synchronous too, but it drives
//!   its own tokio runtime and must not be called from inside one (actix's workers are). So the
//!   engine owns `pool_size` threads, each holding one connection; a call hands its work to the
//!   next free thread and waits for the answer. Each thread reconnects when its connection drops.
//! - **Schema.** Migrations are embedded (`backend/migrations/postgres/*.sql`) and applied at
//!   start in one transaction under an advisory lock, so two nodes starting together migrate once;
//!   a database whose schema is newer than this binary is refused with a clear message, as the
//!   sled store refuses a newer data directory.
//! - **Durability.** A statement returns after its transaction committed (PostgreSQL's
//!   `synchronous_commit` default): `durable()` has nothing left to wait for.

use conn::{Conn, Sql};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::{StoreError, StoreResult};

/// The URL without its password, for logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.rsplit_once('@') {
        Some((creds, host)) => format!("{scheme}://{}@{host}", creds.split(':').next().unwrap_or_default()),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_logged_database_url_has_no_password() {
        assert_eq!(
            super::redact("postgres://proofup:s3cret@db.example:5432/idp"),
            "postgres://proofup@db.example:5432/idp"
        );
        assert_eq!(super::redact("postgres://proofup@db/idp"), "postgres://proofup@db/idp");
        assert_eq!(super::redact("postgres://db/idp"), "postgres://db/idp");
    }
}

/// The migrations, in order: (version, SQL).
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../../migrations/postgres/0001_schema.sql")),
    (2, include_str!("../../../migrations/postgres/0002_byte_order.sql")),
    (3, include_str!("../../../migrations/postgres/0003_key_check_and_sign_in_counts.sql")),
    (4, include_str!("../../../migrations/postgres/0004_outbox_channel.sql")),
    (5, include_str!("../../../migrations/postgres/0005_login_flows.sql")),
    (6, include_str!("../../../migrations/postgres/0006_risk.sql")),
    (7, include_str!("../../../migrations/postgres/0007_expiry_indexes.sql")),
];

/// The schema this binary writes.
pub const SCHEMA_VERSION: i32 = 7;

/// The advisory lock key under which a node migrates (any constant both nodes agree on).
const MIGRATION_LOCK: i64 = 0x5052_4f4f_4655_5031; // "PROOFUP1"

/// The advisory lock a node holds while it sweeps expired sessions and grants: one sweeper at a
/// time across the nodes (the others skip that minute; the next minute any node may sweep).
pub const SWEEP_LOCK: i64 = 0x5052_4f4f_4655_5053; // "PROOFUPS"

/// How the engine connects.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections (one thread each).
    pub pool_size: usize,
    /// Any statement running longer is cancelled by the server (`statement_timeout`).
    pub statement_timeout_ms: u32,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self { pool_size: 8, statement_timeout_ms: 5_000 }
    }
}

/// A connection idle this long is asked whether it still works before a job runs on it (see
/// [`Conn::needs_replacing`]).
pub const IDLE_CHECK: Duration = Duration::from_millis(500);

/// Work for a connection thread: given its connection, or why it has none.
type Job = Box<dyn FnOnce(Result<&mut Conn, StoreError>) + Send>;

/// The engine.
pub struct PgStore {
    jobs: Mutex<mpsc::Sender<Job>>,
    _threads: Vec<std::thread::JoinHandle<()>>,
    /// Calls into the database so far (each one round trip or one transaction's few).
    calls: std::sync::atomic::AtomicU64,
    /// Round trips so far: every message that waited for the server (a statement, a first
    /// prepare on a connection, BEGIN, COMMIT), counted by the connections.
    trips: Arc<std::sync::atomic::AtomicU64>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A PostgreSQL error with the server's own words (its Display says only "db error").
/// An error that says the database cannot serve now (see [`conn::unavailable`]) is
/// [`StoreError::Unavailable`]; anything else (a constraint, a bug) stays `Backend`.
pub fn pg(e: postgres::Error) -> StoreError {
    let text = match e.as_db_error() {
        Some(d) => format!("PostgreSQL {}: {}", d.code().code(), d.message()),
        None => format!("PostgreSQL: {e}"),
    };
    if conn::unavailable(&e) {
        StoreError::Unavailable(text)
    } else {
        StoreError::Backend(text)
    }
}

/// Connects once, with the session settings every connection gets.
fn connect(url: &str, options: &PgOptions) -> Result<postgres::Client, StoreError> {
    // Whatever the reason (refused, unknown host, authentication), a node that cannot connect
    // cannot serve: unavailable, the same answer as a database that went away.
    let mut c = postgres::Client::connect(url, postgres::NoTls).map_err(|e| {
        StoreError::Unavailable(format!(
            "could not connect to PostgreSQL: {}",
            match pg(e) {
                StoreError::Backend(m) | StoreError::Unavailable(m) => m,
                other => other.to_string(),
            }
        ))
    })?;
    c.batch_execute(&format!("SET statement_timeout = {}", options.statement_timeout_ms)).map_err(pg)?;
    Ok(c)
}

/// Applies the migrations this database lacks, once across nodes; refuses a newer schema.
pub fn migrate(client: &mut Conn) -> StoreResult<i32> {
    let mut tx = client.transaction().map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(pg)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS proofup_schema (version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .map_err(pg)?;
    let current: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM proofup_schema", &[]).map_err(pg)?.get(0);
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the database has schema version {current}, newer than this proofup understands ({SCHEMA_VERSION}): \
             upgrade proofup, or point it at another database"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql).map_err(|e| StoreError::Backend(format!("migration {version} failed: {}", pg(e))))?;
        tx.execute("INSERT INTO proofup_schema (version) VALUES ($1)", &[version]).map_err(pg)?;
    }
    tx.commit().map_err(pg)?;
    Ok(SCHEMA_VERSION)
}

impl PgStore {
    /// Starts the connection threads and migrates the database if it needs it. Everything that
    /// touches the database runs on the engine's threads, never the caller's (which may be
    /// inside a tokio runtime).
    pub fn open(url: &str, options: PgOptions) -> StoreResult<Arc<Self>> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::new();
        let trips: Arc<std::sync::atomic::AtomicU64> = Default::default();
        for i in 0..options.pool_size.max(1) {
            let rx = rx.clone();
            let trips = trips.clone();
            let (url, options) = (url.to_owned(), options.clone());
            let t = std::thread::Builder::new()
                .name(format!("pg-{i}"))
                .spawn(move || {
                    let mut client: Option<Conn> = None;
                    let timeout = Duration::from_millis(options.statement_timeout_ms.into());
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => match r.recv() {
                                Ok(j) => j,
                                Err(_) => return, // the store was dropped
                            },
                            Err(_) => return,
                        };
                        // Connect on first use, and again whenever the server ended the connection.
                        if client.as_mut().is_none_or(|c| c.needs_replacing(IDLE_CHECK, timeout)) {
                            client = None;
                            match connect(&url, &options) {
                                Ok(c) => client = Some(Conn::new(c, trips.clone())),
                                Err(e) => {
                                    tracing::error!(error = %e, "PostgreSQL: no connection");
                                    job(Err(e));
                                    continue;
                                }
                            }
                        }
                        if let Some(c) = client.as_mut() {
                            job(Ok(c));
                            c.used();
                        }
                    }
                })
                .map_err(backend)?;
            threads.push(t);
        }
        let store = Arc::new(Self { jobs: Mutex::new(tx), _threads: threads, calls: Default::default(), trips });
        store.run(migrate)?;
        Ok(store)
    }

    /// Runs `f` on one of the engine's connections and waits for its answer.
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |c| {
            let _ = tx.send(c.and_then(f));
        });
        let started = std::time::Instant::now();
        self.jobs.lock().map_err(|_| backend("the connection pool is poisoned"))?.send(job).map_err(backend)?;
        let answer = rx.recv().map_err(|_| backend("the PostgreSQL connection thread stopped"))?;
        crate::metrics::store_call("postgres", started.elapsed().as_secs_f64());
        answer
    }

    /// How many calls went to the database so far (for measurements: calls per request).
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many round trips went to the database so far (for measurements: per request).
    pub fn round_trips(&self) -> u64 {
        self.trips.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A cheap query that proves the database answers.
    pub fn ping(&self) -> StoreResult<()> {
        self.run(|c| c.simple_query("SELECT 1").map(|_| ()).map_err(pg))
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> StoreResult<i32> {
        self.run(|c| Ok(c.query_one("SELECT max(version) FROM proofup_schema", &[]).map_err(pg)?.get(0)))
    }
}

mod applications;
mod conn;
mod grants;
mod groups;
mod import;
mod logs;
mod methods;
mod policy;
mod risk;
mod sessions;
mod users;
mod webhook;

use serde::{de::DeserializeOwned, Serialize};

pub(crate) fn j<T: Serialize>(v: &T) -> StoreResult<serde_json::Value> {
    serde_json::to_value(v).map_err(backend)
}

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> StoreResult<String> {
    t.format(&time::format_description::well_known::Rfc3339).map_err(backend)
}

pub(crate) fn d<T: DeserializeOwned>(v: serde_json::Value) -> StoreResult<T> {
    serde_json::from_value(v).map_err(backend)
}

/// Appends an audit entry inside the caller's transaction (or on its connection).
pub(crate) fn insert_audit(c: &mut impl Sql, draft: crate::store::AuditDraft) -> StoreResult<()> {
    let e = draft.0;
    c.execute(
        "INSERT INTO audit (at, actor, action, target, doc) VALUES ($1, $2, $3, $4, $5)",
        &[&e.at, &e.actor, &e.action, &e.target, &j(&e)?],
    )
    .map_err(pg)?;
    Ok(())
}

/// Rows a scan reads per round trip when the port's filter runs in Rust (the same `matches`
/// as the embedded engine, so both answer alike).
const BATCH: i64 = 500;

impl crate::store::Durability for PgStore {
    fn flush(&self) -> StoreResult<()> {
        Ok(())
    }

    fn durable(&self) -> crate::store::Durable {
        Box::pin(std::future::ready(Ok(())))
    }

    fn ping(&self) -> StoreResult<()> {
        PgStore::ping(self)
    }

    fn sweep_sessions(
        &self,
        now: time::OffsetDateTime,
        limits: crate::domain::session::SessionLimits,
    ) -> StoreResult<u64> {
        use crate::domain::model::Session;
        use crate::domain::session::{check, SessionCheck};
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            if !tx.query_one("SELECT pg_try_advisory_xact_lock($1)", &[&SWEEP_LOCK]).map_err(pg)?.get::<_, bool>(0) {
                return Ok(0); // another node is sweeping
            }
            tx.execute("DELETE FROM ceremonies WHERE expires_at <= $1", &[&now]).map_err(pg)?;
            tx.execute("DELETE FROM login_flows WHERE expires_at <= $1", &[&now]).map_err(pg)?;
            let mut gone = Vec::new();
            for row in tx.query("SELECT key, doc FROM sessions", &[]).map_err(pg)? {
                let expired = d::<Session>(row.get(1))
                    .map(|s| !s.complete() || !matches!(check(&s, limits, now), SessionCheck::Valid { .. }))
                    .unwrap_or(true);
                if expired {
                    gone.push(row.get::<_, Vec<u8>>(0));
                }
            }
            let n = tx.execute("DELETE FROM sessions WHERE key = ANY($1)", &[&gone]).map_err(pg)?;
            tx.commit().map_err(pg)?;
            Ok(n)
        })
    }
}
