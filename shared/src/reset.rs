//! "Forgot your password?": the self-service password reset's bodies.

use serde::{Deserialize, Serialize};

/// What a reset can be proved with: the user's registered methods, and a code mailed to their
/// confirmed address (never enough alone: at least one registered method is always proved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResetMethod {
    AuthenticatorApp,
    Passkey,
    EmailCode,
}

impl ResetMethod {
    pub fn label(self) -> &'static str {
        match self {
            ResetMethod::AuthenticatorApp => "Authenticator app",
            ResetMethod::Passkey => "Passkey",
            ResetMethod::EmailCode => "Code by e-mail",
        }
    }

    /// A method the user registered (not the mailed code).
    pub fn registered(self) -> bool {
        !matches!(self, ResetMethod::EmailCode)
    }
}

/// The sentence a user reads when a reset cannot begin, whatever the reason (no such user,
/// disabled, not enough methods): the same words, so it tells nobody whether the account exists.
pub const ASK_AN_ADMINISTRATOR: &str =
    "We cannot reset this account's password here. Ask your administrator for a temporary access pass.";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetStartRequest {
    pub username: String,
    /// The application sign-in the user came from (`?flow=` of the sign-in page), to return to.
    #[serde(default)]
    pub flow: Option<String>,
}

/// Where a reset stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResetStep {
    /// Prove one of `methods`.
    Verify,
    /// Enough methods proved: choose the new password.
    SetPassword,
    /// This account cannot be reset here: ask an administrator.
    AskAdministrator,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetStatus {
    pub step: ResetStep,
    /// The methods still to choose from.
    #[serde(default)]
    pub methods: Vec<ResetMethod>,
    /// Where a mailed code goes, partly hidden (`a•••@contoso.test`), when that is one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_hint: Option<String>,
    /// How many more different methods to prove (administrators prove two).
    #[serde(default)]
    pub still_needed: u8,
    /// In words, for the page.
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetCodeRequest {
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    pub new_password: String,
}

/// The password is changed: sign in with it (the link keeps the application sign-in, if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetDone {
    pub sign_in: String,
}
