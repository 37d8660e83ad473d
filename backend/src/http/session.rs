//! The session cookie and the extractor that turns it into the signed-in user.

use std::future::{ready, Ready};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::error::AppError;
use super::AppState;
use crate::domain::model::{Session, User};
use crate::service::auth;

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

pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie(String::new(), secure);
    c.make_removal();
    c
}

pub fn token_from(req: &HttpRequest, secure: bool) -> Option<String> {
    req.cookie(cookie_name(secure)).map(|c| c.value().to_owned()).filter(|v| !v.is_empty() && v.len() <= 128)
}

/// A request from a signed-in user with a valid session.
pub struct Authenticated {
    pub user: User,
    pub session: Session,
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
        ready(extract(req))
    }
}

fn extract(req: &HttpRequest) -> Result<Authenticated, AppError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| AppError::internal("no app state"))?;
    let token = token_from(req, state.config.secure_cookies).ok_or_else(AppError::unauthenticated)?;
    let (session, user) = auth::current(state.store.as_ref(), state.clock.as_ref(), state.limits, &token)?;
    Ok(Authenticated { user, session })
}
