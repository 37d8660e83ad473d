//! The OpenID provider's public endpoints, outside `/api` (relying parties call them
//! cross-origin, with form bodies): discovery, the JSON Web Key Set, authorize (and its resume
//! after the portal's sign-in), token, userinfo. Errors follow OAuth (RFC 6749 §5.2): JSON with
//! `error` and `error_description`, or a redirect to the application once it is known.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::Engine as _;

use super::error::AppError;
use super::session::{sso_token_from, token_from};
use super::AppState;
use crate::domain::model::{Session, User};
use crate::service::oidc::signin::{sign_in_path, Authorize, SignedInBrowser};
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
    HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=3600")).json(serde_json::json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/authorize"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "jwks_uri": format!("{iss}/oauth2/jwks"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "end_session_endpoint": format!("{iss}/oauth2/logout"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
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
        .content_type("application/jwk-set+json")
        .json(state.core.jwks()?))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// One of the provider's own pages, in the portal's centred card and stylesheet. `body` is
/// HTML already escaped.
fn page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    let css = super::assets::stylesheet_href();
    let link =
        if css.is_empty() { String::new() } else { format!("<link rel=\"stylesheet\" href=\"{}\">", escape(css)) };
    HttpResponse::build(status).insert_header(("Cache-Control", "no-store")).content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Proofup</title>{link}</head><body><div class=\"center-page\"><main class=\"card narrow\">\
         <div class=\"brand-row\"><img src=\"/favicon.svg\" alt=\"\" width=\"32\" height=\"32\"><span class=\"brand-name\">Proofup</span></div>\
         {body}</main></div></body></html>",
        escape(title)
    ))
}

/// A sign-in that waited more than 15 minutes: start the same request over, in one click.
fn expired_page(restart: &str) -> HttpResponse {
    page(
        actix_web::http::StatusCode::OK,
        "Sign-in expired",
        &format!(
            "<h1>This sign-in took too long</h1><p>For your security a sign-in must finish within 15 minutes.</p>\
             <p class=\"actions\"><a class=\"btn btn-primary\" href=\"{}\">Start again</a></p>",
            escape(restart)
        ),
    )
}

/// Proofup's own page for a request it will not send back to the application.
fn error_page(message: &str) -> HttpResponse {
    page(
        actix_web::http::StatusCode::BAD_REQUEST,
        "Sign-in problem",
        &format!(
            "<h1>This sign-in cannot continue</h1><p class=\"alert alert-error\" role=\"alert\">{}</p>\
             <p class=\"muted\">Go back to the application and try again. If it keeps happening, tell your administrator.</p>",
            escape(message)
        ),
    )
}

