//! The factors a [`SignIn`] proves or registers: each checks the stage, runs the ceremony and
//! makes the transition it leads to, so a caller (the portal API, the OpenID Connect provider)
//! asks one method per step.

use proofup_shared::mfa::{ConfirmTotpRequest, FinishPasskeyRegistration, PasskeyChallenge, TotpSetup};

use super::{Completed, SignIn};
use crate::domain::access::Factor as Proof;
use crate::domain::model::Method;
use crate::metrics::Factor;
use crate::service::ServiceError;

impl SignIn<'_> {
    /// A code from an authenticator app: the second step, or re-authentication in a complete
    /// session. A wrong or reused code is logged and refused.
    pub async fn prove_code(&self, code: &str) -> Result<Completed, ServiceError> {
        self.may_prove_with(proofup_shared::mfa::SecondFactorOption::AuthenticatorApp)?;
        match self.core.verify_code(&self.user, &self.client, code) {
            Ok(m) => {
                crate::metrics::second_step(Factor::AuthenticatorApp, true);
                self.second_step_done(&format!("Authenticator app \"{}\"", m.name), Proof::AuthenticatorApp).await
            }
            Err(e) => {
                crate::metrics::second_step(Factor::AuthenticatorApp, false);
                self.second_step_failed("Second factor: wrong or reused code").await;
                Err(e)
            }
        }
    }

    /// The code step of a sign-in in progress read ahead with the user's `methods` and its
    /// `attempt` reserved ([`Core::code_step`]): a right code makes its writes in one store call
    /// gated on the spent time step (the throttle cleared, the log row, the sign-in become its
    /// session), so that on PostgreSQL the step is two round trips, the read and this write. A
    /// sign-in that goes on (a password change the user risk policy asks) or revokes first takes
    /// the way every factor takes.
    pub async fn prove_code_read(
        &self,
        code: &str,
        methods: &[crate::domain::model::Method],
        attempt: crate::domain::throttle::ThrottleDecision,
    ) -> Result<Completed, ServiceError> {
        use crate::domain::throttle::ThrottleDecision;
        use crate::service::mfa::{wrong_code, CodeCheck};
        use crate::store::{CodeStepWrites, CodeStepWritten};
        let super::Progress::Signing(f) = &self.progress else {
            return Err(ServiceError::WrongStage("This session is not waiting for a second factor."));
        };
        self.may_prove_with(proofup_shared::mfa::SecondFactorOption::AuthenticatorApp)?;
        let (s, now) = (self.core.store.as_ref(), self.core.clock.now());
        let checked = match attempt {
            ThrottleDecision::Allow => Ok(self.core.check_code(&self.user, methods, code, now)),
            ThrottleDecision::Wait(w) => Err(ServiceError::Throttled(w)),
            ThrottleDecision::Locked => Err(ServiceError::Locked),
        };
        let failed = |e: ServiceError| async {
            crate::metrics::second_step(Factor::AuthenticatorApp, false);
            self.second_step_failed("Second factor: wrong or reused code").await;
            Err(e)
        };
        let (m, step) = match checked {
            Ok(CodeCheck::Accepted(m, step)) => (m, step),
            Ok(CodeCheck::Replayed(m)) => {
                return failed(self.core.code_replayed(&self.user, &m, &self.client, now)).await
            }
            Ok(CodeCheck::Wrong) => return failed(wrong_code()).await,
            Err(e) => return failed(e).await,
        };
        let how = format!("Authenticator app \"{}\"", m.name);
        let mut flow = f.clone();
        flow.proved = flow.proved.with(Proof::AuthenticatorApp);
        if flow.password_change_due() || flow.context.as_ref().is_some_and(|c| c.revoke) {
            if !s.record_totp_use(&self.user.id, &m.id, step, now)? {
                return failed(self.core.code_replayed(&self.user, &m, &self.client, now)).await;
            }
            self.core.attempt_succeeded(&self.user)?;
            crate::metrics::second_step(Factor::AuthenticatorApp, true);
            return self.second_step_done(&how, Proof::AuthenticatorApp).await;
        }
        let token = crate::service::new_token();
        let session = super::session_from(&flow, Some(now), now);
        let application = self.application();
        let log = crate::service::auth::entry(
            now,
            (&self.user.username, Some(&self.user)),
            proofup_shared::api::SignInResult::Success,
            how,
            &self.client,
            application.as_deref(),
        );
        let written = s.write_code_step(&CodeStepWrites {
            user_id: self.user.id.clone(),
            method_id: m.id.clone(),
            step,
            throttle_key: self.user.username.clone(),
            from: self.key,
            to: crate::service::session_key(&token),
            session: session.clone(),
            log,
        })?;
        match written {
            CodeStepWritten::Replayed => {
                return failed(self.core.code_replayed(&self.user, &m, &self.client, now)).await;
            }
            CodeStepWritten::FlowGone => {
                return Err(ServiceError::WrongStage("This sign-in has already completed or ended. Sign in again."));
            }
            CodeStepWritten::Session => {}
        }
        crate::metrics::sign_in(proofup_shared::api::SignInResult::Success, true);
        crate::metrics::second_step(Factor::AuthenticatorApp, true);
        if let Some(context) = &flow.context {
            let strong = crate::domain::access::answers_risk(flow.proved, false);
            self.core.sign_in_completed(&self.user, context, strong, &self.client)?;
        }
        s.durable().await?;
        self.finished(token, &session)
    }

    /// Options for `navigator.credentials.get()`, bound to this session.
    pub fn passkey_challenge(&self) -> Result<PasskeyChallenge, ServiceError> {
        self.may_prove_with(proofup_shared::mfa::SecondFactorOption::Passkey)?;
        self.core.start_passkey_sign_in(self.key, &self.user)
    }

    /// The browser's answer to [`Self::passkey_challenge`].
    pub async fn prove_passkey(&self, credential: serde_json::Value) -> Result<Completed, ServiceError> {
        self.may_prove_with(proofup_shared::mfa::SecondFactorOption::Passkey)?;
        match self.core.finish_passkey_sign_in(self.key, &self.user, credential) {
            Ok(m) => {
                crate::metrics::second_step(Factor::Passkey, true);
                self.second_step_done(&format!("Passkey \"{}\"", m.name), Proof::Passkey).await
            }
            Err(e) => {
                crate::metrics::second_step(Factor::Passkey, false);
                self.second_step_failed("Second factor: passkey not verified").await;
                Err(e)
            }
        }
    }

    /// A recovery code (each works once); with how many are left.
    pub async fn prove_recovery_code(&self, code: &str) -> Result<(u32, Completed), ServiceError> {
        self.may_prove_with(proofup_shared::mfa::SecondFactorOption::RecoveryCode)?;
        match self.core.redeem_recovery_code(&self.user, &self.client, code) {
            Ok(left) => {
                crate::metrics::second_step(Factor::RecoveryCode, true);
                Ok((left, self.second_step_done(&format!("Recovery code ({left} left)"), Proof::RecoveryCode).await?))
            }
            Err(e) => {
                crate::metrics::second_step(Factor::RecoveryCode, false);
                self.second_step_failed("Second factor: wrong or used recovery code").await;
                Err(e)
            }
        }
    }

    /// Starts adding an authenticator app (at the interrupt or from My security info).
    pub fn start_totp(&self) -> Result<TotpSetup, ServiceError> {
        self.may_register()?;
        self.core.start_totp(self.key, &self.progress, &self.user)
    }

    /// Confirms the app begun in this session; completes an interrupted sign-in.
    pub async fn confirm_totp(&self, req: ConfirmTotpRequest) -> Result<(Method, Completed), ServiceError> {
        self.may_register()?;
        let m = self.core.confirm_totp(self.key, &self.progress, &self.user, &self.client, req)?;
        Ok((m, self.method_added("MFA registered at sign-in (authenticator app)").await?))
    }

    /// Starts adding a passkey: options for `navigator.credentials.create()`.
    pub fn start_passkey_registration(&self) -> Result<PasskeyChallenge, ServiceError> {
        self.may_register()?;
        self.core.start_passkey_registration(self.key, &self.progress, &self.user)
    }

    /// Verifies the new passkey and adds it; completes an interrupted sign-in.
    pub async fn finish_passkey_registration(
        &self,
        req: FinishPasskeyRegistration,
    ) -> Result<(Method, Completed), ServiceError> {
        self.may_register()?;
        let m = self.core.finish_passkey_registration(self.key, &self.progress, &self.user, &self.client, req)?;
        Ok((m, self.method_added("MFA registered at sign-in (passkey)").await?))
    }
}
