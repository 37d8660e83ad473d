//! Second step of sign-in, the registration interrupt, and "My security info". Thin handlers over `service::mfa`.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use proofup_shared::api::Me;
use proofup_shared::mfa::{
    ConfirmTotpRequest, FinishPasskeyRegistration, FinishPasskeySignIn, MethodAdded, MethodView, NextStep,
    PasskeyChallenge, RecoveryCodeUsed, RecoveryCodes, RecoveryStatus, RenameMethodRequest, TotpSetup,
    VerifyCodeRequest,
};
use proofup_shared::{ApiError, ErrorCode};

use super::client::client_info;
use super::error::AppError;
use super::session::{session_cookie, AnySession, Authenticated, Operator, Reader};
use super::AppState;
use crate::domain::model::SessionStage;
use crate::service::ServiceError;
use crate::service::{auth, mfa, passkeys, policy, recovery};

fn wrong_stage(m: &str) -> AppError {
    AppError::new(actix_web::http::StatusCode::CONFLICT, ErrorCode::Conflict, m)
}

fn me_for(user: &crate::domain::model::User, stage: NextStep) -> Me {
    let mut me = user.me();
    me.next_step = stage;
    me
}

/// The second step of sign-in: a code from an authenticator app. Completes the session (new id).
#[utoipa::path(tag = "auth", request_body = VerifyCodeRequest, responses(
    (status = 200, body = Me), (status = 401, body = ApiError), (status = 409, body = ApiError),
    (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/second-factor")]
pub async fn second_factor(
    state: web::Data<AppState>,
    any: AnySession,
    req: HttpRequest,
    body: web::Json<VerifyCodeRequest>,
) -> Result<HttpResponse, AppError> {
    if any.session.stage != SessionStage::SecondFactor {
        return Err(wrong_stage("This session is not waiting for a second factor."));
    }
    let (_, client) = client_info(&req, &state.config.trusted_proxies);
    let now = state.clock.now();
    let s = state.store.as_ref();
    match mfa::verify_code(s, &state.secrets, &any.user, &client, &body.code, now) {
        Ok(m) => {
            let (token, me) =
                second_step_done(&state, &any, &client, &format!("Authenticator app \"{}\"", m.name)).await?;
            Ok(HttpResponse::Ok().cookie(session_cookie(token, state.config.secure_cookies)).json(me))
        }
        Err(e) => {
            failed_second_step(&state, &any, &client, "Second factor: wrong or reused code").await;
            Err(e.into())
        }
    }
}

/// Proves a second factor again in a complete session (needed within 10 minutes before changing methods).
#[utoipa::path(tag = "auth", request_body = VerifyCodeRequest, responses(
    (status = 204), (status = 401, body = ApiError), (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/reverify")]
pub async fn reverify(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: web::Json<VerifyCodeRequest>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let s = state.store.as_ref();
    mfa::verify_code(s, &state.secrets, &auth.user, &auth.client, &body.code, now)?;
    let key = crate::service::session_key(
        &super::session::token_from(&req, state.config.secure_cookies).ok_or_else(AppError::unauthenticated)?,
    );
    let token = auth::promote(s, &key, &auth.session, SessionStage::Full, Some(now), now)?;
    state.store.durable().await?;
    Ok(HttpResponse::NoContent().cookie(session_cookie(token, state.config.secure_cookies)).finish())
}

/// "Skip for now": allowed while the grace period lasts; completes the session.
#[utoipa::path(tag = "auth", responses(
    (status = 200, body = Me), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
#[post("/auth/skip-registration")]
pub async fn skip_registration(
    state: web::Data<AppState>,
    any: AnySession,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    if any.session.stage != SessionStage::RegisterMfa {
        return Err(wrong_stage("This session is not waiting for MFA registration."));
    }
    let (_, client) = client_info(&req, &state.config.trusted_proxies);
    let now = state.clock.now();
    let s = state.store.as_ref();
    policy::skip(s, &state.membership, &any.user, now)?;
    auth::log_second_step(s, now, &any.user, true, "MFA registration skipped", &client)?;
    let token = auth::promote(s, &any.key, &any.session, SessionStage::Full, None, now)?;
    state.store.durable().await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(token, state.config.secure_cookies))
        .json(me_for(&any.user, NextStep::Done)))
}

/// For a user who skipped registering: when registration becomes required (the home page's
/// reminder). Kept out of `GET /api/auth/me`, which every page calls, so that evaluating the
/// policy is paid only where the reminder is shown.
#[utoipa::path(tag = "security info", responses(
    (status = 200, body = proofup_shared::api::RegistrationReminder), (status = 401, body = ApiError)))]
