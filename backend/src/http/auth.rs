//! Setup, sign-in, sign-out, "who am I". Thin: parse, call the service, shape the reply.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use proofup_shared::api::{
    Me, SessionProbe, SetPasswordRequest, SetupRequest, SetupStatus, SignInRequest, SignInResponse,
};
use proofup_shared::ApiError;
use utoipa_actix_web::service_config::ServiceConfig;

use super::client::client_info;
use super::error::AppError;
use super::session::{token_from, AnySession, SetSession};
use super::AppState;
use crate::service::signin::SignIn;

/// Whether the first administrator still has to be created.
#[utoipa::path(tag = "setup", responses((status = 200, body = SetupStatus)))]
#[get("/setup/status")]
pub async fn setup_status(state: web::Data<AppState>) -> Result<web::Json<SetupStatus>, AppError> {
    Ok(web::Json(SetupStatus { needs_setup: !state.core.setup_done()? }))
}

/// Creates the first Global administrator with the one-time setup token.
#[utoipa::path(tag = "setup", request_body = SetupRequest, responses(
    (status = 201, body = Me), (status = 403, body = ApiError), (status = 409, body = ApiError),
    (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/setup")]
pub async fn complete_setup(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SetupRequest>,
) -> Result<HttpResponse, AppError> {
    let (ip, client) = client_info(&req, &state.config.trusted_proxies);
    let admin = state.core.complete_setup(ip, &client, body.into_inner()).await?;
    // The link is spent: `proofup setup-url` must not print it again.
    if let Some(file) = &state.config.setup_file {
        let _ = std::fs::remove_file(file);
    }
    tracing::info!(user = %admin.username, "first Global administrator created");
    Ok(HttpResponse::Created().json(admin.me()))
}

/// Signs in with username and password; sets the session cookie.
#[utoipa::path(tag = "auth", request_body = SignInRequest, responses(
    (status = 200, body = SignInResponse), (status = 401, body = ApiError),
    (status = 403, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/sign-in")]
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SignInRequest>,
) -> Result<HttpResponse, AppError> {
    let (ip, client) = client_info(&req, &state.config.trusted_proxies);
    let SignInRequest { username, password, flow } = body.into_inner();
    let secure = state.config.secure_cookies;
    // The device cookie: a random id this browser keeps (HttpOnly, 400 days), known to the
    // server only as a hash in the user's sign-in profile.
    let (device, new_device) = match super::session::device_from(&req, secure) {
        Some(d) => (d, None),
        None => {
            let d = crate::service::new_token();
            (d.clone(), Some(d))
        }
    };
    let device_hash = super::session::device_hash(&device);
    let signed_in = state.core.sign_in(ip, &client, &username, password, flow.as_deref(), Some(&device_hash)).await?;
    let mut resp = HttpResponse::Ok();
    resp.session_cookies(Some(signed_in.token), secure);
    if let Some(d) = new_device {
        resp.cookie(super::session::device_cookie(d, secure));
    }
    Ok(resp.json(SignInResponse { me: signed_in.me }))
}

/// Ends the session on the server and clears the cookie. Always succeeds.
#[utoipa::path(tag = "auth", responses((status = 204)))]
#[post("/auth/sign-out")]
pub async fn sign_out(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    if let Some(token) = token_from(&req, state.config.secure_cookies) {
        state.core.sign_out(&token)?;
    }
    Ok(HttpResponse::NoContent().session_cookies(None, state.config.secure_cookies).finish())
}

/// The signed-in user (`must_set_password` after a temporary access pass).
#[utoipa::path(tag = "auth", responses((status = 200, body = Me), (status = 401, body = ApiError)))]
#[get("/auth/me")]
pub async fn me(state: web::Data<AppState>, auth: AnySession) -> Result<web::Json<Me>, AppError> {
    Ok(web::Json(state.core.me(&auth.progress, &auth.user)?))
}

/// Whether this browser is signed in, and as whom: 200 either way (the portal asks at every start,
/// and a signed-out visitor is not an error). `GET /api/auth/me` answers 401 instead.
#[utoipa::path(tag = "auth", responses((status = 200, body = SessionProbe)))]
#[get("/auth/session")]
pub async fn session_probe(state: web::Data<AppState>, req: HttpRequest) -> Result<web::Json<SessionProbe>, AppError> {
    use crate::service::auth::SessionError;
    let Some(token) = token_from(&req, state.config.secure_cookies) else {
        return Ok(web::Json(SessionProbe { me: None }));
    };
    let who = match state.core.current(&token) {
        Ok((progress, user)) => Some(state.core.me(&progress, &user)?),
        Err(SessionError::Missing | SessionError::Expired) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(web::Json(SessionProbe { me: who }))
}

/// Sets the signed-in user's password (the current one is needed unless the
/// session came from a temporary access pass). Starts a new session.
#[utoipa::path(tag = "auth", request_body = SetPasswordRequest, responses(
    (status = 200, body = Me), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
#[post("/auth/password")]
pub async fn set_password(
    state: web::Data<AppState>,
    auth: AnySession,
    req: HttpRequest,
    body: web::Json<SetPasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let (_, client) = client_info(&req, &state.config.trusted_proxies);
    let flow = SignIn::new(&state.core, auth.key, auth.progress, auth.user, client);
    let (token, who) = flow.password_chosen(body.into_inner()).await?;
    Ok(HttpResponse::Ok().session_cookies(Some(token), state.config.secure_cookies).json(who))
}

/// Setup, sign-in, sign-out, who am I, the password.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(setup_status)
        .service(complete_setup)
        .service(sign_in)
        .service(sign_out)
        .service(me)
        .service(session_probe)
        .service(set_password);
}
