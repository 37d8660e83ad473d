//! The store conformance suite (tests/conformance) against the embedded sled engine, each test
//! on its own data directory.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod conformance;

use std::sync::Arc;

use proofup::store::sled::SledStore;
use proofup::store::Store;

struct Sled {
    dir: tempfile::TempDir,
    store: Option<Arc<SledStore>>,
}

impl Sled {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
        Self { dir, store: Some(store) }
    }
}

impl conformance::Engine for Sled {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone().unwrap()
    }

    fn reopen(&mut self) {
        drop(self.store.take());
        self.store = Some(Arc::new(SledStore::open(self.dir.path(), 8 << 20).unwrap()));
    }
}

conformance_tests!(Sled::new());
