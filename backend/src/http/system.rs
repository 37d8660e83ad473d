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

/// `GET /metrics`: the Prometheus text format, for the bearer token in `--metrics-token-file`
/// (compared as SHA-256 in constant time; failures count in the per-address limit of the token
/// endpoint). Off (404) without a token file: the numbers say who signs in how often.
pub async fn metrics(req: actix_web::HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    use actix_web::http::{header, StatusCode};
    use actix_web::ResponseError as _;
    use proofup_shared::ErrorCode;
    let Some(expected) = state.config.metrics_token else {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "Metrics are off. Start the server with --metrics-token-file to serve them.",
        ));
    };
    let (ip, _) = super::client::client_info(&req, &state.config.trusted_proxies);
    if let Err(wait) = state.core.verifier_gate(ip) {
        return Err(AppError::rate_limited(wait));
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| crate::domain::setup::sha256(t.trim()));
    let ok = presented.is_some_and(|p| bool::from(subtle::ConstantTimeEq::ct_eq(&p[..], &expected[..])));
    if !ok {
        state.core.verifier_failed(ip);
        let mut r =
            AppError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, "Present the metrics bearer token.")
                .error_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"proofup metrics\""));
        return Ok(r);
    }
    // The webhook backlog is read at scrape time: one store read every scrape interval.
    let core = state.core.clone();
    let backlog = web::block(move || core.webhook_backlog()).await.map_err(AppError::internal)?;
    match backlog {
        Ok(b) => crate::metrics::webhook_backlog(b.pending, b.failing, b.given_up),
        Err(e) => tracing::warn!(error = %e, "webhook backlog not read for /metrics"),
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(crate::metrics::render()))
}
