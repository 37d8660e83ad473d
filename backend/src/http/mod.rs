//! The HTTP layer: state, middleware, routes. Handlers stay thin.
//!
//! Rules of this layer: it may import `service` (`Core`, `Caller`, `SignIn`, `ServiceError`, the
//! filters), `domain` value types, `config` and `proofup_shared`; never `store` or an engine, and
//! never `cli`. A handler parses the request, asks one `Core` or `SignIn` method, and shapes the
//! answer (status, cookie, body); what the answer means is decided in the service.

pub mod admin;
pub mod applications;
pub mod assets;
pub mod auth;
pub mod client;
pub mod error;
pub mod groups;
pub mod methods;
pub mod mfa;
pub mod oidc;
pub mod policy;
pub mod reset;
pub mod risk;
pub mod session;
pub mod system;
pub mod users;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::{from_fn, DefaultHeaders, Next};
use actix_web::{web, App, HttpRequest, ResponseError};
use proofup_shared::ErrorCode;
use utoipa::OpenApi as _;
use utoipa_actix_web::{scope, AppExt};

use self::error::AppError;
use crate::config::HttpConfig;
use crate::service::Core;

/// Largest JSON body accepted.
pub const JSON_LIMIT: usize = 32 * 1024;

/// Shared by every worker; clone is cheap. The runtime is the service's [`Core`]; this layer adds
/// only its configuration and the write gate.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub config: HttpConfig,
    /// State-changing requests hold it shared; a backup takes it exclusively, so the
    /// snapshot never holds half of a request's writes.
    pub write_gate: Arc<tokio::sync::RwLock<()>>,
}

impl AppState {
    /// The HTTP layer over a runtime built by the caller (`proofup serve`, tests).
    pub fn new(core: Arc<Core>, config: HttpConfig) -> Self {
        // One recorder per process; from here on every event is counted.
        crate::metrics::install();
        Self { core, config, write_gate: Arc::default() }
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "Proofup API",
    description = "JSON API of Proofup, the self-hosted identity protection portal. Sessions are HttpOnly cookies set by `POST /api/auth/sign-in`; state-changing requests must be `application/json` and same-origin."
))]
struct ApiDoc;

/// The served OpenAPI document, as JSON.
pub struct OpenApiJson(pub String);

/// The application: API under `/api`, health probes, and the embedded portal for everything else.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(
            scope::scope("/api")
                .wrap(from_fn(guard_api))
                .wrap(from_fn(gate_writes))
                .configure(auth::routes)
                .configure(reset::routes)
                // The sign-in steps first: actix tries routes in order, and these are the hot ones.
                .configure(mfa::sign_in_routes)
                .configure(users::routes)
                .configure(groups::routes)
                .configure(mfa::routes)
                .configure(policy::routes)
                .configure(risk::routes)
                .configure(admin::routes)
                .configure(applications::routes)
                .route("/openapi.json", web::get().to(system::openapi_json))
                .default_service(web::to(api_not_found)),
        )
        .service(system::healthz)
        .route("/metrics", web::get().to(system::metrics))
        .configure(oidc::routes)
        .service(system::readyz)
        .split_for_parts();
    let spec_json = spec.to_pretty_json().unwrap_or_default();
    let routes = methods::Routes::from_spec(&spec);
    let mut security_headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, assets::content_security_policy()))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cross-Origin-Resource-Policy", "same-origin"));
    if state.config.secure_cookies {
        // Served over https (directly or behind a TLS proxy): browsers must never fall back to http.
        security_headers =
            security_headers.add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"));
    }
    app.app_data(web::Data::new(state))
        .app_data(web::Data::new(OpenApiJson(spec_json)))
        .app_data(web::JsonConfig::default().limit(JSON_LIMIT).content_type_required(true).error_handler(json_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::Data::new(routes))
        .default_service(web::to(assets::serve))
        .wrap(from_fn(methods::normalize))
        .wrap(from_fn(check_host))
        .wrap(from_fn(log_request))
        .wrap(security_headers)
}

/// Holds the write gate (shared) for the whole of a state-changing request.
async fn gate_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let gate = match *req.method() {
        actix_web::http::Method::GET | actix_web::http::Method::HEAD => None,
        _ => req.app_data::<web::Data<AppState>>().map(|s| s.write_gate.clone()),
    };
    let _shared = match gate {
        Some(g) => Some(g.read_owned().await),
        None => None,
    };
    next.call(req).await
}

async fn api_not_found(req: HttpRequest) -> actix_web::HttpResponse {
    if let Some(resp) = methods::not_allowed(&req) {
        return resp;
    }
    AppError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("No API route {} {}.", req.method(), req.path()))
        .error_response()
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::ContentType => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "Send the body as application/json.",
        ),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("The body is larger than {JSON_LIMIT} bytes."),
        ),
        JsonPayloadError::Deserialize(de) if de.is_data() => {
            // serde names the field ("missing field `password`"); drop the position.
            let text = de.to_string();
            let text = text.split(" at line ").next().unwrap_or("").to_owned();
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                format!("The request body is not what this call expects: {text}."),
            )
        }
        _ => AppError::bad_request("The request body is not valid JSON."),
    };
    tracing::debug!(error = %err, "rejected JSON body");
    actix_web::error::InternalError::from_response(err, e.error_response()).into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = AppError::bad_request("The query string is not valid for this call.");
    actix_web::error::InternalError::from_response(err, e.error_response()).into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    let e = AppError::bad_request("The path is not valid for this call.");
    actix_web::error::InternalError::from_response(err, e.error_response()).into()
}

