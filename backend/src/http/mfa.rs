//! Second step of sign-in, the registration interrupt, and "My security info". Thin handlers over `service::mfa`.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use proofup_shared::api::Me;
use proofup_shared::mfa::{
    ConfirmTotpRequest, FinishPasskeyRegistration, FinishPasskeySignIn, MethodAdded, MethodView, NextStep,
    PasskeyChallenge, RecoveryCodeUsed, RecoveryCodes, RecoveryStatus, RenameMethodRequest, TotpSetup,
    VerifyCodeRequest,
};
use proofup_shared::ApiError;
use utoipa_actix_web::service_config::ServiceConfig;

use super::client::client_info;
use super::error::AppError;
use super::session::{session_cookie, AnySession, Authenticated, Operator, Reader};
use super::AppState;
use crate::domain::model::SessionStage;
use crate::service::signin::{Completed, SignIn};
use crate::service::ServiceError;
use crate::service::{auth, mfa, passkeys, policy, recovery};

/// The sign-in flow of this request's session.
fn flow<'a>(state: &'a AppState, any: AnySession, req: &HttpRequest) -> SignIn<'a> {
    let (_, client) = client_info(req, &state.config.trusted_proxies);
    SignIn::new(&state.core, any.key, any.session, any.user, client)
}

/// Signing in completed: the new session's cookie, and who is signed in.
fn signed_in(state: &AppState, done: &Completed) -> HttpResponse {
    HttpResponse::Ok().cookie(session_cookie(done.token.clone(), state.config.secure_cookies)).json(&done.me)
}

/// A method was added (which completes a sign-in at the interrupt).
fn added(state: &AppState, done: &Completed, method: &crate::domain::model::Method) -> HttpResponse {
    HttpResponse::Created()
        .cookie(session_cookie(done.token.clone(), state.config.secure_cookies))
        .json(MethodAdded { method: method.view(), next_step: NextStep::Done })
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
    let flow = flow(&state, any, &req);
    flow.must_be(SessionStage::SecondFactor)?;
    let now = state.core.clock.now();
    match mfa::verify_code(state.core.store.as_ref(), &state.core.secrets, flow.user(), flow.client(), &body.code, now)
    {
        Ok(m) => Ok(signed_in(&state, &flow.second_step_done(&format!("Authenticator app \"{}\"", m.name)).await?)),
        Err(e) => {
            flow.second_step_failed("Second factor: wrong or reused code").await;
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
    let now = state.core.clock.now();
    let s = state.core.store.as_ref();
    mfa::verify_code(s, &state.core.secrets, &auth.user, &auth.client, &body.code, now)?;
    let key = crate::service::session_key(
        &super::session::token_from(&req, state.config.secure_cookies).ok_or_else(AppError::unauthenticated)?,
    );
    let token = auth::promote(s, &key, &auth.session, SessionStage::Full, Some(now), now)?;
    state.core.durable().await?;
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
    Ok(signed_in(&state, &flow(&state, any, &req).skip().await?))
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
    let required_from = policy::registration_due(
        state.core.store.as_ref(),
        &state.core.membership,
        &auth.user,
        state.core.clock.now(),
    )?;
    Ok(web::Json(proofup_shared::api::RegistrationReminder { required_from }))
}

/// The signed-in user's methods (never secrets).
#[utoipa::path(tag = "security info", responses((status = 200, body = Vec<MethodView>), (status = 401, body = ApiError)))]
#[get("/me/methods")]
pub async fn my_methods(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<MethodView>>, AppError> {
    Ok(web::Json(state.core.methods_of(&auth.user.id)?))
}

/// Starts adding an authenticator app: a new secret as QR code, URI and text. Shown once (no-store).
#[utoipa::path(tag = "security info", responses(
    (status = 200, body = TotpSetup), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
#[post("/me/methods/totp")]
pub async fn start_totp(
    state: web::Data<AppState>,
    any: AnySession,
    req: HttpRequest,
) -> Result<web::Json<TotpSetup>, AppError> {
    let flow = flow(&state, any, &req);
    flow.may_register()?;
    let now = state.core.clock.now();
    let s = state.core.store.as_ref();
    Ok(web::Json(mfa::start_totp(s, &state.core.pending_totp, flow.key(), flow.session(), flow.user(), now)?))
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
    let flow = flow(&state, any, &req);
    flow.may_register()?;
    let now = state.core.clock.now();
    let s = state.core.store.as_ref();
    let method = mfa::confirm_totp(
        s,
        &state.core.pending_totp,
        &state.core.secrets,
        flow.key(),
        flow.session(),
        flow.user(),
        flow.client(),
        body.into_inner(),
        now,
    )
    .map_err(|e| match e {
        crate::service::ServiceError::NotFound(_) => {
            AppError::not_found("No authenticator-app registration is waiting in this session; start again.")
        }
        e => e.into(),
    })?;
    Ok(added(&state, &flow.method_added("MFA registered at sign-in (authenticator app)").await?, &method))
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
    let now = state.core.clock.now();
    mfa::remove_own(
        state.core.store.as_ref(),
        &state.core.membership,
        &auth.user,
        &auth.session,
        &auth.client,
        &id,
        now,
    )
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
    state.core.user(&id)?;
    Ok(web::Json(state.core.methods_of(&id)?))
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
    mfa::require_reregistration(state.core.store.as_ref(), &auth.actor(), &id, state.core.clock.now())?;
    Ok(HttpResponse::NoContent().finish())
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
    let now = state.core.clock.now();
    let m = mfa::rename_own(state.core.store.as_ref(), &auth.user, &auth.session, &auth.client, &id, &body.name, now)
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
    req: HttpRequest,
) -> Result<web::Json<PasskeyChallenge>, AppError> {
    let flow = flow(&state, any, &req);
    flow.may_register()?;
    let now = state.core.clock.now();
    let s = state.core.store.as_ref();
    Ok(web::Json(passkeys::start_registration(s, &state.core.passkeys, flow.key(), flow.session(), flow.user(), now)?))
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
    let flow = flow(&state, any, &req);
    flow.may_register()?;
    let now = state.core.clock.now();
    let s = state.core.store.as_ref();
    let method = passkeys::finish_registration(
        s,
        &state.core.passkeys,
        flow.key(),
        flow.session(),
        flow.user(),
        flow.client(),
        body.into_inner(),
        now,
    )
    .map_err(|e| match e {
        ServiceError::NotFound(_) => {
            AppError::not_found("No passkey registration is waiting in this session; start again.")
        }
        e => e.into(),
    })?;
    Ok(added(&state, &flow.method_added("MFA registered at sign-in (passkey)").await?, &method))
}

/// Starts a passkey sign-in (the second step, or re-authentication): options for `navigator.credentials.get()`.
#[utoipa::path(tag = "auth", responses(
    (status = 200, body = PasskeyChallenge), (status = 401, body = ApiError), (status = 409, body = ApiError),
    (status = 429, body = ApiError)))]
