//! "Forgot your password?" through the real API: the registered methods stand in for the lost
//! password (one for a user, two different ones for an administrator), the same words for every
//! account that cannot reset (no enumeration), the account throttle on every verifier, every
//! session and grant ended, and the way back into an application's sign-in.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const NEW_PW: &str = "copper meadow window ninety";

fn authenticator() -> WebauthnAuthenticator<SoftPasskey> {
    WebauthnAuthenticator::new(SoftPasskey::new(true))
}

fn origin() -> Url {
    Url::parse("http://localhost:8080").unwrap()
}

#[actix_web::test]
async fn a_user_resets_with_their_authenticator_app_and_everything_else_ends() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");
    let (bob, _) = sign_in!(app, "bob", PW);
    let (bob, secret) = add_authenticator_app!(app, h, bob);

    // The username, then which method to prove; the reset's cookie is its own, for its path only.
    let (s, hd, body, _) = call!(app, post("/api/auth/reset", json!({"username": "Bob"})));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["step"], "verify");
    assert_eq!(body["methods"], json!(["authenticator_app"]));
    assert_eq!(body["still_needed"], 1);
    let set =
        hd.get_all("set-cookie").filter_map(|v| v.to_str().ok()).find(|v| v.starts_with("proofup_reset=")).unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/api/auth/reset", "Max-Age=900"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    let reset = reset_cookie(&hd).unwrap();

    // No password yet; a passkey is not one of bob's; a wrong code is logged and counted.
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/password", json!({"new_password": NEW_PW}))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/passkey", json!({}))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/code", json!({"code": "000000"}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let log = h.store.list_sign_ins(None, 5).unwrap().items;
    assert!(log.iter().any(|e| e.username == "bob" && e.reason == "Password reset: method not verified"), "{log:?}");

    // The right code: now the password.
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/code", json!({"code": code(&secret, &h, 1)}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["step"], "set_password");
    let (s, _, body, _) = call!(app, with(&reset, get("/api/auth/reset")));
    assert_eq!((s, body["step"].as_str()), (StatusCode::OK, Some("set_password")));
    // The usual rules apply.
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/password", json!({"new_password": "bob"}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "new_password");
    let (s, hd, body, _) = call!(app, with(&reset, post("/api/auth/reset/password", json!({"new_password": NEW_PW}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["sign_in"], "/sign-in");
    assert!(reset_cookie(&hd).is_none(), "the cookie is removed");

    // Spent: the same cookie does nothing more.
    let (s, _, _, _) = call!(app, with(&reset, post("/api/auth/reset/password", json!({"new_password": NEW_PW}))));
    assert_eq!(s, StatusCode::CONFLICT);
    // Bob's session ended; the old password is gone; the new one signs in (and asks for the app).
    let (s, _, _, _) = call!(app, with(&bob, get("/api/auth/me")));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW})));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, me) = sign_in!(app, "bob", NEW_PW);
    assert_eq!(me["me"]["next_step"]["step"], "second_factor", "{me}");
    let audit = h.store.list_audit(None, 10).unwrap().items;
    assert!(audit.iter().any(|e| e.action == "user.password_reset" && e.target == "bob"), "{audit:?}");
}

