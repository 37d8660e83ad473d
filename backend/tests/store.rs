//! Store-level tests on a real sled directory.
#![allow(clippy::unwrap_used)]

use proofup::store::sled_store::{OpenError, SCHEMA_VERSION};
use proofup::store::SledStore;

#[test]
fn refuses_a_newer_schema_and_reopens_its_own() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path(), 8 << 20).unwrap();
        s.force_schema_version(SCHEMA_VERSION + 1).unwrap();
    }
    match SledStore::open(dir.path(), 8 << 20) {
        Err(OpenError::NewerSchema { found }) => assert_eq!(found, SCHEMA_VERSION + 1),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("opened a newer schema"),
    }
    let msg = SledStore::open(dir.path(), 8 << 20).err().unwrap().to_string();
    assert!(msg.contains("newer Proofup"), "{msg}");

    let other = tempfile::tempdir().unwrap();
    drop(SledStore::open(other.path(), 8 << 20).unwrap());
    SledStore::open(other.path(), 8 << 20).unwrap().ping().unwrap();
}