#[post("/auth/passkey")]
pub async fn start_passkey_sign_in(
    state: web::Data<AppState>,
    any: AnySession,
    req: HttpRequest,
) -> Result<web::Json<PasskeyChallenge>, AppError> {
    let flow = flow(&state, any, &req);
    flow.may_prove()?;
    let now = state.core.clock.now();
    Ok(web::Json(passkeys::start_authentication(
        state.core.store.as_ref(),
        &state.core.passkeys,
        flow.key(),
        flow.user(),
        now,
    )?))
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
    let flow = flow(&state, any, &req);
    flow.may_prove()?;
    let now = state.core.clock.now();
    let used = passkeys::finish_authentication(
        state.core.store.as_ref(),
        &state.core.passkeys,
        flow.key(),
        flow.user(),
        body.into_inner().credential,
        now,
    );
    let m = match used {
        Ok(m) => m,
        Err(e) => {
            flow.second_step_failed("Second factor: passkey not verified").await;
            return Err(match e {
                ServiceError::NotFound(_) => {
                    AppError::not_found("No passkey sign-in is waiting in this session; start again.")
                }
                e => e.into(),
            });
        }
    };
    Ok(signed_in(&state, &flow.second_step_done(&format!("Passkey \"{}\"", m.name)).await?))
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
    let flow = flow(&state, any, &req);
    flow.may_prove()?;
    let now = state.core.clock.now();
    let remaining = match recovery::redeem(state.core.store.as_ref(), flow.user(), flow.client(), &body.code, now) {
        Ok(n) => n,
        Err(e) => {
            flow.second_step_failed("Second factor: wrong or used recovery code").await;
            return Err(e.into());
        }
    };
    let done = flow.second_step_done(&format!("Recovery code ({remaining} left)")).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(done.token, state.config.secure_cookies))
        .json(RecoveryCodeUsed { remaining, me: done.me }))
}

/// How many of the signed-in user's recovery codes are unused.
#[utoipa::path(tag = "security info", responses((status = 200, body = RecoveryStatus), (status = 401, body = ApiError)))]
#[get("/me/recovery-codes")]
pub async fn recovery_status(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<RecoveryStatus>, AppError> {
    Ok(web::Json(recovery::status(state.core.store.as_ref(), &auth.user)?))
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
    let now = state.core.clock.now();
    let codes = recovery::generate(state.core.store.as_ref(), &auth.user, &auth.session, &auth.client, now)?;
    Ok(HttpResponse::Created().json(codes))
}

/// The second step of signing in (hot: registered right after the first step).
pub fn sign_in_routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(second_factor)
        .service(reverify)
        .service(skip_registration)
        .service(start_passkey_sign_in)
        .service(finish_passkey_sign_in)
        .service(recovery_code_sign_in);
}

/// The registration interrupt's methods and "My security info".
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(my_methods)
        .service(my_registration)
        .service(start_totp)
        .service(confirm_totp)
        .service(remove_my_method)
        .service(rename_my_method)
        .service(start_passkey_registration)
        .service(finish_passkey_registration)
        .service(recovery_status)
        .service(generate_recovery_codes)
        .service(user_methods)
        .service(require_reregistration);
}
