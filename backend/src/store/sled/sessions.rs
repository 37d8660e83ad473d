//! Sessions (with the in-memory index of whose they are) and per-account throttles.

use ::sled::transaction::Transactional;
use time::OffsetDateTime;

use super::*;
use crate::domain::login::LoginFlow;

impl SledStore {
    /// Deletes the sessions no longer valid at `now`, and records that do not decode.
    pub(super) fn sweep_expired_sessions(
        &self,
        now: OffsetDateTime,
        limits: crate::domain::session::SessionLimits,
    ) -> StoreResult<u64> {
        use crate::domain::session::{check, SessionCheck};
        let expired = |s: &Session| !matches!(check(s, limits, now), SessionCheck::Valid { .. });
        let mut n = 0;
        for kv in self.ceremonies.iter() {
            let (k, v) = kv.map_err(backend)?;
            if dec::<crate::domain::model::Ceremony>(&v).map(|c| c.expires_at <= now).unwrap_or(true) {
                self.ceremonies.remove(k).map_err(backend)?;
            }
        }
        for kv in self.logins.iter() {
            let (k, v) = kv.map_err(backend)?;
            if dec::<LoginFlow>(&v).map(|f| !f.live(now)).unwrap_or(true) {
                let key: [u8; 32] = k.as_ref().try_into().map_err(backend)?;
                self.delete_login(&key)?;
            }
        }
        for kv in self.sessions.iter() {
            let (k, v) = kv.map_err(backend)?;
            let gone = dec::<Session>(&v).map(|s| expired(&s) || !s.complete()).unwrap_or(true);
            if gone {
                let key: [u8; 32] = k.as_ref().try_into().map_err(backend)?;
                self.delete_session(&key)?;
                n += 1;
            }
        }
        Ok(n)
    }
}

impl SessionStore for SledStore {
    fn put_login(&self, key: &[u8; 32], flow: &LoginFlow) -> StoreResult<()> {
        // Under the index lock, like a session: ending the user's sessions cannot miss it.
        let value = enc(flow)?;
        let mut index = self.session_index.lock();
        self.logins.insert(&key[..], value).map_err(backend)?;
        index.add(&flow.user_id, *key);
        Ok(())
    }