fn answer(state: &AppState, outcome: Authorize) -> HttpResponse {
    let secure = state.config.secure_cookies;
    match outcome {
        Authorize::Page(m) => error_page(&m),
        Authorize::Expired { restart } => expired_page(&restart),
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

/// The browser's session, by the SSO cookie (or the portal's own, on a same-site request).
fn browser_session(state: &AppState, req: &HttpRequest) -> Option<(Session, User, [u8; 32])> {
    let secure = state.config.secure_cookies;
    let token = sso_token_from(req, secure).or_else(|| token_from(req, secure))?;
    let (s, u) = state.core.current_session(&token).ok()?;
    Some((s, u, crate::service::session_key(&token)))
}

async fn authorize_answer(
    state: &AppState,
    req: &HttpRequest,
    pairs: &[(String, String)],
) -> Result<HttpResponse, AppError> {
    let (_, client) = super::client::client_info(req, &state.config.trusted_proxies);
    let session = browser_session(state, req);
    let sso = session.as_ref().map(|(s, u, k)| SignedInBrowser { session: s, user: u, key: *k });
    let flow = flow_cookie(req, state.config.secure_cookies);
    let outcome = state.core.authorize(pairs, flow.as_deref(), sso, &client).await?;
    Ok(answer(state, outcome))
}

/// The authorization endpoint (OIDC Core §3.1.2), by GET.
#[utoipa::path(tag = "oidc", responses((status = 303, description = "to the sign-in, or back to the application"), (status = 400, description = "an error page")))]
#[get("/oauth2/authorize")]
pub async fn authorize_get(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let Some(pairs) = pairs_of(req.query_string()) else { return Ok(error_page("The request could not be read.")) };
    authorize_answer(&state, &req, &pairs).await
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
    authorize_answer(&state, &req, &pairs).await
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
    let (client, session, flow) = flow_request(&state, &req);
    let signed_in = session.as_ref().map(|(s, u, k)| SignedInBrowser { session: s, user: u, key: *k });
    let outcome = state.core.resume(&q.flow, flow.as_deref(), signed_in, &client).await?;
    Ok(answer(&state, outcome))
}

/// The user cancels an application's sign-in (at the registration interrupt): back to the
/// application with `access_denied`. The flow id is a 256-bit secret bound to this browser's
/// cookie, so no other site can cancel it.
#[utoipa::path(tag = "oidc", params(ResumeQuery), responses((status = 303, description = "back to the application with access_denied"), (status = 400, description = "an error page")))]
#[get("/oauth2/authorize/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ResumeQuery>,
) -> Result<HttpResponse, AppError> {
    let (client, _, flow) = flow_request(&state, &req);
    // Whoever is signing in here (a sign-in in progress, or a session), for the sign-in log.
    let secure = state.config.secure_cookies;
    let user = sso_token_from(&req, secure)
        .or_else(|| token_from(&req, secure))
        .and_then(|t| state.core.current(&t).ok())
        .map(|(_, u)| u);
    let outcome = state.core.cancel(&q.flow, flow.as_deref(), user.as_ref(), &client).await?;
    Ok(answer(&state, outcome))
}

/// What a request about a flow brings: who calls, this browser's session, its flow cookie.
type FlowRequest = (crate::domain::model::ClientInfo, Option<(Session, User, [u8; 32])>, Option<String>);

fn flow_request(state: &AppState, req: &HttpRequest) -> FlowRequest {
    let (_, client) = super::client::client_info(req, &state.config.trusted_proxies);
    (client, browser_session(state, req), flow_cookie(req, state.config.secure_cookies))
}

/// The application a flow signs in to, for the sign-in page.
#[utoipa::path(tag = "oidc", params(("id" = String, Path, description = "flow id")), responses((status = 200, description = "the application's name"), (status = 404, description = "no such flow in this browser")))]
#[get("/oauth2/flow/{id}")]
pub async fn flow_info(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    use crate::service::oidc::signin::FlowView;
    match state.core.flow_application(&id, flow_cookie(&req, state.config.secure_cookies).as_deref())? {
        FlowView::Live { application, login_hint } => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({ "application": application, "login_hint": login_hint }))),
        FlowView::Expired { application, restart } => Ok(HttpResponse::Gone()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({ "application": application, "restart": restart }))),
        FlowView::Gone => Err(AppError::not_found("The sign-in")),
    }
}

fn oauth_json(status: actix_web::http::StatusCode, e: &OAuthError) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
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

/// A client-authenticated request refused before it reaches the service.
struct Refusal {
    status: actix_web::http::StatusCode,
    error: OAuthError,
    retry_after: Option<i64>,
}

impl Refusal {
    fn new(status: actix_web::http::StatusCode, error: &'static str, description: &str) -> Self {
        Refusal { status, error: OAuthError { error, description: description.into() }, retry_after: None }
    }

