//! Administrative reads and actions of the foundation: overview, logs, unlock.

use actix_web::{get, post, put, web, HttpResponse};
use proofup_shared::api::{AuditEntry, Overview, Page, SignInLogEntry};
use proofup_shared::ApiError;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::AppError;
use super::session::{GlobalAdmin, Manager, Operator, Reader};
use super::AppState;
use crate::service::{AuditFilter, SignInFilter};

pub const MAX_PAGE: usize = 200;

/// `limit` of a list query: 1 to [`MAX_PAGE`], default 50.
pub fn page_limit(limit: Option<usize>) -> Result<usize, AppError> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=MAX_PAGE) => Ok(n),
        Some(_) => Err(AppError::bad_request(format!("limit must be between 1 and {MAX_PAGE}."))),
    }
}

/// The signed-in administrator, the store's counts and the server version.
#[utoipa::path(tag = "admin", responses((status = 200, body = Overview), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
#[get("/overview")]
pub async fn overview(state: web::Data<AppState>, auth: Reader) -> Result<web::Json<Overview>, AppError> {
    Ok(web::Json(state.core.overview(&auth.reader()?, auth.user.me())?))
}

/// Acknowledges an emergency-access sign-in alert (audited).
#[utoipa::path(tag = "admin", params(("id" = String, Path, description = "alert id")), responses(
    (status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[post("/alerts/{id}/acknowledge")]
pub async fn acknowledge_alert(
    state: web::Data<AppState>,
    auth: Operator,
    id: web::Path<String>,
) -> Result<actix_web::HttpResponse, AppError> {
    state.core.acknowledge_alert(&auth.operator()?, &id)?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}

/// Filters of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub after: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<usize>,
    /// Username of who made the change (exact, case-insensitive).
    pub actor: Option<String>,
    /// Text in the target (case-insensitive).
    pub target: Option<String>,
    /// Action prefix, e.g. `policy.` or `user.created`.
    pub action: Option<String>,
    /// From this time (RFC 3339) or day (YYYY-MM-DD, UTC), inclusive.
    pub from: Option<String>,
    /// Until this time or day (inclusive).
    pub to: Option<String>,
}

/// Filters of the sign-in log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SignInQuery {
    pub after: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<usize>,
    /// Username (exact, case-insensitive).
    pub user: Option<String>,
    pub result: Option<proofup_shared::api::SignInResult>,
    /// Application name (exact): sign-ins to that application only.
    pub application: Option<String>,
    /// From this time (RFC 3339) or day (YYYY-MM-DD, UTC), inclusive.
    pub from: Option<String>,
    /// Until this time or day (inclusive).
    pub to: Option<String>,
}

/// A time bound: RFC 3339, or a UTC day (its start for `from`, its end for `to`).
fn time_bound(v: Option<&str>, name: &str, end_of_day: bool) -> Result<Option<time::OffsetDateTime>, AppError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if let Ok(t) = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339) {
        return Ok(Some(t));
    }
    let day = time::Date::parse(v, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| AppError::bad_request(format!("{name} must be a date (YYYY-MM-DD) or an RFC 3339 time.")))?;
    let t = if end_of_day { day.with_hms_milli(23, 59, 59, 999) } else { day.with_hms(0, 0, 0) };
    Ok(t.ok().map(|t| t.assume_utc()))
}

/// The audit log, newest first.
#[utoipa::path(tag = "logs", params(AuditQuery), responses((status = 200, body = Page<AuditEntry>), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
#[get("/audit")]
pub async fn audit_log(
    state: web::Data<AppState>,
    auth: Reader,
    q: web::Query<AuditQuery>,
) -> Result<web::Json<Page<AuditEntry>>, AppError> {
    let norm = |v: &Option<String>| v.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    let filter = AuditFilter {
        from: time_bound(q.from.as_deref(), "from", false)?,
        to: time_bound(q.to.as_deref(), "to", true)?,
        actor: norm(&q.actor),
        target: norm(&q.target),
        action: norm(&q.action),
    };
    Ok(web::Json(state.core.search_audit(&auth.reader()?, &filter, q.after.as_deref(), page_limit(q.limit)?)?))
}

