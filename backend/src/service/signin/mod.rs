//! The sign-in flow: the one owner of every [`SessionStage`] transition after the first factor.
//!
//! A session part-way through signing in is loaded as a [`SignIn`]; the HTTP layer asks it one
//! question per request (may this session prove a factor? register one?) and hands it what
//! happened (a second step proved or failed, a method added, a skip). Every way of finishing goes
//! through [`SignIn::complete`], the single place that issues the new session id, and that hands
//! back the session's [`Continuation`] — what to resume once signing in is over (an
//! application's authorization request), so a caller other than the portal gets control back.
//!
//! ```text
//!  password ──► SecondFactor ──(code, passkey, recovery code)──► complete
//!     │              │
//!     │              └──(wrong)──► logged, stays
//!     ├──► RegisterMfa ──(method added | skip while the grace lasts)──► complete
//!     └──► Full (no method, not interrupted)
//!  pass ──► MustSetPassword ──(password chosen)──► SecondFactor | RegisterMfa | Full
//! ```

mod steps;

use proofup_shared::api::{Me, SetPasswordRequest};
use proofup_shared::mfa::NextStep;
use time::OffsetDateTime;

use super::{auth, policy, Core, ServiceError};
use crate::domain::access::{Factor, Factors, Moment, Next};
use crate::domain::model::{ClientInfo, Continuation, Session, SessionStage, User};

/// Who a session is signed in as and what it must do next (`GET /api/auth/me`).
pub fn me(core: &Core, session: &Session, user: &User) -> Result<Me, ServiceError> {
    let mut who = user.me();
    who.must_set_password = session.stage == SessionStage::MustSetPassword;
    who.next_step = core.next_step(session, user)?;
    core.with_flow_links(session, &mut who)?;
    Ok(who)
}

