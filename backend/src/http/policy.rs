//! The MFA registration policy: read, save (versions), impact, what-if, report, per-user grace.

use actix_web::{get, post, put, web, HttpResponse};
use proofup_shared::policy::{
    GraceRequest, ImpactRequest, ImpactResponse, PolicyVersion, RegistrationRow, SavePolicyRequest, SavePolicyResponse,
    WhatIf, WhatIfRequest,
};
use proofup_shared::ApiError;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::AppError;
use super::session::{Manager, Operator, Reader};
use super::AppState;

/// The current policy (version 0 is the default, never saved: Off).
#[utoipa::path(tag = "policy", responses((status = 200, body = PolicyVersion), (status = 403, body = ApiError)))]
#[get("/policy")]
pub async fn get_policy(state: web::Data<AppState>, _auth: Reader) -> Result<web::Json<PolicyVersion>, AppError> {
    Ok(web::Json(state.core.policy()?))
}

/// Saves a new version. `based_on_version` must be the current one (409 otherwise).
#[utoipa::path(tag = "policy", request_body = SavePolicyRequest, responses(
    (status = 200, body = SavePolicyResponse), (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[put("/policy")]
pub async fn save_policy(
    state: web::Data<AppState>,
    auth: Manager,
    body: web::Json<SavePolicyRequest>,
) -> Result<web::Json<SavePolicyResponse>, AppError> {
    Ok(web::Json(state.core.save_policy(&auth.actor(), body.into_inner())?))
}

/// Saved versions, newest first: who, when, what changed.
#[utoipa::path(tag = "policy", responses((status = 200, body = Vec<PolicyVersion>), (status = 403, body = ApiError)))]
#[get("/policy/versions")]
pub async fn policy_versions(
    state: web::Data<AppState>,
    _auth: Reader,
) -> Result<web::Json<Vec<PolicyVersion>>, AppError> {
    Ok(web::Json(state.core.policy_versions(100)?))
}

/// The impact of a draft on every user, before saving.
#[utoipa::path(tag = "policy", request_body = ImpactRequest, responses(
    (status = 200, body = ImpactResponse), (status = 403, body = ApiError), (status = 422, body = ApiError)))]
#[post("/policy/impact")]
pub async fn impact(
    state: web::Data<AppState>,
    auth: Reader,
    body: web::Json<ImpactRequest>,
) -> Result<web::Json<ImpactResponse>, AppError> {
    let (impact, warnings) = state.core.draft_impact(&body.policy, &auth.user)?;
    Ok(web::Json(ImpactResponse { impact, warnings }))
}

/// How the policy (saved, or a draft) treats one user, and why.
#[utoipa::path(tag = "policy", request_body = WhatIfRequest, responses(
    (status = 200, body = WhatIf), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[post("/policy/what-if")]
pub async fn what_if(
    state: web::Data<AppState>,
    _auth: Reader,
    body: web::Json<WhatIfRequest>,
) -> Result<web::Json<WhatIf>, AppError> {
    let answer = state.core.what_if(&body.user_id, body.policy.as_ref()).map_err(|e| match e {
        crate::service::ServiceError::NotFound(_) => AppError::not_found("The user"),
        e => e.into(),
    })?;
    Ok(web::Json(answer))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Only rows with this status: not_in_scope (not included), excluded, registered, not_yet_prompted, in_grace, required.
    pub status: Option<String>,
    /// `csv` for a download; JSON otherwise.
    pub format: Option<String>,
}

fn csv_field(s: &str) -> String {
    // Quote, and defuse spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Every user's registration status under the saved policy.
#[utoipa::path(tag = "policy", params(ReportQuery), responses(
    (status = 200, body = Vec<RegistrationRow>), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
#[get("/reports/registration")]
pub async fn registration_report(
    state: web::Data<AppState>,
    _auth: Reader,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    const STATUSES: [&str; 6] = ["not_in_scope", "excluded", "registered", "in_grace", "not_yet_prompted", "required"];
    if let Some(st) = q.status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(AppError::bad_request(format!("Unknown status {st:?}; use one of {}.", STATUSES.join(", "))));
    }
    let rows = state.core.report(q.status.as_deref())?;
    crate::memory::release_soon(); // the rows and the body are freed once the answer is sent
    match q.format.as_deref() {
        None | Some("json") => {
            // Sized up front: a 100k-user report is ~25 MB, and growing by doubling copied it twice over.
            let mut body = Vec::with_capacity(rows.len() * 260 + 2);
            serde_json::to_writer(&mut body, &rows).map_err(|e| AppError::internal(e.to_string()))?;
            Ok(HttpResponse::Ok().content_type("application/json").body(body))
        }
        Some("csv") => {
            let t = |v: Option<time::OffsetDateTime>| {
                v.and_then(|v| v.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
            };
            let mut out = String::from(
                "username,display_name,in_scope,registered,methods,status,first_prompted_at,deadline,days_left,skips,last_sign_in_at\n",
            );
            for r in &rows {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{}\n",
                    csv_field(&r.username),
                    csv_field(&r.display_name),
                    r.in_scope,
                    r.registered,
                    r.methods,
                    r.status,
                    t(r.first_prompted_at),
                    t(r.deadline),
                    r.days_left.map(|d| d.to_string()).unwrap_or_default(),
                    r.skips,
                    t(r.last_sign_in_at),
                ));
            }
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header(("Content-Disposition", "attachment; filename=\"mfa-registration-report.csv\""))
                .body(out))
        }
        Some(f) => Err(AppError::bad_request(format!("Unknown format {f:?}; use csv or json."))),
    }
}

/// Extends or ends one user's grace period (reason required; audited).
#[utoipa::path(tag = "policy", params(("id" = String, Path, description = "user id")), request_body = GraceRequest, responses(
    (status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
#[post("/users/{id}/grace")]
pub async fn set_grace(
    state: web::Data<AppState>,
    auth: Operator,
    id: web::Path<String>,
    body: web::Json<GraceRequest>,
) -> Result<HttpResponse, AppError> {
    state.core.set_grace(&auth.actor(), &id, body.into_inner())?;
    Ok(HttpResponse::NoContent().finish())
}

/// This area's routes, in the order actix tries them.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(get_policy)
        .service(save_policy)
        .service(policy_versions)
        .service(impact)
        .service(what_if)
        .service(registration_report)
        .service(set_grace);
}
