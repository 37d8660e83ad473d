//! Password sign-in, sessions, sign-out.

use super::Core;
use std::net::IpAddr;
use std::sync::RwLock;

use proofup_shared::api::{Me, SignInLogEntry, SignInResult};
use proofup_shared::mfa::NextStep;
use proofup_shared::validation::normalize_username;
use time::{Duration, OffsetDateTime};

use super::{new_token, session_key};

use crate::domain::membership::MembershipIndex;
use crate::domain::model::{ClientInfo, Session, User};
use crate::domain::model::{Continuation, SessionStage};
use crate::domain::session::{self, SessionCheck};
use crate::domain::signin::{after_first_factor, FirstFactor};
use crate::domain::throttle::ThrottleDecision;
use crate::store::{Store, StoreError};

/// Longest username or password even looked at; longer input is simply wrong.
const MAX_INPUT_BYTES: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("too many attempts")]
    Throttled(Duration),
    #[error("account locked")]
    Locked,
    #[error("account disabled")]
    Disabled,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct SignedIn {
    /// The cookie value. Shown to the browser once, never stored.
    pub token: String,
    pub me: Me,
}

#[allow(clippy::too_many_arguments)]
fn log_attempt<S: Store + ?Sized>(
    s: &S,
    at: OffsetDateTime,
    username: &str,
    user: Option<&User>,
    result: SignInResult,
    reason: &str,
    client: &ClientInfo,
) -> Result<(), StoreError> {
    log_attempt_to(s, at, username, user, result, reason, client, None)
}

