//! The session cookie and the extractor that turns it into the signed-in user.

use std::future::{ready, Ready};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::error::AppError;
use super::AppState;
use crate::domain::login::Progress;
use crate::domain::login::Waiting;
use crate::domain::model::User;
use crate::service::Caller;

pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-proofup_session"
    } else {
        "proofup_session"
    }
}

/// A browser-session cookie: HttpOnly, SameSite=Strict, Path=/, no Domain;
/// Secure (with the __Host- prefix) when so configured. The server enforces expiry.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(cookie_name(secure), token)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .finish()
}

/// The single sign-on cookie: the same session, `SameSite=Lax` so that an application's
/// cross-site redirect to `/oauth2/authorize` carries it, and `Path=/oauth2/` so that only the
/// provider's endpoints see it (the portal API reads the Strict cookie alone).
pub fn sso_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Secure-proofup_sso"
    } else {
        "proofup_sso"
    }
}

pub fn sso_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(sso_cookie_name(secure), token)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/oauth2/")
        .finish()
}

/// Sets (or, with `None`, removes) both cookies of a session.
pub trait SetSession {
    fn session_cookies(&mut self, token: Option<String>, secure: bool) -> &mut Self;
}

impl SetSession for actix_web::HttpResponseBuilder {
    fn session_cookies(&mut self, token: Option<String>, secure: bool) -> &mut Self {
        let mut strict = session_cookie(token.clone().unwrap_or_default(), secure);
        let mut lax = sso_cookie(token.clone().unwrap_or_default(), secure);
        if token.is_none() {
            strict.make_removal();
            lax.make_removal();
        }
        self.cookie(strict).cookie(lax)
    }
}

fn device_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-proofup_device"
    } else {
        "proofup_device"
    }
}

/// The browser's device id (risk: a device the user signed in from before).
pub fn device_from(req: &HttpRequest, secure: bool) -> Option<String> {
    req.cookie(device_cookie_name(secure)).map(|c| c.value().to_owned()).filter(|v| {
        v.len() >= 16 && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// What the server keeps of a device id: a hash, never the id.
pub fn device_hash(device: &str) -> String {
    let d = crate::domain::setup::sha256(device);
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The device cookie: HttpOnly, Lax, 400 days (the most browsers keep).
pub fn device_cookie(value: String, secure: bool) -> actix_web::cookie::Cookie<'static> {
    actix_web::cookie::Cookie::build(device_cookie_name(secure), value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(400))
        .finish()
}

/// The SSO cookie's session token (only `/oauth2/authorize` and end-session read it).
pub fn sso_token_from(req: &HttpRequest, secure: bool) -> Option<String> {
    req.cookie(sso_cookie_name(secure)).map(|c| c.value().to_owned()).filter(|v| !v.is_empty() && v.len() <= 128)
}

pub fn token_from(req: &HttpRequest, secure: bool) -> Option<String> {
    req.cookie(cookie_name(secure)).map(|c| c.value().to_owned()).filter(|v| !v.is_empty() && v.len() <= 128)
}

/// A request from a signed-in user with a valid, complete session: the service's [`Caller`].
pub struct Authenticated(pub Caller);

impl std::ops::Deref for Authenticated {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl Authenticated {
    /// Passes when the user's current role satisfies `allowed`; 403 otherwise.
    pub fn require(&self, allowed: impl Fn(proofup_shared::api::Role) -> bool) -> Result<(), AppError> {
        if allowed(self.user.role) {
            Ok(())
        } else {
            tracing::warn!(user = %self.user.username, "authorization refused");
            Err(AppError::forbidden())
        }
    }
}

impl FromRequest for Authenticated {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req).and_then(|any| {
            use proofup_shared::ErrorCode;
            let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| AppError::internal("no app state"))?;
            let refuse = |code, m: &str| Err(AppError::new(actix_web::http::StatusCode::FORBIDDEN, code, m));
            let session = match any.progress {
                Progress::Complete(session) => session,
                // Signing in: what it waits for (the access decision's answer) says why not yet.
                signing => {
                    return match state.core.waiting(&signing, &any.user)? {
                        Waiting::SetPassword => {
                            refuse(ErrorCode::PasswordChangeRequired, "Choose your own password before continuing.")
                        }
                        Waiting::SecondFactor => {
                            refuse(ErrorCode::SecondFactorRequired, "Enter a code from your authenticator app first.")
                        }
                        Waiting::Registration | Waiting::Complete => refuse(
                            ErrorCode::RegistrationRequired,
                            "More information required: register a sign-in method (or skip, while allowed) first.",
                        ),
                    }
                }
            };
            let (_, client) = super::client::client_info(req, &state.config.trusted_proxies);
            Ok(Authenticated(Caller { user: any.user, session, key: any.key, client }))
        }))
    }
}

