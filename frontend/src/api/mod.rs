//! Typed client for the Proofup JSON API. Same-origin fetches carry the session cookie.

use gloo_net::http::{Request, Response};
use proofup_shared::api::{
    AuditEntry, CreateUserRequest, Me, Overview, Page, SetupRequest, SetupStatus, SignInLogEntry, SignInRequest,
    SignInResponse, TemporaryAccessPass, UpdateUserRequest, UserView, UserWithPass,
};
use proofup_shared::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn network(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, format!("Cannot reach Proofup ({e}). Check your connection and try again."))
}

async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T, ApiError> {
    if resp.ok() {
        return resp
            .json::<T>()
            .await
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("Unexpected reply: {e}")));
    }
    Err(error_of(resp).await)
}

async fn error_of(resp: Response) -> ApiError {
    let status = resp.status();
    resp.json::<ApiError>().await.unwrap_or_else(|_| {
        ApiError::new(ErrorCode::Internal, format!("The server answered {status} {}.", resp.status_text()))
    })
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    decode(Request::get(path).send().await.map_err(network)?).await
}

async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    let req = Request::post(path).json(body).map_err(network)?;
    decode(req.send().await.map_err(network)?).await
}

pub async fn setup_status() -> Result<SetupStatus, ApiError> {
    get("/api/setup/status").await
}

pub async fn complete_setup(req: &SetupRequest) -> Result<Me, ApiError> {
    post("/api/setup", req).await
}

pub async fn sign_in(username: String, password: String) -> Result<Me, ApiError> {
    post::<_, SignInResponse>("/api/auth/sign-in", &SignInRequest { username, password }).await.map(|r| r.me)
}

pub async fn sign_out() -> Result<(), ApiError> {
    let req = Request::post("/api/auth/sign-out").json(&serde_json::json!({})).map_err(network)?;
    let resp = req.send().await.map_err(network)?;
    if resp.ok() {
        Ok(())
    } else {
        Err(error_of(resp).await)
    }
}

pub async fn set_password(current_password: Option<String>, new_password: String) -> Result<Me, ApiError> {
    post("/api/auth/password", &proofup_shared::api::SetPasswordRequest { current_password, new_password }).await
}

pub async fn me() -> Result<Me, ApiError> {
    get("/api/auth/me").await
}

pub async fn overview() -> Result<Overview, ApiError> {
    get("/api/overview").await
}

fn page_query(after: Option<&str>) -> String {
    match after {
        Some(a) => format!("?limit=50&after={a}"),
        None => "?limit=50".into(),
    }
}

pub async fn audit(after: Option<String>) -> Result<Page<AuditEntry>, ApiError> {
    get(&format!("/api/audit{}", page_query(after.as_deref()))).await
}

pub async fn sign_ins(after: Option<String>) -> Result<Page<SignInLogEntry>, ApiError> {
    get(&format!("/api/sign-ins{}", page_query(after.as_deref()))).await
}

async fn send_json<B: Serialize, T: DeserializeOwned>(method: &str, path: &str, body: &B) -> Result<T, ApiError> {
    let builder = match method {
        "PATCH" => Request::patch(path),
        "DELETE" => Request::delete(path),
        _ => Request::post(path),
    };
    let req = builder.json(body).map_err(network)?;
    decode(req.send().await.map_err(network)?).await
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
    let req = Request::delete(&format!("/api/users/{}", crate::logic::encode_component(&id)))
        .json(&serde_json::json!({}))
        .map_err(network)?;
    let resp = req.send().await.map_err(network)?;
    if resp.ok() {
        Ok(())
    } else {
        Err(error_of(resp).await)
    }
}

pub async fn reset_sign_in(id: String) -> Result<TemporaryAccessPass, ApiError> {
    post(&format!("/api/users/{}/reset-sign-in", crate::logic::encode_component(&id)), &serde_json::json!({})).await
}
