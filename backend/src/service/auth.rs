//! Password sign-in, sessions, sign-out.

use super::Core;
use std::net::IpAddr;

use crate::domain::records::SignInRecord;
use proofup_shared::api::{describe_outcomes, Me, PolicyOutcome, SignInResult};
use proofup_shared::validation::normalize_username;
use time::{Duration, OffsetDateTime};

use super::{new_token, session_key};

use super::access::signed_in_after;
use crate::domain::access::{AccessDecision, Factor, Factors, Moment};
use crate::domain::login::LoginFlow;
use crate::domain::login::Progress;
use crate::domain::model::Continuation;
use crate::domain::model::{ClientInfo, Session, User};
use crate::domain::session::{self, SessionCheck};
use crate::domain::throttle::ThrottleDecision;
use crate::store::{StepFacts, StepProgress, StepWrites, StoreError};
use proofup_shared::mfa::NextStep;

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
    /// The sign-in risk policy refused (the sentence says why and what to do).
    #[error("{0}")]
    RiskBlocked(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What follows the password could not be decided (an internal failure, never the client's).
    #[error(transparent)]
    Service(#[from] Box<super::ServiceError>),
}

impl From<super::ServiceError> for SignInError {
    fn from(e: super::ServiceError) -> Self {
        SignInError::Service(Box::new(e))
    }
}

pub struct SignedIn {
    /// The cookie value. Shown to the browser once, never stored.
    pub token: String,
    pub me: Me,
}

impl Core {
    pub(super) fn log_attempt(
        &self,
        at: OffsetDateTime,
        username: &str,
        user: Option<&User>,
        result: SignInResult,
        reason: &str,
        client: &ClientInfo,
    ) -> Result<(), StoreError> {
        self.log_attempt_to(at, (username, user), result, reason, client, None)
    }
}

/// A sign-in log entry; `application` when the sign-in is for one (an application sent the user).
pub(crate) fn entry(
    at: OffsetDateTime,
    (username, user): (&str, Option<&User>),
    result: SignInResult,
    reason: String,
    client: &ClientInfo,
    application: Option<&str>,
) -> SignInRecord {
    SignInRecord {
        id: String::new(),
        at,
        username: username.chars().filter(|c| !c.is_control()).take(128).collect(),
        user_id: user.map(|u| u.id.clone()),
        result,
        reason,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        interactive: true,
        application: application.map(str::to_owned),
        count: 1,
        outcomes: Vec::new(),
        place: None,
    }
}

impl Core {
    pub(super) fn log_attempt_to(
        &self,
        at: OffsetDateTime,
        who: (&str, Option<&User>),
        result: SignInResult,
        reason: &str,
        client: &ClientInfo,
        application: Option<&str>,
    ) -> Result<(), StoreError> {
        self.record_sign_in(entry(at, who, result, reason.into(), client, application))
    }
}

impl Core {
    /// A step's log entry with the outcomes of the access decision: the reason is `how` followed by
    /// them in words, and they are kept as data beside it.
    pub(crate) fn log_step_outcomes(
        &self,
        at: OffsetDateTime,
        user: &User,
        how: &str,
        outcomes: Vec<PolicyOutcome>,
        client: &ClientInfo,
        application: Option<&str>,
    ) -> Result<(), StoreError> {
        let reason = describe_outcomes(how, &outcomes);
        let e = entry(at, (&user.username, Some(user)), SignInResult::Success, reason, client, application);
        self.record_sign_in(SignInRecord { outcomes, ..e })
    }
}

/// What [`Core::code_step`] read.
pub enum CodeStepRead {
    /// A sign-in in progress (live, its user enabled), the user's methods, and the attempt
    /// reserved in the account's throttle.
    Ahead { flow: LoginFlow, user: User, methods: Vec<crate::domain::model::Method>, attempt: ThrottleDecision },
    /// No sign-in in progress under the token: a complete session.
    Other(Progress, User),
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

impl Core {
    /// Logs the outcome of a second step (code) in the sign-in log (the caller awaits `durable()`).
    pub(crate) fn log_second_step(
        &self,
        at: OffsetDateTime,
        user: &User,
        ok: bool,
        reason: &str,
        client: &ClientInfo,
        application: Option<&str>,
    ) -> Result<(), StoreError> {
        let result = if ok { SignInResult::Success } else { SignInResult::Failure };
        self.log_attempt_to(at, (&user.username, Some(user)), result, reason, client, application)
    }
}

impl Core {
    /// Checks a username and password and, if right, opens a new session.
    ///
    /// Unknown users and wrong passwords get the same error after the same work
    /// (an Argon2 verify against a dummy hash); the sign-in log records which it was.
    pub async fn sign_in(
        &self,
        ip: IpAddr,
        client: &ClientInfo,
        username: &str,
        password: String,
        flow: Option<&str>,
        device: Option<&str>,
    ) -> Result<SignedIn, SignInError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let name = normalize_username(username);
        // Refused attempts are logged but not synced one by one: a client hammering a closed door
        // must not turn each knock into a disk sync (the next sync, at most ~0.5 s away, takes them).
        if let Err(wait) = self.ip_limiter.hit(ip, now) {
            self.log_attempt(
                now,
                &name,
                None,
                SignInResult::Throttled,
                "Too many attempts from this IP address",
                client,
            )?;
            return Err(SignInError::Throttled(wait));
        }
        // Whose account, and from where: a browser or network the account's profile knows counts
        // its failures apart from everyone else's, so a spray against a username cannot lock its
        // owner out at their desk (the per-account throttle is not a lock-out weapon).
        // What the step reads, in one store call: the account with its profile, methods, codes and
        // registration state, and the policies.
        let facts = if name.len() > MAX_INPUT_BYTES { None } else { Some(s.password_step_facts(&name)?) };
        let (account, profile, facts) = match facts {
            Some(StepFacts { user, profile, methods, codes, registration, policies }) => {
                (user, profile, Some((methods, codes, registration, policies)))
            }
            None => (None, None, None),
        };
        let place = self.locate(&client.ip);
        let familiar = profile.as_ref().is_some_and(|p| p.familiar(device, &place));
        let throttle_key =
            if familiar { crate::domain::throttle::familiar_key(&name) } else { crate::domain::throttle::key(&name) };
        // A wrong password typed again (one of the account's last three) is not a new guess: it
        // is checked, and not counted again.
        let repeated = self.repeated_wrong_password(&throttle_key, &password);
        // The attempt is reserved (counted as a failure) atomically before the password is hashed,
        // so that concurrent guesses cannot all read the same count; a right password clears it.
        let decision = if repeated { ThrottleDecision::Allow } else { s.reserve_attempt(&throttle_key, now)? };
        match decision {
            ThrottleDecision::Allow => {}
            ThrottleDecision::Wait(wait) => {
                // The log names the account when there is one: attempts on a real account keep a
                // row each, those naming nobody are counted per source and minute.
                self.log_attempt(
                    now,
                    &name,
                    account.as_ref(),
                    SignInResult::Throttled,
                    "Account throttled after failed attempts",
                    client,
                )?;
                return Err(SignInError::Throttled(wait));
            }
            ThrottleDecision::Locked => {
                self.log_attempt(
                    now,
                    &name,
                    account.as_ref(),
                    SignInResult::Blocked,
                    "Account locked after 100 failed attempts",
                    client,
                )?;
                return Err(SignInError::Locked);
            }
        }
        let too_long = name.len() > MAX_INPUT_BYTES || password.len() > MAX_INPUT_BYTES;
        let user = if too_long { None } else { account };
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
            // Already counted when the attempt was reserved. The spray watch keeps keyed hashes
            // of the name and the wrong password for an hour, in memory.
            if !too_long {
                self.spray_failure(ip, &name, &password, !exists);
                self.remember_wrong_password(&throttle_key, &password);
            }
            let reason = match (exists, repeated) {
                (true, true) => "Wrong password (typed again: not counted)",
                (true, false) => "Wrong password",
                (false, _) => "Unknown username",
            };
            self.log_attempt(now, &name, user.as_ref(), SignInResult::Failure, reason, client)?;
            s.durable().await?;
            return Err(SignInError::InvalidCredentials);
        }
        let Some(user) = user else { return Err(SignInError::InvalidCredentials) };
        if !user.enabled {
            self.log_attempt(now, &name, Some(&user), SignInResult::Blocked, "Account disabled", client)?;
            s.durable().await?;
            return Err(SignInError::Disabled);
        }
        // The account's throttle is cleared with the step's other writes, below.
        let token = new_token();
        let first = if by_pass { Factor::TemporaryAccessPass } else { Factor::Password };
        // Signing in to an application: the flow is what this sign-in resumes, and what the
        // application requires is part of the decision.
        let flow = match flow {
            Some(id) => self.live_flow(id)?,
            None => None,
        };
        let channel = self.channel_of(flow.as_ref(), &user)?;
        // Risk: the password typed is checked against the breached set only when it was the
        // password (a pass is not one), and is dropped right after.
        let Some((methods, codes, registration, policies)) = facts else {
            return Err(SignInError::InvalidCredentials); // no facts, no user: not reached
        };
        let attempt = super::risk::Attempt {
            ip,
            place,
            device,
            password: by_password.then_some(password.as_str()),
            profile: profile.as_ref(),
        };
        let assessed = self.assess_sign_in(attempt, &policies)?;
        drop(password);
        let decided = self.decide_access_with(
            &policies,
            super::access::AccessAsk {
                user: &user,
                proved: Factors::of(&[first]),
                moment: Moment::SigningIn,
                channel,
                ip: &client.ip,
                risk_level: assessed.context.level,
                known: Some(super::access::Known {
                    methods: &methods,
                    codes: codes.as_ref(),
                    registration: &registration,
                }),
            },
        )?;
        let AccessDecision { next, mut outcomes } = decided.decision.clone();
        if let crate::domain::access::Next::Deny(
            why @ (crate::domain::access::Denied::Risky | crate::domain::access::Denied::RiskNoMethod { .. }),
        ) = &next
        {
            // Refused here, with no session and no sign-in in progress: the log says why.
            s.attempt_succeeded(&throttle_key)?;
            self.record_detections(&user, &assessed, client, flow.as_ref().map(|(_, a)| a.name.as_str()))?;
            let reason = describe_outcomes("Password", &outcomes);
            let e = entry(now, (&user.username, Some(&user)), SignInResult::Blocked, reason, client, None);
            let place = Some(assessed.context.place.clone()).filter(|p| p.known());
            self.record_sign_in(SignInRecord { outcomes, place, ..e })?;
            s.durable().await?;
            return Err(SignInError::RiskBlocked(why.describe()));
        }
        let done = signed_in_after(&next);
        // The policy is evaluated at every interactive password sign-in (the log says what it
        // did); a temporary-access-pass sign-in is evaluated once the password is chosen.
        if !outcomes.is_empty() {
            self.registration_evaluated(&user, decided)?;
        }
        let application = flow.as_ref().map(|(_, a)| a.name.clone());
        let continuation = flow.map(|(f, _)| Continuation::Authorize { request: f.id });
        // Nothing more to do: a session. Otherwise a login flow, and no session until it completes.
        self.record_detections(&user, &assessed, client, application.as_deref())?;
        // What the risk policies asked, carried to the steps that follow (no decision there).
        let context = assessed.context.clone().with_plan(&next, &outcomes);
        let login = LoginFlow {
            continuation: continuation.clone(),
            context: Some(context),
            ..LoginFlow::begun(&user.id, first, now, &client.ip, &client.user_agent)
        };
        let (progress, written) = if done {
            let session = Session { continuation, ..Session::begun(&user.id, now, &client.ip, &client.user_agent) };
            (Progress::Complete(session.clone()), StepProgress::Session(session))
        } else {
            (Progress::Signing(login.clone()), StepProgress::Login(login.clone()))
        };
        if user.emergency_access {
            outcomes.push(PolicyOutcome::EmergencyAccess);
            s.add_alert(crate::domain::records::AlertRecord {
                id: String::new(),
                kind: proofup_shared::overview::AlertKind::EmergencySignIn,
                detail: None,
                at: now,
                user_id: user.id.clone(),
                username: user.username.clone(),
                ip: client.ip.clone(),
                acknowledged_by: None,
                acknowledged_at: None,
            })?;
            tracing::warn!(user = %user.username, ip = %client.ip, "emergency-access account signed in");
            self.enqueue_event(crate::domain::notify::EventKind::EmergencyAccessSignIn,
                serde_json::json!({"user": user.username, "user_id": user.id, "ip": client.ip, "user_agent": client.user_agent}),
                now,
            )?;
        }
        let how = if by_pass { "Temporary access pass" } else { "Password" };
        let reason = describe_outcomes(how, &outcomes);
        let e =
            entry(now, (&user.username, Some(&user)), SignInResult::Success, reason, client, application.as_deref());
        let place = Some(assessed.context.place.clone()).filter(|p| p.known());
        // The step's writes together (one statement on PostgreSQL): the throttle cleared, the
        // session or the sign-in that goes on, the last sign-in, the log row.
        s.write_password_step(&StepWrites {
            throttle_key,
            key: session_key(&token),
            progress: written,
            user_id: user.id.clone(),
            at: now,
            log: SignInRecord { outcomes, place, ..e },
        })?;
        crate::metrics::sign_in(SignInResult::Success, true);
        if done {
            self.sign_in_completed(&user, &assessed.context, false, client)?;
        }
        s.durable().await?;
        let mut me = user.me();
        me.next_step = if done { NextStep::Done } else { self.step_for(&login, next)? };
        me.must_set_password = me.next_step == NextStep::SetPassword;
        self.with_flow_links(progress.continuation(), &mut me)?;
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
        // Or a sign-in in progress, abandoned.
        s.delete_login(&key)?;
        Ok(s.flush()?)
    }

    /// Resolves a cookie token to its session and current user, enforcing the idle
    /// and absolute limits and re-reading the user (role, enabled) every time.
    pub fn current_session(&self, token: &str) -> Result<(Session, User), SessionError> {
        let s = self.store.as_ref();
        let key = session_key(token);
        let (sess, user) = s.session_with_user(&key)?.ok_or(SessionError::Missing)?;
        let now = self.clock.now();
        if !sess.complete() {
            // Left part-way through signing in by an older version: not a session.
            s.delete_session(&key)?;
            return Err(SessionError::Expired);
        }
        match session::check(&sess, self.limits, now) {
            SessionCheck::Valid { touch } => {
                let user = match user {
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

    /// Resolves a cookie token to a complete session or a sign-in in progress, with its current
    /// user (enabled, re-read every time). A sign-in past its lifetime is gone.
    pub fn current(&self, token: &str) -> Result<(Progress, User), SessionError> {
        match self.current_session(token) {
            Ok((session, user)) => Ok((Progress::Complete(session), user)),
            Err(SessionError::Missing) => self.current_login(token),
            Err(e) => Err(e),
        }
    }

    /// As [`Core::current`], looking for a sign-in in progress first: for the steps of signing
    /// in, where the cookie is one far more often than a session (one database call fewer).
    pub fn current_signing(&self, token: &str) -> Result<(Progress, User), SessionError> {
        match self.current_login(token) {
            Err(SessionError::Missing) => {
                self.current_session(token).map(|(session, user)| (Progress::Complete(session), user))
            }
            other => other,
        }
    }

    /// For the code step: the sign-in in progress read with the user's methods and the attempt
    /// already reserved (one read, not three, on PostgreSQL); anything else as
    /// [`Core::current_signing`] answers it.
    pub fn code_step(&self, token: &str) -> Result<CodeStepRead, SessionError> {
        let s = self.store.as_ref();
        let key = session_key(token);
        let Some(facts) = s.code_step_facts(&key, self.clock.now())? else {
            return self
                .current_session(token)
                .map(|(session, user)| CodeStepRead::Other(Progress::Complete(session), user));
        };
        match (facts.user, facts.attempt) {
            (Some(user), Some(attempt)) => {
                Ok(CodeStepRead::Ahead { flow: facts.flow, user, methods: facts.methods, attempt })
            }
            // Expired, or the user gone or disabled: nothing was reserved.
            _ => {
                s.delete_login(&key)?;
                Err(SessionError::Expired)
            }
        }
    }

    fn current_login(&self, token: &str) -> Result<(Progress, User), SessionError> {
        let s = self.store.as_ref();
        let key = session_key(token);
        let (flow, user) = s.login_with_user(&key)?.ok_or(SessionError::Missing)?;
        if !flow.live(self.clock.now()) {
            s.delete_login(&key)?;
            return Err(SessionError::Expired);
        }
        match user {
            Some(u) if u.enabled => Ok((Progress::Signing(flow), u)),
            _ => {
                s.delete_login(&key)?;
                Err(SessionError::Expired)
            }
        }
    }
}