    fn login(&self, key: &[u8; 32]) -> StoreResult<Option<LoginFlow>> {
        self.logins.get(key).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn delete_login(&self, key: &[u8; 32]) -> StoreResult<()> {
        if let Some(old) = self.logins.remove(key).map_err(backend)? {
            if let Ok(f) = dec::<LoginFlow>(&old) {
                self.session_index.remove(&f.user_id, key);
            }
        }
        Ok(())
    }

    fn create_session(&self, key: &[u8; 32], session: &Session) -> StoreResult<()> {
        // One plain write, not a sled transaction (every sled transaction takes the store-wide
        // write lock and forces two log-buffer writes). The user's index entry is in memory and
        // rebuilt from this record at open, so a crash cannot leave the two out of step. The
        // index stays locked across the write so that ending all of a user's sessions cannot
        // miss one being created.
        let value = enc(session)?;
        let mut index = self.session_index.lock();
        self.sessions.insert(&key[..], value).map_err(backend)?;
        index.add(&session.user_id, *key);
        Ok(())
    }

    fn promote_login(&self, from: &[u8; 32], to: &[u8; 32], session: &Session) -> StoreResult<bool> {
        // The flow is taken (one atomic remove: of two completing at once, one gets it), then
        // the session written; a crash between the two leaves neither, and the user signs in
        // again.
        let value = enc(session)?;
        let mut index = self.session_index.lock();
        let Some(old) = self.logins.remove(from).map_err(backend)? else { return Ok(false) };
        if let Ok(f) = dec::<LoginFlow>(&old) {
            index.remove(&f.user_id, from);
        }
        self.sessions.insert(&to[..], value).map_err(backend)?;
        index.add(&session.user_id, *to);
        Ok(true)
    }

    fn session_with_user(&self, key: &[u8; 32]) -> StoreResult<Option<(Session, Option<User>)>> {
        use crate::store::UserStore as _;
        let Some(session) = self.session(key)? else { return Ok(None) };
        let user = self.user(&session.user_id)?;
        Ok(Some((session, user)))
    }

    fn login_with_user(&self, key: &[u8; 32]) -> StoreResult<Option<(LoginFlow, Option<User>)>> {
        use crate::store::UserStore as _;
        let Some(flow) = self.login(key)? else { return Ok(None) };
        let user = self.user(&flow.user_id)?;
        Ok(Some((flow, user)))
    }

    fn write_password_step(&self, w: &crate::store::StepWrites) -> StoreResult<()> {
        // One after the other, as before: sled's writes are local, and the step's one sync
        // (`durable`) follows.
        use crate::store::{SignInLog as _, StepProgress, ThrottleStore as _, UserStore as _};
        self.attempt_succeeded(&w.throttle_key)?;
        match &w.progress {
            StepProgress::Session(session) => self.create_session(&w.key, session)?,
            StepProgress::Login(flow) => self.put_login(&w.key, flow)?,
        }
        self.set_last_sign_in(&w.user_id, w.at)?;
        self.append_sign_in(w.log.clone())
    }

    fn code_step_facts(&self, key: &[u8; 32], now: OffsetDateTime) -> StoreResult<Option<crate::store::CodeStepFacts>> {
        use crate::store::{MethodStore as _, ThrottleStore as _};
        let Some((flow, user)) = self.login_with_user(key)? else { return Ok(None) };
        let (methods, attempt) = match &user {
            Some(u) if u.enabled && flow.live(now) => {
                (self.methods(&u.id)?, Some(self.reserve_attempt(&u.username, now)?))
            }
            _ => (Vec::new(), None),
        };
        Ok(Some(crate::store::CodeStepFacts { flow, user, methods, attempt }))
    }

    fn write_code_step(&self, w: &crate::store::CodeStepWrites) -> StoreResult<crate::store::CodeStepWritten> {
        // One after the other, the spent step first (a compare-and-swap: the gate); the step's
        // one sync (`durable`) follows.
        use crate::store::{CodeStepWritten, MethodStore as _, SignInLog as _, ThrottleStore as _};
        if !self.record_totp_use(&w.user_id, &w.method_id, w.step, w.log.at)? {
            return Ok(CodeStepWritten::Replayed);
        }
        self.attempt_succeeded(&w.throttle_key)?;
        self.append_sign_in(w.log.clone())?;
        Ok(if self.promote_login(&w.from, &w.to, &w.session)? {
            CodeStepWritten::Session
        } else {
            CodeStepWritten::FlowGone
        })
    }

    fn password_step_facts(&self, username: &str) -> StoreResult<crate::store::StepFacts> {
        use crate::store::{MethodStore as _, PolicyStore as _, RiskStore as _, UserStore as _};
        let user = self.user_by_username(username)?;
        let policies = self.policy()?;
        let Some(u) = &user else {
            return Ok(crate::store::StepFacts {
                user: None,
                profile: None,
                methods: Vec::new(),
                codes: None,
                registration: Default::default(),
                policies,
            });
        };
        let (methods, codes) = self.methods_and_codes(&u.id)?;
        Ok(crate::store::StepFacts {
            profile: self.risk_profile(&u.id)?,
            registration: self.registration_state(&u.id)?,
            methods,
            codes,
            policies,
            user,
        })
    }

    fn session(&self, key: &[u8; 32]) -> StoreResult<Option<Session>> {
        self.sessions.get(key).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn touch_session(&self, key: &[u8; 32], at: OffsetDateTime) -> StoreResult<()> {
        // Only updates a session that still exists: a concurrent sign-out wins.
        self.sessions
            .update_and_fetch(key, |old| {
                let old = old?;
                let mut s: Session = serde_json::from_slice(old).ok()?;
                s.last_seen_at = at;
                serde_json::to_vec(&s).ok()
            })
            .map(|_| ())
            .map_err(backend)
    }

    fn delete_session(&self, key: &[u8; 32]) -> StoreResult<()> {
        if let Some(old) = self.sessions.remove(key).map_err(backend)? {
            if let Ok(s) = dec::<Session>(&old) {
                self.session_index.remove(&s.user_id, key);
            }
        }
        Ok(())
    }

    fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64> {
        // Held across the removals: a session created meanwhile waits, then outlives this call.
        let mut index = self.session_index.lock();
        let mut n = 0;
        for key in index.candidates(user_id) {
            // A session or a login flow (the index holds both).
            let owned = match self.sessions.get(key).map_err(backend)? {
                Some(v) => dec::<Session>(&v).map(|s| s.user_id == user_id).unwrap_or(false),
                None => match self.logins.get(key).map_err(backend)? {
                    Some(v) => dec::<LoginFlow>(&v).map(|f| f.user_id == user_id).unwrap_or(false),
                    None => true, // already gone: drop the stale entry
                },
            };
            if owned {
                if self.sessions.remove(key).map_err(backend)?.is_some() {
                    n += 1;
                }
                self.logins.remove(key).map_err(backend)?;
                index.remove(user_id, &key);
            }
        }
        drop(index);
        self.end_user_grants(user_id, None)?;
        Ok(n)
    }

    fn user_sessions(&self, user_id: &str) -> StoreResult<Vec<([u8; 32], Session)>> {
        let mut out = Vec::new();
        for key in self.session_index.candidates(user_id) {
            if let Some(v) = self.sessions.get(key).map_err(backend)? {
                let s = dec::<Session>(&v)?;
                if s.user_id == user_id {
                    out.push((key, s));
                }
            }
        }
        out.sort_by_key(|(_, s)| std::cmp::Reverse(s.created_at));
        Ok(out)
    }

    fn count_sessions(&self) -> StoreResult<u64> {
        Ok(self.sessions.len() as u64)
    }

    fn put_ceremony(&self, key: &str, ceremony: &crate::domain::model::Ceremony) -> StoreResult<()> {
        self.ceremonies.insert(key.as_bytes(), enc(ceremony)?).map_err(backend)?;
        Ok(())
    }

    fn ceremony(&self, key: &str) -> StoreResult<Option<crate::domain::model::Ceremony>> {
        self.ceremonies.get(key.as_bytes()).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn take_ceremony(&self, key: &str) -> StoreResult<Option<crate::domain::model::Ceremony>> {
        self.ceremonies.remove(key.as_bytes()).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn add_ceremony(&self, key: &str, ceremony: &crate::domain::model::Ceremony) -> StoreResult<bool> {
        let added = self
            .ceremonies
            .compare_and_swap(key.as_bytes(), None as Option<&[u8]>, Some(enc(ceremony)?))
            .map_err(backend)?
            .is_ok();
        Ok(added)
    }
}

impl ThrottleStore for SledStore {
    fn throttle(&self, username: &str) -> StoreResult<AccountThrottle> {
        Ok(self.throttle.get(username).map_err(backend)?.map(|v| dec(&v)).transpose()?.unwrap_or_default())
    }

    fn put_throttle(&self, username: &str, t: &AccountThrottle) -> StoreResult<()> {
        if t.consecutive_failures == 0 {
            self.throttle.remove(username).map_err(backend)?;
        } else {
            self.throttle.insert(username, enc(t)?).map_err(backend)?;
        }
        Ok(())
    }

    fn reserve_attempt(
        &self,
        username: &str,
        now: OffsetDateTime,
    ) -> StoreResult<crate::domain::throttle::ThrottleDecision> {
        use crate::domain::throttle::ThrottleDecision;
        loop {
            let old = self.throttle.get(username).map_err(backend)?;
            let mut t: AccountThrottle = old.as_ref().map(|v| dec(v)).transpose()?.unwrap_or_default();
            let decision = t.reserve(now);
            if decision != ThrottleDecision::Allow {
                return Ok(decision);
            }
            let swapped = self.throttle.compare_and_swap(username, old, Some(enc(&t)?)).map_err(backend)?;
            if swapped.is_ok() {
                return Ok(decision);
            }
            // Another attempt counted itself first: decide again on its count.
        }
    }

    fn attempt_succeeded(&self, username: &str) -> StoreResult<()> {
        self.throttle.remove(username).map_err(backend)?;
        Ok(())
    }

    fn clear_throttle(&self, username: &str, audit: AuditDraft) -> StoreResult<()> {
        (&self.throttle, &self.audit)
            .transaction(|(throttle, log)| {
                throttle.remove(username.as_bytes())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}
