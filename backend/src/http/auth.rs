//! Setup, sign-in, sign-out, "who am I". Thin: parse, call the service, shape the reply.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use proofup_shared::api::{Me, SetPasswordRequest, SetupRequest, SetupStatus, SignInRequest, SignInResponse};
use proofup_shared::ApiError;

use super::client::client_info;
use super::error::AppError;
use super::session::{removal_cookie, session_cookie, token_from, AnySession};
use super::AppState;
use crate::domain::model::SessionStage;
use crate::domain::signin::after_password_chosen;
use crate::service::{auth, setup, users};

/// Whether the first administrator still has to be created.
#[utoipa::path(tag = "setup", responses((status = 200, body = SetupStatus)))]
#[get("/setup/status")]
pub async fn setup_status(state: web::Data<AppState>) -> Result<web::Json<SetupStatus>, AppError> {
    Ok(web::Json(SetupStatus { needs_setup: !state.store.setup_done()? }))
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
    state.ip_limiter.hit(ip, state.clock.now()).map_err(AppError::rate_limited)?;
    let admin = setup::complete(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.hasher,
        &state.rules,
        &client,
        body.into_inner(),
    )
    .await?;
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
    let SignInRequest { username, password } = body.into_inner();
    let signed_in = auth::sign_in(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.hasher,
        &state.ip_limiter,
        &state.membership,
        ip,
        &client,
        &username,
        password,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(signed_in.token, state.config.secure_cookies))
        .json(SignInResponse { me: signed_in.me }))
}

/// Ends the session on the server and clears the cookie. Always succeeds.
#[utoipa::path(tag = "auth", responses((status = 204)))]
#[post("/auth/sign-out")]
pub async fn sign_out(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    if let Some(token) = token_from(&req, state.config.secure_cookies) {
        auth::sign_out(state.store.as_ref(), &token)?;
    }
    Ok(HttpResponse::NoContent().cookie(removal_cookie(state.config.secure_cookies)).finish())
}

/// The signed-in user (`must_set_password` after a temporary access pass).
#[utoipa::path(tag = "auth", responses((status = 200, body = Me), (status = 401, body = ApiError)))]
#[get("/auth/me")]
pub async fn me(state: web::Data<AppState>, auth: AnySession) -> Result<web::Json<Me>, AppError> {
    let mut who = auth.user.me();
    who.must_set_password = auth.session.stage == SessionStage::MustSetPassword;
    who.next_step =
        auth::next_step(state.store.as_ref(), &state.membership, &auth.session, &auth.user, state.clock.now())?;
    Ok(web::Json(who))
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
    // What the policy did when a pass session chose its password (the interactive sign-in's log entry says it).
    let policy_note = std::cell::RefCell::new(None::<String>);
    let first_password = auth.session.stage == SessionStage::MustSetPassword;
    let result = users::set_own_password(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.hasher,
        &state.rules,
        &auth.user,
        &auth.session,
        &client,
        body.into_inner(),
        &|u| {
            let methods = state.store.methods(&u.id).map(|m| m.len() as u32).unwrap_or(0);
            after_password_chosen(methods, || {
                match crate::service::policy::at_sign_in(state.store.as_ref(), &state.membership, u, state.clock.now())
                {
                    Ok((interrupts, note)) => {
                        *policy_note.borrow_mut() = note;
                        interrupts
                    }
                    Err(_) => false,
                }
            })
        },
    )
    .await;
    if first_password && result.is_ok() {
        let mut how = "Password chosen after a temporary access pass".to_owned();
        if let Some(n) = policy_note.borrow().as_deref() {
            how.push_str("; ");
            how.push_str(n);
        }
        auth::log_second_step(state.store.as_ref(), state.clock.now(), &auth.user, true, &how, &client)?;
    }
    // Durable either way: the new password and session, or the failed-attempt count.
    state.store.flush()?;
    let (user, token, session) = result?;
    let mut who = user.me();
    who.next_step = auth::next_step(state.store.as_ref(), &state.membership, &session, &user, state.clock.now())?;
    Ok(HttpResponse::Ok().cookie(session_cookie(token, state.config.secure_cookies)).json(who))
}
