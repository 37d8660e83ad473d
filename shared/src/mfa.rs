//! Second-factor methods and the steps of a sign-in.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use crate::auth::{second_factor_options, NextStep, SecondFactorOption};
pub use crate::common::MethodKind;

/// A registered method, never with its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MethodView {
    pub id: String,
    pub kind: MethodKind,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// A pending authenticator-app registration: shown once, never cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpSetup {
    /// `otpauth://totp/...`, the content of the QR code.
    pub otpauth_uri: String,
    /// The secret in base32, in groups of four, for typing it by hand.
    pub secret_grouped: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotpRequest {
    /// What the user calls it ("Phone").
    pub name: String,
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifyCodeRequest {
    pub code: String,
}

pub const METHOD_NAME_MAX: usize = 64;

pub fn check_method_name(name: &str) -> Result<(), String> {
    let n = name.trim().chars().count();
    if n == 0 {
        return Err("Give the method a name, such as \"Phone\".".into());
    }
    if n > METHOD_NAME_MAX {
        return Err(format!("Use at most {METHOD_NAME_MAX} characters."));
    }
    if name.chars().any(char::is_control) {
        return Err("The name cannot contain control characters.".into());
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MethodAdded {
    pub method: MethodView,
    /// `done` when this registration completed an interrupted sign-in.
    pub next_step: NextStep,
    /// It completed an application's sign-in: where the browser goes now (see `Me::continue_to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_to: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RenameMethodRequest {
    pub name: String,
}

/// A passkey ceremony's options for `navigator.credentials.create()/get()`, in the
/// WebAuthn JSON form (`PublicKeyCredential.parseCreationOptionsFromJSON`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyChallenge {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub public_key: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FinishPasskeyRegistration {
    /// What the user calls it ("Laptop", "YubiKey").
    pub name: String,
    /// `PublicKeyCredential.toJSON()` of the new credential.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FinishPasskeySignIn {
    /// `PublicKeyCredential.toJSON()` of the assertion.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
}

pub const RECOVERY_CODE_COUNT: usize = 10;

/// New recovery codes: shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Whether the user has recovery codes, and how many are unused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryStatus {
    pub remaining: u32,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

/// Signed in with a recovery code: how many are left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodeUsed {
    pub remaining: u32,
    pub me: crate::auth::Me,
}
