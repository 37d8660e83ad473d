//! One connection of the engine and its prepared statements. The `postgres` client prepares a
//! statement for every `query(&str)` (a round trip to parse and plan it, then one to run it);
//! here each SQL text is prepared once per connection and reused, so a call is one round trip
//! and the server plans each statement once. Transactions share the connection's cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::types::ToSql;
use postgres::{Row, Statement};

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

pub struct Conn {
    client: postgres::Client,
    cache: HashMap<String, Statement>,
    /// An error said the connection is gone. The synchronous client notices a closed socket
    /// only when it next polls it, so `is_closed` may still be false after the server ended
    /// the session; this flag makes the engine reconnect before the next call instead of
    /// failing it too.
    broken: bool,
    /// When a job last ran on it.
    last_used: Instant,
    /// The engine's count of messages that waited for the server (statements, a first prepare,
    /// BEGIN and COMMIT): its round trips.
    trips: Arc<AtomicU64>,
}

/// A transaction on a [`Conn`], with the same cached statements.
pub struct Tx<'a> {
    tx: postgres::Transaction<'a>,
    cache: &'a mut HashMap<String, Statement>,
    broken: &'a mut bool,
    trips: &'a AtomicU64,
}

/// Whether `e` means the connection cannot be used again: the socket failed or closed, or the
/// server ended the session (SQLSTATE class 08, or 57P01–57P03: shutdown, crash, terminated).
/// Whether `e` says the database cannot serve now, though the request was fine: the connection
/// ended, or the server is out of connections or resources, or cancelled a statement at its
/// timeout (SQLSTATE class 53, 57014). The caller may try again; HTTP answers 503.
pub fn unavailable(e: &postgres::Error) -> bool {
    ends_connection(e)
        || e.as_db_error().is_some_and(|db| {
            let code = db.code().code();
            code.starts_with("53") || code == "57014"
        })
}

fn ends_connection(e: &postgres::Error) -> bool {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

fn note<T>(broken: &mut bool, r: Result<T, postgres::Error>) -> Result<T, postgres::Error> {
    if let Err(e) = &r {
        if ends_connection(e) {
            *broken = true;
        }
    }
    r
}

/// What the engine's SQL runs on: a connection or a transaction.
pub trait Sql {
    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error>;
    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error>;
    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error>;
    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error>;
    /// Several statements, unprepared (migrations, settings).
    fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error>;
}

/// `Sql` for a type whose `$inner` field is a `postgres` client or transaction and whose
/// `$cache` field (an expression of `self`) is the statement cache; `$broken` gives the flag an
/// error that ends the connection sets.
macro_rules! sql_via {
    ($t:ty, $inner:ident, |$s:ident| $cache:expr, |$b:ident| $broken:expr, |$c:ident| $trips:expr) => {
        impl Sql for $t {
            fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
                let st = self.statement(sql)?;
                self.trip();
                let r = self.$inner.query(&st, params);
                self.noted(r)
            }
            fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
                let st = self.statement(sql)?;
                self.trip();
                let r = self.$inner.query_one(&st, params);
                self.noted(r)
            }
            fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
                let st = self.statement(sql)?;
                self.trip();
                let r = self.$inner.query_opt(&st, params);
                self.noted(r)
            }
            fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
                let st = self.statement(sql)?;
                self.trip();
                let r = self.$inner.execute(&st, params);
                self.noted(r)
            }
            fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
                self.trip();
                let r = self.$inner.batch_execute(sql);
                self.noted(r)
            }
        }

        impl $t {
            fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
                let $s = self;
                let inner = &mut $s.$inner;
                let trips = &$s.trips;
                let r = cached($cache, sql, |q| {
                    trips.fetch_add(1, Ordering::Relaxed);
                    inner.prepare(q)
                });
                $s.noted(r)
            }

            /// One more message that waits for the server.
            fn trip(&self) {
                let $c = self;
                $trips.fetch_add(1, Ordering::Relaxed);
            }

            /// Passes `r` on, marking the connection broken when the error ends it.
            fn noted<T>(&mut self, r: Result<T, postgres::Error>) -> Result<T, postgres::Error> {
                let $b = self;
                note($broken, r)
            }
        }
    };
}

fn cached(
    cache: &mut HashMap<String, Statement>,
    sql: &str,
    prepare: impl FnOnce(&str) -> Result<Statement, postgres::Error>,
) -> Result<Statement, postgres::Error> {
    if let Some(st) = cache.get(sql) {
        return Ok(st.clone());
    }
    let st = prepare(sql)?;
    cache.insert(sql.to_owned(), st.clone());
    Ok(st)
}

impl Conn {
    pub fn new(client: postgres::Client, trips: Arc<AtomicU64>) -> Self {
        Self { client, cache: HashMap::new(), broken: false, last_used: Instant::now(), trips }
    }

    /// Whether the connection must be replaced before its next use.
    pub fn is_closed(&self) -> bool {
        self.broken || self.client.is_closed()
    }

    /// Whether the connection must be replaced before the next job, asking the server first if
    /// the connection sat idle for `idle` or longer. The server may have ended it meanwhile (a
    /// restart, a failover, `pg_terminate_backend`); the synchronous client turns its socket only
    /// while a call waits, so it would learn that from the job's first statement and fail it.
    /// The question is an empty query (one round trip, at most `timeout`); a connection in steady
    /// use is not asked, so under load this costs nothing (HikariCP's rule).
    pub fn needs_replacing(&mut self, idle: Duration, timeout: Duration) -> bool {
        if !self.is_closed() && self.last_used.elapsed() >= idle && self.client.is_valid(timeout).is_err() {
            self.broken = true;
        }
        self.is_closed()
    }

    /// Notes that a job just used the connection.
    pub fn used(&mut self) {
        self.last_used = Instant::now();
    }

    pub fn transaction(&mut self) -> Result<Tx<'_>, postgres::Error> {
        self.trips.fetch_add(1, Ordering::Relaxed); // BEGIN
        let r = self.client.transaction();
        match r {
            Ok(tx) => Ok(Tx { tx, cache: &mut self.cache, broken: &mut self.broken, trips: &self.trips }),
            Err(e) => {
                self.broken |= ends_connection(&e);
                Err(e)
            }
        }
    }

    pub fn simple_query(&mut self, sql: &str) -> Result<Vec<postgres::SimpleQueryMessage>, postgres::Error> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        let r = self.client.simple_query(sql);
        note(&mut self.broken, r)
    }
}

impl Tx<'_> {
    pub fn commit(self) -> Result<(), postgres::Error> {
        let Tx { tx, broken, trips, .. } = self;
        trips.fetch_add(1, Ordering::Relaxed); // COMMIT
        note(broken, tx.commit())
    }
}

sql_via!(Conn, client, |c| &mut c.cache, |c| &mut c.broken, |c| c.trips);
sql_via!(Tx<'_>, tx, |t| t.cache, |t| &mut *t.broken, |t| t.trips);