#[get("/me/registration")]
pub async fn my_registration(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<proofup_shared::api::RegistrationReminder>, AppError> {
    let required_from =
        policy::registration_due(state.store.as_ref(), &state.membership, &auth.user, state.clock.now())?;
    Ok(web::Json(proofup_shared::api::RegistrationReminder { required_from }))
}

/// The signed-in user's methods (never secrets).
#[utoipa::path(tag = "security info", responses((status = 200, body = Vec<MethodView>), (status = 401, body = ApiError)))]
#[get("/me/methods")]
pub async fn my_methods(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<MethodView>>, AppError> {
    Ok(web::Json(state.store.methods(&auth.user.id)?.iter().map(|m| m.view()).collect()))
}

/// A method was added: registering proves the new factor, so the session becomes complete and
/// fresh (new id); at the interrupt this completes the sign-in, and the sign-in log says so.
async fn method_added(
    state: &AppState,
    any: &AnySession,
    client: &crate::domain::model::ClientInfo,
    method: &crate::domain::model::Method,
    at_interrupt: &str,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let s = state.store.as_ref();
    let token = auth::promote(s, &any.key, &any.session, SessionStage::Full, Some(now), now)?;
    if any.session.stage == SessionStage::RegisterMfa {
        auth::log_second_step(s, now, &any.user, true, at_interrupt, client)?;
    }
    state.store.durable().await?;
    Ok(HttpResponse::Created()
        .cookie(session_cookie(token, state.config.secure_cookies))
        .json(MethodAdded { method: method.view(), next_step: NextStep::Done }))
}

fn registering(any: &AnySession) -> Result<(), AppError> {
    match any.session.stage {
        SessionStage::Full | SessionStage::RegisterMfa => Ok(()),
        _ => Err(wrong_stage("Finish signing in first.")),
    }
}

/// Starts adding an authenticator app: a new secret as QR code, URI and text. Shown once (no-store).
#[utoipa::path(tag = "security info", responses(
    (status = 200, body = TotpSetup), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
#[post("/me/methods/totp")]
pub async fn start_totp(state: web::Data<AppState>, any: AnySession) -> Result<web::Json<TotpSetup>, AppError> {
    registering(&any)?;
    let now = state.clock.now();
    Ok(web::Json(mfa::start_totp(state.store.as_ref(), &state.pending_totp, any.key, &any.session, &any.user, now)?))
}

/// Confirms the pending authenticator app with a current code. Completes an interrupted sign-in.
#[utoipa::path(tag = "security info", request_body = ConfirmTotpRequest, responses(
    (status = 201, body = MethodAdded), (status = 403, body = ApiError), (status = 404, body = ApiError),
    (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/me/methods/totp/confirm")]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    any: AnySession,
    req: HttpRequest,
    body: web::Json<ConfirmTotpRequest>,
) -> Result<HttpResponse, AppError> {
    registering(&any)?;
    let (_, client) = client_info(&req, &state.config.trusted_proxies);
    let now = state.clock.now();
    let s = state.store.as_ref();
    let method = mfa::confirm_totp(
        s,
        &state.pending_totp,
        &state.secrets,
        any.key,
        &any.session,
        &any.user,
        &client,
        body.into_inner(),
        now,
    )
    .map_err(|e| match e {
        crate::service::ServiceError::NotFound(_) => {
            AppError::not_found("No authenticator-app registration is waiting in this session; start again.")
        }
        e => e.into(),
    })?;
    method_added(&state, &any, &client, &method, "MFA registered at sign-in (authenticator app)").await
}

/// Removes one of the signed-in user's methods (needs a recent second factor; not the last one while the policy requires one).
#[utoipa::path(tag = "security info", params(("id" = String, Path, description = "method id")), responses(
    (status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
#[delete("/me/methods/{id}")]
pub async fn remove_my_method(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    mfa::remove_own(state.store.as_ref(), &state.membership, &auth.user, &auth.session, &auth.client, &id, now)
        .map_err(|e| match e {
            crate::service::ServiceError::NotFound(_) => AppError::not_found("The method"),
            e => e.into(),
        })?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's methods, for administrators (never secrets).
#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id")), responses(
    (status = 200, body = Vec<MethodView>), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[get("/users/{id}/methods")]
pub async fn user_methods(
    state: web::Data<AppState>,
    _auth: Reader,
    id: web::Path<String>,
) -> Result<web::Json<Vec<MethodView>>, AppError> {
    state.store.user(&id)?.ok_or_else(|| AppError::not_found("The user"))?;
    Ok(web::Json(state.store.methods(&id)?.iter().map(|m| m.view()).collect()))
}

/// "Require re-registration": removes all the user's methods and ends their sessions (audited).
#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id")), responses(
    (status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[post("/users/{id}/require-reregistration")]
pub async fn require_reregistration(
    state: web::Data<AppState>,
    auth: Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    mfa::require_reregistration(state.store.as_ref(), &auth.actor(), &id, state.clock.now())?;
    Ok(HttpResponse::NoContent().finish())
}

/// A second step proved: a waiting sign-in becomes complete, a complete session is re-authenticated.
/// Either way the session gets a new id and a fresh MFA time.
async fn second_step_done(
    state: &AppState,
    any: &AnySession,
    client: &crate::domain::model::ClientInfo,
    how: &str,
) -> Result<(String, Me), AppError> {
    let now = state.clock.now();
    let s = state.store.as_ref();
    if any.session.stage == SessionStage::SecondFactor {
        auth::log_second_step(s, now, &any.user, true, how, client)?;
    }
    let token = auth::promote(s, &any.key, &any.session, SessionStage::Full, Some(now), now)?;
    // One disk sync for the accepted step, the log line and the new session.
    state.store.durable().await?;
    Ok((token, me_for(&any.user, NextStep::Done)))
}

fn proving(any: &AnySession) -> Result<(), AppError> {
    match any.session.stage {
        SessionStage::SecondFactor | SessionStage::Full => Ok(()),
        _ => Err(wrong_stage("This session has no second factor to prove.")),
    }
}

async fn failed_second_step(state: &AppState, any: &AnySession, client: &crate::domain::model::ClientInfo, how: &str) {
    if any.session.stage == SessionStage::SecondFactor {
        let written =
            match auth::log_second_step(state.store.as_ref(), state.clock.now(), &any.user, false, how, client) {
                Ok(()) => state.store.durable().await,
                Err(e) => Err(e),
            };
        if let Err(e) = written {
            tracing::error!(error = %e, "could not write the sign-in log");
        }
    }
}

/// Renames one of the signed-in user's methods (needs a recent second factor).
#[utoipa::path(tag = "security info", params(("id" = String, Path, description = "method id")),
    request_body = RenameMethodRequest, responses(
    (status = 200, body = MethodView), (status = 403, body = ApiError), (status = 404, body = ApiError),
    (status = 422, body = ApiError)))]
#[patch("/me/methods/{id}")]
pub async fn rename_my_method(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: web::Json<RenameMethodRequest>,
) -> Result<web::Json<MethodView>, AppError> {
    let now = state.clock.now();
    let m = mfa::rename_own(state.store.as_ref(), &auth.user, &auth.session, &auth.client, &id, &body.name, now)
        .map_err(|e| match e {
            ServiceError::NotFound(_) => AppError::not_found("The method"),
            e => e.into(),
        })?;
    Ok(web::Json(m.view()))
}

/// Starts adding a passkey: options for `navigator.credentials.create()`, valid 5 minutes, single use.
#[utoipa::path(tag = "security info", responses(
    (status = 200, body = PasskeyChallenge), (status = 401, body = ApiError), (status = 403, body = ApiError),
    (status = 409, body = ApiError)))]
