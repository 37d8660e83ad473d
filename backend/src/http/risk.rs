//! Risk: the two risk policies (save, backtest, impact, what-if) and the reports of risky users,
//! risky sign-ins and risk detections, with the administrators' verdicts.

use actix_web::{get, post, put, web, HttpResponse};
use proofup_shared::policy::PolicyVersion;
use proofup_shared::ApiError;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::AppError;
use super::policy::csv_field;
use super::session::{Manager, Operator, Reader};
use super::AppState;

/// Saves the sign-in risk policy (a new version; the registration policy unchanged).
#[utoipa::path(tag = "policy", request_body = proofup_shared::policy::SaveSignInRiskPolicyRequest, responses(
    (status = 200, body = PolicyVersion), (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[put("/policy/sign-in-risk")]
pub async fn save_sign_in_risk_policy(
    state: web::Data<AppState>,
    auth: Manager,
    body: web::Json<proofup_shared::policy::SaveSignInRiskPolicyRequest>,
) -> Result<web::Json<PolicyVersion>, AppError> {
    let req = body.into_inner();
    let edit = crate::service::risk_policy::RiskPolicyEdit::SignIn(req.policy);
    Ok(web::Json(state.core.save_risk_policy(&auth.manager()?, req.based_on_version, edit)?))
}

/// Saves the user risk policy (a new version; the other policies unchanged).
#[utoipa::path(tag = "policy", request_body = proofup_shared::policy::SaveUserRiskPolicyRequest, responses(
    (status = 200, body = PolicyVersion), (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[put("/policy/user-risk")]
pub async fn save_user_risk_policy(
    state: web::Data<AppState>,
    auth: Manager,
    body: web::Json<proofup_shared::policy::SaveUserRiskPolicyRequest>,
) -> Result<web::Json<PolicyVersion>, AppError> {
    let req = body.into_inner();
    let edit = crate::service::risk_policy::RiskPolicyEdit::User(req.policy);
    Ok(web::Json(state.core.save_risk_policy(&auth.manager()?, req.based_on_version, edit)?))
}

/// Paging and filters of the risk reports (detections, risky users, risky sign-ins).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DetectionsQuery {
    pub after: Option<String>,
    /// Rows per page: detections 1–200 (default 50); risky users and sign-ins 1–500 (default 100).
    pub limit: Option<usize>,
    /// Username (exact, case-insensitive).
    pub user: Option<String>,
    pub kind: Option<proofup_shared::risk::DetectionKind>,
    pub level: Option<proofup_shared::risk::RiskLevel>,
    pub state: Option<proofup_shared::risk::RiskState>,
    /// `csv` for every detection the filters keep, as a download; JSON pages otherwise.
    pub format: Option<String>,
}

const DETECTIONS_CSV_HEADER: &str =
    "at,username,detection,level,state,detail,ip,country,city,asn,network,application,evidence\n";

fn detection_line(out: &mut String, d: &proofup_shared::risk::DetectionView) {
    use std::fmt::Write;
    let at = d.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let _ = writeln!(
        out,
        "{at},{},{},{},{},{},{},{}",
        csv_field(&d.username),
        d.kind.name(),
        d.level.name(),
        csv_field(d.state.label()),
        csv_field(d.detail.as_deref().unwrap_or("")),
        from_columns(&d.ip, &d.place, d.application.as_deref()),
        csv_field(&d.explanation),
    );
}

/// The columns ip,country,city,asn,network,application the detections and risky sign-ins share.
fn from_columns(ip: &str, place: &proofup_shared::risk::Place, application: Option<&str>) -> String {
    format!(
        "{},{},{},{},{},{}",
        csv_field(ip),
        csv_field(place.country.as_deref().unwrap_or("")),
        csv_field(place.city.as_deref().unwrap_or("")),
        place.asn.map(|a| a.to_string()).unwrap_or_default(),
        csv_field(place.as_org.as_deref().unwrap_or("")),
        csv_field(application.unwrap_or("")),
    )
}

/// Risk detections (kept 90 days), newest first, each with its evidence; filtered; or every one
/// the filters keep as a CSV download (`format=csv`).
#[utoipa::path(tag = "policy", params(DetectionsQuery), responses(
    (status = 200, body = proofup_shared::api::Page<proofup_shared::risk::DetectionView>), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
#[get("/risk/detections")]
pub async fn detections(
    state: web::Data<AppState>,
    auth: Reader,
    q: web::Query<DetectionsQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = filter_of(&q);
    if wants_csv(&q)? {
        let rows = state.core.all_detections(&auth.reader()?, &filter)?;
        return Ok(csv_download("risk-detections.csv", DETECTIONS_CSV_HEADER, &rows, detection_line));
    }
    let page = state.core.detections(&auth.reader()?, &filter, q.after.as_deref(), q.limit.unwrap_or(50))?;
    Ok(HttpResponse::Ok().json(page))
}

/// Whether a risk report is asked for as CSV (every row the filters keep: no paging), or as JSON
/// pages; any other format is a client mistake.
fn wants_csv(q: &DetectionsQuery) -> Result<bool, AppError> {
    match q.format.as_deref() {
        None | Some("json") => Ok(false),
        Some("csv") if q.after.is_some() || q.limit.is_some() => {
            Err(AppError::bad_request("The CSV export is every row the filters keep: leave out after and limit."))
        }
        Some("csv") => Ok(true),
        Some(f) => Err(AppError::bad_request(format!("Unknown format {f:?}; use csv or json."))),
    }
}

/// `rows` as a CSV download named `file`, each written by `line` under `header`.
fn csv_download<T>(file: &str, header: &str, rows: &[T], line: impl Fn(&mut String, &T)) -> HttpResponse {
    let mut out = String::from(header);
    for r in rows {
        line(&mut out, r);
    }
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{file}\"")))
        .body(out)
}

