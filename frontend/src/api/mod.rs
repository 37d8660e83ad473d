//! Typed client for the Proofup JSON API. Same-origin fetches carry the session cookie.

pub mod passkey;

use gloo_net::http::{Request, Response};
use proofup_shared::api::{
    AuditEntry, CreateUserRequest, Me, Overview, Page, SetupRequest, SetupStatus, SignInLogEntry, SignInRequest,
    SignInResponse, TemporaryAccessPass, UpdateUserRequest, UserView, UserWithPass,
};
use proofup_shared::directory::{
    CreateGroupRequest, DirectoryRef, GroupDetail, GroupView, MemberKind, MemberRequest, UserGroup,
};
use proofup_shared::mfa::{
    ConfirmTotpRequest, FinishPasskeyRegistration, FinishPasskeySignIn, MethodAdded, MethodView, PasskeyChallenge,
    RecoveryCodeUsed, RecoveryCodes, RecoveryStatus, RenameMethodRequest, TotpSetup, VerifyCodeRequest,
};
use proofup_shared::policy::{
    GraceRequest, ImpactRequest, ImpactResponse, MfaRegistrationPolicy, PolicyVersion, RegistrationReportPage,
    SavePolicyRequest, SavePolicyResponse, WhatIf, WhatIfRequest,
};
use proofup_shared::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn network(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, format!("Cannot reach Proofup ({e}). Check your connection and try again."))
}

/// The one place a request is sent and its answer read, written once and not per answer type (a
/// generic `async fn` is compiled again, whole, for every type it returns: this keeps the portal's
/// wasm small). An answer that is not 2xx becomes the server's typed error.
async fn exchange(method: &str, path: &str, body: Option<String>) -> Result<String, ApiError> {
    let builder = match method {
        "GET" => Request::get(path),
        "PATCH" => Request::patch(path),
        "DELETE" => Request::delete(path),
        "PUT" => Request::put(path),
        _ => Request::post(path),
    };
    let resp = match body {
        None => builder.send().await,
        Some(body) => builder.header("Content-Type", "application/json").body(body).map_err(network)?.send().await,
    }
    .map_err(network)?;
    if resp.ok() {
        resp.text().await.map_err(network)
    } else {
        Err(error_of(resp).await)
    }
}

/// A request body as JSON (our own types: failing is a bug, reported as one, not as the network).
fn json<B: Serialize>(body: &B) -> Result<String, ApiError> {
    serde_json::to_string(body)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("Cannot encode the request: {e}")))
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::new(ErrorCode::Internal, format!("Unexpected reply: {e}")))
}

async fn error_of(resp: Response) -> ApiError {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    serde_json::from_str::<ApiError>(&text).unwrap_or_else(|_| {
        ApiError::new(ErrorCode::Internal, format!("The server answered {status} {}.", resp.status_text()))
    })
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    parse(&exchange("GET", path, None).await?)
}

async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    send_json("POST", path, body).await
}

pub async fn setup_status() -> Result<SetupStatus, ApiError> {
    get("/api/setup/status").await
}

pub async fn complete_setup(req: &SetupRequest) -> Result<Me, ApiError> {
    post("/api/setup", req).await
}

pub async fn sign_in(username: String, password: String, flow: Option<String>) -> Result<Me, ApiError> {
    post::<_, SignInResponse>("/api/auth/sign-in", &SignInRequest { username, password, flow }).await.map(|r| r.me)
}

pub async fn sign_out() -> Result<(), ApiError> {
    send_empty("POST", "/api/auth/sign-out", &serde_json::json!({})).await
}

pub async fn set_password(current_password: Option<String>, new_password: String) -> Result<Me, ApiError> {
    post("/api/auth/password", &proofup_shared::api::SetPasswordRequest { current_password, new_password }).await
}

/// Who is signed in. Asks `/api/auth/session`, which answers 200 signed in or not (so a signed-out
/// page logs no failed request); nobody signed in comes back as `Unauthenticated`.
pub async fn me() -> Result<Me, ApiError> {
    let probe: proofup_shared::api::SessionProbe = get("/api/auth/session").await?;
    probe.me.ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "Sign in first."))
}

pub async fn overview() -> Result<Overview, ApiError> {
    get("/api/overview").await
}

