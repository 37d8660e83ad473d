//! The OpenID provider's public endpoints, outside `/api` (relying parties call them
//! cross-origin, with form bodies): discovery, the JSON Web Key Set, authorize (and its resume
//! after the portal's sign-in), token, userinfo. Errors follow OAuth (RFC 6749 §5.2): JSON with
//! `error` and `error_description`, or a redirect to the application once it is known.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::Engine as _;

use super::error::AppError;
use super::session::token_from;
use super::AppState;
use crate::service::oidc::signin::{sign_in_path, Authorize};
use crate::service::oidc::token::{ClientAuth, OAuthError, TokenError};

/// The browser's flow cookie (Lax: it must come back on the application's redirect to
/// `/oauth2/authorize`; only `/oauth2/` sees it).
fn flow_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Secure-proofup_flow"
    } else {
        "proofup_flow"
    }
}

fn flow_cookie(req: &HttpRequest, secure: bool) -> Option<String> {
    req.cookie(flow_cookie_name(secure)).map(|c| c.value().to_owned())
}

/// The OpenID Provider Configuration (Discovery 1.0 §3; RFC 8414).
#[utoipa::path(tag = "oidc", responses((status = 200, description = "OpenID Provider Metadata")))]
#[get("/.well-known/openid-configuration")]
pub async fn discovery(state: web::Data<AppState>) -> HttpResponse {
    let iss = &state.config.public_url;
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(serde_json::json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/oauth2/authorize"),
            "token_endpoint": format!("{iss}/oauth2/token"),
            "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
            "jwks_uri": format!("{iss}/oauth2/jwks"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": proofup_shared::apps::SCOPES,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
                "name", "preferred_username", "updated_at", "email", "email_verified", "groups"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": ["urn:proofup:acr:1fa", "urn:proofup:acr:mfa"],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
        }))
}

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

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Proofup's own page for a request it will not send back to the application.
fn error_page(message: &str) -> HttpResponse {
    HttpResponse::BadRequest().insert_header(("Cache-Control", "no-store")).content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign-in problem · Proofup</title></head><body><main><h1>This sign-in cannot continue</h1><p>{}</p>\
         <p>Go back to the application and try again. If it keeps happening, tell your administrator.</p></main></body></html>",
        escape(message)
    ))
}

fn answer(state: &AppState, outcome: Authorize) -> HttpResponse {
    let secure = state.config.secure_cookies;
    match outcome {
        Authorize::Page(m) => error_page(&m),
        Authorize::Redirect(to) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to))
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
        Authorize::SignIn { flow, browser } => {
            let mut r = HttpResponse::SeeOther();
            r.insert_header((header::LOCATION, sign_in_path(&flow))).insert_header(("Cache-Control", "no-store"));
            if let Some(b) = browser {
                let c = actix_web::cookie::Cookie::build(flow_cookie_name(secure), b)
                    .path("/oauth2/")
                    .http_only(true)
                    .secure(secure)
                    .same_site(actix_web::cookie::SameSite::Lax)
                    .max_age(actix_web::cookie::time::Duration::days(1))
                    .finish();
                r.cookie(c);
            }
            r.finish()
        }
    }
}

fn pairs_of(s: &str) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(s).ok()
}

/// The authorization endpoint (OIDC Core §3.1.2), by GET.
#[utoipa::path(tag = "oidc", responses((status = 303, description = "to the sign-in, or back to the application"), (status = 400, description = "an error page")))]
#[get("/oauth2/authorize")]
pub async fn authorize_get(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let Some(pairs) = pairs_of(req.query_string()) else { return Ok(error_page("The request could not be read.")) };
    let outcome = state.core.authorize(&pairs, flow_cookie(&req, state.config.secure_cookies).as_deref())?;
    Ok(answer(&state, outcome))
}

/// The authorization endpoint, by POST (form body; Core §3.1.2.1).
#[utoipa::path(tag = "oidc", request_body(content = String, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "to the sign-in, or back to the application"), (status = 400, description = "an error page")))]
#[post("/oauth2/authorize")]
pub async fn authorize_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(pairs) = std::str::from_utf8(&body).ok().and_then(pairs_of) else {
        return Ok(error_page("The request could not be read."));
    };
    let outcome = state.core.authorize(&pairs, flow_cookie(&req, state.config.secure_cookies).as_deref())?;
    Ok(answer(&state, outcome))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct ResumeQuery {
    pub flow: String,
}

/// Where the portal sends the browser once signing in is done: the code goes to the application.
#[utoipa::path(tag = "oidc", params(ResumeQuery), responses((status = 303, description = "back to the application with a code"), (status = 400, description = "an error page")))]
#[get("/oauth2/authorize/resume")]
pub async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ResumeQuery>,
) -> Result<HttpResponse, AppError> {
    let secure = state.config.secure_cookies;
    let cookie = token_from(&req, secure);
    let session = match &cookie {
        Some(t) => state.core.current_session(t).ok().map(|(s, u)| (s, u, crate::service::session_key(t))),
        None => None,
    };
    let outcome = state
        .core
        .resume(&q.flow, flow_cookie(&req, secure).as_deref(), session.as_ref().map(|(s, u, k)| (s, u, *k)))
        .await?;
    Ok(answer(&state, outcome))
}