/// A draft sign-in risk policy over the last 30 days of sign-ins: what it would have done.
#[utoipa::path(tag = "policy", request_body = proofup_shared::policy::RiskBacktestRequest, responses(
    (status = 200, body = proofup_shared::policy::RiskBacktest), (status = 403, body = ApiError)))]
#[post("/policy/sign-in-risk/backtest")]
pub async fn backtest_sign_in_risk(
    state: web::Data<AppState>,
    auth: Reader,
    body: web::Json<proofup_shared::policy::RiskBacktestRequest>,
) -> Result<web::Json<proofup_shared::policy::RiskBacktest>, AppError> {
    let core = state.core.clone();
    let policy = body.into_inner().policy;
    let reader = auth.0;
    // A scan of up to the log's 30 days: off the request threads.
    let out = web::block(move || reader.reader().and_then(|r| core.backtest_sign_in_risk(&r, &policy)))
        .await
        .map_err(|e| AppError::internal(e.to_string()))??;
    Ok(web::Json(out))
}

const RISKY_SIGN_INS_CSV_HEADER: &str = "at,username,level,state,detections,ip,country,city,asn,network,application\n";
const RISKY_USERS_CSV_HEADER: &str = "username,level,state,open_detections,detections,last_detected_at\n";

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn kinds(k: &[proofup_shared::risk::DetectionKind]) -> String {
    k.iter().map(|k| k.name()).collect::<Vec<_>>().join(" ")
}

/// A report computed whole, as a JSON page or (`format=csv`) every row as a download.
fn paged_or_csv<T: serde::Serialize>(
    q: &DetectionsQuery,
    rows: Vec<T>,
    file: &str,
    header: &str,
    line: impl Fn(&mut String, &T),
) -> Result<HttpResponse, AppError> {
    if wants_csv(q)? {
        return Ok(csv_download(file, header, &rows, line));
    }
    let page = crate::service::risk::page_of(rows, q.after.as_deref(), q.limit.unwrap_or(100))?;
    Ok(HttpResponse::Ok().json(page))
}

fn filter_of(q: &DetectionsQuery) -> crate::service::risk::DetectionFilter {
    crate::service::risk::DetectionFilter { user: q.user.clone(), kind: q.kind, level: q.level, state: q.state }
}

/// Risky sign-ins of the last 30 days (their detections grouped), newest first; paged (1–500,
/// default 100) and filtered (`kind`: one of the sign-in's detections; `level`: the sign-in's);
/// or every one the filters keep as a CSV download (`format=csv`).
#[utoipa::path(tag = "policy", params(DetectionsQuery), responses(
    (status = 200, body = proofup_shared::api::Page<proofup_shared::risk::RiskySignIn>), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
#[get("/risk/sign-ins")]
pub async fn risky_sign_ins(
    state: web::Data<AppState>,
    auth: Reader,
    q: web::Query<DetectionsQuery>,
) -> Result<HttpResponse, AppError> {
    let rows = state.core.risky_sign_ins(&auth.reader()?, &filter_of(&q))?;
    paged_or_csv(&q, rows, "risky-sign-ins.csv", RISKY_SIGN_INS_CSV_HEADER, |out, r| {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            rfc3339(r.at),
            csv_field(&r.username),
            r.level.name(),
            csv_field(r.state.label()),
            kinds(&r.detections),
            from_columns(&r.ip, &r.place, r.application.as_deref()),
        );
    })
}

/// Users with open risk, highest first then newest; paged (1–500, default 100) and filtered
/// (`kind`: one of their open detections; `state`: at_risk or confirmed_compromised); or every one
/// the filters keep as a CSV download (`format=csv`).
#[utoipa::path(tag = "policy", params(DetectionsQuery), responses(
    (status = 200, body = proofup_shared::api::Page<proofup_shared::risk::RiskyUser>), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
#[get("/risk/users")]
pub async fn risky_users(
    state: web::Data<AppState>,
    auth: Reader,
    q: web::Query<DetectionsQuery>,
) -> Result<HttpResponse, AppError> {
    let rows = state.core.risky_users(&auth.reader()?, &filter_of(&q))?;
    paged_or_csv(&q, rows, "risky-users.csv", RISKY_USERS_CSV_HEADER, |out, u| {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            csv_field(&u.username),
            u.level.name(),
            csv_field(u.state.label()),
            u.open_detections,
            kinds(&u.detections),
            rfc3339(u.last_detected_at),
        );
    })
}