#[actix_web::test]
async fn accounts_that_cannot_reset_all_get_the_same_answer() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "carol"); // no method
    let dave = user_with_password!(app, admin, "dave");
    let (d, _) = sign_in!(app, "dave", PW);
    add_authenticator_app!(app, h, d);
    let (s, _, _, _) = call!(app, with(&admin, patch(&format!("/api/users/{dave}"), json!({"enabled": false}))));
    assert_eq!(s, StatusCode::OK);
    // The administrator has one method: their role needs two.
    add_authenticator_app!(app, h, admin);

    let mut answers = Vec::new();
    for name in ["nobody-here", "carol", "dave", ADMIN] {
        let (s, hd, body, _) = call!(app, post("/api/auth/reset", json!({"username": name})));
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(reset_cookie(&hd).is_none(), "{name}: no reset begins");
        answers.push(body);
    }
    assert_eq!(answers[0]["step"], "ask_administrator");
    assert!(answers[0]["message"].as_str().unwrap().contains("administrator"));
    assert!(answers.iter().all(|a| *a == answers[0]), "the same words for each: {answers:?}");

    // Without a reset in progress, the steps say so.
    let (s, _, body, _) = call!(app, post("/api/auth/reset/code", json!({"code": "123456"})));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    // Malformed input is a clear error.
    let (s, _, _, _) = call!(app, post("/api/auth/reset", json!({"user": "x"})));
    assert!(s.is_client_error() && s != StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn an_administrator_proves_two_different_methods_and_returns_to_the_application() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (admin, secret) = add_authenticator_app!(app, h, admin);
    let mut key = authenticator();
    let (s, _, ch, _) = call!(app, with(&admin, post("/api/me/methods/passkey", json!({}))));
    assert_eq!(s, StatusCode::OK, "{ch}");
    let ccr: CreationChallengeResponse =
        serde_json::from_value(json!({"publicKey": ch["public_key"].clone()})).unwrap();
    let cred = serde_json::to_value(key.do_registration(origin(), ccr).unwrap()).unwrap();
    let (s, _, body, _) =
        call!(app, with(&admin, post("/api/me/methods/passkey/finish", json!({"name": "Laptop", "credential": cred}))));
    assert_eq!(s, StatusCode::CREATED, "{body}");

    let (s, hd, body, _) = call!(app, post("/api/auth/reset", json!({"username": ADMIN, "flow": "flow-123"})));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["still_needed"], 2);
    assert_eq!(body["methods"], json!(["authenticator_app", "passkey"]));
    let reset = reset_cookie(&hd).unwrap();

    // The first: the passkey.
    let (s, _, ch, _) = call!(app, with(&reset, post("/api/auth/reset/passkey", json!({}))));
    assert_eq!(s, StatusCode::OK, "{ch}");
    let rcr: RequestChallengeResponse = serde_json::from_value(json!({"publicKey": ch["public_key"].clone()})).unwrap();
    let answer: Value = serde_json::to_value(key.do_authentication(origin(), rcr).unwrap()).unwrap();
    let (s, _, body, _) =
        call!(app, with(&reset, post("/api/auth/reset/passkey/finish", json!({"credential": answer}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!((body["step"].as_str(), body["still_needed"].as_u64()), (Some("verify"), Some(1)));
    assert_eq!(body["methods"], json!(["authenticator_app"]), "a second, different method");
    let (s, _, _, _) = call!(app, with(&reset, post("/api/auth/reset/password", json!({"new_password": NEW_PW}))));
    assert_eq!(s, StatusCode::CONFLICT, "one method is not enough for an administrator");
    let (s, _, _, _) = call!(app, with(&reset, post("/api/auth/reset/passkey", json!({}))));
    assert_eq!(s, StatusCode::CONFLICT, "the same kind again does not count");

    // The second: the app. Then the password, and back to the application's sign-in.
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/code", json!({"code": code(&secret, &h, 1)}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["step"], "set_password");
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/password", json!({"new_password": NEW_PW}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["sign_in"], "/sign-in?flow=flow-123");
    sign_in!(app, ADMIN, NEW_PW);
}

#[actix_web::test]
async fn guessing_codes_is_throttled_like_sign_in() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "erin");
    let (e, _) = sign_in!(app, "erin", PW);
    let (_, secret) = add_authenticator_app!(app, h, e);
    let (_, hd, _, _) = call!(app, post("/api/auth/reset", json!({"username": "erin"})));
    let reset = reset_cookie(&hd).unwrap();
    let mut throttled = false;
    for i in 0..30 {
        let (s, hd, body, _) =
            call!(app, with(&reset, post("/api/auth/reset/code", json!({"code": format!("{:06}", i)}))));
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert!(hd.get("retry-after").is_some(), "{body}");
            throttled = true;
            break;
        }
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    assert!(throttled, "wrong codes are throttled");
    // Even the right code waits now.
    let (s, _, _, _) = call!(app, with(&reset, post("/api/auth/reset/code", json!({"code": code(&secret, &h, 0)}))));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn guessing_report_links_is_limited_per_address() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    for i in 0..proofup::service::TOKEN_FAILURES_PER_IP_PER_MINUTE {
        let (s, _, body, _) = call!(app, post("/api/auth/report", json!({"token": format!("guess-{i}")})));
        assert_eq!(s, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["message"], "This link has been used or has expired.");
    }
    let (s, hd, body, _) = call!(app, post("/api/auth/report", json!({"token": "guess-more"})));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(hd.get("retry-after").is_some());
    h.clock.advance(time::Duration::minutes(1));
    let (s, _, _, _) = call!(app, post("/api/auth/report", json!({"token": "after-a-minute"})));
    assert_eq!(s, StatusCode::CONFLICT);
}
