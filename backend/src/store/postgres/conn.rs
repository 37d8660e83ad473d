//! One connection of the engine and its prepared statements. The `postgres` client prepares a
//! statement for every `query(&str)` (a round trip to parse and plan it, then one to run it);
//! here each SQL text is prepared once per connection and reused, so a call is one round trip
//! and the server plans each statement once. Transactions share the connection's cache.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Row, Statement};

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

pub struct Conn {
    client: postgres::Client,
    cache: HashMap<String, Statement>,
}

/// A transaction on a [`Conn`], with the same cached statements.
pub struct Tx<'a> {
    tx: postgres::Transaction<'a>,
    cache: &'a mut HashMap<String, Statement>,
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
/// `$cache` field (an expression of `self`) is the statement cache.
macro_rules! sql_via {
    ($t:ty, $inner:ident, |$s:ident| $cache:expr) => {
        impl Sql for $t {
            fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
                let st = self.statement(sql)?;
                self.$inner.query(&st, params)
            }
            fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
                let st = self.statement(sql)?;
                self.$inner.query_one(&st, params)
            }
            fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
                let st = self.statement(sql)?;
                self.$inner.query_opt(&st, params)
            }
            fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
                let st = self.statement(sql)?;
                self.$inner.execute(&st, params)
            }
            fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
                self.$inner.batch_execute(sql)
            }
        }

        impl $t {
            fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
                let $s = self;
                let inner = &mut $s.$inner;
                cached($cache, sql, |q| inner.prepare(q))
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
    pub fn new(client: postgres::Client) -> Self {
        Self { client, cache: HashMap::new() }
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub fn transaction(&mut self) -> Result<Tx<'_>, postgres::Error> {
        Ok(Tx { tx: self.client.transaction()?, cache: &mut self.cache })
    }

    pub fn simple_query(&mut self, sql: &str) -> Result<Vec<postgres::SimpleQueryMessage>, postgres::Error> {
        self.client.simple_query(sql)
    }
}

impl Tx<'_> {
    pub fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }
}

sql_via!(Conn, client, |c| &mut c.cache);
sql_via!(Tx<'_>, tx, |t| t.cache);
