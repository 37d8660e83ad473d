//! Signing in: who is signed in, what the session must do next, and the sign-in requests.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::common::{MethodKind, Role};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Signed in with a temporary access pass: the only thing this session can do is set a password.
    #[serde(default)]
    pub must_set_password: bool,
    /// What this session must do before it is complete.
    #[serde(default)]
    pub next_step: NextStep,
    /// Signing in for an application, while steps remain: its name, for every step's page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// Signing in for an application, while steps remain: where "Cancel" goes (the application
    /// is told the user declined). Computed by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_to: Option<String>,
    /// Signing in is over and an application waits: where the browser goes now (the server's
    /// own resume address; the portal never builds or carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_to: Option<String>,
    /// The password to choose is the user risk policy's secure password change (not a first
    /// password after a temporary access pass): the page says why.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub risk_password_change: bool,
}

/// Whether this browser is signed in: asked by every page at start, so it answers 200 either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionProbe {
    /// `None` when nobody is signed in (no cookie, or an ended or expired session).
    pub me: Option<Me>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    pub username: String,
    pub password: String,
    /// The application sign-in (flow id) this sign-in is for, when an application sent the user:
    /// its requirements (require MFA) apply to the registration interrupt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInResponse {
    pub me: Me,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupStatus {
    /// True until the first Global administrator exists.
    pub needs_setup: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    pub token: String,
    pub username: String,
    pub display_name: String,
    pub password: String,
}

/// A way to finish the second step of sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecondFactorOption {
    Passkey,
    AuthenticatorApp,
    RecoveryCode,
}

impl SecondFactorOption {
    pub fn label(self) -> &'static str {
        match self {
            SecondFactorOption::Passkey => "Use a passkey",
            SecondFactorOption::AuthenticatorApp => "Enter a code from your authenticator app",
            SecondFactorOption::RecoveryCode => "Use a recovery code",
        }
    }
}

/// The ways a user can finish the second step, most secure first (passkey,
/// then app code, then recovery code). Recovery codes count only beside a method.
pub fn second_factor_options(
    kinds: impl IntoIterator<Item = MethodKind>,
    recovery_codes_left: u32,
) -> Vec<SecondFactorOption> {
    let mut out: Vec<SecondFactorOption> = kinds
        .into_iter()
        .map(|k| match k {
            MethodKind::Passkey => SecondFactorOption::Passkey,
            MethodKind::AuthenticatorApp => SecondFactorOption::AuthenticatorApp,
        })
        .collect();
    if !out.is_empty() && recovery_codes_left > 0 {
        out.push(SecondFactorOption::RecoveryCode);
    }
    out.sort();
    out.dedup();
    out
}

/// What a session must do next before it is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum NextStep {
    /// The session is complete.
    #[default]
    Done,
    /// Signed in with a temporary access pass: choose a password.
    SetPassword,
    /// Prove the second factor, with one of `options` (most secure first).
    SecondFactor {
        #[serde(default)]
        options: Vec<SecondFactorOption>,
    },
    /// The MFA registration policy interrupts: "More information required".
    RegisterMfa {
        /// A skip is still allowed (the grace period lasts).
        can_skip: bool,
        /// Whole days left until registration is required (rounded up); 0 when required.
        days_left: u32,
        #[serde(default, with = "time::serde::rfc3339::option")]
        deadline: Option<OffsetDateTime>,
        /// The policy lets users without MFA register only from trusted networks, and this
        /// sign-in is from elsewhere: registering needs a temporary access pass.
        #[serde(default)]
        network_blocked: bool,
    },
}