    fn response(self) -> HttpResponse {
        let mut r = oauth_json(self.status, &self.error);
        if let Some(v) = self.retry_after.and_then(|s| header::HeaderValue::from_str(&s.to_string()).ok()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

/// A form body's parameters, each at most once (RFC 6749 §3.2).
fn form_params(body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let bad = |d: &str| Refusal::new(actix_web::http::StatusCode::BAD_REQUEST, "invalid_request", d);
    let Some(pairs) = std::str::from_utf8(body).ok().and_then(pairs_of) else {
        return Err(bad("The body must be application/x-www-form-urlencoded."));
    };
    if crate::domain::oidc::authorize::params(&pairs).is_err() {
        return Err(bad("A parameter is sent more than once."));
    }
    Ok(pairs)
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A client's credentials as sent: Basic, or `client_id` (+ `client_secret`) in the body.
struct Credentials {
    client_id: String,
    secret: Option<String>,
    /// A 401 then names the scheme (RFC 6749 §5.2).
    basic: bool,
}

/// The client's credentials, one way only.
fn client_credentials(req: &HttpRequest, p: &[(String, String)]) -> Result<Credentials, Refusal> {
    use actix_web::http::StatusCode;
    match (basic_auth(req), get(p, "client_id"), get(p, "client_secret")) {
        (Some(Some((id, s))), cid, None) if cid.is_none_or(|c| c == id) => {
            Ok(Credentials { client_id: id, secret: Some(s), basic: true })
        }
        (Some(_), _, _) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Send the client's credentials once: by Basic authentication or in the form.",
        )),
        (None, Some(id), s) => Ok(Credentials { client_id: id.to_owned(), secret: s.map(str::to_owned), basic: false }),
        (None, None, _) => {
            Err(Refusal::new(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication is missing."))
        }
    }
}

/// Answers a failed token-endpoint call, counting it against the caller's address.
fn token_failure(state: &AppState, ip: std::net::IpAddr, basic: bool, e: TokenError) -> Result<HttpResponse, AppError> {
    use actix_web::http::StatusCode;
    state.core.verifier_failed(ip);
    match e {
        TokenError::Client(e) => {
            let mut r = oauth_json(StatusCode::UNAUTHORIZED, &e);
            if basic {
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"proofup\""));
            }
            Ok(r)
        }
        TokenError::Request(e) => Ok(oauth_json(StatusCode::BAD_REQUEST, &e)),
        TokenError::Server(e) => Err(e.into()),
    }
}

type Form = Vec<(String, String)>;

/// What every client-authenticated endpoint does first: the per-address limit on failures, the
/// form, the client's credentials.
fn client_request(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(std::net::IpAddr, Form, Credentials), Refusal> {
    use actix_web::http::StatusCode;
    let (ip, _) = super::client::client_info(req, &state.config.trusted_proxies);
    if let Err(wait) = state.core.verifier_gate(ip) {
        let mut r =
            Refusal::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", "Too many failed requests from this address.");
        r.retry_after = Some(wait.whole_seconds().max(1));
        return Err(r);
    }
    let p = form_params(body)?;
    let creds = client_credentials(req, &p).inspect_err(|_| state.core.verifier_failed(ip))?;
    Ok((ip, p, creds))
}

fn tokens_json(t: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).insert_header(("Pragma", "no-cache")).json(t)
}

/// The token endpoint (RFC 6749 §3.2; OIDC Core §3.1.3, §12): `authorization_code` and
/// `refresh_token` grants.
#[utoipa::path(tag = "oidc", request_body(content = String, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "tokens"), (status = 400, description = "OAuth error"), (status = 401, description = "client authentication failed"), (status = 429, description = "too many failures from this address")))]
#[post("/oauth2/token")]
pub async fn token_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    use actix_web::http::StatusCode;
    let (ip, p, creds) = match client_request(&state, &req, &body) {
        Ok(x) => x,
        Err(r) => return Ok(r.response()),
    };
    let bad = |e: &'static str, d: &str| {
        Ok(oauth_json(StatusCode::BAD_REQUEST, &OAuthError { error: e, description: d.to_owned() }))
    };
    let client = ClientAuth { client_id: &creds.client_id, secret: creds.secret.as_deref() };
    let result = match get(&p, "grant_type") {
        Some("authorization_code") => {
            let (_, from) = super::client::client_info(&req, &state.config.trusted_proxies);
            let (code, redirect_uri, verifier) = (get(&p, "code"), get(&p, "redirect_uri"), get(&p, "code_verifier"));
            state.core.exchange_code(client, code, redirect_uri, verifier, &from).await
        }
        Some("refresh_token") => {
            let (_, from) = super::client::client_info(&req, &state.config.trusted_proxies);
            state.core.refresh(client, get(&p, "refresh_token"), get(&p, "scope"), &from).await
        }
        Some("client_credentials") => {
            let (_, from) = super::client::client_info(&req, &state.config.trusted_proxies);
            state.core.client_credentials(client, get(&p, "scope"), &from).await
        }
        Some(_) => {
            return bad(
                "unsupported_grant_type",
                "Only authorization_code, refresh_token and client_credentials are supported.",
            )
        }
        None => return bad("invalid_request", "grant_type is missing."),
    };
    match result {
        Ok(t) => Ok(tokens_json(&t)),
        Err(e) => token_failure(&state, ip, creds.basic, e),
    }
}