fn is_json(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// The origin the browser must be on for a state-changing request: the configured public URL,
/// never one computed from the request's own Host, X-Forwarded-Host or Forwarded headers
/// (which whoever sends the request chooses).
fn same_origin(origin: &str, config: &HttpConfig) -> bool {
    origin.eq_ignore_ascii_case(&config.public_url)
}

/// `host[:port]` of a URL, lower-case, without the scheme's default port.
fn authority_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("").to_ascii_lowercase();
    normalize_authority(&authority, scheme.eq_ignore_ascii_case("https"))
}

fn normalize_authority(authority: &str, https: bool) -> String {
    let a = authority.trim().to_ascii_lowercase();
    let default = if https { ":443" } else { ":80" };
    a.strip_suffix(default).map(str::to_owned).unwrap_or(a)
}

/// The host the client asked for: the Host header (or the URI's authority, as HTTP/2 sends
/// it), or X-Forwarded-Host when the peer is a trusted proxy. `None` when the request names
/// none (HTTP/1.0), which a browser, and so a DNS-rebinding page, never sends.
fn requested_host(req: &ServiceRequest, trusted: &[ipnet::IpNet]) -> Option<String> {
    let from_proxy = req.peer_addr().is_some_and(|a| client::is_trusted(a.ip(), trusted));
    if from_proxy {
        if let Some(h) = req.headers().get("x-forwarded-host").and_then(|v| v.to_str().ok()) {
            return h.split(',').next_back().map(str::to_owned);
        }
    }
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
}

/// Answers only for the public URL's host: a page on another name (DNS rebinding: an attacker's
/// name pointed at this server) gets 421, whatever its Origin. Health probes and metrics are
/// exempt, since load balancers and Prometheus call them by address (metrics need a bearer token
/// no page has).
async fn check_host(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let probe = matches!(req.path(), "/healthz" | "/readyz" | "/metrics");
    if !probe {
        if let Some(config) = req.app_data::<web::Data<AppState>>().map(|s| s.config.clone()) {
            let https = config.public_url.starts_with("https://");
            let expected = authority_of(&config.public_url);
            if let Some(host) = requested_host(&req, &config.trusted_proxies) {
                if normalize_authority(&host, https) != expected {
                    tracing::warn!(path = %req.path(), "request for another host refused");
                    let e = AppError::new(
                        StatusCode::MISDIRECTED_REQUEST,
                        ErrorCode::BadRequest,
                        format!(
                            "This server answers only as {} (its public URL). Open it by that address, or start it with --public-url set to the address you use.",
                            config.public_url
                        ),
                    );
                    return Ok(req.into_response(e.error_response()).map_into_right_body());
                }
            }
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// CSRF and content-type rules for `/api`, plus `Cache-Control: no-store`.
/// State-changing requests must be JSON (which forces a CORS preflight from
/// other sites) and must not come from another site (Sec-Fetch-Site / Origin).
async fn guard_api(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let config = req.app_data::<web::Data<AppState>>().map(|s| s.config.clone());
        let site = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let cross_site = matches!(site.as_deref(), Some(s) if s != "same-origin" && s != "none")
            || match (origin.as_deref(), &config) {
                (Some(o), Some(c)) => !same_origin(o, c),
                _ => false,
            };
        let refusal = if cross_site {
            tracing::warn!(path = %req.path(), origin = ?origin, site = ?site, "cross-site request refused");
            Some(AppError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::CrossSiteRequest,
                "Cross-site requests are not allowed.",
            ))
        } else if !is_json(&req) {
            Some(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "State-changing requests must be sent as application/json.",
            ))
        } else {
            None
        };
        if let Some(e) = refusal {
            let mut resp = req.into_response(e.error_response());
            resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            return Ok(resp.map_into_right_body());
        }
    }
    let mut resp = next.call(req).await?;
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(resp.map_into_left_body())
}

/// One line per request: method, path (never the query string, which may hold
/// a setup token), status, time. No headers, no bodies. The time also goes to the latency
/// histogram of the path's route group.
async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = std::time::Instant::now();
    let method = req.method().clone();
    let path: String = req.path().chars().take(200).collect();
    let resp = next.call(req).await?;
    let status = resp.status().as_u16();
    let seconds = start.elapsed().as_secs_f64();
    crate::metrics::request(crate::metrics::route_group(&path), status, seconds);
    let ms = seconds * 1000.0;
    if path.starts_with("/api/") || status >= 500 {
        tracing::info!(%method, %path, status, ms = format!("{ms:.1}"), "request");
    } else {
        tracing::debug!(%method, %path, status, ms = format!("{ms:.1}"), "request");
    }
    Ok(resp)
}