/// The application a flow signs in to, for the sign-in page.
#[utoipa::path(tag = "oidc", params(("id" = String, Path, description = "flow id")), responses((status = 200, description = "the application's name"), (status = 404, description = "no such flow in this browser")))]
#[get("/oauth2/flow/{id}")]
pub async fn flow_info(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match state.core.flow_application(&id, flow_cookie(&req, state.config.secure_cookies).as_deref())? {
        Some(name) => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({ "application": name }))),
        None => Err(AppError::not_found("The sign-in")),
    }
}

fn oauth_json(status: actix_web::http::StatusCode, e: &OAuthError) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(serde_json::json!({"error": e.error, "error_description": e.description}))
}

/// `Authorization: Basic` with form-urlencoded id and secret (RFC 6749 §2.3.1).
fn basic_auth(req: &HttpRequest) -> Option<Option<(String, String)>> {
    let h = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = h.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok();
    let pair = decoded.and_then(|d| String::from_utf8(d).ok()).and_then(|s| {
        let (id, secret) = s.split_once(':')?;
        let dec = |v: &str| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={v}")).ok()?.pop().map(|(_, v)| v)
        };
        Some((dec(id)?, dec(secret)?))
    });
    Some(pair)
}

/// The token endpoint (RFC 6749 §3.2; OIDC Core §3.1.3): `authorization_code` grants.
#[utoipa::path(tag = "oidc", request_body(content = String, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "tokens"), (status = 400, description = "OAuth error"), (status = 401, description = "client authentication failed")))]
#[post("/oauth2/token")]
pub async fn token_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    use actix_web::http::StatusCode;
    let bad = |e: &'static str, d: &str| {
        Ok(oauth_json(StatusCode::BAD_REQUEST, &OAuthError { error: e, description: d.to_owned() }))
    };
    let form = std::str::from_utf8(&body).ok().and_then(pairs_of);
    let Some(pairs) = form else {
        return bad("invalid_request", "The body must be application/x-www-form-urlencoded.");
    };
    let Ok(p) = crate::domain::oidc::authorize::params(&pairs) else {
        return bad("invalid_request", "A parameter is sent more than once.");
    };
    let basic = basic_auth(&req);
    let used_basic = basic.is_some();
    let (client_id, secret) = match (basic, p.get("client_id"), p.get("client_secret")) {
        (Some(Some((id, s))), None | Some(_), None) if p.get("client_id").is_none_or(|c| *c == id) => (id, Some(s)),
        (Some(_), _, _) => return bad("invalid_request", "Authenticate the client one way only."),
        (None, Some(id), s) => ((*id).to_owned(), s.map(|s| (*s).to_owned())),
        (None, None, _) => {
            return Ok(oauth_json(
                StatusCode::UNAUTHORIZED,
                &OAuthError { error: "invalid_client", description: "Client authentication is missing.".into() },
            ))
        }
    };
    match p.get("grant_type") {
        Some(&"authorization_code") => {}
        Some(_) => return bad("unsupported_grant_type", "Only authorization_code is supported."),
        None => return bad("invalid_request", "grant_type is missing."),
    }
    let result = state
        .core
        .exchange_code(
            ClientAuth { client_id: &client_id, secret: secret.as_deref() },
            p.get("code").copied(),
            p.get("redirect_uri").copied(),
            p.get("code_verifier").copied(),
        )
        .await;
    match result {
        Ok(t) => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Pragma", "no-cache"))
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .json(t)),
        Err(TokenError::Client(e)) => {
            let mut r = oauth_json(StatusCode::UNAUTHORIZED, &e);
            if used_basic {
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"proofup\""));
            }
            Ok(r)
        }
        Err(TokenError::Request(e)) => Ok(oauth_json(StatusCode::BAD_REQUEST, &e)),
        Err(TokenError::Server(e)) => Err(e.into()),
    }
}

async fn userinfo_answer(state: &AppState, bearer_token: Option<String>) -> Result<HttpResponse, AppError> {
    let deny = |e: &str| {
        HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, format!("Bearer error=\"{e}\"")))
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .finish()
    };
    let Some(presented) = bearer_token.filter(|t| !t.is_empty()) else { return Ok(deny("invalid_request")) };
    match state.core.userinfo(&presented) {
        Ok(claims) => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .json(claims)),
        Err(TokenError::Server(e)) => Err(e.into()),
        Err(_) => Ok(deny("invalid_token")),
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers().get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

/// UserInfo (OIDC Core §5.3): the bearer token in the header.
#[utoipa::path(tag = "oidc", responses((status = 200, description = "claims"), (status = 401, description = "invalid token")))]
#[get("/oauth2/userinfo")]
pub async fn userinfo_get(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    userinfo_answer(&state, bearer(&req)).await
}

/// UserInfo by POST: the token in the header or the form body (RFC 6750 §2.2).
#[utoipa::path(tag = "oidc", request_body(content = String, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "claims"), (status = 401, description = "invalid token")))]
#[post("/oauth2/userinfo")]
pub async fn userinfo_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let from_body = std::str::from_utf8(&body)
        .ok()
        .and_then(pairs_of)
        .and_then(|p| p.into_iter().find(|(k, _)| k == "access_token").map(|(_, v)| v));
    userinfo_answer(&state, bearer(&req).or(from_body)).await
}

/// This area's routes.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(discovery)
        .service(jwks)
        .service(authorize_get)
        .service(authorize_post)
        .service(resume)
        .service(flow_info)
        .service(token_endpoint)
        .service(userinfo_get)
        .service(userinfo_post);
}