/// Token revocation (RFC 7009): always 200 once the client authenticated, whether or not the
/// token was known. A refresh token ends its grant and every access token of it.
#[utoipa::path(tag = "oidc", request_body(content = String, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "revoked, or was not valid"), (status = 400, description = "OAuth error"), (status = 401, description = "client authentication failed")))]
#[post("/oauth2/revoke")]
pub async fn revoke(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let (ip, p, creds) = match client_request(&state, &req, &body) {
        Ok(x) => x,
        Err(r) => return Ok(r.response()),
    };
    let client = ClientAuth { client_id: &creds.client_id, secret: creds.secret.as_deref() };
    match state.core.revoke(client, get(&p, "token")).await {
        Ok(()) => Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).finish()),
        Err(e) => token_failure(&state, ip, creds.basic, e),
    }
}

/// Token introspection (RFC 7662) for the calling client's own tokens.
#[utoipa::path(tag = "oidc", request_body(content = String, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "active, with its claims, or {active: false}"), (status = 401, description = "client authentication failed")))]
#[post("/oauth2/introspect")]
pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (ip, p, creds) = match client_request(&state, &req, &body) {
        Ok(x) => x,
        Err(r) => return Ok(r.response()),
    };
    let client = ClientAuth { client_id: &creds.client_id, secret: creds.secret.as_deref() };
    match state.core.introspect(client, get(&p, "token")) {
        Ok(v) => Ok(tokens_json(&v)),
        Err(e) => token_failure(&state, ip, creds.basic, e),
    }
}

async fn userinfo_answer(state: &AppState, bearer_token: Option<String>) -> Result<HttpResponse, AppError> {
    let deny = |e: &str| {
        HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, format!("Bearer error=\"{e}\"")))
            .insert_header(("Cache-Control", "no-store"))
            .finish()
    };
    let Some(presented) = bearer_token.filter(|t| !t.is_empty()) else { return Ok(deny("invalid_request")) };
    match state.core.userinfo(&presented) {
        Ok(claims) => Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(claims)),
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

/// The end-session parameters worth carrying through the confirmation form.
const LOGOUT_PARAMS: [&str; 4] = ["id_token_hint", "client_id", "post_logout_redirect_uri", "state"];

