//! Health probes and the OpenAPI document.

use actix_web::{get, web, HttpResponse};
use proofup_shared::api::Health;
use proofup_shared::ApiError;

use super::error::AppError;
use super::{AppState, OpenApiJson};

/// The process is up.
#[utoipa::path(tag = "system", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok".into() })
}

/// The store is open and answering.
#[utoipa::path(tag = "system", responses((status = 200, body = Health), (status = 503, body = ApiError)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, AppError> {
    state.core.ready().map_err(|e| {
        tracing::error!(error = %e, "store not ready");
        AppError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            proofup_shared::ErrorCode::Unavailable,
            "The store is not available.",
        )
    })?;
    Ok(web::Json(Health { status: "ready".into() }))
}

/// `GET /api/openapi.json`
pub async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(doc.0.clone())
}
