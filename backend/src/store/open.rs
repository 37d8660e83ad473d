//! Opening the engine the configuration names: the embedded store in the data directory, or
//! PostgreSQL for several nodes (`--database-url`). Every CLI command that needs a store opens
//! it here, so each works on both engines or says why it does not.

use std::path::Path;
use std::sync::Arc;

use super::postgres::{PgOptions, PgStore};
use super::sled::{OpenError, SledStore};
use super::Store;

/// Where the store is, from the command line.
#[derive(Debug, Clone)]
pub struct Location<'a> {
    pub data_dir: &'a Path,
    /// PostgreSQL (several nodes); `None`: the embedded store in `data_dir`.
    pub database_url: Option<&'a str>,
    /// The embedded store's page cache.
    pub cache_mib: u64,
    pub pg: PgOptions,
}

/// An open engine.
#[derive(Clone)]
pub enum Opened {
    Embedded(Arc<SledStore>),
    Postgres(Arc<PgStore>),
}

impl Opened {
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Opened::Embedded(s) => s.clone(),
            Opened::Postgres(s) => s.clone(),
        }
    }

    /// The embedded store, for what only it has (its backup, its control socket's snapshot).
    pub fn embedded(&self) -> Option<&Arc<SledStore>> {
        match self {
            Opened::Embedded(s) => Some(s),
            Opened::Postgres(_) => None,
        }
    }
}

/// Why the engine did not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenFailure {
    /// The embedded store is held by a running server (ask it through its control socket).
    #[error(transparent)]
    Locked(OpenError),
    #[error(transparent)]
    Embedded(OpenError),
    #[error("{0}")]
    Postgres(String),
}

/// Opens the engine `at` names.
pub fn open(at: &Location<'_>) -> Result<Opened, OpenFailure> {
    match at.database_url {
        Some(url) => {
            PgStore::open(url, at.pg.clone()).map(Opened::Postgres).map_err(|e| OpenFailure::Postgres(e.to_string()))
        }
        None => match SledStore::open(at.data_dir, at.cache_mib << 20) {
            Ok(s) => Ok(Opened::Embedded(Arc::new(s))),
            Err(e @ OpenError::Locked { .. }) => Err(OpenFailure::Locked(e)),
            Err(e) => Err(OpenFailure::Embedded(e)),
        },
    }
}