#[post("/me/methods/passkey")]
pub async fn start_passkey_registration(
    state: web::Data<AppState>,
    any: AnySession,
) -> Result<web::Json<PasskeyChallenge>, AppError> {
    registering(&any)?;
    let now = state.clock.now();
    Ok(web::Json(passkeys::start_registration(
        state.store.as_ref(),
        &state.passkeys,
        any.key,
        &any.session,
        &any.user,
        now,
    )?))
}

/// Verifies the new passkey and adds it. Completes an interrupted sign-in.
#[utoipa::path(tag = "security info", request_body = FinishPasskeyRegistration, responses(
    (status = 201, body = MethodAdded), (status = 403, body = ApiError), (status = 404, body = ApiError),
    (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[post("/me/methods/passkey/finish")]
pub async fn finish_passkey_registration(
    state: web::Data<AppState>,
    any: AnySession,
    req: HttpRequest,
    body: web::Json<FinishPasskeyRegistration>,
) -> Result<HttpResponse, AppError> {
    registering(&any)?;
    let (_, client) = client_info(&req, &state.config.trusted_proxies);
    let now = state.clock.now();
    let s = state.store.as_ref();
    let method = passkeys::finish_registration(
        s,
        &state.passkeys,
        any.key,
        &any.session,
        &any.user,
        &client,
        body.into_inner(),
        now,
    )
    .map_err(|e| match e {
        ServiceError::NotFound(_) => {
            AppError::not_found("No passkey registration is waiting in this session; start again.")
        }
        e => e.into(),
    })?;
    method_added(&state, &any, &client, &method, "MFA registered at sign-in (passkey)").await
}

/// Starts a passkey sign-in (the second step, or re-authentication): options for `navigator.credentials.get()`.
#[utoipa::path(tag = "auth", responses(
    (status = 200, body = PasskeyChallenge), (status = 401, body = ApiError), (status = 409, body = ApiError),
    (status = 429, body = ApiError)))]
