//! The MFA registration policy: read, save (versions), impact, what-if, report, per-user grace.

use actix_web::{get, post, put, web, HttpResponse};
use proofup_shared::policy::{
    GraceRequest, ImpactRequest, ImpactResponse, PolicyVersion, RegistrationReportPage, RegistrationRow,
    SavePolicyRequest, SavePolicyResponse, WhatIf, WhatIfRequest,
};
use proofup_shared::ApiError;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::AppError;
use super::session::{Manager, Operator, Reader};
use super::AppState;
use crate::service::report::{self, ReportSort};

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
    Ok(web::Json(state.core.save_policy(&auth.manager()?, body.into_inner())?))
}

/// Saved versions, newest first: who, when, what changed.
#[utoipa::path(tag = "policy", responses((status = 200, body = Vec<PolicyVersion>), (status = 403, body = ApiError)))]
#[get("/policy/versions")]
pub async fn policy_versions(
    state: web::Data<AppState>,
    auth: Reader,
) -> Result<web::Json<Vec<PolicyVersion>>, AppError> {
    Ok(web::Json(state.core.policy_versions(&auth.reader()?, 100)?))
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
    let (impact, warnings) = state.core.draft_impact(&auth.reader()?, &body.policy)?;
    Ok(web::Json(ImpactResponse { impact, warnings }))
}

/// How the policy (saved, or a draft) treats one user, and why.
#[utoipa::path(tag = "policy", request_body = WhatIfRequest, responses(
    (status = 200, body = WhatIf), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[post("/policy/what-if")]
pub async fn what_if(
    state: web::Data<AppState>,
    auth: Reader,
    body: web::Json<WhatIfRequest>,
) -> Result<web::Json<WhatIf>, AppError> {
    let answer = state.core.what_if(&auth.reader()?, &body.user_id, body.policy.as_ref()).map_err(|e| match e {
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
    /// `username` (default) or `deadline` (soonest first; rows without a deadline last).
    pub sort: Option<String>,
    /// The `next_after` of the previous page (same status and sort).
    pub after: Option<String>,
    /// Rows per page, 1–500 (default 100).
    pub limit: Option<usize>,
    /// `csv` for the whole report as a download (by username; no sort, after or limit); JSON pages otherwise.
    pub format: Option<String>,
}

pub(super) fn csv_field(s: &str) -> String {
    // Quote, and defuse spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    format!("\"{}\"", s.replace('"', "\"\""))
}

const CSV_HEADER: &str =
    "username,display_name,in_scope,registered,methods,status,first_prompted_at,deadline,days_left,skips,last_sign_in_at\n";

fn csv_line(out: &mut String, r: &RegistrationRow) {
    use std::fmt::Write;
    let t = |v: Option<time::OffsetDateTime>| {
        v.and_then(|v| v.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
    };
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{}",
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
    );
}

/// The registration report under the saved policy: one page of rows (JSON), or every row as a
/// streamed CSV download (`format=csv`).
#[utoipa::path(tag = "policy", params(ReportQuery), responses(
    (status = 200, body = RegistrationReportPage), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
#[get("/reports/registration")]
pub async fn registration_report(
    state: web::Data<AppState>,
    auth: Reader,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    match q.format.as_deref() {
        None | Some("json") => {
            let sort = match q.sort.as_deref() {
                None => ReportSort::Username,
                Some(s) => ReportSort::parse(s)
                    .ok_or_else(|| AppError::bad_request(format!("Unknown sort {s:?}; use username or deadline.")))?,
            };
            let limit = match q.limit {
                None => 100,
                Some(n @ 1..=report::MAX_PAGE) => n,
                Some(_) => {
                    return Err(AppError::bad_request(format!("limit must be between 1 and {}.", report::MAX_PAGE)))
                }
            };
            let page = state.core.report_page(&auth.reader()?, q.status.as_deref(), sort, q.after.as_deref(), limit)?;
            Ok(HttpResponse::Ok().json(page))
        }
        Some("csv") => {
            if q.sort.is_some() || q.after.is_some() || q.limit.is_some() {
                return Err(AppError::bad_request(
                    "The CSV export is the whole report by username: leave out sort, after and limit.",
                ));
            }
            let rows = state.core.report(&auth.reader()?, q.status.as_deref())?;
            // Sent 500 rows at a time, so the answer is never held whole (~20 MB at 100k users).
            let mut rows = rows.into_iter();
            let chunks = std::iter::once(CSV_HEADER.to_owned()).chain(std::iter::from_fn(move || {
                let mut out = String::new();
                for r in rows.by_ref().take(500) {
                    csv_line(&mut out, &r);
                }
                if out.is_empty() {
                    crate::memory::release_soon(); // the rows are freed with the iterator
                    None
                } else {
                    Some(out)
                }
            }));
            let body =
                futures_util::stream::iter(chunks.map(|c| Ok::<_, std::convert::Infallible>(web::Bytes::from(c))));
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header(("Content-Disposition", "attachment; filename=\"mfa-registration-report.csv\""))
                .streaming(body))
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
    state.core.set_grace(&auth.operator()?, &id, body.into_inner())?;
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