fn with_page(mut filters: Vec<(&'static str, String)>, after: Option<String>) -> String {
    filters.push(("limit", "50".into()));
    if let Some(a) = after {
        filters.push(("after", a));
    }
    query(&filters)
}

/// `filters`: actor, target, action, from, to.
pub async fn audit(filters: Vec<(&'static str, String)>, after: Option<String>) -> Result<Page<AuditEntry>, ApiError> {
    get(&format!("/api/audit{}", with_page(filters, after))).await
}

/// `filters`: user, result, from, to.
pub async fn sign_ins(
    filters: Vec<(&'static str, String)>,
    after: Option<String>,
) -> Result<Page<SignInLogEntry>, ApiError> {
    get(&format!("/api/sign-ins{}", with_page(filters, after))).await
}

async fn send_json<B: Serialize, T: DeserializeOwned>(method: &str, path: &str, body: &B) -> Result<T, ApiError> {
    parse(&exchange(method, path, Some(json(body)?)).await?)
}

/// `?q=..&role=..` from the non-empty pairs.
pub fn query(pairs: &[(&str, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::logic::encode_component(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

pub async fn users(pairs: Vec<(&'static str, String)>) -> Result<Page<UserView>, ApiError> {
    get(&format!("/api/users{}", query(&pairs))).await
}

pub async fn user(id: String) -> Result<UserView, ApiError> {
    get(&format!("/api/users/{}", crate::logic::encode_component(&id))).await
}

pub async fn create_user(req: CreateUserRequest) -> Result<UserWithPass, ApiError> {
    post("/api/users", &req).await
}

pub async fn update_user(id: String, req: UpdateUserRequest) -> Result<UserView, ApiError> {
    send_json("PATCH", &format!("/api/users/{}", crate::logic::encode_component(&id)), &req).await
}

pub async fn delete_user(id: String) -> Result<(), ApiError> {
    send_empty("DELETE", &format!("/api/users/{}", enc(&id)), &serde_json::json!({})).await
}

pub async fn reset_sign_in(id: String) -> Result<TemporaryAccessPass, ApiError> {
    post(&format!("/api/users/{}/reset-sign-in", crate::logic::encode_component(&id)), &serde_json::json!({})).await
}

pub fn enc(s: &str) -> String {
    crate::logic::encode_component(s)
}

async fn send_empty<B: Serialize>(method: &str, path: &str, body: &B) -> Result<(), ApiError> {
    exchange(method, path, Some(json(body)?)).await.map(drop)
}

// Sign-in steps and methods.

pub async fn second_factor(code: String) -> Result<Me, ApiError> {
    post("/api/auth/second-factor", &VerifyCodeRequest { code }).await
}

pub async fn reverify(code: String) -> Result<(), ApiError> {
    send_empty("POST", "/api/auth/reverify", &VerifyCodeRequest { code }).await
}

pub async fn skip_registration() -> Result<Me, ApiError> {
    post("/api/auth/skip-registration", &serde_json::json!({})).await
}

pub async fn my_methods() -> Result<Vec<MethodView>, ApiError> {
    get("/api/me/methods").await
}

pub async fn start_totp() -> Result<TotpSetup, ApiError> {
    post("/api/me/methods/totp", &serde_json::json!({})).await
}

pub async fn confirm_totp(name: String, code: String) -> Result<MethodAdded, ApiError> {
    post("/api/me/methods/totp/confirm", &ConfirmTotpRequest { name, code }).await
}

pub async fn remove_my_method(id: String) -> Result<(), ApiError> {
    send_empty("DELETE", &format!("/api/me/methods/{}", enc(&id)), &serde_json::json!({})).await
}

pub async fn rename_my_method(id: String, name: String) -> Result<MethodView, ApiError> {
    send_json("PATCH", &format!("/api/me/methods/{}", enc(&id)), &RenameMethodRequest { name }).await
}

/// The whole passkey registration: server options → browser → server.
pub async fn add_passkey(name: String) -> Result<MethodAdded, ApiError> {
    let ch: PasskeyChallenge = post("/api/me/methods/passkey", &serde_json::json!({})).await?;
    let credential = passkey::create(&ch.public_key).await.map_err(|m| ApiError::new(ErrorCode::InvalidCode, m))?;
    post("/api/me/methods/passkey/finish", &FinishPasskeyRegistration { name, credential }).await
}

/// The whole passkey sign-in (second step or re-authentication).
pub async fn sign_in_with_passkey() -> Result<Me, ApiError> {
    let ch: PasskeyChallenge = post("/api/auth/passkey", &serde_json::json!({})).await?;
    let credential =
        passkey::get_assertion(&ch.public_key).await.map_err(|m| ApiError::new(ErrorCode::InvalidCode, m))?;
    post("/api/auth/passkey/finish", &FinishPasskeySignIn { credential }).await
}

pub async fn email_status() -> Result<proofup_shared::mail::EmailStatus, ApiError> {
    get("/api/me/email").await
}

pub async fn send_email_code() -> Result<proofup_shared::mail::EmailStatus, ApiError> {
    post("/api/me/email/code", &serde_json::json!({})).await
}

pub async fn set_admin_notices(on: bool) -> Result<proofup_shared::mail::EmailStatus, ApiError> {
    send_json("PUT", "/api/me/email/admin-notices", &proofup_shared::mail::AdminNoticesRequest { on }).await
}

pub async fn verify_email(code: String) -> Result<proofup_shared::mail::EmailStatus, ApiError> {
    post("/api/me/email/verify", &proofup_shared::mail::VerifyAddressRequest { code }).await
}

pub async fn report_not_me(token: String) -> Result<proofup_shared::mail::Reported, ApiError> {
    post("/api/auth/report", &proofup_shared::mail::ReportRequest { token }).await
}

pub async fn reset_begin(
    username: String,
    flow: Option<String>,
) -> Result<proofup_shared::reset::ResetStatus, ApiError> {
    post("/api/auth/reset", &proofup_shared::reset::ResetStartRequest { username, flow }).await
}

pub async fn reset_code(code: String) -> Result<proofup_shared::reset::ResetStatus, ApiError> {
    post("/api/auth/reset/code", &proofup_shared::reset::ResetCodeRequest { code }).await
}

pub async fn reset_email_code() -> Result<proofup_shared::reset::ResetStatus, ApiError> {
    post("/api/auth/reset/email", &serde_json::json!({})).await
}

pub async fn reset_email_verify(code: String) -> Result<proofup_shared::reset::ResetStatus, ApiError> {
    post("/api/auth/reset/email/verify", &proofup_shared::reset::ResetCodeRequest { code }).await
}

pub async fn reset_passkey() -> Result<proofup_shared::reset::ResetStatus, ApiError> {
    let ch: PasskeyChallenge = post("/api/auth/reset/passkey", &serde_json::json!({})).await?;
    let credential =
        passkey::get_assertion(&ch.public_key).await.map_err(|m| ApiError::new(ErrorCode::InvalidCode, m))?;
    post("/api/auth/reset/passkey/finish", &FinishPasskeySignIn { credential }).await
}

pub async fn reset_password(new_password: String) -> Result<proofup_shared::reset::ResetDone, ApiError> {
    post("/api/auth/reset/password", &proofup_shared::reset::ResetPasswordRequest { new_password }).await
}

pub async fn reset_cancel() -> Result<(), ApiError> {
    exchange("DELETE", "/api/auth/reset", None).await.map(drop)
}

pub async fn use_recovery_code(code: String) -> Result<RecoveryCodeUsed, ApiError> {
    post("/api/auth/recovery-code", &VerifyCodeRequest { code }).await
}

pub async fn recovery_status() -> Result<RecoveryStatus, ApiError> {
    get("/api/me/recovery-codes").await
}

pub async fn generate_recovery_codes() -> Result<RecoveryCodes, ApiError> {
    post("/api/me/recovery-codes", &serde_json::json!({})).await
}

pub async fn user_methods(id: String) -> Result<Vec<MethodView>, ApiError> {
    get(&format!("/api/users/{}/methods", enc(&id))).await
}

pub async fn require_reregistration(id: String) -> Result<(), ApiError> {
    send_empty("POST", &format!("/api/users/{}/require-reregistration", enc(&id)), &serde_json::json!({})).await
}

// Groups.

pub async fn groups(q: String, after: Option<String>) -> Result<Page<GroupView>, ApiError> {
    let mut pairs = vec![("q", q), ("limit", "50".to_owned())];
    if let Some(a) = after {
        pairs.push(("after", a));
    }
    get(&format!("/api/groups{}", query(&pairs))).await
}

pub async fn group(id: String) -> Result<GroupDetail, ApiError> {
    get(&format!("/api/groups/{}", enc(&id))).await
}

pub async fn create_group(name: String, description: String) -> Result<GroupView, ApiError> {
    post("/api/groups", &CreateGroupRequest { name, description }).await
}

pub async fn delete_group(id: String) -> Result<(), ApiError> {
    send_empty("DELETE", &format!("/api/groups/{}", enc(&id)), &serde_json::json!({})).await
}

pub async fn add_member(group: String, kind: MemberKind, id: String) -> Result<(), ApiError> {
    send_empty("POST", &format!("/api/groups/{}/members", enc(&group)), &MemberRequest { kind, id }).await
}

pub async fn remove_member(group: String, kind: MemberKind, id: String) -> Result<(), ApiError> {
    let k = if kind == MemberKind::User { "user" } else { "group" };
    send_empty("DELETE", &format!("/api/groups/{}/members/{k}/{}", enc(&group), enc(&id)), &serde_json::json!({})).await
}

pub async fn search_directory(q: String) -> Result<Vec<DirectoryRef>, ApiError> {
    get(&format!("/api/directory/search{}", query(&[("q", q), ("limit", "20".to_owned())]))).await
}

pub async fn user_groups(id: String) -> Result<Vec<UserGroup>, ApiError> {
    get(&format!("/api/users/{}/groups", enc(&id))).await
}

// Policy.

pub async fn policy() -> Result<PolicyVersion, ApiError> {
    get("/api/policy").await
}

pub async fn save_policy(policy: MfaRegistrationPolicy, based_on_version: u64) -> Result<SavePolicyResponse, ApiError> {
    send_json("PUT", "/api/policy", &SavePolicyRequest { policy, based_on_version }).await
}

pub async fn policy_versions() -> Result<Vec<PolicyVersion>, ApiError> {
    get("/api/policy/versions").await
}

pub async fn impact(policy: MfaRegistrationPolicy) -> Result<ImpactResponse, ApiError> {
    post("/api/policy/impact", &ImpactRequest { policy }).await
}

pub async fn what_if(user_id: String, policy: Option<MfaRegistrationPolicy>) -> Result<WhatIf, ApiError> {
    post("/api/policy/what-if", &WhatIfRequest { user_id, policy }).await
}

pub async fn registration_report(
    status: String,
    sort: String,
    after: String,
) -> Result<RegistrationReportPage, ApiError> {
    get(&format!("/api/reports/registration{}", query(&[("status", status), ("sort", sort), ("after", after)]))).await
}

pub async fn set_grace(id: String, req: GraceRequest) -> Result<(), ApiError> {
    send_empty("POST", &format!("/api/users/{}/grace", enc(&id)), &req).await
}

pub async fn acknowledge_alert(id: String) -> Result<(), ApiError> {
    send_empty("POST", &format!("/api/alerts/{}/acknowledge", enc(&id)), &serde_json::json!({})).await
}

pub async fn user_sessions(id: String) -> Result<Vec<proofup_shared::api::SessionView>, ApiError> {
    get(&format!("/api/users/{}/sessions", enc(&id))).await
}

pub async fn my_registration() -> Result<proofup_shared::api::RegistrationReminder, ApiError> {
    get("/api/me/registration").await
}

pub async fn my_sessions() -> Result<Vec<proofup_shared::api::SessionView>, ApiError> {
    get("/api/me/sessions").await
}

pub async fn end_my_session(id: String) -> Result<(), ApiError> {
    send_empty("DELETE", &format!("/api/me/sessions/{}", enc(&id)), &serde_json::json!({})).await
}

pub async fn end_my_other_sessions() -> Result<proofup_shared::api::SessionsEnded, ApiError> {
    post("/api/me/sessions/sign-out-others", &serde_json::json!({})).await
}

pub async fn import_directory(csv: String) -> Result<proofup_shared::directory::ImportResult, ApiError> {
    post("/api/directory/import", &proofup_shared::directory::ImportRequest { csv }).await
}

// Settings.

pub async fn webhook_settings() -> Result<proofup_shared::webhook::WebhookSettings, ApiError> {
    get("/api/settings/webhook").await
}

pub async fn save_webhook(url: Option<String>) -> Result<proofup_shared::webhook::WebhookSettings, ApiError> {
    send_json("PUT", "/api/settings/webhook", &proofup_shared::webhook::WebhookSettingsRequest { url }).await
}

pub async fn test_webhook() -> Result<(), ApiError> {
    send_empty("POST", "/api/settings/webhook/test", &serde_json::json!({})).await
}

pub async fn mail_settings() -> Result<proofup_shared::mail::MailSettings, ApiError> {
    get("/api/settings/mail").await
}

pub async fn test_mail(to: Option<String>) -> Result<proofup_shared::mail::MailTestQueued, ApiError> {
    send_json("POST", "/api/settings/mail/test", &proofup_shared::mail::MailTestRequest { to }).await
}

pub async fn applications() -> Result<Vec<proofup_shared::apps::ApplicationView>, ApiError> {
    get("/api/applications").await
}

pub async fn application(id: String) -> Result<proofup_shared::apps::ApplicationView, ApiError> {
    get(&format!("/api/applications/{}", enc(&id))).await
}

pub async fn create_application(
    req: proofup_shared::apps::ApplicationRequest,
) -> Result<proofup_shared::apps::CreatedApplication, ApiError> {
    post("/api/applications", &req).await
}

pub async fn update_application(
    id: String,
    req: proofup_shared::apps::ApplicationRequest,
) -> Result<proofup_shared::apps::ApplicationView, ApiError> {
    send_json("PATCH", &format!("/api/applications/{}", enc(&id)), &req).await
}

pub async fn rotate_application_secret(
    id: String,
    overlap_hours: u32,
) -> Result<proofup_shared::apps::RotatedSecret, ApiError> {
    post(
        &format!("/api/applications/{}/secret", enc(&id)),
        &proofup_shared::apps::RotateSecretRequest { overlap_hours },
    )
    .await
}

pub async fn delete_application(id: String) -> Result<(), ApiError> {
    send_empty("DELETE", &format!("/api/applications/{}", enc(&id)), &serde_json::json!({})).await
}

pub async fn signing_keys() -> Result<Vec<proofup_shared::apps::SigningKeyView>, ApiError> {
    get("/api/signing-keys").await
}

pub async fn rotate_signing_keys() -> Result<Vec<proofup_shared::apps::SigningKeyView>, ApiError> {
    post("/api/signing-keys/rotate", &serde_json::json!({})).await
}

/// The application an in-progress sign-in is for, and the username it suggested (`login_hint`).
pub async fn flow_info(flow: String) -> Result<(String, Option<String>), ApiError> {
    let v: serde_json::Value = get(&format!("/oauth2/flow/{}", enc(&flow))).await?;
    let name = v["application"].as_str().map(String::from);
    let name = name.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "No such sign-in."))?;
    Ok((name, v["login_hint"].as_str().map(String::from)))
}

// Risk.

/// One page of a risk report (`/api/risk/detections`, `/api/risk/users`, `/api/risk/sign-ins`)
/// under its filters.
pub async fn risk_page<T: DeserializeOwned>(
    path: &str,
    filters: Vec<(&'static str, String)>,
    after: Option<String>,
) -> Result<Page<T>, ApiError> {
    let mut pairs = filters;
    pairs.push(("after", after.unwrap_or_default()));
    pairs.push(("limit", "100".into()));
    get(&format!("{path}{}", query(&pairs))).await
}

pub async fn sign_in_risk_impact(
    policy: &proofup_shared::policy::SignInRiskPolicy,
) -> Result<proofup_shared::policy::RiskImpactResponse, ApiError> {
    post("/api/policy/sign-in-risk/impact", &proofup_shared::policy::RiskBacktestRequest { policy: policy.clone() })
        .await
}

pub async fn user_risk_impact(
    policy: &proofup_shared::policy::UserRiskPolicy,
) -> Result<proofup_shared::policy::RiskImpactResponse, ApiError> {
    post("/api/policy/user-risk/impact", &proofup_shared::policy::UserRiskImpactRequest { policy: policy.clone() })
        .await
}

pub async fn sign_in_risk_what_if(
    req: &proofup_shared::policy::SignInRiskWhatIfRequest,
) -> Result<proofup_shared::policy::RiskWhatIf, ApiError> {
    post("/api/policy/sign-in-risk/what-if", req).await
}

pub async fn user_risk_what_if(
    req: &proofup_shared::policy::UserRiskWhatIfRequest,
) -> Result<proofup_shared::policy::RiskWhatIf, ApiError> {
    post("/api/policy/user-risk/what-if", req).await
}

pub async fn act_on_risk(
    user_id: String,
    action: proofup_shared::risk::RiskAction,
    reason: String,
) -> Result<(), ApiError> {
    send_empty(
        "POST",
        &format!("/api/risk/users/{}", enc(&user_id)),
        &proofup_shared::risk::RiskActionRequest { action, reason },
    )
    .await
}

pub async fn save_sign_in_risk_policy(
    policy: proofup_shared::policy::SignInRiskPolicy,
    based_on_version: u64,
) -> Result<PolicyVersion, ApiError> {
    send_json(
        "PUT",
        "/api/policy/sign-in-risk",
        &proofup_shared::policy::SaveSignInRiskPolicyRequest { policy, based_on_version },
    )
    .await
}

pub async fn save_user_risk_policy(
    policy: proofup_shared::policy::UserRiskPolicy,
    based_on_version: u64,
) -> Result<PolicyVersion, ApiError> {
    send_json(
        "PUT",
        "/api/policy/user-risk",
        &proofup_shared::policy::SaveUserRiskPolicyRequest { policy, based_on_version },
    )
    .await
}

pub async fn backtest_sign_in_risk(
    policy: proofup_shared::policy::SignInRiskPolicy,
) -> Result<proofup_shared::policy::RiskBacktest, ApiError> {
    post("/api/policy/sign-in-risk/backtest", &proofup_shared::policy::RiskBacktestRequest { policy }).await
}
