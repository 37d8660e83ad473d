//! Hostile input against every operation in the OpenAPI document: malformed JSON,
//! wrong types, huge bodies and strings, unicode edge cases, unknown fields, ids that
//! do not exist, odd query strings. Each answers a typed 4xx JSON error (never a 5xx,
//! never a panic) and the store is left exactly as it was.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::{Method, StatusCode};
use actix_web::test::{init_service, TestRequest};
use common::*;
use serde_json::json;

/// Calls that take no body and legitimately succeed for a Global administrator with these ids.
fn bodyless_ok(method: &str, path: &str) -> bool {
    matches!(
        (method, path),
        ("post", "/api/me/methods/totp")
            | ("post", "/api/me/methods/passkey")
            | ("post", "/api/me/sessions/sign-out-others")
            // Abandoning a password reset: nothing to read, and none in progress is fine.
            | ("delete", "/api/auth/reset")
    )
}

/// Trees whose change is the point of any request (sessions touched, attempts logged).
// Ceremonies are begun by a well-formed start (an authenticator app set-up), like sessions by a sign-in.
const VOLATILE: &[&str] = &["sessions", "signins", "throttle", "ceremonies"];

fn request(method: &str, uri: &str, cookie: &str, payload: Vec<u8>, content_type: &str) -> TestRequest {
    TestRequest::default()
        .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
        .uri(uri)
        .peer_addr("192.0.2.10:50000".parse().unwrap())
        .insert_header(("content-type", content_type.to_owned()))
        .insert_header(("origin", "http://localhost:8080"))
        .insert_header(("sec-fetch-site", "same-origin"))
        .insert_header(("cookie", cookie.to_owned()))
        .set_payload(payload)
}

#[actix_web::test]
async fn every_route_answers_hostile_input_with_a_typed_4xx_and_changes_nothing() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    // Something to lose: a user in a group.
    let (s, _, body, _) =
        call!(app, with(&admin, post("/api/users", json!({"username": "eve", "display_name": "Eve"}))));
    assert_eq!(s, StatusCode::CREATED);
    let eve = body["user"]["id"].as_str().unwrap().to_owned();
    let (_, _, g, _) = call!(app, with(&admin, post("/api/groups", json!({"name": "Staff", "description": ""}))));
    let staff = g["id"].as_str().unwrap().to_owned();
    let (s, _, _, _) =
        call!(app, with(&admin, post(&format!("/api/groups/{staff}/members"), json!({"kind": "user", "id": eve}))));
    assert_eq!(s, StatusCode::CREATED);
    h.store.flush().unwrap();
    let before = h.sled().digest(VOLATILE).unwrap();

    let (_, _, doc, _) = call!(app, get("/api/openapi.json"));
    let huge_string = "𝕏".repeat(40_000);
    let bodies: Vec<(&str, Vec<u8>, &str)> = vec![
        ("malformed JSON", b"{\"name\": ".to_vec(), "application/json"),
        ("not JSON at all", b"\x00\xff\xfe garbage".to_vec(), "application/json"),
        ("wrong type: array", b"[1, 2, 3]".to_vec(), "application/json"),
        ("wrong type: string", b"\"hello\"".to_vec(), "application/json"),
        ("wrong type: null", b"null".to_vec(), "application/json"),
        ("wrong field types", json!({"name": 5, "username": [], "url": {}, "code": 1, "policy": "on", "enforcement": 3}).to_string().into_bytes(), "application/json"),
        ("unknown fields", json!({"zzz_unknown": true, "role": "global_administrator"}).to_string().into_bytes(), "application/json"),
        ("huge body", vec![b' '; 200_000], "application/json"),
        ("huge strings", json!({"name": huge_string.clone(), "username": huge_string.clone()}).to_string().into_bytes(), "application/json"),
        ("unicode edges", json!({"name": "\u{202e}gnp.exe\u{0}", "username": "ａｄｍｉｎ\u{200b}", "display_name": "\u{fffd}\u{10ffff}", "code": "١٢٣٤٥٦", "url": "https://exämple.com/\u{0}"}).to_string().into_bytes(), "application/json"),
        ("form-encoded", b"name=x&username=y".to_vec(), "application/x-www-form-urlencoded"),
    ];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        // Sign-out ends the session whatever the body says (on purpose); it would end this test's session.
        if !path.starts_with("/api/") || path == "/api/openapi.json" || path == "/api/auth/sign-out" {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let missing = path
                .replace("{id}", "00000000000000000000000000000000")
                .replace("{kind}", "user")
                .replace("{member}", "ffffffffffffffffffffffffffffffff");
            let odd_ids =
                path.replace("{id}", "%00%FF..%2F..").replace("{kind}", "planet").replace("{member}", "%E2%80%AE");
            if method == "get" {
                for uri in [
                    format!("{missing}?limit=abc&after=%00%FF&q={}&from=yesterday", "q".repeat(5000)),
                    format!("{odd_ids}?limit=-1&status=%F0%9F%92%A9"),
                ] {
                    let (s, _, b, _) = call!(app, request("get", &uri, &admin, Vec::new(), "application/json"));
                    assert!(!s.is_server_error(), "GET {uri} → {s}: {b}");
                    if !s.is_success() {
                        assert!(s.is_client_error() && b["error"].is_string(), "GET {uri} → {s} untyped: {b}");
                    }
                    checked += 1;
                }
                continue;
            }
            for uri in [&missing, &odd_ids] {
                for (what, payload, ct) in &bodies {
                    let (s, _, b, _) = call!(app, request(method, uri, &admin, payload.clone(), ct));
                    let label = format!("{method} {uri} with {what}");
                    assert!(!s.is_server_error(), "{label} → {s}: {b}");
                    if bodyless_ok(method, path) && s.is_success() {
                        continue;
                    }
                    assert!(s.is_client_error(), "{label} → {s}: {b}");
                    assert!(b["error"].is_string() && b["message"].is_string(), "{label} → {s} untyped: {b}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 700, "only {checked} calls checked");
    h.store.flush().unwrap();
    assert_eq!(h.sled().digest(VOLATILE).unwrap(), before, "hostile input changed the store");
    let (s, _, _, _) = call!(app, with(&admin, get(&format!("/api/users/{eve}"))));
    assert_eq!(s, StatusCode::OK, "the administrator's session survived it all");
    // The digest does see real changes.
    let (s, _, _, _) = call!(app, with(&admin, post("/api/groups", json!({"name": "Later", "description": ""}))));
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(h.sled().digest(VOLATILE).unwrap(), before);
}