/// A session that may still be signing in, with who it is and where the request came from.
pub struct SignIn<'a> {
    core: &'a Core,
    key: [u8; 32],
    session: Session,
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
    pub fn new(core: &'a Core, key: [u8; 32], session: Session, user: User, client: ClientInfo) -> Self {
        Self { core, key, session, user, client }
    }

    pub fn stage(&self) -> SessionStage {
        self.session.stage
    }

    pub fn user(&self) -> &User {
        &self.user
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session's store key (ceremonies begun in this session are bound to it).
    pub fn key(&self) -> [u8; 32] {
        self.key
    }

    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    /// The application this sign-in is for (its flow still waiting), for the sign-in log.
    pub fn application(&self) -> Option<String> {
        self.core.continued_flow(&self.session).ok().flatten().map(|(_, a)| a.name)
    }

    /// Waiting for the second factor (or complete, to re-authenticate).
    pub fn may_prove(&self) -> Result<(), ServiceError> {
        match self.session.stage {
            SessionStage::SecondFactor | SessionStage::Full => Ok(()),
            _ => Err(ServiceError::WrongStage("This session has no second factor to prove.")),
        }
    }

    /// Waiting at the registration interrupt (or complete, adding a method from My security info),
    /// from where the policy lets this session register.
    pub fn may_register(&self) -> Result<(), ServiceError> {
        match self.session.stage {
            SessionStage::Full | SessionStage::RegisterMfa => {}
            _ => return Err(ServiceError::WrongStage("Finish signing in first.")),
        }
        if !self.core.may_register_from(&self.session, &self.client.ip)? {
            return Err(ServiceError::Forbidden(
                "You can register a sign-in method only from your organization's network. Sign in from there, or ask your administrator for a temporary access pass.".into(),
            ));
        }
        Ok(())
    }

    pub fn must_be(&self, stage: SessionStage) -> Result<(), ServiceError> {
        if self.session.stage == stage {
            return Ok(());
        }
        Err(ServiceError::WrongStage(match stage {
            SessionStage::SecondFactor => "This session is not waiting for a second factor.",
            SessionStage::RegisterMfa => "This session is not waiting for MFA registration.",
            SessionStage::MustSetPassword => "This session is not waiting for a new password.",
            SessionStage::Full => "Finish signing in first.",
        }))
    }

    /// A second factor was proved (`how` names it for the log): a waiting sign-in completes, a
    /// complete session is re-authenticated. Either way a new session id and a fresh MFA time.
    /// `amr` names the factor for ID tokens (RFC 8176; `pwd` and `mfa` are added).
    pub async fn second_step_done(&self, how: &str, amr: &[&str]) -> Result<Completed, ServiceError> {
        let now = self.core.clock.now();
        if self.session.stage == SessionStage::SecondFactor {
            auth::log_second_step(
                self.core.store.as_ref(),
                now,
                &self.user,
                true,
                how,
                &self.client,
                self.application().as_deref(),
            )?;
        }
        self.complete(Some(now), amr, now).await
    }

    /// A second step failed: logged when the session was signing in (not for re-authentication).
    pub async fn second_step_failed(&self, how: &str) {
        if self.session.stage != SessionStage::SecondFactor {
            return;
        }
        let s = self.core.store.as_ref();
        let written = match auth::log_second_step(
            s,
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

    /// A method was added: registering proves the new factor, so the session completes; at the
    /// interrupt this finishes the sign-in and the log says how (`at_interrupt`).
    pub async fn method_added(&self, at_interrupt: &str) -> Result<Completed, ServiceError> {
        let now = self.core.clock.now();
        if self.session.stage == SessionStage::RegisterMfa {
            crate::metrics::interrupt(crate::metrics::Interrupt::Registered);
            auth::log_second_step(
                self.core.store.as_ref(),
                now,
                &self.user,
                true,
                at_interrupt,
                &self.client,
                self.application().as_deref(),
            )?;
        }
        // Registered with only the password behind it: not MFA for this sign-in's tokens.
        self.complete(Some(now), &[], now).await
    }

    /// "Skip for now": allowed while the grace period lasts; completes the sign-in without MFA.
    pub async fn skip(&self) -> Result<Completed, ServiceError> {
        self.must_be(SessionStage::RegisterMfa)?;
        let now = self.core.clock.now();
        let s = self.core.store.as_ref();
        // Allowed while the decision offers a skip (the grace lasts, and no application wants
        // MFA), or no longer interrupts at all.
        match self.core.decide_for_session(&self.session, &self.user)?.decision.next {
            Next::Allow | Next::Register { skip: Some(_), .. } => policy::record_skip(s, &self.user, now)?,
            _ => return Err(ServiceError::RegistrationRequired),
        }
        auth::log_second_step(
            s,
            now,
            &self.user,
            true,
            "MFA registration skipped",
            &self.client,
            self.application().as_deref(),
        )?;
        crate::metrics::interrupt(crate::metrics::Interrupt::Skipped);
        self.complete(None, &[], now).await
    }

    /// A password was chosen: after a temporary access pass (the pass counted as strong
    /// authentication, so only the registration policy may still interrupt, and the sign-in log
    /// says what it did) or in a complete session (the current password is checked). Either way
    /// every other session of the user ends and this one continues under a new id, at the stage
    /// that follows; `Me` says what is next.
    pub async fn password_chosen(&self, req: SetPasswordRequest) -> Result<(String, Me), ServiceError> {
        let core = self.core;
        let s = core.store.as_ref();
        let decided = std::cell::RefCell::new(None::<super::access::Decided>);
        let first_password = self.session.stage == SessionStage::MustSetPassword;
        let flow = core.continued_flow(&self.session)?;
        let result = core
            .set_own_password(&self.user, &self.session, &self.client, req, &|u| {
                // The pass counted as strong authentication: only registration may still follow.
                let proved = Factors::of(&[Factor::TemporaryAccessPass, Factor::PasswordChosen]);
                let d = core
                    .channel_of(flow.as_ref(), u)
                    .and_then(|channel| core.decide_access(u, proved, Moment::SigningIn, channel, &self.client.ip));
                match d {
                    Ok(d) => {
                        let stage = super::access::stage_after(&d.decision.next);
                        *decided.borrow_mut() = Some(d);
                        stage
                    }
                    // Fail closed: the user may sign out and in again.
                    Err(e) => {
                        tracing::error!(error = %e, "could not decide what follows a new password");
                        SessionStage::MustSetPassword
                    }
                }
            })
            .await;
        if let (true, Ok(_), Some(d)) = (first_password, &result, decided.into_inner()) {
            let outcomes = d.decision.outcomes.clone();
            core.registration_evaluated(&self.user, d)?;
            auth::log_step_outcomes(
                s,
                core.clock.now(),
                &self.user,
                "Password chosen after a temporary access pass",
                outcomes,
                &self.client,
                self.application().as_deref(),
            )?;
        }
        // Durable either way: the new password and session, or the failed-attempt count.
        s.flush()?;
        let (user, token, session) = result?;
        let mut me = user.me();
        me.next_step = core.next_step(&session, &user)?;
        core.with_flow_links(&session, &mut me)?;
        Ok((token, me))
    }

    /// The one way out of signing in: the old session id is dropped, a complete session is
    /// written under a new one, everything is made durable in one sync, and the continuation
    /// (which the new session no longer carries) is handed back.
    async fn complete(
        &self,
        mfa_at: Option<OffsetDateTime>,
        amr: &[&str],
        now: OffsetDateTime,
    ) -> Result<Completed, ServiceError> {
        let s = self.core.store.as_ref();
        // The complete session keeps what it resumes, so that whichever page asks next learns
        // where the browser continues, until the application's flow ends.
        let token = auth::promote(s, &self.key, &self.session, SessionStage::Full, mfa_at, amr, now)?;
        s.durable().await?;
        let mut me = self.user.me();
        me.next_step = NextStep::Done;
        self.core.with_flow_links(&self.session, &mut me)?;
        Ok(Completed { token, me, continuation: self.session.continuation.clone() })
    }
}