async fn logout_answer(
    state: &AppState,
    req: &HttpRequest,
    pairs: &[(String, String)],
    confirmed: bool,
) -> Result<HttpResponse, AppError> {
    use crate::service::oidc::logout::Logout;
    use actix_web::http::StatusCode;
    let Ok(params) = crate::domain::oidc::authorize::params(pairs) else {
        return Ok(error_page("A parameter is sent more than once."));
    };
    let session = browser_session(state, req);
    let browser = session.as_ref().map(|(s, u, k)| SignedInBrowser { session: s, user: u, key: *k });
    let secure = state.config.secure_cookies;
    match state.core.end_session(&params, browser, confirmed)? {
        Logout::Page(m) => Ok(page(
            StatusCode::BAD_REQUEST,
            "Sign-out problem",
            &format!(
                "<h1>This sign-out cannot continue</h1><p class=\"alert alert-error\" role=\"alert\">{}</p>",
                escape(&m)
            ),
        )),
        Logout::Confirm { application } => {
            let hidden: String = LOGOUT_PARAMS
                .iter()
                .filter_map(|k| params.get(k).map(|v| (k, v)))
                .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", escape(v)))
                .collect();
            let from = application
                .map(|a| format!(" <strong>{}</strong> asked to sign you out.", escape(&a)))
                .unwrap_or_default();
            Ok(page(
                StatusCode::OK,
                "Sign out",
                &format!(
                    "<h1>Sign out of Proofup?</h1><p>{from} Signing out ends your Proofup session in this browser, and the applications you signed in to with it.</p>\
                     <form method=\"post\" action=\"/oauth2/logout\" class=\"actions\">{hidden}<input type=\"hidden\" name=\"confirm\" value=\"yes\">\
                     <button type=\"submit\" class=\"btn btn-primary\">Sign out</button><a class=\"btn btn-secondary\" href=\"/\">Stay signed in</a></form>"
                ),
            ))
        }
        Logout::Done { redirect } => {
            let mut r = match (&redirect, confirmed) {
                // After a POST from Proofup's own form the browser's form-action policy would stop
                // a redirect to another site: a link back instead.
                (Some(to), true) => page(
                    StatusCode::OK,
                    "Signed out",
                    &format!(
                        "<h1>You have signed out</h1><p>Your Proofup session in this browser has ended.</p>\
                         <p class=\"actions\"><a class=\"btn btn-primary\" href=\"{}\">Back to the application</a></p>",
                        escape(to)
                    ),
                ),
                (Some(to), false) => HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, to.as_str()))
                    .insert_header(("Cache-Control", "no-store"))
                    .finish(),
                (None, _) => page(
                    StatusCode::OK,
                    "Signed out",
                    "<h1>You have signed out</h1><p>Your Proofup session in this browser has ended. You can close this window.</p>\
                     <p class=\"actions\"><a class=\"btn btn-secondary\" href=\"/sign-in\">Sign in again</a></p>",
                ),
            };
            for c in [
                super::session::session_cookie(String::new(), secure),
                super::session::sso_cookie(String::new(), secure),
            ] {
                let mut c = c;
                c.make_removal();
                r.add_cookie(&c).map_err(AppError::internal)?;
            }
            Ok(r)
        }
    }
}

/// RP-Initiated Logout 1.0 (`end_session_endpoint`), by GET.
#[utoipa::path(tag = "oidc", responses((status = 303, description = "signed out, back to the application"), (status = 200, description = "a confirmation or signed-out page"), (status = 400, description = "an error page")))]
#[get("/oauth2/logout")]
pub async fn logout_get(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let Some(pairs) = pairs_of(req.query_string()) else { return Ok(error_page("The request could not be read.")) };
    logout_answer(&state, &req, &pairs, false).await
}

/// End session by POST: from an application's form, or Proofup's confirmation (`confirm=yes`;
/// a cross-site POST carries no Lax cookie, so it cannot end a session it does not name).
#[utoipa::path(tag = "oidc", request_body(content = String, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "signed out, back to the application"), (status = 200, description = "a confirmation or signed-out page"), (status = 400, description = "an error page")))]
#[post("/oauth2/logout")]
pub async fn logout_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(mut pairs) = std::str::from_utf8(&body).ok().and_then(pairs_of) else {
        return Ok(error_page("The request could not be read."));
    };
    let confirmed = pairs.iter().any(|(k, v)| k == "confirm" && v == "yes");
    pairs.retain(|(k, _)| k != "confirm");
    logout_answer(&state, &req, &pairs, confirmed).await
}

/// This area's routes.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(discovery)
        .service(jwks)
        .service(authorize_get)
        .service(authorize_post)
        .service(resume)
        .service(cancel)
        .service(flow_info)
        .service(token_endpoint)
        .service(revoke)
        .service(logout_get)
        .service(logout_post)
        .service(introspect)
        .service(userinfo_get)
        .service(userinfo_post);
}
