//! The OpenID provider's public endpoints, outside `/api` (relying parties call them
//! cross-origin): the JSON Web Key Set today.

use actix_web::{get, web, HttpResponse};

use super::error::AppError;
use super::AppState;

/// The public keys ID tokens are signed with (RS256 and ES256; the next keys too, so a
/// rotation never shows relying parties an unknown `kid`). Cacheable for an hour.
#[utoipa::path(tag = "oidc", responses((status = 200, description = "JSON Web Key Set (RFC 7517)", content_type = "application/jwk-set+json")))]
#[get("/oauth2/jwks")]
pub async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .content_type("application/jwk-set+json")
        .json(state.core.jwks()?))
}
