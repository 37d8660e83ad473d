//! Directory users. Thin handlers over `service::users`; roles checked here and in the service.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use proofup_shared::api::{
    CreateUserRequest, Page, Role, SessionView, TemporaryAccessPass, UpdateUserRequest, UserView, UserWithPass,
};
use proofup_shared::validation::normalize_username;
use proofup_shared::ApiError;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::admin::page_limit;
use super::error::AppError;
use super::session::{Authenticated, Manager, Reader};
use super::AppState;
use crate::service::UserFilter;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Username prefix (case-insensitive).
    pub q: Option<String>,
    /// The `next_after` of the previous page.
    pub after: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<usize>,
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only enabled (true) or disabled (false) users.
    pub enabled: Option<bool>,
    /// Only emergency-access accounts (true) or only the others (false).
    pub emergency_access: Option<bool>,
}

fn pass_ttl(state: &AppState) -> time::Duration {
    time::Duration::hours(state.config.pass_hours.into())
}

/// Users in username order; `q` filters by username prefix.
#[utoipa::path(tag = "users", params(UserQuery), responses(
    (status = 200, body = Page<UserView>), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    auth: Reader,
    q: web::Query<UserQuery>,
) -> Result<web::Json<Page<UserView>>, AppError> {
    let limit = page_limit(q.limit)?;
    let filter = UserFilter {
        prefix: normalize_username(q.q.as_deref().unwrap_or("")),
        role: q.role,
        enabled: q.enabled,
        emergency_access: q.emergency_access,
        name_word: String::new(),
    };
    let page = state.core.list_users(&auth.reader()?, &filter, q.after.as_deref(), limit)?;
    let items = page.items.iter().map(|u| state.core.user_view(u)).collect::<Result<_, _>>()?;
    Ok(web::Json(Page { items, next_after: page.next_after }))
}