#[post("/auth/passkey")]
pub async fn start_passkey_sign_in(
    state: web::Data<AppState>,
    any: AnySession,
) -> Result<web::Json<PasskeyChallenge>, AppError> {
    proving(&any)?;
    let now = state.clock.now();
    Ok(web::Json(passkeys::start_authentication(state.store.as_ref(), &state.passkeys, any.key, &any.user, now)?))
}

/// Verifies the passkey's answer. Completes the sign-in (new session id).
#[utoipa::path(tag = "auth", request_body = FinishPasskeySignIn, responses(
    (status = 200, body = Me), (status = 401, body = ApiError), (status = 404, body = ApiError),
    (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/passkey/finish")]
pub async fn finish_passkey_sign_in(
    state: web::Data<AppState>,
    any: AnySession,
    req: HttpRequest,
    body: web::Json<FinishPasskeySignIn>,
) -> Result<HttpResponse, AppError> {
    proving(&any)?;
    let (_, client) = client_info(&req, &state.config.trusted_proxies);
    let now = state.clock.now();
    let used = passkeys::finish_authentication(
        state.store.as_ref(),
        &state.passkeys,
        any.key,
        &any.user,
        body.into_inner().credential,
        now,
    );
    let m = match used {
        Ok(m) => m,
        Err(e) => {
            failed_second_step(&state, &any, &client, "Second factor: passkey not verified").await;
            return Err(match e {
                ServiceError::NotFound(_) => {
                    AppError::not_found("No passkey sign-in is waiting in this session; start again.")
                }
                e => e.into(),
            });
        }
    };
    let (token, me) = second_step_done(&state, &any, &client, &format!("Passkey \"{}\"", m.name)).await?;
    Ok(HttpResponse::Ok().cookie(session_cookie(token, state.config.secure_cookies)).json(me))
}

/// Signs in (or re-authenticates) with a recovery code; each code works once. Says how many are left.
#[utoipa::path(tag = "auth", request_body = VerifyCodeRequest, responses(
    (status = 200, body = RecoveryCodeUsed), (status = 401, body = ApiError), (status = 409, body = ApiError),
    (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/recovery-code")]
pub async fn recovery_code_sign_in(
    state: web::Data<AppState>,
    any: AnySession,
    req: HttpRequest,
    body: web::Json<VerifyCodeRequest>,
) -> Result<HttpResponse, AppError> {
    proving(&any)?;
    let (_, client) = client_info(&req, &state.config.trusted_proxies);
    let now = state.clock.now();
    let remaining = match recovery::redeem(state.store.as_ref(), &any.user, &client, &body.code, now) {
        Ok(n) => n,
        Err(e) => {
            failed_second_step(&state, &any, &client, "Second factor: wrong or used recovery code").await;
            return Err(e.into());
        }
    };
    let (token, me) = second_step_done(&state, &any, &client, &format!("Recovery code ({remaining} left)")).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(token, state.config.secure_cookies))
        .json(RecoveryCodeUsed { remaining, me }))
}

/// How many of the signed-in user's recovery codes are unused.
#[utoipa::path(tag = "security info", responses((status = 200, body = RecoveryStatus), (status = 401, body = ApiError)))]
#[get("/me/recovery-codes")]
pub async fn recovery_status(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<RecoveryStatus>, AppError> {
    Ok(web::Json(recovery::status(state.store.as_ref(), &auth.user)?))
}

/// Makes 10 new recovery codes, shown once (the old ones stop working). Needs a method and a recent second factor.
#[utoipa::path(tag = "security info", responses(
    (status = 201, body = RecoveryCodes), (status = 401, body = ApiError), (status = 403, body = ApiError),
    (status = 409, body = ApiError)))]
#[post("/me/recovery-codes")]
pub async fn generate_recovery_codes(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let codes = recovery::generate(state.store.as_ref(), &auth.user, &auth.session, &auth.client, now)?;
    Ok(HttpResponse::Created().json(codes))
}
