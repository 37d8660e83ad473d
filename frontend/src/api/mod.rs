//! Typed client for the Proofup JSON API. Same-origin fetches carry the session cookie.

use gloo_net::http::{Request, Response};
use proofup_shared::api::{
    AuditEntry, Me, Overview, Page, SetupRequest, SetupStatus, SignInLogEntry, SignInRequest, SignInResponse,
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