/// Creates a user and returns their one-time temporary access pass (shown once).
#[utoipa::path(tag = "users", request_body = CreateUserRequest, responses(
    (status = 201, body = UserWithPass), (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    auth: Manager,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, AppError> {
    let (user, pass) = state.core.create_user(&auth.manager()?, body.into_inner(), pass_ttl(&state))?;
    Ok(HttpResponse::Created().json(UserWithPass { user: user.view(), temporary_access_pass: pass }))
}

/// One user.
#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id")), responses(
    (status = 200, body = UserView), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<UserView>, AppError> {
    if auth.user.id != *id {
        auth.require(Role::can_read_admin)?;
    }
    let user = state.core.user(&id)?;
    Ok(web::Json(state.core.user_view(&user)?))
}

/// Changes display name, email, role, enabled or emergency-access. Disabling ends the user's sessions.
#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id")), request_body = UpdateUserRequest, responses(
    (status = 200, body = UserView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    auth: Manager,
    id: web::Path<String>,
    body: web::Json<UpdateUserRequest>,
) -> Result<web::Json<UserView>, AppError> {
    let user = state.core.update_user(&auth.manager()?, &id, body.into_inner())?;
    Ok(web::Json(user.view()))
}

/// Deletes a user, their sessions and pass; their log entries stay.
#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id")), responses(
    (status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
#[delete("/users/{id}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    auth: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    state.core.delete_user(&auth.manager()?, &id)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Clears the user's password, ends their sessions and issues a new temporary access pass (shown once).
#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id")), responses(
    (status = 200, body = TemporaryAccessPass), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[post("/users/{id}/reset-sign-in")]
pub async fn reset_sign_in(
    state: web::Data<AppState>,
    auth: Manager,
    id: web::Path<String>,
) -> Result<web::Json<TemporaryAccessPass>, AppError> {
    Ok(web::Json(state.core.reset_sign_in(&auth.manager()?, &id, pass_ttl(&state))?))
}

/// A user's live sessions (newest first), for administrators and the user themself.
#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id")), responses(
    (status = 200, body = Vec<SessionView>), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[get("/users/{id}/sessions")]
pub async fn user_sessions(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<Vec<SessionView>>, AppError> {
    Ok(web::Json(state.core.sessions_of(&auth.subject(&id)?)?))
}

/// The signed-in user's own live sessions, newest first (this one marked `current`).
#[utoipa::path(tag = "security info", responses((status = 200, body = Vec<SessionView>), (status = 401, body = ApiError)))]
#[get("/me/sessions")]
pub async fn my_sessions(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<Vec<SessionView>>, AppError> {
    Ok(web::Json(state.core.sessions_of(&auth.subject(&auth.user.id)?)?))
}

/// Signs one of the user's other sessions out (audited).
#[utoipa::path(tag = "security info", params(("id" = String, Path, description = "session id from the list")), responses(
    (status = 204), (status = 401, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
#[delete("/me/sessions/{id}")]
pub async fn end_my_session(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    state.core.end_own_session(&auth, &id)?;
    state.core.durable().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// "Sign out everywhere else": ends every session of the user but this one (audited).
#[utoipa::path(tag = "security info", responses(
    (status = 200, body = proofup_shared::api::SessionsEnded), (status = 401, body = ApiError)))]
#[post("/me/sessions/sign-out-others")]
pub async fn end_my_other_sessions(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<proofup_shared::api::SessionsEnded>, AppError> {
    let ended = state.core.end_other_sessions(&auth)?;
    state.core.durable().await?;
    Ok(web::Json(proofup_shared::api::SessionsEnded { ended }))
}

/// This area's routes, in the order actix tries them.
/// The signed-in user's e-mail address and whether they confirmed it.
#[utoipa::path(tag = "security info", responses((status = 200, body = proofup_shared::mail::EmailStatus), (status = 401, body = ApiError)))]
#[get("/me/email")]
pub async fn my_email(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<proofup_shared::mail::EmailStatus>, AppError> {
    Ok(web::Json(state.core.email_status(&auth)?))
}

/// Mails a 6-digit code to the user's address (at most one a minute; 15 minutes, five tries).
#[utoipa::path(tag = "security info", responses(
    (status = 200, body = proofup_shared::mail::EmailStatus), (status = 401, body = ApiError),
    (status = 409, body = ApiError), (status = 429, body = ApiError)))]
#[post("/me/email/code")]
pub async fn send_email_code(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<web::Json<proofup_shared::mail::EmailStatus>, AppError> {
    Ok(web::Json(state.core.send_address_code(&auth)?))
}

/// Confirms the address with the mailed code.
#[utoipa::path(tag = "security info", request_body = proofup_shared::mail::VerifyAddressRequest, responses(
    (status = 200, body = proofup_shared::mail::EmailStatus), (status = 401, body = ApiError),
    (status = 409, body = ApiError), (status = 422, body = ApiError), (status = 429, body = ApiError)))]
#[post("/me/email/verify")]
pub async fn verify_email(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: web::Json<proofup_shared::mail::VerifyAddressRequest>,
) -> Result<web::Json<proofup_shared::mail::EmailStatus>, AppError> {
    Ok(web::Json(state.core.confirm_address(&auth, &body.code)?))
}

/// An administrator's own notices by mail (emergency-access sign-ins, policy changes, users'
/// reports): on (needs a confirmed address) or off.
#[utoipa::path(tag = "security info", request_body = proofup_shared::mail::AdminNoticesRequest, responses(
    (status = 200, body = proofup_shared::mail::EmailStatus), (status = 403, body = ApiError),
    (status = 409, body = ApiError)))]
#[put("/me/email/admin-notices")]
pub async fn set_admin_notices(
    state: web::Data<AppState>,
    auth: Reader,
    body: web::Json<proofup_shared::mail::AdminNoticesRequest>,
) -> Result<web::Json<proofup_shared::mail::EmailStatus>, AppError> {
    Ok(web::Json(state.core.set_admin_notices(&auth, body.on)?))
}

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(list_users)
        .service(create_user)
        .service(get_user)
        .service(update_user)
        .service(delete_user)
        .service(reset_sign_in)
        .service(user_sessions)
        .service(my_sessions)
        .service(end_my_session)
        .service(end_my_other_sessions)
        .service(my_email)
        .service(send_email_code)
        .service(verify_email)
        .service(set_admin_notices);
}
