//! Test harness: the real actix `App` over a real sled store in a temp dir, with a manual clock.
#![allow(dead_code, clippy::unwrap_used)]

pub mod pg;
pub mod rp;
pub mod server;

use std::sync::Arc;

use actix_web::test::TestRequest;
use proofup::config::HttpConfig;
use proofup::domain::clock::ManualClock;
use proofup::http::AppState;
use proofup::store::sled::SledStore;
use proofup::store::Store;
use tempfile::TempDir;
use time::macros::datetime;

pub const ADMIN: &str = "ada";
pub const ADMIN_PASSWORD: &str = "violet otter lamp forty-two";

pub struct Harness {
    pub dir: TempDir,
    /// The engine under test: the embedded store, or PostgreSQL with `PROOFUP_TEST_ENGINE=postgres`.
    pub store: Arc<dyn Store>,
    /// The embedded store, when that is the engine (for the tests of what only it has).
    pub sled: Option<Arc<SledStore>>,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    /// The secret key the server seals with (random per test).
    pub secret_key: [u8; 32],
}

/// Whether this run tests the PostgreSQL engine (`PROOFUP_TEST_ENGINE=postgres`; `make test` runs
/// the API test binaries once more that way).
pub fn on_postgres() -> bool {
    std::env::var("PROOFUP_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(HttpConfig::for_tests())
    }

    pub fn with_config(config: HttpConfig) -> Self {
        Self::with_risk(config, Default::default())
    }

    /// With what risk reads (a synthetic GeoIP database, a breached set, an anonymizer list).
    pub fn with_risk(config: HttpConfig, risk: proofup::service::risk::RiskSources) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (store, sled): (Arc<dyn Store>, _) = if on_postgres() {
            (pg::PgServer::shared().fresh_store(), None)
        } else {
            let s = Arc::new(SledStore::open(dir.path(), 16 << 20).unwrap());
            (s.clone(), Some(s))
        };
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-28 09:00 UTC)));
        let secret_key: [u8; 32] = rand::random();
        let state = state_with_options(store.clone(), clock.clone(), config, &secret_key, risk);
        Self { dir, store, sled, clock, state, secret_key }
    }

    /// The embedded store, for a test of what only it has (files on disk, its digest).
    pub fn sled(&self) -> &Arc<SledStore> {
        self.sled.as_ref().expect("this test is for the embedded store only")
    }

    pub fn issue_setup_token(&self) -> String {
        proofup::service::setup::Bootstrap::new(self.store.as_ref(), self.clock.as_ref()).issue_setup_token().unwrap()
    }
}

/// The HTTP state over a new runtime on `store`, with a random secret key.
pub fn state(store: Arc<dyn Store>, clock: Arc<ManualClock>, config: HttpConfig) -> AppState {
    state_with_key(store, clock, config, &rand::random())
}

/// The HTTP state over a new runtime on `store`, sealing with `key`.
pub fn state_with_key(store: Arc<dyn Store>, clock: Arc<ManualClock>, config: HttpConfig, key: &[u8; 32]) -> AppState {
    state_with_options(store, clock, config, key, Default::default())
}

pub fn state_with_options(
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    config: HttpConfig,
    key: &[u8; 32],
    risk: proofup::service::risk::RiskSources,
) -> AppState {
    use proofup::service::{Core, CoreOptions};
    let mut options = CoreOptions::from_config(&config);
    options.risk = risk;
    let core = Core::new(store, clock, proofup::domain::secretbox::SecretBox::new(key), &options);
    AppState::new(Arc::new(core), config)
}

/// A request as the portal sends it: JSON, same origin, from 192.0.2.10.
pub fn post(path: &str, body: serde_json::Value) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .peer_addr("192.0.2.10:50000".parse().unwrap())
        .insert_header(("content-type", "application/json"))
        .insert_header(("origin", "http://localhost:8080"))
        .insert_header(("sec-fetch-site", "same-origin"))
        .set_payload(body.to_string())
}

pub fn get(path: &str) -> TestRequest {
    TestRequest::get().uri(path).peer_addr("192.0.2.10:50000".parse().unwrap())
}

/// Runs a request against `app` and returns status, headers and JSON body (Null when empty or not JSON).
#[macro_export]
macro_rules! call {
    ($app:expr, $req:expr) => {{
        let resp = actix_web::test::call_service(&$app, $req.to_request()).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = actix_web::test::read_body(resp).await;
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, headers, json, bytes)
    }};
}

