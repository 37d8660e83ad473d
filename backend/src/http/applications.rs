//! Applications that sign in through Proofup (OIDC clients) and the signing keys: the admin API.
//! Thin handlers over `service::oidc`. Reading needs an administrative role; changes need
//! Security or Global administrator (an application decides who may sign in to what).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use proofup_shared::apps::{
    ApplicationRequest, ApplicationView, CreatedApplication, RotateKeysRequest, RotateSecretRequest, RotatedSecret,
    SigningKeyView,
};
use proofup_shared::ApiError;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::AppError;
use super::session::{Manager, Reader};
use super::AppState;

/// Every registered application, by name.
#[utoipa::path(tag = "applications", responses(
    (status = 200, body = Vec<ApplicationView>), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
#[get("/applications")]
pub async fn list_applications(
    state: web::Data<AppState>,
    auth: Reader,
) -> Result<web::Json<Vec<ApplicationView>>, AppError> {
    Ok(web::Json(state.core.list_applications(&auth.reader()?)?))
}

/// Registers an application; a confidential one's secret is in this answer only.
#[utoipa::path(tag = "applications", request_body = ApplicationRequest, responses(
    (status = 201, body = CreatedApplication), (status = 403, body = ApiError), (status = 422, body = ApiError)))]
#[post("/applications")]
pub async fn create_application(
    state: web::Data<AppState>,
    auth: Manager,
    body: web::Json<ApplicationRequest>,
) -> Result<HttpResponse, AppError> {
    let created = state.core.create_application(&auth.manager()?, body.into_inner())?;
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(created))
}

#[utoipa::path(tag = "applications", params(("id" = String, Path, description = "client id")), responses(
    (status = 200, body = ApplicationView), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[get("/applications/{id}")]
pub async fn get_application(
    state: web::Data<AppState>,
    auth: Reader,
    id: web::Path<String>,
) -> Result<web::Json<ApplicationView>, AppError> {
    Ok(web::Json(state.core.get_application(&auth.reader()?, &id)?))
}

/// Replaces the settings (every field; the kind cannot change).
#[utoipa::path(tag = "applications", params(("id" = String, Path, description = "client id")), request_body = ApplicationRequest, responses(
    (status = 200, body = ApplicationView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
#[patch("/applications/{id}")]
pub async fn update_application(
    state: web::Data<AppState>,
    auth: Manager,
    id: web::Path<String>,
    body: web::Json<ApplicationRequest>,
) -> Result<web::Json<ApplicationView>, AppError> {
    Ok(web::Json(state.core.update_application(&auth.manager()?, &id, body.into_inner())?))
}

/// A new client secret, shown once; the old one keeps working for `overlap_hours`.
#[utoipa::path(tag = "applications", params(("id" = String, Path, description = "client id")), request_body = RotateSecretRequest, responses(
    (status = 200, body = RotatedSecret), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[post("/applications/{id}/secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    auth: Manager,
    id: web::Path<String>,
    body: web::Json<RotateSecretRequest>,
) -> Result<HttpResponse, AppError> {
    let rotated = state.core.rotate_application_secret(&auth.manager()?, &id, body.into_inner())?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(rotated))
}

#[utoipa::path(tag = "applications", params(("id" = String, Path, description = "client id")), responses(
    (status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[delete("/applications/{id}")]
pub async fn delete_application(
    state: web::Data<AppState>,
    auth: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    state.core.delete_application(&auth.manager()?, &id)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signing keys (public facts only) with their state.
#[utoipa::path(tag = "applications", responses(
    (status = 200, body = Vec<SigningKeyView>), (status = 403, body = ApiError)))]
#[get("/signing-keys")]
pub async fn signing_keys(
    state: web::Data<AppState>,
    _auth: Reader,
) -> Result<web::Json<Vec<SigningKeyView>>, AppError> {
    Ok(web::Json(state.core.signing_keys()?))
}

/// Rotates the signing keys: next → active → retired, a fresh next key published.
#[utoipa::path(tag = "applications", request_body = RotateKeysRequest, responses(
    (status = 200, body = Vec<SigningKeyView>), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
#[post("/signing-keys/rotate")]
pub async fn rotate_signing_keys(
    state: web::Data<AppState>,
    auth: Manager,
    _body: web::Json<RotateKeysRequest>,
) -> Result<web::Json<Vec<SigningKeyView>>, AppError> {
    Ok(web::Json(state.core.rotate_signing_keys(Some(&auth.manager()?))?))
}

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(list_applications)
        .service(create_application)
        .service(get_application)
        .service(update_application)
        .service(rotate_secret)
        .service(delete_application)
        .service(signing_keys)
        .service(rotate_signing_keys);
}
