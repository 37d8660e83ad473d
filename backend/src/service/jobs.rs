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

    /// Mails the registration reminders that are due (7 days and 1 day before each unregistered,
    /// in-scope user's deadline, by the policy's own deadline rule), each once per user and
    /// deadline across every node (an atomic mark in the store). Only while the policy is On
    /// and mail is on; to the address on file (a reminder tells nothing about the account).
    /// Returns how many were queued.
    pub fn send_reminders(&self) -> Result<u32, ServiceError> {
        if self.mail.is_none() {
            return Ok(0);
        }
        let p = self.store.policy()?.policy;
        if p.enforcement != proofup_shared::policy::Enforcement::On {
            return Ok(0);
        }
        let now = self.clock.now();
        let mut due = Vec::new();
        self.each_decision(&p, now, |u, d, _, _| {
            if let (true, Some(to), Some((deadline, lead))) =
                (u.enabled, u.email.as_ref(), crate::domain::policy::reminder_due(d, now))
            {
                due.push((u.id.clone(), to.clone(), deadline, lead));
            }
        })?;
        let mut sent = 0;
        for (user_id, to, deadline, lead) in due {
            let key = format!("reminder:{user_id}:{}:{lead}", deadline.unix_timestamp());
            let mark = crate::domain::model::Ceremony {
                user_id: user_id.clone(),
                sealed: String::new(),
                expires_at: deadline + time::Duration::days(1),
            };
            if !self.store.add_ceremony(&key, &mark)? {
                continue;
            }
            let day = deadline.format(time::macros::format_description!("[day padding:none] [month repr:long] [year]"));
            let notice = crate::domain::mail::Notice::Reminder { deadline: day.unwrap_or_default(), days: lead };
            self.enqueue_mail(&to, &notice, now)?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Removes log entries past their retention (or beyond the row cap); returns how many.
    pub fn prune_logs(&self, retention: Retention) -> Result<u64, ServiceError> {
        let before = self.clock.now() - time::Duration::days(retention.days.into());
        // Risk detections are kept 90 days (the Risk detections report's window).
        let detections_before = self.clock.now() - time::Duration::days(90);
        Ok(self.store.prune_sign_ins(before, retention.max_rows)?
            + self.store.prune_audit(before, retention.max_rows)?
            + self.store.prune_detections(detections_before)?)
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
