//! The sign-in flow: a browser part-way through signing in holds a login flow (`domain::login`),
//! never a session; what it must do next is the access decision's answer at every request.
//!
//! A sign-in is loaded as a [`SignIn`] — over a login flow, or over a complete session (where the
//! same steps re-authenticate or add a method from My security info). The HTTP layer asks it one
//! question per request and hands it what happened (a second step proved or failed, a method
//! added, a skip, a password chosen). Every way of finishing goes through [`SignIn::complete`],
//! the single place that writes the session (under a new id), and that hands back the
//! [`Continuation`] — what to resume (an application's authorization request).
//!
//! ```text
//!  password ──► login flow: prove ──(code, passkey, recovery code)──► session
//!     │              │
//!     │              └──(wrong)──► logged, stays
//!     ├──► login flow: register ──(method added | skip while the grace lasts)──► session
//!     └──► session (nothing to do)
//!  pass ──► login flow: set password ──(password chosen)──► prove | register | session
//! ```

mod steps;

use proofup_shared::api::{Me, SetPasswordRequest};
use proofup_shared::mfa::NextStep;
use time::OffsetDateTime;

use super::{new_token, session_key, Core, ServiceError};
use crate::domain::access::{Factor, Factors, Next};
use crate::domain::login::LoginFlow;
pub use crate::domain::login::Progress;
use crate::domain::model::{ClientInfo, Continuation, Session, User};

impl Core {
    /// Who a browser is signed in (or signing in) as and what it must do next (`GET /api/auth/me`).
    pub fn me(&self, progress: &Progress, user: &User) -> Result<Me, ServiceError> {
        let mut who = user.me();
        who.next_step = self.next_step(progress, user)?;
        who.must_set_password = who.next_step == NextStep::SetPassword;
        who.risk_password_change = matches!(progress, Progress::Signing(f) if f.password_change_due());
        // A complete session keeps what its sign-in resumed; that application's flow began before the
        // session and lives at most FLOW_LIFETIME, so an older session has nothing to look up (every
        // page asks `me`).
        let may_wait = match progress {
            Progress::Complete(s) => self.clock.now() < s.created_at + crate::domain::oidc::grant::FLOW_LIFETIME,
            Progress::Signing(_) => true,
        };
        if may_wait {
            self.with_flow_links(progress.continuation(), &mut who)?;
        }
        Ok(who)
    }
}

/// A browser's sign-in, with who it is and where the request came from.
pub struct SignIn<'a> {
    core: &'a Core,
    key: [u8; 32],
    progress: Progress,
    user: User,
    client: ClientInfo,
}

/// Signing in is over: the new session's cookie value, who is signed in, and what to resume.
#[derive(Debug)]
pub struct Completed {
    pub token: String,
    pub me: Me,
    pub continuation: Option<Continuation>,
}

impl<'a> SignIn<'a> {
    pub fn new(core: &'a Core, key: [u8; 32], progress: Progress, user: User, client: ClientInfo) -> Self {
        Self { core, key, progress, user, client }
    }

