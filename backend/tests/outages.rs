//! What crashes and outages found (issue 26 items 5 and 6), against the real App over a real
//! PostgreSQL server this test starts, stops and breaks:
//! - a use case is one transaction: with the database refusing the second half of "create a
//!   user" or "reset sign-in" (a trigger that raises), nothing of the first half is left behind;
//! - a database that cannot be reached is 503 with Retry-After and the code `unavailable`, never
//!   500, and a client's own mistake is still 4xx; when the database is back, so is the service.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service, read_body, TestRequest};
use common::pg::PgServer;
use proofup::store::postgres::{PgOptions, PgStore};
use proofup::store::{AuditLog, UserStore};
use serde_json::json;

const PW: &str = "violet otter lamp forty-two";
const BOB_PW: &str = "copper kettle winter road";

fn app_state(store: Arc<PgStore>) -> proofup::http::AppState {
    let config = proofup::config::HttpConfig::for_tests();
    let core = proofup::service::Core::new(
        store,
        Arc::new(proofup::domain::clock::SystemClock),
        proofup::domain::secretbox::SecretBox::random(),
        &proofup::service::CoreOptions::from_config(&config),
    );
    proofup::http::AppState::new(Arc::new(core), config)
}

fn req(method: &str, path: &str, body: Option<serde_json::Value>, cookie: Option<&str>) -> TestRequest {
    let mut r = TestRequest::default()
        .method(method.parse().unwrap())
        .uri(path)
        .peer_addr("192.0.2.41:4000".parse().unwrap())
        .insert_header(("origin", "http://localhost:8080"))
        .insert_header(("sec-fetch-site", "same-origin"));
    if let Some(b) = body {
        r = r.insert_header(("content-type", "application/json")).set_payload(b.to_string());
    }
    if let Some(c) = cookie {
        r = r.insert_header(("cookie", c.to_owned()));
    }
    r
}

macro_rules! call {
    ($app:expr, $req:expr) => {{
        let resp = call_service(&$app, $req.to_request()).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let cookie = headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("proofup_session=") && !c.starts_with("proofup_session=;"))
            .map(|c| c.split(';').next().unwrap().to_owned());
        let body: serde_json::Value = serde_json::from_slice(&read_body(resp).await).unwrap_or_default();
        (status, headers, body, cookie)
    }};
}

/// Sets up `ada` (Global administrator) and returns her session cookie.
macro_rules! admin {
    ($app:expr, $store:expr) => {{
        let token =
            proofup::service::setup::Bootstrap::new($store.as_ref(), &proofup::domain::clock::SystemClock).issue_setup_token().unwrap();
        let body = json!({"token": token, "username": "ada", "display_name": "Ada", "password": PW});
        let (s, _, b, _) = call!($app, req("POST", "/api/setup", Some(body), None));
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let (s, _, b, c) = call!($app, req("POST", "/api/auth/sign-in", Some(json!({"username": "ada", "password": PW})), None));
        assert_eq!(s, StatusCode::OK, "{b}");
        c.unwrap()
    }};
}

const FAULT: &str = "CREATE FUNCTION injected_fault() RETURNS trigger LANGUAGE plpgsql AS $$ \
    BEGIN RAISE EXCEPTION 'injected fault: the second write of the use case fails'; END $$; \
    CREATE TRIGGER injected_fault BEFORE INSERT OR UPDATE ON passes FOR EACH ROW EXECUTE FUNCTION injected_fault();";

