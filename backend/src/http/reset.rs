//! "Forgot your password?" (`/api/auth/reset`): thin handlers over `service::reset`. The reset in
//! progress is named by a cookie of its own (HttpOnly, SameSite=Strict, Path=/api/auth/reset,
//! 15 minutes), never by anything in a URL.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use proofup_shared::mfa::{FinishPasskeySignIn, PasskeyChallenge};
use proofup_shared::reset::{ResetCodeRequest, ResetDone, ResetPasswordRequest, ResetStartRequest, ResetStatus};
use proofup_shared::ApiError;
use utoipa_actix_web::service_config::ServiceConfig;

use super::client::client_info;
use super::error::AppError;
use super::AppState;

const PATH: &str = "/api/auth/reset";

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Secure-proofup_reset"
    } else {
        "proofup_reset"
    }
}

fn reset_cookie(token: Option<String>, secure: bool) -> Cookie<'static> {
    let mut c = Cookie::build(cookie_name(secure), token.clone().unwrap_or_default())
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path(PATH)
        .max_age(actix_web::cookie::time::Duration::minutes(15))
        .finish();
    if token.is_none() {
        c.make_removal();
    }
    c
}

fn token(req: &HttpRequest, state: &AppState) -> Result<String, AppError> {
    req.cookie(cookie_name(state.config.secure_cookies))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .ok_or_else(|| {
            AppError::new(
                actix_web::http::StatusCode::CONFLICT,
                proofup_shared::error::ErrorCode::Conflict,
                "No password reset is in progress here. Start again from the sign-in page.",
            )
        })
}

/// Begins a reset: the username, and the application sign-in to return to. Answers which methods
/// to prove, or (in the same words whether or not the account exists) to ask an administrator.
#[utoipa::path(tag = "auth", request_body = ResetStartRequest, responses(
    (status = 200, body = ResetStatus), (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/reset")]
pub async fn begin(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ResetStartRequest>,
) -> Result<HttpResponse, AppError> {
    let (ip, client) = client_info(&req, &state.config.trusted_proxies);
    let body = body.into_inner();
    let (token, answer) = state.core.begin_reset(ip, &client, &body.username, body.flow)?;
    Ok(HttpResponse::Ok().cookie(reset_cookie(token, state.config.secure_cookies)).json(answer))
}

/// Where the reset in progress stands.
#[utoipa::path(tag = "auth", responses((status = 200, body = ResetStatus), (status = 409, body = ApiError)))]
#[get("/auth/reset")]
pub async fn status(state: web::Data<AppState>, req: HttpRequest) -> Result<web::Json<ResetStatus>, AppError> {
    Ok(web::Json(state.core.reset_status(&token(&req, &state)?)?))
}

/// Proves an authenticator app's code.
#[utoipa::path(tag = "auth", request_body = ResetCodeRequest, responses(
    (status = 200, body = ResetStatus), (status = 409, body = ApiError), (status = 422, body = ApiError),
    (status = 429, body = ApiError)))]
#[post("/auth/reset/code")]
pub async fn code(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ResetCodeRequest>,
) -> Result<web::Json<ResetStatus>, AppError> {
    let (ip, client) = client_info(&req, &state.config.trusted_proxies);
    let token = token(&req, &state)?;
    Ok(web::Json(state.core.reset_prove_code(ip, &token, &client, &body.code).await?))
}

/// Mails a code to the user's confirmed address (an administrator's second method).
#[utoipa::path(tag = "auth", responses(
    (status = 200, body = ResetStatus), (status = 409, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/reset/email")]
pub async fn email_code(state: web::Data<AppState>, req: HttpRequest) -> Result<web::Json<ResetStatus>, AppError> {
    Ok(web::Json(state.core.reset_send_email_code(&token(&req, &state)?)?))
}

/// Proves the mailed code.
#[utoipa::path(tag = "auth", request_body = ResetCodeRequest, responses(
    (status = 200, body = ResetStatus), (status = 409, body = ApiError), (status = 422, body = ApiError),
    (status = 429, body = ApiError)))]
#[post("/auth/reset/email/verify")]
pub async fn email_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ResetCodeRequest>,
) -> Result<web::Json<ResetStatus>, AppError> {
    let (ip, client) = client_info(&req, &state.config.trusted_proxies);
    let token = token(&req, &state)?;
    Ok(web::Json(state.core.reset_prove_email_code(ip, &token, &client, &body.code).await?))
}

/// Options for `navigator.credentials.get()` with the user's passkeys.
#[utoipa::path(tag = "auth", responses(
    (status = 200, body = PasskeyChallenge), (status = 409, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/reset/passkey")]
pub async fn passkey_challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<PasskeyChallenge>, AppError> {
    Ok(web::Json(state.core.reset_passkey_challenge(&token(&req, &state)?)?))
}

/// Proves a passkey.
#[utoipa::path(tag = "auth", request_body = FinishPasskeySignIn, responses(
    (status = 200, body = ResetStatus), (status = 409, body = ApiError), (status = 422, body = ApiError),
    (status = 429, body = ApiError)))]
#[post("/auth/reset/passkey/finish")]
pub async fn passkey(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<FinishPasskeySignIn>,
) -> Result<web::Json<ResetStatus>, AppError> {
    let (ip, client) = client_info(&req, &state.config.trusted_proxies);
    let token = token(&req, &state)?;
    Ok(web::Json(state.core.reset_prove_passkey(ip, &token, &client, body.into_inner().credential).await?))
}

/// Sets the new password; every session and grant of the user ends. Answers where to sign in.
#[utoipa::path(tag = "auth", request_body = ResetPasswordRequest, responses(
    (status = 200, body = ResetDone), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[post("/auth/reset/password")]
pub async fn password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ResetPasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let (_, client) = client_info(&req, &state.config.trusted_proxies);
    let token = token(&req, &state)?;
    let done = state.core.finish_reset(&token, &client, body.into_inner().new_password).await?;
    Ok(HttpResponse::Ok().cookie(reset_cookie(None, state.config.secure_cookies)).json(done))
}

/// Abandons the reset in progress.
#[utoipa::path(tag = "auth", responses((status = 204)))]
#[delete("/auth/reset")]
pub async fn cancel(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    if let Ok(t) = token(&req, &state) {
        state.core.cancel_reset(&t)?;
    }
    Ok(HttpResponse::NoContent().cookie(reset_cookie(None, state.config.secure_cookies)).finish())
}

/// "This wasn't me": follows the link of a security notice (its token, read from the URL's
/// fragment by the page). Signs the user out everywhere, stops the password, alerts administrators.
#[utoipa::path(tag = "auth", request_body = proofup_shared::mail::ReportRequest, responses(
    (status = 200, body = proofup_shared::mail::Reported), (status = 409, body = ApiError)))]
#[post("/auth/report")]
pub async fn report(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<proofup_shared::mail::ReportRequest>,
) -> Result<web::Json<proofup_shared::mail::Reported>, AppError> {
    let (ip, client) = client_info(&req, &state.config.trusted_proxies);
    Ok(web::Json(state.core.report_not_me(ip, &body.token, &client).await?))
}

/// This area's routes.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(begin)
        .service(status)
        .service(code)
        .service(passkey_challenge)
        .service(passkey)
        .service(password)
        .service(cancel)
        .service(email_code)
        .service(email_verify)
        .service(report);
}
