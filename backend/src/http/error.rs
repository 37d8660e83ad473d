//! One error type for handlers: maps every failure to a status and the shared JSON error body.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use proofup_shared::{ApiError, ErrorCode, FieldError};

use crate::service::auth::{SessionError, SignInError};
use crate::service::setup::SetupError;
use crate::service::ServiceError;

/// What a 503 for an unavailable store tells clients to wait (a restart or failover takes seconds).
pub const UNAVAILABLE_RETRY_SECONDS: u64 = 5;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub body: ApiError,
}

impl AppError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, body: ApiError::new(code, message) }
    }
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, "Sign in to continue.")
    }
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, "Your role does not allow this.")
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("{what} was not found."))
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = fields.first().map_or_else(|| "Check the form.".to_owned(), |f| f.message.clone());
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::ValidationFailed, message);
        e.body.fields = fields;
        e
    }
    pub fn rate_limited(wait: time::Duration) -> Self {
        let secs = wait.whole_seconds().max(1) as u64;
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("Too many attempts. Try again in {}.", human_wait(secs)),
        );
        e.body.retry_after_seconds = Some(secs);
        e
    }
    /// The store cannot serve now (database down or restarting, disk refusing writes): 503 with
    /// Retry-After and the stable code `unavailable`, so clients and balancers try again; the
    /// detail goes to the log only.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "store unavailable");
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "Proofup cannot reach its database just now. Try again in a few seconds.",
        );
        e.body.retry_after_seconds = Some(UNAVAILABLE_RETRY_SECONDS);
        e
    }
    /// Logs the detail with a reference id; the client sees only the id.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let reference = uuid::Uuid::new_v4().simple().to_string();
        tracing::error!(reference = %reference, error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            format!("Something went wrong on the server (reference {}).", &reference[..12]),
        )
    }
}

fn human_wait(secs: u64) -> String {
    match secs {
        0..=90 => format!("{secs} seconds"),
        91..=5400 => format!("{} minutes", secs.div_ceil(60)),
        _ => format!("{} hours", secs.div_ceil(3600)),
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.body.message)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        if let Some(s) = self.body.retry_after_seconds {
            r.insert_header((header::RETRY_AFTER, s.to_string()));
        }
        r.json(&self.body)
    }
}

impl From<SignInError> for AppError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Throttled(wait) => Self::rate_limited(wait),
            SignInError::Locked => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::AccountLocked,
                "This account is locked after too many failed sign-ins. Ask an administrator to unlock it.",
            ),
            SignInError::Disabled => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::AccountDisabled,
                "This account is disabled. Contact your administrator.",
            ),
            SignInError::RiskBlocked(message) => {
                Self::new(StatusCode::FORBIDDEN, ErrorCode::SignInRiskBlocked, message)
            }
            SignInError::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "The username or password is incorrect.",
            ),
            SignInError::Store(e) => ServiceError::from(e).into(),
            SignInError::Service(e) => (*e).into(),
        }
    }
}

impl From<SessionError> for AppError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Missing => Self::unauthenticated(),
            SessionError::Expired => Self::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                "Your session has ended. Sign in again.",
            ),
            SessionError::Store(e) => ServiceError::from(e).into(),
        }
    }
}

impl From<SetupError> for AppError {
    fn from(e: SetupError) -> Self {
        match e {
            SetupError::AlreadyDone => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::SetupAlreadyDone,
                "Proofup is already set up. Sign in instead.",
            ),
            SetupError::Token(_) => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::SetupTokenInvalid,
                "This setup link is invalid, used or expired. Run `proofup setup-url` (or restart Proofup) for a new one.",
            ),
            SetupError::Invalid(fields) => Self::validation(fields),
            SetupError::Store(e) => ServiceError::from(e).into(),
            SetupError::Hash(m) => Self::internal(m),
            SetupError::Throttled(wait) => Self::rate_limited(wait),
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, m),
            ServiceError::WrongStage(m) => Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, m),
            ServiceError::NotFound(what) => Self::not_found(what),
            ServiceError::Invalid(fields) => Self::validation(fields),
            ServiceError::Conflict(m) => Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, m),
            ServiceError::BadCursor => Self::bad_request(ServiceError::BadCursor.to_string()),
            ServiceError::BadQuery(m) => Self::bad_request(m),
            ServiceError::Store(crate::store::StoreError::Unavailable(m)) => Self::unavailable(m),
            ServiceError::Store(e) => Self::internal(e.to_string()),
            ServiceError::Hash(m) => Self::internal(m),
            ServiceError::Throttled(wait) => SignInError::Throttled(wait).into(),
            ServiceError::Locked => SignInError::Locked.into(),
            ServiceError::InvalidCode(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidCode, m),
            ServiceError::ReauthenticationRequired => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::ReauthenticationRequired,
                "Confirm it's you: enter a code from your authenticator app first.",
            ),
            ServiceError::RegistrationRequired => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::RegistrationRequired,
                "Your organization requires you to register a sign-in method now.",
            ),
            ServiceError::FinishSignIn(crate::domain::login::Waiting::Registration) => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::RegistrationRequired,
                "Finish signing in first: register a sign-in method (or skip, while you may).",
            ),
            ServiceError::FinishSignIn(_) => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::SecondFactorRequired,
                "Finish signing in first: prove your second factor.",
            ),
        }
    }
}