#[actix_web::test]
async fn creating_a_user_and_resetting_sign_in_are_each_one_transaction() {
    let pg = PgServer::start();
    let url = pg.database("proofup");
    let store = PgStore::open(&url, PgOptions { pool_size: 2, ..Default::default() }).unwrap();
    let app = init_service(proofup::http::app(app_state(store.clone()))).await;
    let admin = admin!(app, store);

    // Bob exists, has a password and a session, before anything fails.
    let (s, _, b, _) =
        call!(app, req("POST", "/api/users", Some(json!({"username": "bob", "display_name": "Bob"})), Some(&admin)));
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let bob_id = b["user"]["id"].as_str().unwrap().to_owned();
    let pass = b["temporary_access_pass"]["code"].as_str().unwrap().to_owned();
    let (_, _, _, c) =
        call!(app, req("POST", "/api/auth/sign-in", Some(json!({"username": "bob", "password": pass})), None));
    let (s, _, b, bob) =
        call!(app, req("POST", "/api/auth/password", Some(json!({"new_password": BOB_PW})), Some(&c.unwrap())));
    assert_eq!(s, StatusCode::OK, "{b}");
    let bob = bob.unwrap();

    // The database now refuses every pass write: the second half of both use cases.
    pg.sql("proofup", FAULT);
    let audit_before = store.count_audit().unwrap();

    let (s, _, b, _) = call!(
        app,
        req("POST", "/api/users", Some(json!({"username": "carol", "display_name": "Carol"})), Some(&admin))
    );
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "a real fault, not an outage: {b}");
    assert!(store.user_by_username("carol").unwrap().is_none(), "no user without a pass is left behind");

    let (s, _, b, _) =
        call!(app, req("POST", &format!("/api/users/{bob_id}/reset-sign-in"), Some(json!({})), Some(&admin)));
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert!(store.user(&bob_id).unwrap().unwrap().has_password(), "the password was not cleared without a pass");
    let (s, _, _, _) = call!(app, req("GET", "/api/auth/me", None, Some(&bob)));
    assert_eq!(s, StatusCode::OK, "bob's session did not end: the reset did not happen at all");
    assert_eq!(store.count_audit().unwrap(), audit_before, "no audit entry for what did not happen");

    // Repaired, the same requests succeed: no "username taken", and the reset does all of it.
    pg.sql("proofup", "DROP TRIGGER injected_fault ON passes");
    let (s, _, b, _) = call!(
        app,
        req("POST", "/api/users", Some(json!({"username": "carol", "display_name": "Carol"})), Some(&admin))
    );
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _, b, _) =
        call!(app, req("POST", &format!("/api/users/{bob_id}/reset-sign-in"), Some(json!({})), Some(&admin)));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(!store.user(&bob_id).unwrap().unwrap().has_password());
    let (s, _, _, _) = call!(app, req("GET", "/api/auth/me", None, Some(&bob)));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the reset ended bob's session");
    let new_pass = b["code"].as_str().unwrap_or_else(|| panic!("{b}"));
    let (s, _, b, _) =
        call!(app, req("POST", "/api/auth/sign-in", Some(json!({"username": "bob", "password": new_pass})), None));
    assert_eq!(s, StatusCode::OK, "the new pass works: {b}");
}

#[actix_web::test]
async fn a_database_that_cannot_be_reached_is_503_with_retry_after_until_it_is_back() {
    let pg = PgServer::start();
    let url = pg.database("proofup");
    let store = PgStore::open(&url, PgOptions { pool_size: 2, ..Default::default() }).unwrap();
    let app = init_service(proofup::http::app(app_state(store.clone()))).await;
    let admin = admin!(app, store);
    let (s, _, _, _) = call!(app, req("GET", "/api/users", None, Some(&admin)));
    assert_eq!(s, StatusCode::OK);

    pg.stop();
    let sign_in = json!({"username": "ada", "password": PW});
    let cases = [
        ("GET", "/api/users", None, Some(admin.as_str())),
        ("GET", "/api/auth/me", None, Some(admin.as_str())),
        ("POST", "/api/auth/sign-in", Some(sign_in.clone()), None),
        ("POST", "/api/users", Some(json!({"username": "dan", "display_name": "Dan"})), Some(admin.as_str())),
        ("GET", "/oauth2/jwks", None, None),
    ];
    for (method, path, body, cookie) in cases {
        let (s, h, b, _) = call!(app, req(method, path, body, cookie));
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{method} {path}: {b}");
        assert_eq!(h.get("retry-after").map(|v| v.to_str().unwrap()), Some("5"), "{method} {path}");
        assert_eq!(b["error"], "unavailable", "{method} {path}: {b}");
        assert!(!b.to_string().contains("PostgreSQL"), "no internals in the answer: {b}");
    }
    let (s, _, _, _) = call!(app, req("GET", "/readyz", None, None));
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    // A client's own mistake is still the client's: 4xx, whatever the database.
    let (s, _, b, _) = call!(app, req("POST", "/api/auth/sign-in", Some(json!({"username": 5})), None));
    assert!(s.is_client_error(), "{s}: {b}");
    let (s, _, _, _) = call!(app, req("GET", "/api/no-such-route", None, None));
    assert_eq!(s, StatusCode::NOT_FOUND);

    pg.start_again();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (s, _, b, _) = call!(app, req("GET", "/api/users", None, Some(&admin)));
        if s == StatusCode::OK {
            break;
        }
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "while it comes back: {b}");
        assert!(std::time::Instant::now() < deadline, "not back after 20 s");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (s, _, b, _) = call!(app, req("POST", "/api/auth/sign-in", Some(sign_in), None));
    assert_eq!(s, StatusCode::OK, "signs in again: {b}");
}