/// The sign-in log, newest first.
#[utoipa::path(tag = "logs", params(SignInQuery), responses((status = 200, body = Page<SignInLogEntry>), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
#[get("/sign-ins")]
pub async fn sign_in_log(
    state: web::Data<AppState>,
    auth: Reader,
    q: web::Query<SignInQuery>,
) -> Result<web::Json<Page<SignInLogEntry>>, AppError> {
    let filter = SignInFilter {
        from: time_bound(q.from.as_deref(), "from", false)?,
        to: time_bound(q.to.as_deref(), "to", true)?,
        user: q.user.as_deref().map(proofup_shared::validation::normalize_username).filter(|s| !s.is_empty()),
        result: q.result,
        application: q.application.clone().filter(|a| !a.is_empty()),
    };
    Ok(web::Json(state.core.search_sign_ins(&auth.reader()?, &filter, q.after.as_deref(), page_limit(q.limit)?)?))
}

/// Clears a user's failed sign-in count (the unlock path after 100 failures).
#[utoipa::path(tag = "admin", params(("id" = String, Path, description = "user id")), responses(
    (status = 204), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[post("/users/{id}/unlock")]
pub async fn unlock_user(
    state: web::Data<AppState>,
    auth: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    state.core.unlock_sign_in(&auth.manager()?, &id)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The webhook's URL and how deliveries are going (Security administrators and Global administrators).
#[utoipa::path(tag = "settings", responses(
    (status = 200, body = proofup_shared::webhook::WebhookSettings), (status = 403, body = ApiError)))]
#[get("/settings/webhook")]
pub async fn webhook_settings(
    state: web::Data<AppState>,
    _auth: Manager,
) -> Result<web::Json<proofup_shared::webhook::WebhookSettings>, AppError> {
    Ok(web::Json(state.core.webhook_settings()?))
}

/// Sets or clears the webhook URL: a JSON POST for every emergency-access sign-in and policy change.
#[utoipa::path(tag = "settings", request_body = proofup_shared::webhook::WebhookSettingsRequest, responses(
    (status = 200, body = proofup_shared::webhook::WebhookSettings), (status = 403, body = ApiError),
    (status = 422, body = ApiError)))]
#[put("/settings/webhook")]
pub async fn save_webhook(
    state: web::Data<AppState>,
    auth: Manager,
    body: web::Json<proofup_shared::webhook::WebhookSettingsRequest>,
) -> Result<web::Json<proofup_shared::webhook::WebhookSettings>, AppError> {
    Ok(web::Json(state.core.save_webhook(&auth.manager()?, body.into_inner())?))
}

/// Queues a test event for the webhook.
#[utoipa::path(tag = "settings", responses((status = 202), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
#[post("/settings/webhook/test")]
pub async fn test_webhook(state: web::Data<AppState>, auth: Manager) -> Result<HttpResponse, AppError> {
    state.core.send_test_webhook(&auth.manager()?)?;
    Ok(HttpResponse::Accepted().finish())
}

/// The mail settings in force (from the server's command line) and how deliveries go (Global
/// administrators).
#[utoipa::path(tag = "settings", responses(
    (status = 200, body = proofup_shared::mail::MailSettings), (status = 403, body = ApiError)))]
#[get("/settings/mail")]
pub async fn mail_settings(
    state: web::Data<AppState>,
    auth: GlobalAdmin,
) -> Result<web::Json<proofup_shared::mail::MailSettings>, AppError> {
    Ok(web::Json(state.core.mail_settings(&auth.global()?)?))
}

/// Queues a test message, to the address given or the administrator's own.
#[utoipa::path(tag = "settings", request_body = proofup_shared::mail::MailTestRequest, responses(
    (status = 202, body = proofup_shared::mail::MailTestQueued), (status = 403, body = ApiError),
    (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[post("/settings/mail/test")]
pub async fn test_mail(
    state: web::Data<AppState>,
    auth: GlobalAdmin,
    body: web::Json<proofup_shared::mail::MailTestRequest>,
) -> Result<HttpResponse, AppError> {
    let queued = state.core.send_test_mail(&auth.global()?, body.into_inner())?;
    Ok(HttpResponse::Accepted().json(queued))
}

/// This area's routes, in the order actix tries them.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(overview)
        .service(acknowledge_alert)
        .service(audit_log)
        .service(sign_in_log)
        .service(unlock_user)
        .service(webhook_settings)
        .service(save_webhook)
        .service(test_webhook)
        .service(mail_settings)
        .service(test_mail);
}
