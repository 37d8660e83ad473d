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
use super::session::{AnySession, Authenticated, CodeStep, Operator, Reader, SetSession, SigningIn};
use super::AppState;
use crate::service::signin::{Completed, Progress, SignIn};
use crate::service::{Caller, ServiceError};

/// The sign-in flow of this request's session.
fn flow<'a>(state: &'a AppState, any: AnySession, req: &HttpRequest) -> SignIn<'a> {
    let (_, client) = client_info(req, &state.config.trusted_proxies);
    SignIn::new(&state.core, any.key, any.progress, any.user, client)
}

/// Signing in completed: the new session's cookie, and who is signed in.
fn signed_in(state: &AppState, done: &Completed) -> HttpResponse {
    HttpResponse::Ok().session_cookies(Some(done.token.clone()), state.config.secure_cookies).json(&done.me)
}

/// A method was added (which completes a sign-in at the interrupt).
fn added(state: &AppState, done: &Completed, method: &crate::domain::model::Method) -> HttpResponse {
    HttpResponse::Created().session_cookies(Some(done.token.clone()), state.config.secure_cookies).json(MethodAdded {
        method: method.view(),
        next_step: NextStep::Done,
        continue_to: done.me.continue_to.clone(),
    })
}

/// The second step of sign-in: a code from an authenticator app. Completes the session (new id).
#[utoipa::path(tag = "auth", request_body = VerifyCodeRequest, responses(
    (status = 200, body = Me), (status = 401, body = ApiError), (status = 409, body = ApiError),
    (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/second-factor")]
pub async fn second_factor(
    state: web::Data<AppState>,
    step: CodeStep,
    req: HttpRequest,
    body: web::Json<VerifyCodeRequest>,
) -> Result<HttpResponse, AppError> {
    let (any, ahead) = step.read(&state)?;
    let flow = flow(&state, any, &req);
    flow.must_be_proving()?;
    let done = match &ahead {
        Some((methods, attempt)) => flow.prove_code_read(&body.code, methods, *attempt).await?,
        None => flow.prove_code(&body.code).await?,
    };
    Ok(signed_in(&state, &done))
}

/// Proves a second factor again in a complete session (needed within 10 minutes before changing methods).
#[utoipa::path(tag = "auth", request_body = VerifyCodeRequest, responses(
    (status = 204), (status = 401, body = ApiError), (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/reverify")]
pub async fn reverify(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: web::Json<VerifyCodeRequest>,
) -> Result<HttpResponse, AppError> {
    let Caller { user, session, key, client } = auth.0;
    let done = SignIn::new(&state.core, key, Progress::Complete(session), user, client).prove_code(&body.code).await?;
    Ok(HttpResponse::NoContent().session_cookies(Some(done.token), state.config.secure_cookies).finish())
}

/// "Skip for now": allowed while the grace period lasts; completes the session.
#[utoipa::path(tag = "auth", responses(
    (status = 200, body = Me), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
#[post("/auth/skip-registration")]
pub async fn skip_registration(
    state: web::Data<AppState>,
    SigningIn(any): SigningIn,
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
    let required_from = state.core.registration_due(&auth.user)?;
    Ok(web::Json(proofup_shared::api::RegistrationReminder { required_from }))
}

/// The signed-in user's methods (never secrets).
#[utoipa::path(tag = "security info", responses((status = 200, body = Vec<MethodView>), (status = 401, body = ApiError)))]
#[get("/me/methods")]
pub async fn my_methods(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<MethodView>>, AppError> {
    Ok(web::Json(state.core.methods_of(&auth.subject(&auth.user.id)?)?))
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
    Ok(web::Json(flow(&state, any, &req).start_totp()?))
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
    let (method, done) = flow(&state, any, &req).confirm_totp(body.into_inner()).await.map_err(|e| match e {
        crate::service::ServiceError::NotFound(_) => {
            AppError::not_found("No authenticator-app registration is waiting in this session; start again.")
        }
        e => e.into(),
    })?;
    Ok(added(&state, &done, &method))
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
    state.core.remove_own_method(&auth, &id).map_err(|e| match e {
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
    auth: Reader,
    id: web::Path<String>,
) -> Result<web::Json<Vec<MethodView>>, AppError> {
    Ok(web::Json(state.core.methods_of(&auth.subject(&id)?)?))
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
    state.core.require_reregistration(&auth.operator()?, &id)?;
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
    let m = state.core.rename_own_method(&auth, &id, &body.name).map_err(|e| match e {
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
    Ok(web::Json(flow(&state, any, &req).start_passkey_registration()?))
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
    let (method, done) = flow.finish_passkey_registration(body.into_inner()).await.map_err(|e| match e {
        ServiceError::NotFound(_) => {
            AppError::not_found("No passkey registration is waiting in this session; start again.")
        }
        e => e.into(),
    })?;
    Ok(added(&state, &done, &method))
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
    Ok(web::Json(flow(&state, any, &req).passkey_challenge()?))
}

/// Verifies the passkey's answer. Completes the sign-in (new session id).
#[utoipa::path(tag = "auth", request_body = FinishPasskeySignIn, responses(
    (status = 200, body = Me), (status = 401, body = ApiError), (status = 404, body = ApiError),
    (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/passkey/finish")]
pub async fn finish_passkey_sign_in(
    state: web::Data<AppState>,
    SigningIn(any): SigningIn,
    req: HttpRequest,
    body: web::Json<FinishPasskeySignIn>,
) -> Result<HttpResponse, AppError> {
    let done = flow(&state, any, &req).prove_passkey(body.into_inner().credential).await.map_err(|e| match e {
        ServiceError::NotFound(_) => AppError::not_found("No passkey sign-in is waiting in this session; start again."),
        e => e.into(),
    })?;
    Ok(signed_in(&state, &done))
}

/// Signs in (or re-authenticates) with a recovery code; each code works once. Says how many are left.
#[utoipa::path(tag = "auth", request_body = VerifyCodeRequest, responses(
    (status = 200, body = RecoveryCodeUsed), (status = 401, body = ApiError), (status = 409, body = ApiError),
    (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/auth/recovery-code")]
pub async fn recovery_code_sign_in(
    state: web::Data<AppState>,
    SigningIn(any): SigningIn,
    req: HttpRequest,
    body: web::Json<VerifyCodeRequest>,
) -> Result<HttpResponse, AppError> {
    let (remaining, done) = flow(&state, any, &req).prove_recovery_code(&body.code).await?;
    Ok(HttpResponse::Ok()
        .session_cookies(Some(done.token), state.config.secure_cookies)
        .json(RecoveryCodeUsed { remaining, me: done.me }))
}

/// How many of the signed-in user's recovery codes are unused.
#[utoipa::path(tag = "security info", responses((status = 200, body = RecoveryStatus), (status = 401, body = ApiError)))]
#[get("/me/recovery-codes")]
pub async fn recovery_status(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<RecoveryStatus>, AppError> {
    Ok(web::Json(state.core.recovery_status(&auth.user)?))
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
    let codes = state.core.generate_recovery_codes(&auth)?;
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