/// What a draft sign-in risk policy would do to the directory now: users in scope, and those who
/// could not answer a step-up (no method; no passkey where only a passkey counts); with warnings.
#[utoipa::path(tag = "policy", request_body = proofup_shared::policy::RiskBacktestRequest, responses(
    (status = 200, body = proofup_shared::policy::RiskImpactResponse), (status = 403, body = ApiError)))]
#[post("/policy/sign-in-risk/impact")]
pub async fn sign_in_risk_impact(
    state: web::Data<AppState>,
    auth: Reader,
    body: web::Json<proofup_shared::policy::RiskBacktestRequest>,
) -> Result<web::Json<proofup_shared::policy::RiskImpactResponse>, AppError> {
    let edit = crate::service::risk_policy::RiskPolicyEdit::SignIn(body.into_inner().policy);
    impact_of(state, auth, edit).await
}

/// What a draft user risk policy would do to the directory now: users in scope, those whose risk
/// now reaches its level (they remediate at their next sign-in), those of them with no method.
#[utoipa::path(tag = "policy", request_body = proofup_shared::policy::UserRiskImpactRequest, responses(
    (status = 200, body = proofup_shared::policy::RiskImpactResponse), (status = 403, body = ApiError)))]
#[post("/policy/user-risk/impact")]
pub async fn user_risk_impact(
    state: web::Data<AppState>,
    auth: Reader,
    body: web::Json<proofup_shared::policy::UserRiskImpactRequest>,
) -> Result<web::Json<proofup_shared::policy::RiskImpactResponse>, AppError> {
    let edit = crate::service::risk_policy::RiskPolicyEdit::User(body.into_inner().policy);
    impact_of(state, auth, edit).await
}

async fn impact_of(
    state: web::Data<AppState>,
    auth: Reader,
    edit: crate::service::risk_policy::RiskPolicyEdit,
) -> Result<web::Json<proofup_shared::policy::RiskImpactResponse>, AppError> {
    let core = state.core.clone();
    let reader = auth.0;
    // One pass over the directory: off the request threads.
    let out = web::block(move || reader.reader().and_then(|r| core.risk_impact(&r, &edit)))
        .await
        .map_err(|e| AppError::internal(e.to_string()))??;
    Ok(web::Json(out))
}

/// How the sign-in risk policy (saved, or a draft) treats a sign-in of one user at a level, and
/// why: the same decision a sign-in runs.
#[utoipa::path(tag = "policy", request_body = proofup_shared::policy::SignInRiskWhatIfRequest, responses(
    (status = 200, body = proofup_shared::policy::RiskWhatIf), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[post("/policy/sign-in-risk/what-if")]
pub async fn sign_in_risk_what_if(
    state: web::Data<AppState>,
    auth: Reader,
    body: web::Json<proofup_shared::policy::SignInRiskWhatIfRequest>,
) -> Result<web::Json<proofup_shared::policy::RiskWhatIf>, AppError> {
    let b = body.into_inner();
    let q = crate::service::risk_policy::RiskQuestion::SignIn { level: b.level, draft: b.policy };
    Ok(web::Json(state.core.risk_what_if(&auth.reader()?, &b.user_id, q)?))
}

/// How the user risk policy (saved, or a draft) treats one user at their risk now, and why.
#[utoipa::path(tag = "policy", request_body = proofup_shared::policy::UserRiskWhatIfRequest, responses(
    (status = 200, body = proofup_shared::policy::RiskWhatIf), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[post("/policy/user-risk/what-if")]
pub async fn user_risk_what_if(
    state: web::Data<AppState>,
    auth: Reader,
    body: web::Json<proofup_shared::policy::UserRiskWhatIfRequest>,
) -> Result<web::Json<proofup_shared::policy::RiskWhatIf>, AppError> {
    let b = body.into_inner();
    let q = crate::service::risk_policy::RiskQuestion::User { draft: b.policy };
    Ok(web::Json(state.core.risk_what_if(&auth.reader()?, &b.user_id, q)?))
}

/// Dismiss, confirm safe or confirm compromised a user's risk (reason required, audited).
#[utoipa::path(tag = "policy", request_body = proofup_shared::risk::RiskActionRequest, responses(
    (status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
#[post("/risk/users/{id}")]
pub async fn act_on_risk(
    state: web::Data<AppState>,
    auth: Operator,
    id: web::Path<String>,
    body: web::Json<proofup_shared::risk::RiskActionRequest>,
) -> Result<HttpResponse, AppError> {
    state.core.act_on_risk(&auth.operator()?, &id, body.into_inner())?;
    Ok(HttpResponse::NoContent().finish())
}

/// This area's routes, in the order actix tries them.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(save_sign_in_risk_policy)
        .service(save_user_risk_policy)
        .service(detections)
        .service(risky_users)
        .service(risky_sign_ins)
        .service(backtest_sign_in_risk)
        .service(sign_in_risk_impact)
        .service(user_risk_impact)
        .service(sign_in_risk_what_if)
        .service(user_risk_what_if)
        .service(act_on_risk);
}
