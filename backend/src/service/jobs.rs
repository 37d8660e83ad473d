//! Background work as use cases: the CLI only schedules these (how often, on which thread), so a
//! second front end (another binary, a test) runs the same jobs. Each is blocking (store work);
//! run it off the async workers. The notification job is `Core::deliver_due` (`notify.rs`).

use super::{Core, ServiceError};

/// How long the logs keep their entries.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub days: u32,
    pub max_rows: u64,
}

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    /// Application sign-ins' flows, codes and access tokens.
    pub grants: u64,
}

impl Core {
    /// Removes expired sessions (idle or absolute limit) and expired sign-in grants.
    pub fn sweep_expired(&self) -> Result<Swept, ServiceError> {
        let now = self.clock.now();
        let sessions = self.store.sweep_sessions(now, self.limits)?;
        let grants = self.store.sweep_grants(now)?;
        Ok(Swept { sessions, grants })
    }

    /// Removes log entries past their retention (or beyond the row cap); returns how many.
    pub fn prune_logs(&self, retention: Retention) -> Result<u64, ServiceError> {
        let before = self.clock.now() - time::Duration::days(retention.days.into());
        Ok(self.store.prune_sign_ins(before, retention.max_rows)?
            + self.store.prune_audit(before, retention.max_rows)?)
    }

    /// Several nodes on one database: the directory's change counter (`None` on the embedded
    /// store, where this node makes every change itself).
    pub fn directory_version(&self) -> Result<Option<u64>, ServiceError> {
        Ok(self.store.membership_version()?)
    }

    /// If any node changed a membership since version `seen`, rebuilds this node's membership
    /// index from the database (so a decision here uses an index at most one look behind).
    /// Returns the version now (`None` on the embedded store).
    pub fn follow_directory(&self, seen: u64) -> Result<Option<u64>, ServiceError> {
        let Some(now) = self.store.membership_version()? else { return Ok(None) };
        if now != seen {
            let index = self.store.membership_index()?;
            *self.membership.write().map_err(super::index_poisoned)? = index;
        }
        Ok(Some(now))
    }
}