/// Any live session, or a sign-in in progress (for "who am I", the sign-in steps, adding a
/// method, setting the password and signing out).
pub struct AnySession {
    pub user: User,
    /// A complete session, or a sign-in in progress.
    pub progress: Progress,
    pub key: [u8; 32],
}

impl FromRequest for AnySession {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req))
    }
}

/// [`AnySession`] for the steps of signing in: the sign-in in progress is looked up first.
pub struct SigningIn(pub AnySession);

impl FromRequest for SigningIn {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready((|| {
            let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| AppError::internal("no app state"))?;
            let token = token_from(req, state.config.secure_cookies).ok_or_else(AppError::unauthenticated)?;
            let (progress, user) = state.core.current_signing(&token)?;
            Ok(SigningIn(AnySession { user, progress, key: crate::service::session_key(&token) }))
        })())
    }
}

/// For the code step: the cookie's token, checked for before the body is read; the sign-in is
/// read (with the attempt reserved, see [`CodeStep::read`]) once the body is known good, so a
/// malformed request reserves nothing.
pub struct CodeStep(String);

impl FromRequest for CodeStep {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready((|| {
            let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| AppError::internal("no app state"))?;
            token_from(req, state.config.secure_cookies).map(CodeStep).ok_or_else(AppError::unauthenticated)
        })())
    }
}

/// What the code step reads ahead: the user's methods and the reserved attempt.
pub type ReadAhead = (Vec<crate::domain::model::Method>, crate::domain::throttle::ThrottleDecision);

impl CodeStep {
    /// The sign-in in progress read ahead with the user's methods and the attempt reserved
    /// ([`crate::service::Core::code_step`]), or a complete session (no methods, nothing reserved).
    pub fn read(&self, state: &AppState) -> Result<(AnySession, Option<ReadAhead>), AppError> {
        use crate::service::auth::CodeStepRead;
        let key = crate::service::session_key(&self.0);
        Ok(match state.core.code_step(&self.0)? {
            CodeStepRead::Ahead { flow, user, methods, attempt } => {
                (AnySession { user, progress: Progress::Signing(flow), key }, Some((methods, attempt)))
            }
            CodeStepRead::Other(progress, user) => (AnySession { user, progress, key }, None),
        })
    }
}

fn extract(req: &HttpRequest) -> Result<AnySession, AppError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| AppError::internal("no app state"))?;
    let token = token_from(req, state.config.secure_cookies).ok_or_else(AppError::unauthenticated)?;
    let (progress, user) = state.core.current(&token)?;
    Ok(AnySession { user, progress, key: crate::service::session_key(&token) })
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        pub struct $name(pub Authenticated);

        impl std::ops::Deref for $name {
            type Target = Authenticated;
            fn deref(&self) -> &Authenticated {
                &self.0
            }
        }

        impl FromRequest for $name {
            type Error = AppError;
            type Future = Ready<Result<Self, AppError>>;

            /// Checked before any body is read: a caller without the role learns nothing about the call.
            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let auth = Authenticated::from_request(req, payload).into_inner();
                ready(auth.and_then(|a| a.require($check).map(|()| $name(a))))
            }
        }
    };
}

role_extractor!(
    /// A complete session whose role may read the administrative pages (Security reader and above).
    Reader,
    proofup_shared::api::Role::can_read_admin
);
role_extractor!(
    /// A complete session whose role may act on one user's registration (Security operator and above).
    Operator,
    proofup_shared::api::Role::can_operate
);
role_extractor!(
    /// A complete session of a Global administrator (the server-wide settings: mail).
    GlobalAdmin,
    proofup_shared::api::Role::can_manage_server
);
role_extractor!(
    /// A complete session whose role may change the directory and the policy (Security administrator and above).
    Manager,
    proofup_shared::api::Role::can_manage_security
);
