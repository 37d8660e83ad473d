//! A user's live sessions: listing them (for the user and for administrators), ending one,
//! ending every other one (the user's "Sign out everywhere else", and after a password change).

use super::{Caller, Core, Subject};
use proofup_shared::api::SessionView;

use super::ServiceError;
use super::{audit, change};
use crate::domain::model::Session;
use crate::domain::session::{self, SessionCheck};

fn view(key: &[u8; 32], s: Session, current: Option<&[u8; 32]>) -> SessionView {
    SessionView {
        id: session::public_id(key),
        current: current == Some(key),
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        ip: s.ip,
        user_agent: s.user_agent,
        // Only complete sign-ins are sessions (one in progress is a login flow).
        stage: "full".into(),
    }
}

impl Core {
    /// Ends the user's sessions, all of them or all but `keep`; returns how many ended.
    pub(crate) fn end_all_but(&self, user_id: &str, keep: Option<&[u8; 32]>) -> Result<u64, ServiceError> {
        let s = self.store.as_ref();
        let Some(keep) = keep else { return Ok(s.delete_user_sessions(user_id)?) };
        let mut n = 0;
        for (key, _) in s.user_sessions(user_id)? {
            if &key != keep {
                s.delete_session(&key)?;
                n += 1;
            }
        }
        Ok(n)
    }
}

impl Core {
    /// The user's live sessions, newest first; `current` marks the caller's own.
    pub fn sessions_of(&self, subject: &Subject<'_>) -> Result<Vec<SessionView>, ServiceError> {
        let (user_id, current) = (subject.user_id, subject.own.then_some(subject.key));
        self.user(user_id)?;
        let s = self.store.as_ref();
        let now = self.clock.now();
        Ok(s.user_sessions(user_id)?
            .into_iter()
            .filter(|(_, s)| matches!(session::check(s, self.limits, now), SessionCheck::Valid { .. }))
            .map(|(k, s)| view(&k, s, current))
            .collect())
    }

    /// Ends one of the user's own sessions by its public id (audited). The caller's own session
    /// is ended by signing out, not here.
    pub fn end_own_session(&self, caller: &Caller, id: &str) -> Result<(), ServiceError> {
        let (user, current, client) = (&caller.user, &caller.key, &caller.client);
        let s = self.store.as_ref();
        let now = self.clock.now();
        let found = s.user_sessions(&user.id)?.into_iter().find(|(k, _)| session::public_id(k) == id);
        let Some((key, ended)) = found else { return Err(ServiceError::NotFound("The session")) };
        if &key == current {
            return Err(ServiceError::Conflict("This is the session you are using: sign out instead.".into()));
        }
        s.delete_session(&key)?;
        s.append_audit(audit(
            now,
            Some(user),
            "session.ended",
            Some(user),
            vec![change("session", Some(&format!("{} ({})", ended.ip, ended.user_agent)), None)],
            client,
        ))?;
        Ok(())
    }

    /// Ends every session of the user except `keep` (audited when any ended); returns how many.
    pub fn end_other_sessions(&self, caller: &Caller) -> Result<u64, ServiceError> {
        let (user, keep, client) = (&caller.user, &caller.key, &caller.client);
        let s = self.store.as_ref();
        let now = self.clock.now();
        let n = self.end_all_but(&user.id, Some(keep))?;
        if n > 0 {
            s.append_audit(audit(
                now,
                Some(user),
                "session.signed_out_elsewhere",
                Some(user),
                vec![change("sessions", Some(&n.to_string()), Some("0"))],
                client,
            ))?;
        }
        Ok(n)
    }
}
