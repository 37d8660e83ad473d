//! Which sessions belong to which user, kept in memory.
//!
//! Derived from the `sessions` tree when the store opens (every session record names its user),
//! so it cannot disagree with the store after a crash, and creating or ending a session is one
//! write to disk instead of two. Users are held by a keyed 64-bit hash of their id (a few dozen
//! bytes per session); callers check the user id in the session record, so a hash collision can
//! only add candidates, never lose one.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};

use smallvec::SmallVec;

pub type SessionKey = [u8; 32];

/// Keys per user; most users have one session, held inline.
pub type Keys = SmallVec<[SessionKey; 1]>;

#[derive(Default)]
pub struct SessionIndex {
    hasher: RandomState,
    map: Mutex<HashMap<u64, Keys>>,
}

/// The index while locked: session creation and "end every session of this user" hold it across
/// their store writes, so a session created concurrently is either ended with the others or
/// created after them, never missed.
pub struct Locked<'a> {
    index: &'a SessionIndex,
    map: MutexGuard<'a, HashMap<u64, Keys>>,
}

impl SessionIndex {
    fn slot(&self, user_id: &str) -> u64 {
        self.hasher.hash_one(user_id)
    }

    pub fn lock(&self) -> Locked<'_> {
        // A panic while holding the lock cannot leave the map half-changed (each change is one
        // push or retain), so a poisoned lock is still usable.
        Locked { index: self, map: self.map.lock().unwrap_or_else(|e| e.into_inner()) }
    }

    /// Candidate keys of `user_id`'s sessions (may include another user's on a hash collision).
    pub fn candidates(&self, user_id: &str) -> Keys {
        self.lock().candidates(user_id)
    }

    pub fn remove(&self, user_id: &str, key: &SessionKey) {
        self.lock().remove(user_id, key)
    }

    /// How many sessions are indexed (tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().map.values().map(|k| k.len()).sum()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Locked<'_> {
    pub fn add(&mut self, user_id: &str, key: SessionKey) {
        let keys = self.map.entry(self.index.slot(user_id)).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }

    pub fn remove(&mut self, user_id: &str, key: &SessionKey) {
        let slot = self.index.slot(user_id);
        if let Some(keys) = self.map.get_mut(&slot) {
            keys.retain(|k| k != key);
            if keys.is_empty() {
                self.map.remove(&slot);
            } else if keys.len() == 1 {
                keys.shrink_to_fit();
            }
        }
    }

    pub fn candidates(&self, user_id: &str) -> Keys {
        self.map.get(&self.index.slot(user_id)).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(b: u8) -> SessionKey {
        [b; 32]
    }

    #[test]
    fn adds_lists_and_removes_per_user() {
        let ix = SessionIndex::default();
        {
            let mut l = ix.lock();
            l.add("alice", k(1));
            l.add("alice", k(2));
            l.add("alice", k(2)); // once only
            l.add("bob", k(3));
        }
        assert_eq!(ix.candidates("alice").as_slice(), &[k(1), k(2)]);
        assert_eq!(ix.candidates("bob").as_slice(), &[k(3)]);
        assert!(ix.candidates("carol").is_empty());
        assert_eq!(ix.len(), 3);
        ix.remove("alice", &k(1));
        ix.remove("alice", &k(9)); // unknown key: nothing happens
        ix.remove("carol", &k(1)); // unknown user: nothing happens
        assert_eq!(ix.candidates("alice").as_slice(), &[k(2)]);
        ix.remove("alice", &k(2));
        assert!(ix.candidates("alice").is_empty());
        assert_eq!(ix.len(), 1);
        assert!(!ix.is_empty());
    }
}