/// The `name=value` part of the session cookie a response set.
pub fn session_cookie(headers: &actix_web::http::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("proofup_session=") || c.starts_with("__Host-proofup_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

pub fn set_cookie_header(headers: &actix_web::http::header::HeaderMap) -> String {
    headers.get_all("set-cookie").filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join("\n")
}

/// Signs in and returns (cookie, body); the sign-in must succeed.
#[macro_export]
macro_rules! sign_in {
    ($app:expr, $user:expr, $pw:expr) => {{
        let (s, h, body, _) = call!($app, post("/api/auth/sign-in", serde_json::json!({"username": $user, "password": $pw})));
        assert_eq!(s, actix_web::http::StatusCode::OK, "{body}");
        (session_cookie(&h).expect("session cookie"), body)
    }};
}

/// Creates the first administrator and returns their session cookie.
#[macro_export]
macro_rules! setup {
    ($h:expr, $app:expr) => {{
        let token = $h.issue_setup_token();
        let (s, _, body, _) = call!(
            $app,
            post("/api/setup", serde_json::json!({"token": token, "username": ADMIN, "display_name": "Ada", "password": ADMIN_PASSWORD}))
        );
        assert_eq!(s, actix_web::http::StatusCode::CREATED, "{body}");
        sign_in!($app, ADMIN, ADMIN_PASSWORD).0
    }};
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn with(cookie: &str, req: actix_web::test::TestRequest) -> actix_web::test::TestRequest {
    req.insert_header(("cookie", cookie.to_owned()))
}

pub fn patch(path: &str, body: serde_json::Value) -> actix_web::test::TestRequest {
    post(path, body).method(actix_web::http::Method::PATCH)
}

pub fn delete(path: &str) -> actix_web::test::TestRequest {
    post(path, serde_json::json!({})).method(actix_web::http::Method::DELETE)
}

pub fn put(path: &str, body: serde_json::Value) -> actix_web::test::TestRequest {
    post(path, body).method(actix_web::http::Method::PUT)
}

pub const PW: &str = "lantern harbor quiet seven";

/// Creates a user, signs in with the pass, sets `PW`; returns the user id.
#[macro_export]
macro_rules! user_with_password {
    ($app:expr, $admin:expr, $name:expr) => {{
        user_with_password!($app, $admin, $name, json!({"username": $name, "display_name": $name}))
    }};
    ($app:expr, $admin:expr, $name:expr, $body:expr) => {{
        let (s, _, body, _) = call!($app, with(&$admin, post("/api/users", $body)));
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let id = body["user"]["id"].as_str().unwrap().to_owned();
        let pass = body["temporary_access_pass"]["code"].as_str().unwrap().to_owned();
        let (c, _) = sign_in!($app, $name, &pass);
        let (s, _, body, _) = call!($app, with(&c, post("/api/auth/password", json!({"new_password": PW}))));
        assert_eq!(s, StatusCode::OK, "{body}");
        id
    }};
}

/// Adds an authenticator app named "Phone" in the full session `$cookie`; returns (the session
/// cookie after it, the app's secret).
#[macro_export]
macro_rules! add_authenticator_app {
    ($app:expr, $h:expr, $cookie:expr) => {{
        let (_, _, setup, _) = call!($app, with(&$cookie, post("/api/me/methods/totp", json!({}))));
        let secret = secret_of(&setup);
        let (s, hd, body, _) = call!(
            $app,
            with(&$cookie, post("/api/me/methods/totp/confirm", json!({"name": "Phone", "code": code(&secret, &$h, 0)})))
        );
        assert_eq!(s, StatusCode::CREATED, "{body}");
        (session_cookie(&hd).unwrap(), secret)
    }};
}

#[macro_export]
macro_rules! save_policy {
    ($app:expr, $admin:expr, $policy:expr) => {{
        let (_, _, cur, _) = call!($app, with(&$admin, get("/api/policy")));
        let (s, _, body, _) =
            call!($app, with(&$admin, put("/api/policy", json!({"policy": $policy, "based_on_version": cur["version"]}))));
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    }};
}

pub fn secret_of(setup: &serde_json::Value) -> Vec<u8> {
    let uri = setup["otpauth_uri"].as_str().unwrap();
    let b32 = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap();
    proofup::domain::totp::decode_base32(b32).unwrap()
}

pub fn code(secret: &[u8], h: &Harness, step_offset: i64) -> String {
    let now = proofup::domain::clock::Clock::now(h.clock.as_ref()).unix_timestamp();
    proofup::domain::totp::code_at(secret, (now + step_offset * 30) as u64)
}

/// Every file under `dir` (to grep a store's files for secrets).
pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Creates a group; returns its id.
#[macro_export]
macro_rules! group {
    ($app:expr, $admin:expr, $name:expr) => {{
        let (s, _, body, _) = call!($app, with(&$admin, post("/api/groups", json!({"name": $name, "description": ""}))));
        assert_eq!(s, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }};
}

/// Adds a direct member (`"user"` or `"group"`) to a group.
#[macro_export]
macro_rules! add {
    ($app:expr, $admin:expr, $group:expr, $kind:expr, $id:expr) => {{
        let (s, _, body, _) =
            call!($app, with(&$admin, post(&format!("/api/groups/{}/members", $group), json!({"kind": $kind, "id": $id}))));
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }};
}

/// The password-reset cookie a response set (`name=value`), if any.
pub fn reset_cookie(headers: &actix_web::http::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("proofup_reset=") && !v.starts_with("proofup_reset=;"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}