    pub fn user(&self) -> &User {
        &self.user
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The record's store key (ceremonies begun in this sign-in are bound to it).
    pub fn key(&self) -> [u8; 32] {
        self.key
    }

    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    /// The application this sign-in is for (its flow still waiting), for the sign-in log.
    pub fn application(&self) -> Option<String> {
        self.core.flow_of(self.progress.continuation()).ok().flatten().map(|(_, a)| a.name)
    }

    /// What the access decision says now, for a sign-in in progress.
    fn decide(&self, flow: &LoginFlow) -> Result<Next, ServiceError> {
        Ok(self.core.decide_for_flow(flow, &self.user)?.decision.next)
    }

    /// Waiting for a second factor (or complete, to re-authenticate). (A user without a method
    /// has nothing to prove: the proof fails.)
    pub fn may_prove(&self) -> Result<(), ServiceError> {
        use proofup_shared::mfa::SecondFactorOption as O;
        match &self.progress {
            Progress::Complete(_) => Ok(()),
            Progress::Signing(f) if [O::Passkey, O::AuthenticatorApp, O::RecoveryCode].iter().any(|o| f.awaits(*o)) => {
                Ok(())
            }
            Progress::Signing(_) => Err(ServiceError::WrongStage("This sign-in has no second factor to prove.")),
        }
    }

    /// As [`Self::may_prove`], with this kind of proof among those the decision accepts (a
    /// risky sign-in may accept a passkey only).
    /// (What the first factor's decision asked is carried in the sign-in: no decision here.)
    pub fn may_prove_with(&self, option: proofup_shared::mfa::SecondFactorOption) -> Result<(), ServiceError> {
        match &self.progress {
            Progress::Complete(_) => Ok(()),
            Progress::Signing(f) if f.awaits(option) => Ok(()),
            Progress::Signing(f) if f.context.as_ref().is_some_and(|c| c.passkey_only) => {
                Err(ServiceError::WrongStage(
                    "This sign-in looks unusual: only a passkey can prove it is you. Use your passkey.",
                ))
            }
            Progress::Signing(_) => Err(ServiceError::WrongStage("This sign-in has no second factor to prove.")),
        }
    }

    /// The second step of signing in, not re-authentication.
    pub fn must_be_proving(&self) -> Result<(), ServiceError> {
        match &self.progress {
            Progress::Signing(_) => self.may_prove(),
            Progress::Complete(_) => Err(ServiceError::WrongStage("This session is not waiting for a second factor.")),
        }
    }

    /// Waiting at the registration interrupt (or complete, adding a method from My security info),
    /// from where the policy lets this sign-in register.
    pub fn may_register(&self) -> Result<(), ServiceError> {
        let blocked = match &self.progress {
            Progress::Complete(s) => !self.core.may_register_from(s, &self.client.ip)?,
            Progress::Signing(f) => match self.decide(f)? {
                // From this request's address (the stricter: not where the sign-in began).
                Next::Register { .. } | Next::Allow => {
                    let network = self.core.registration_network(&self.client.ip)?;
                    !crate::domain::access::may_register(f.proved, network)
                }
                _ => return Err(ServiceError::WrongStage("Finish signing in first.")),
            },
        };
        if blocked {
            return Err(ServiceError::Forbidden(
                "You can register a sign-in method only from your organization's network. Sign in from there, or ask your administrator for a temporary access pass.".into(),
            ));
        }
        Ok(())
    }

    /// A second factor was proved (`how` names it for the log, `factor` for the session's `amr`):
    /// a sign-in in progress completes, a complete session is re-authenticated. Either way a new
    /// session id and a fresh MFA time.
    pub async fn second_step_done(&self, how: &str, factor: Factor) -> Result<Completed, ServiceError> {
        let now = self.core.clock.now();
        if let Progress::Signing(f) = &self.progress {
            self.core.log_second_step(now, &self.user, true, how, &self.client, self.application().as_deref())?;
            // A risky user changes their password next (user risk): the sign-in continues under
            // a new id.
            let mut flow = f.clone();
            flow.proved = flow.proved.with(factor);
            if flow.password_change_due() {
                return self.continue_with(flow, Next::SetPassword).await;
            }
        }
        self.complete(Some(factor), Some(now), now).await
    }

    /// The sign-in goes on to `next` with `flow` (what it proved so far), under a new id.
    async fn continue_with(&self, flow: LoginFlow, next: Next) -> Result<Completed, ServiceError> {
        let s = self.core.store.as_ref();
        s.delete_login(&self.key)?;
        let token = new_token();
        s.put_login(&session_key(&token), &flow)?;
        s.durable().await?;
        let mut me = self.user.me();
        me.next_step = self.core.step_for(&flow, next)?;
        me.must_set_password = me.next_step == NextStep::SetPassword;
        me.risk_password_change = flow.password_change_due();
        self.core.with_flow_links(flow.continuation.as_ref(), &mut me)?;
        Ok(Completed { token, me, continuation: None })
    }

    /// A second step failed: logged when signing in (not for re-authentication).
    pub async fn second_step_failed(&self, how: &str) {
        if !self.progress.signing() {
            return;
        }
        let s = self.core.store.as_ref();
        let written = match self.core.log_second_step(
            self.core.clock.now(),
            &self.user,
            false,
            how,
            &self.client,
            self.application().as_deref(),
        ) {
            Ok(()) => s.durable().await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            tracing::error!(error = %e, "could not write the sign-in log");
        }
    }

    /// A method was added: registering finishes a sign-in at the interrupt (the log says how,
    /// `at_interrupt`); in a complete session it renews the session as after a second factor.
    pub async fn method_added(&self, at_interrupt: &str) -> Result<Completed, ServiceError> {
        let now = self.core.clock.now();
        if self.progress.signing() {
            crate::metrics::interrupt(crate::metrics::Interrupt::Registered);
            self.core.log_second_step(
                now,
                &self.user,
                true,
                at_interrupt,
                &self.client,
                self.application().as_deref(),
            )?;
        }
        // Registered with only the password behind it: not MFA for this sign-in's tokens.
        self.complete(Some(Factor::NewMethod), Some(now), now).await
    }

    /// "Skip for now": allowed while the decision offers a skip (the grace lasts, and no
    /// application wants MFA), or no longer interrupts; completes the sign-in without MFA.
    pub async fn skip(&self) -> Result<Completed, ServiceError> {
        let Progress::Signing(f) = &self.progress else {
            return Err(ServiceError::WrongStage("This session is not waiting for MFA registration."));
        };
        let now = self.core.clock.now();
        match self.decide(f)? {
            Next::Allow | Next::Register { skip: Some(_), .. } => self.core.record_skip(&self.user, now)?,
            Next::Register { .. } => return Err(ServiceError::RegistrationRequired),
            _ => return Err(ServiceError::WrongStage("This sign-in is not waiting for MFA registration.")),
        }
        self.core.log_second_step(
            now,
            &self.user,
            true,
            "MFA registration skipped",
            &self.client,
            self.application().as_deref(),
        )?;
        crate::metrics::interrupt(crate::metrics::Interrupt::Skipped);
        self.complete(None, None, now).await
    }

    /// A password was chosen: after a temporary access pass (the pass counted as strong
    /// authentication, so only registration may still follow, and the sign-in log says what the
    /// policy did) or in a complete session (the current password is checked). Either way every
    /// other session and sign-in of the user ends and this one continues under a new id: the
    /// next step, or a session. `Me` says what is next.
    pub async fn password_chosen(&self, req: SetPasswordRequest) -> Result<(String, Me), ServiceError> {
        let core = self.core;
        let s = core.store.as_ref();
        let result = core.set_own_password(&self.user, &self.progress, &self.client, req).await;
        // Durable either way: the new password, or the failed-attempt count.
        let user = match result {
            Ok(u) => u,
            Err(e) => {
                s.flush()?;
                return Err(e);
            }
        };
        let now = core.clock.now();
        let token = new_token();
        let (progress, outcomes) = match &self.progress {
            Progress::Signing(f) => {
                // Not after a pass: the user risk policy's secure password change (a second
                // factor, then this password). What a new password fixes is remediated.
                if !f.proved.has(Factor::TemporaryAccessPass) {
                    core.remediate_user_risk(&user, "secure_password_change", true, &self.client)?;
                }
                let mut flow = f.clone();
                flow.proved = flow.proved.with(Factor::PasswordChosen);
                let decided = core.decide_for_flow(&flow, &user)?;
                let outcomes = decided.decision.outcomes.clone();
                let next = decided.decision.next.clone();
                core.registration_evaluated(&user, decided)?;
                if matches!(next, Next::Allow | Next::Deny(_)) {
                    if let (Next::Allow, Some(context)) = (&next, &flow.context) {
                        core.sign_in_completed(&user, context, true, &self.client)?;
                    }
                    let session = session_from(&flow, None, now);
                    s.create_session(&session_key(&token), &session)?;
                    (Progress::Complete(session), Some(outcomes))
                } else {
                    s.put_login(&session_key(&token), &flow)?;
                    (Progress::Signing(flow), Some(outcomes))
                }
            }
            Progress::Complete(session) => {
                let fresh = Session { created_at: now, last_seen_at: now, ..session.clone() };
                s.create_session(&session_key(&token), &fresh)?;
                (Progress::Complete(fresh), None)
            }
        };
        if let Some(outcomes) = outcomes {
            self.core.log_step_outcomes(
                now,
                &user,
                "Password chosen after a temporary access pass",
                outcomes,
                &self.client,
                self.application().as_deref(),
            )?;
        }
        s.flush()?;
        Ok((token, core.me(&progress, &user)?))
    }

    /// The one way out of signing in: the login flow becomes a session under a new id, at most
    /// once and in one store call (re-authenticating: the old session is replaced), with what
    /// was proved (`factor`, at `mfa_at`); everything is made durable in one sync, and the
    /// continuation is handed back.
    async fn complete(
        &self,
        factor: Option<Factor>,
        mfa_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Completed, ServiceError> {
        let s = self.core.store.as_ref();
        let token = new_token();
        // Whether the login flow is still to become the session (taken with its writing).
        let mut promote = false;
        let session = match &self.progress {
            Progress::Signing(f) => {
                let mut flow = f.clone();
                if let Some(factor) = factor {
                    flow.proved = flow.proved.with(factor);
                }
                if let Some(context) = &flow.context {
                    let strong = crate::domain::access::answers_risk(flow.proved, false);
                    self.core.sign_in_completed(&self.user, context, strong, &self.client)?;
                }
                // A risky user asked to revoke and sign in afresh: every other session and
                // grant ends here, before this one is written.
                if flow.context.as_ref().is_some_and(|c| c.revoke) {
                    s.delete_login(&self.key)?;
                    self.core.user_risk_revoked(&self.user, flow.proved, &self.client)?;
                } else {
                    promote = true;
                }
                session_from(&flow, mfa_at, now)
            }
            Progress::Complete(old) => {
                s.delete_session(&self.key)?;
                let mut fresh =
                    Session { mfa_at: mfa_at.or(old.mfa_at), created_at: now, last_seen_at: now, ..old.clone() };
                // Re-authenticated with a second factor: the session's `amr` says which.
                if let Some(f) = factor {
                    let base = if old.via_pass {
                        Factors::of(&[Factor::TemporaryAccessPass, Factor::PasswordChosen])
                    } else {
                        Factors::of(&[Factor::Password])
                    };
                    let proved = base.with(f);
                    if proved.second_factor() {
                        fresh.amr = proved.amr();
                    }
                }
                fresh
            }
        };
        if promote {
            if !s.promote_login(&self.key, &session_key(&token), &session)? {
                return Err(ServiceError::WrongStage("This sign-in has already completed or ended. Sign in again."));
            }
        } else {
            s.create_session(&session_key(&token), &session)?;
        }
        s.durable().await?;
        self.finished(token, &session)
    }

    /// Signed in: what the browser hears (its session made durable before).
    fn finished(&self, token: String, session: &Session) -> Result<Completed, ServiceError> {
        let mut me = self.user.me();
        me.next_step = NextStep::Done;
        self.core.with_flow_links(session.continuation.as_ref(), &mut me)?;
        Ok(Completed { token, me, continuation: session.continuation.clone() })
    }
}

/// The session a login flow becomes once complete.
fn session_from(flow: &LoginFlow, mfa_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Session {
    let amr = if flow.proved.second_factor() { flow.proved.amr() } else { Vec::new() };
    Session {
        mfa_at,
        continuation: flow.continuation.clone(),
        amr,
        via_pass: flow.proved.has(Factor::TemporaryAccessPass),
        ..Session::begun(&flow.user_id, now, &flow.ip, &flow.user_agent)
    }
}
