//! The one JSON error shape every API failure uses: `{"error": code, "message": ...}`.

use serde::{Deserialize, Serialize};

/// Machine-readable error codes. The UI matches on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed (bad JSON, bad query string, bad path).
    BadRequest,
    /// Not signed in, or the session ended.
    Unauthenticated,
    /// Signed in, but the role does not allow this.
    Forbidden,
    /// A cross-site state-changing request was refused.
    CrossSiteRequest,
    /// The username or password is wrong (deliberately not saying which).
    InvalidCredentials,
    /// The account needs an administrator to unlock it.
    AccountLocked,
    /// The account is disabled.
    AccountDisabled,
    /// The sign-in risk policy refused this sign-in (blocked, or no method that could answer).
    SignInRiskBlocked,
    /// This session came from a temporary access pass: set a password first.
    PasswordChangeRequired,
    /// The setup token is wrong, used or expired.
    SetupTokenInvalid,
    /// First-run setup already happened.
    SetupAlreadyDone,
    /// The session must prove a second factor first (`/api/auth/second-factor`).
    SecondFactorRequired,
    /// The MFA registration policy requires this user to register a method first.
    RegistrationRequired,
    /// This change needs a second factor proved in the last 10 minutes (`/api/auth/reverify`).
    ReauthenticationRequired,
    /// The code is wrong, expired or already used.
    InvalidCode,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Well-formed input that breaks a rule (see `fields`).
    ValidationFailed,
    /// Too many attempts; see `retry_after_seconds`.
    RateLimited,
    /// Something went wrong on the server; `message` carries a reference id.
    Internal,
    /// The store is not available.
    Unavailable,
}

/// One field-level problem, for forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The body of every non-2xx API response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub error: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

impl ApiError {
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self { error, message: message.into(), fields: Vec::new(), retry_after_seconds: None }
    }

    pub fn with_fields(mut self, fields: Vec<FieldError>) -> Self {
        self.fields = fields;
        self
    }

    /// The message for one form field, if the server named it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.field == name).map(|f| f.message.as_str())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_code_and_message() {
        let e = ApiError::new(ErrorCode::RateLimited, "slow down");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v, serde_json::json!({"error": "rate_limited", "message": "slow down"}));
        let back: ApiError = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
