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
