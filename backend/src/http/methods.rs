//! Methods, at one place for every route: HEAD is GET without the body (RFC 9110 §9.3.2), a
//! method a path does not have is 405 with `Allow` (never the portal's page, never a 404), and
//! the OAuth endpoints a browser application calls answer CORS preflights.
//!
//! The table of which path has which methods is read from the OpenAPI document the routes
//! themselves generate (every route carries `#[utoipa::path]`), plus the two routes served
//! outside it, so it cannot drift from the routing.

use actix_web::body::MessageBody;
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError as _};
use proofup_shared::ErrorCode;

use super::error::AppError;

/// Endpoints a browser application on another origin may call (OIDC discovery and keys, and the
/// OAuth endpoints of a public client: token, userinfo, revoke, introspect). They authenticate by
/// bearer token, client credentials or PKCE, never by cookie: any origin may call them, without
/// credentials. Everything else, the portal's API first, answers no CORS header at all.
pub const CORS_PATHS: [&str; 6] = [
    "/.well-known/openid-configuration",
    "/oauth2/jwks",
    "/oauth2/token",
    "/oauth2/userinfo",
    "/oauth2/revoke",
    "/oauth2/introspect",
];

/// How long a browser may keep a preflight's answer (Chromium caps it at 2 hours).
const PREFLIGHT_MAX_AGE: &str = "7200";

/// Every route's path pattern and the methods it answers.
pub struct Routes(Vec<(ResourceDef, Vec<Method>)>);

impl Routes {
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let mut routes: Vec<(ResourceDef, Vec<Method>)> = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (Method::GET, item.get.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, has)| has.then_some(m))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        // Served by plain `.route`s, outside the document.
        for path in ["/metrics", "/api/openapi.json"] {
            routes.push((ResourceDef::new(path), vec![Method::GET]));
        }
        Self(routes)
    }

    /// The `Allow` value for `path`, or `None` when no route has it.
    pub fn allow(&self, path: &str) -> Option<String> {
        let mut methods: Vec<Method> = Vec::new();
        for (def, ms) in &self.0 {
            if def.is_match(path) {
                methods.extend(ms.iter().cloned());
            }
        }
        if methods.is_empty() {
            return None;
        }
        if methods.contains(&Method::GET) {
            methods.push(Method::HEAD);
        }
        if CORS_PATHS.contains(&path) {
            methods.push(Method::OPTIONS);
        }
        let mut names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        names.dedup();
        Some(names.join(", "))
    }
}

/// Before routing: HEAD is routed as GET (the HTTP layer sends the headers and drops the body,
/// having read the method off the wire), and a CORS preflight on an OAuth endpoint is answered.
pub async fn normalize(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::OPTIONS && CORS_PATHS.contains(&req.path()) {
        let resp = preflight(req.request());
        return Ok(req.into_response(resp).map_into_right_body());
    }
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let cors = CORS_PATHS.contains(&req.path());
    let mut resp = next.call(req).await?;
    if cors {
        // Every answer of these endpoints, errors and 429s too, so the application can read why.
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, header::HeaderValue::from_static("*"));
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::HeaderValue::from_static("WWW-Authenticate, Retry-After"),
        );
    }
    Ok(resp.map_into_left_body())
}

/// 204 with `Allow`, and when a browser asks (Origin and Access-Control-Request-Method), the CORS
/// answer: any origin, the path's methods, `Authorization` and `Content-Type`, no credentials.
fn preflight(req: &HttpRequest) -> HttpResponse {
    let allow =
        req.app_data::<web::Data<Routes>>().and_then(|r| r.allow(req.path())).unwrap_or_else(|| "OPTIONS".to_owned());
    let mut resp = HttpResponse::NoContent();
    resp.insert_header((header::ALLOW, allow.clone()));
    if req.headers().contains_key(header::ORIGIN) && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        let methods: Vec<&str> = allow.split(", ").filter(|m| *m != "OPTIONS").collect();
        resp.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods.join(", ")))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, Content-Type"))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE))
            .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"));
    }
    resp.finish()
}

/// For the default services: 405 with `Allow` when a route has this path under other methods.
pub fn not_allowed(req: &HttpRequest) -> Option<HttpResponse> {
    let allow = req.app_data::<web::Data<Routes>>()?.allow(req.path())?;
    let e = AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        format!("{} {} is not allowed; this path answers {allow}.", req.method(), req.path()),
    );
    let mut resp = e.error_response();
    if let Ok(v) = header::HeaderValue::from_str(&allow) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    Some(resp)
}