/// A sign-in log entry; `application` when the sign-in is for one (an application sent the user).
#[allow(clippy::too_many_arguments)]
fn log_attempt_to<S: Store + ?Sized>(
    s: &S,
    at: OffsetDateTime,
    username: &str,
    user: Option<&User>,
    result: SignInResult,
    reason: &str,
    client: &ClientInfo,
    application: Option<&str>,
) -> Result<(), StoreError> {
    super::record_sign_in(
        s,
        SignInLogEntry {
            id: String::new(),
            at,
            username: username.chars().filter(|c| !c.is_control()).take(128).collect(),
            user_id: user.map(|u| u.id.clone()),
            result,
            reason: reason.into(),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            interactive: true,
            application: application.map(str::to_owned),
            count: 1,
        },
    )
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no session")]
    Missing,
    #[error("session expired")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the session must do next, as the portal is told.
pub fn next_step<S: Store + ?Sized>(
    s: &S,
    index: &RwLock<MembershipIndex>,
    session: &Session,
    user: &User,
    now: OffsetDateTime,
) -> Result<NextStep, StoreError> {
    let step = match session.stage {
        SessionStage::Full => NextStep::Done,
        SessionStage::MustSetPassword => NextStep::SetPassword,
        SessionStage::SecondFactor => NextStep::SecondFactor { options: second_factor_options(s, &user.id)? },
        SessionStage::RegisterMfa if super::oidc::signin::continuation_requires_mfa(s, session, now)? => {
            NextStep::RegisterMfa { can_skip: false, days_left: 0, deadline: None, network_blocked: false }
        }
        SessionStage::RegisterMfa => match super::policy::interrupt_now(s, index, user, now)? {
            // No longer interrupted (policy changed, user excluded): registering or skipping both finish.
            NextStep::Done => {
                NextStep::RegisterMfa { can_skip: true, days_left: 0, deadline: None, network_blocked: false }
            }
            step => step,
        },
    };
    Ok(match step {
        NextStep::RegisterMfa { can_skip, days_left, deadline, .. } => NextStep::RegisterMfa {
            can_skip,
            days_left,
            deadline,
            network_blocked: !may_register_from(s, session, &session.ip)?,
        },
        step => step,
    })
}

/// Whether this session may register a method from `ip`: always once it proved MFA or began
/// with a temporary access pass; otherwise only from the policy's trusted networks (if any).
pub fn may_register_from<S: Store + ?Sized>(s: &S, session: &Session, ip: &str) -> Result<bool, StoreError> {
    if session.mfa_at.is_some() || session.via_pass {
        return Ok(true);
    }
    Ok(s.policy()?.policy.registration_allowed_from(ip))
}

/// The user's ways to finish the second step, most secure first.
pub fn second_factor_options<S: Store + ?Sized>(
    s: &S,
    user_id: &str,
) -> Result<Vec<proofup_shared::mfa::SecondFactorOption>, StoreError> {
    let kinds = s.methods(user_id)?.into_iter().map(|m| m.kind);
    let left = s.recovery_codes(user_id)?.map_or(0, |r| r.remaining());
    Ok(crate::domain::signin::second_factor_options(kinds, left))
}

/// Replaces a session with a new id at a new stage (privilege change). Returns the new cookie value.
/// Not yet durable: the caller awaits `durable()` before answering.
pub fn promote<S: Store + ?Sized>(
    s: &S,
    old_key: &[u8; 32],
    session: &Session,
    stage: SessionStage,
    mfa_at: Option<OffsetDateTime>,
    amr: &[&str],
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    s.delete_session(old_key)?;
    let token = new_token();
    let mut fresh =
        Session { stage, mfa_at: mfa_at.or(session.mfa_at), created_at: now, last_seen_at: now, ..session.clone() };
    if !amr.is_empty() {
        let mut all: Vec<String> = Vec::new();
        for m in std::iter::once("pwd").chain(amr.iter().copied()).chain(["mfa"]) {
            if !all.iter().any(|x| x == m) {
                all.push(m.to_owned());
            }
        }
        fresh.amr = all;
    }
    s.create_session(&session_key(&token), &fresh)?;
    Ok(token)
}

/// Logs the outcome of a second step (code) in the sign-in log (the caller awaits `durable()`).
pub fn log_second_step<S: Store + ?Sized>(
    s: &S,
    at: OffsetDateTime,
    user: &User,
    ok: bool,
    reason: &str,
    client: &ClientInfo,
    application: Option<&str>,
) -> Result<(), StoreError> {
    let result = if ok { SignInResult::Success } else { SignInResult::Failure };
    log_attempt_to(s, at, &user.username, Some(user), result, reason, client, application)
}

impl Core {
    /// Checks a username and password and, if right, opens a new session.
    ///
    /// Unknown users and wrong passwords get the same error after the same work
    /// (an Argon2 verify against a dummy hash); the sign-in log records which it was.
    #[allow(clippy::too_many_arguments)]
    pub async fn sign_in(
        &self,
        ip: IpAddr,
        client: &ClientInfo,
        username: &str,
        password: String,
        flow: Option<&str>,
    ) -> Result<SignedIn, SignInError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let name = normalize_username(username);
        // Refused attempts are logged but not synced one by one: a client hammering a closed door
        // must not turn each knock into a disk sync (the next sync, at most ~0.5 s away, takes them).
        if let Err(wait) = self.ip_limiter.hit(ip, now) {
            log_attempt(
                s,
                now,
                &name,
                None,
                SignInResult::Throttled,
                "Too many attempts from this IP address",
                client,
            )?;
            return Err(SignInError::Throttled(wait));
        }
        // The attempt is reserved (counted as a failure) atomically before the password is hashed,
        // so that concurrent guesses cannot all read the same count; a right password clears it.
        let throttle_key = crate::domain::throttle::key(&name);
        match s.reserve_attempt(&throttle_key, now)? {
            ThrottleDecision::Allow => {}
            ThrottleDecision::Wait(wait) => {
                // The log names the account when there is one: attempts on a real account keep a
                // row each, those naming nobody are counted per source and minute.
                let user = if name.len() > MAX_INPUT_BYTES { None } else { s.user_by_username(&name)? };
                log_attempt(
                    s,
                    now,
                    &name,
                    user.as_ref(),
                    SignInResult::Throttled,
                    "Account throttled after failed attempts",
                    client,
                )?;
                return Err(SignInError::Throttled(wait));
            }
            ThrottleDecision::Locked => {
                let user = if name.len() > MAX_INPUT_BYTES { None } else { s.user_by_username(&name)? };
                log_attempt(
                    s,
                    now,
                    &name,
                    user.as_ref(),
                    SignInResult::Blocked,
                    "Account locked after 100 failed attempts",
                    client,
                )?;
                return Err(SignInError::Locked);
            }
        }
        let too_long = name.len() > MAX_INPUT_BYTES || password.len() > MAX_INPUT_BYTES;
        let user = if too_long { None } else { s.user_by_username(&name)? };
        let exists = user.is_some();
        // Always one Argon2 verification, whether or not the user (or their password) exists.
        let phc = user.as_ref().filter(|u| u.has_password()).map(|u| u.password_hash.clone());
        let by_password = self.hasher.verify(password.clone(), phc).await;
        let now = self.clock.now();
        // Otherwise the typed secret may be the user's one-time temporary access pass.
        // A disabled user's pass is only checked (to say "disabled" to the right secret), not burnt.
        let by_pass = match &user {
            Some(u) if !by_password && u.enabled => s.take_pass(&u.id, &|rec| rec.matches(&password, now))?,
            Some(u) if !by_password => {
                let hit = std::cell::Cell::new(false);
                s.take_pass(&u.id, &|rec| {
                    hit.set(rec.matches(&password, now));
                    false
                })?;
                hit.get()
            }
            _ => false,
        };
        if !(by_password || by_pass) {
            // Already counted when the attempt was reserved.
            let reason = if exists { "Wrong password" } else { "Unknown username" };
            log_attempt(s, now, &name, user.as_ref(), SignInResult::Failure, reason, client)?;
            s.durable().await?;
            return Err(SignInError::InvalidCredentials);
        }
        let Some(user) = user else { return Err(SignInError::InvalidCredentials) };
        if !user.enabled {
            log_attempt(s, now, &name, Some(&user), SignInResult::Blocked, "Account disabled", client)?;
            s.durable().await?;
            return Err(SignInError::Disabled);
        }
        s.attempt_succeeded(&throttle_key)?;
        let token = new_token();
        let first = if by_pass { FirstFactor::TemporaryAccessPass } else { FirstFactor::Password };
        let methods = s.methods(&user.id)?.len() as u32;
        // The policy is evaluated at every interactive password sign-in (the log says what it did);
        // a temporary-access-pass sign-in is evaluated once the password is chosen.
        let (mut interrupts, mut note) = if first == FirstFactor::Password {
            super::policy::at_sign_in(s, &self.membership, &user, now)?
        } else {
            (false, None)
        };
        // Signing in to an application: the flow is what this sign-in resumes, and an
        // application that requires MFA makes a user without a method register now.
        let flow = match flow {
            Some(id) => super::oidc::signin::live_flow_app(s, id, now)?,
            None => None,
        };
        if let Some((_, app)) = flow.as_ref().filter(|(_, a)| a.require_mfa && methods == 0) {
            if first == FirstFactor::Password {
                interrupts = true;
                let n = format!("{} requires MFA: registration required now", app.name);
                note = Some(match note {
                    Some(policy) => format!("{policy}; {n}"),
                    None => n,
                });
            }
        }
        let stage = after_first_factor(first, methods, || interrupts);
        let application = flow.as_ref().map(|(_, a)| a.name.clone());
        let session = Session {
            continuation: flow.map(|(id, _)| Continuation::Authorize { request: id }),
            via_pass: by_pass,
            ..Session::begun(&user.id, now, &client.ip, &client.user_agent, stage)
        };
        s.create_session(&session_key(&token), &session)?;
        s.set_last_sign_in(&user.id, now)?;
        let mut how = if by_pass { "Temporary access pass".to_owned() } else { "Password".to_owned() };
        if stage == SessionStage::SecondFactor {
            how.push_str("; second factor pending");
        }
        if let Some(n) = note {
            how.push_str("; ");
            how.push_str(&n);
        }
        if user.emergency_access {
            how.push_str("; emergency-access account (alert raised)");
            s.add_alert(proofup_shared::api::EmergencyAlert {
                id: String::new(),
                at: now,
                user_id: user.id.clone(),
                username: user.username.clone(),
                ip: client.ip.clone(),
                acknowledged_by: None,
                acknowledged_at: None,
            })?;
            tracing::warn!(user = %user.username, ip = %client.ip, "emergency-access account signed in");
            super::webhook::enqueue(
                s,
                "emergency_access.sign_in",
                serde_json::json!({"user": user.username, "user_id": user.id, "ip": client.ip, "user_agent": client.user_agent}),
                now,
            )?;
        }
        log_attempt_to(s, now, &name, Some(&user), SignInResult::Success, &how, client, application.as_deref())?;
        s.durable().await?;
        let mut me = user.me();
        me.must_set_password = by_pass;
        me.next_step = next_step(s, &self.membership, &session, &user, now)?;
        Ok(SignedIn { token, me })
    }

    /// Ends the session server-side. Unknown tokens are fine (idempotent).
    pub fn sign_out(&self, token: &str) -> Result<(), super::ServiceError> {
        let s = self.store.as_ref();
        let key = session_key(token);
        // What applications hold under this session ends with it.
        if let Some(session) = s.session(&key)? {
            s.end_user_grants(&session.user_id, Some(&super::oidc::signin::sid(&key)))?;
        }
        s.delete_session(&key)?;
        Ok(s.flush()?)
    }

    /// Resolves a cookie token to its session and current user, enforcing the idle
    /// and absolute limits and re-reading the user (role, enabled) every time.
    pub fn current_session(&self, token: &str) -> Result<(Session, User), SessionError> {
        let s = self.store.as_ref();
        let key = session_key(token);
        let sess = s.session(&key)?.ok_or(SessionError::Missing)?;
        let now = self.clock.now();
        match session::check(&sess, self.limits, now) {
            SessionCheck::Valid { touch } => {
                let user = match s.user(&sess.user_id)? {
                    Some(u) if u.enabled => u,
                    _ => {
                        s.delete_session(&key)?;
                        return Err(SessionError::Expired);
                    }
                };
                if touch {
                    s.touch_session(&key, now)?;
                }
                Ok((sess, user))
            }
            SessionCheck::IdleExpired | SessionCheck::AbsoluteExpired => {
                s.delete_session(&key)?;
                Err(SessionError::Expired)
            }
        }
    }
}
