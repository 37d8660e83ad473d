//! API tests against the real `App` and a real sled store in a temp dir.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use proofup::config::HttpConfig;
use proofup::domain::model::{ClientInfo, User};
use proofup_shared::api::Role;
use serde_json::json;
use time::Duration;

/// The setup token is a verifier: guesses from one address are limited per minute like sign-in
/// (the service applies the limit, whatever front door calls it), and the limit passes.
#[actix_web::test]
async fn guessing_the_setup_token_is_limited_per_address() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let token = h.issue_setup_token();
    let form =
        |token: &str| json!({"token": token, "username": "ada", "display_name": "Ada", "password": ADMIN_PASSWORD});
    for i in 0..20 {
        let (s, _, body, _) = call!(app, post("/api/setup", form(&format!("guess-{i}"))));
        assert_eq!(s, StatusCode::FORBIDDEN, "guess {i}: {body}");
    }
    let (s, hd, body, _) = call!(app, post("/api/setup", form(&token)));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "even the right token waits: {body}");
    assert!(hd.get("retry-after").is_some());
    assert_eq!(h.store.count_users().unwrap(), 0, "nothing created");
    h.clock.advance(Duration::seconds(61));
    let (s, _, body, _) = call!(app, post("/api/setup", form(&token)));
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

#[actix_web::test]
async fn setup_token_is_single_use_and_expires() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let (s, _, body, _) = call!(app, get("/api/setup/status"));
    assert_eq!((s, body), (StatusCode::OK, json!({"needs_setup": true})));

    let form = |token: &str| json!({"token": token, "username": "Ada", "display_name": "Ada Lovelace", "password": ADMIN_PASSWORD});

    // No token issued yet, then a wrong one.
    let (s, _, body, _) = call!(app, post("/api/setup", form("nope")));
    assert_eq!((s, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("setup_token_invalid")));
    let token = h.issue_setup_token();
    let (s, _, body, _) = call!(app, post("/api/setup", form("wrong")));
    assert_eq!((s, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("setup_token_invalid")));

    // Expired after one hour.
    h.clock.advance(Duration::hours(1));
    let (s, _, body, _) = call!(app, post("/api/setup", form(&token)));
    assert_eq!((s, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("setup_token_invalid")));

    // A fresh token works once.
    let token = h.issue_setup_token();
    h.clock.advance(Duration::minutes(59));
    let (s, _, body, _) = call!(app, post("/api/setup", form(&token)));
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["username"], "ada");
    assert_eq!(body["role"], "global_administrator");
    assert!(body.get("password_hash").is_none());
    let (s, _, body, _) = call!(app, post("/api/setup", form(&token)));
    assert_eq!((s, body["error"].as_str()), (StatusCode::CONFLICT, Some("setup_already_done")));
    let (_, _, body, _) = call!(app, get("/api/setup/status"));
    assert_eq!(body, json!({"needs_setup": false}));

    // The admin is stored with an argon2id hash, and the creation is audited.
    let admin = h.store.user_by_username("ada").unwrap().unwrap();
    assert!(admin.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    let audit = h.store.list_audit(None, 10).unwrap().items;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "setup.first_administrator_created");
    assert_eq!(audit[0].ip, "192.0.2.10");
    assert!(!serde_json::to_string(&audit).unwrap().contains(ADMIN_PASSWORD));
}

/// Fifteen different four-byte characters: 15 code points, 60 bytes.
const EMOJI15: &str = "🔑🌲🦀🎈🚲🍋🌙⛵🎻🧭🪁🍄🐢🌋🎲";

#[actix_web::test]
async fn setup_enforces_password_rules() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let token = h.issue_setup_token();
    let cases = [
        ("a".repeat(14), "password"),
        ("a".repeat(129), "password"),
        ("1qaz2wsx3edc4rfv".to_owned(), "password"),
        ("Password12345678".to_owned(), "password"),
        ("grace.hopper.1906".to_owned(), "password"),
    ];
    for (pw, field) in cases {
        let (s, _, body, _) = call!(
            app,
            post(
                "/api/setup",
                json!({"token": token, "username": "grace.hopper.1906", "display_name": "Grace", "password": pw})
            )
        );
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{pw}: {body}");
        assert_eq!(body["error"], "validation_failed");
        assert_eq!(body["fields"][0]["field"], field, "{body}");
    }
    let (s, _, body, _) = call!(
        app,
        post("/api/setup", json!({"token": token, "username": "x", "display_name": " ", "password": EMOJI15}))
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> =
        body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect();
    assert_eq!(fields, ["username", "display_name"], "a 15-emoji password is long enough: {body}");
    // Nothing was written by the failures; the token still works.
    assert_eq!(h.store.count_users().unwrap(), 0);
    let (s, _, _, _) = call!(
        app,
        post("/api/setup", json!({"token": token, "username": "grace", "display_name": "Grace", "password": EMOJI15}))
    );
    assert_eq!(s, StatusCode::CREATED);
}

#[actix_web::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_logs_every_attempt() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let token = h.issue_setup_token();
    call!(
        app,
        post(
            "/api/setup",
            json!({"token": token, "username": ADMIN, "display_name": "Ada", "password": ADMIN_PASSWORD})
        )
    );

    let (s, _, wrong, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "ada", "password": "not the password at all"})));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, unknown, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "nobody", "password": "not the password at all"})));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown, "unknown user and wrong password must look the same");
    assert_eq!(wrong["error"], "invalid_credentials");

    let (s, headers, body, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "ADA", "password": ADMIN_PASSWORD})));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["me"]["username"], "ada");
    let set_cookie = set_cookie_header(&headers);
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    let cookie = session_cookie(&headers).unwrap();
    let value = cookie.split('=').nth(1).unwrap();
    assert_eq!(value.len(), 43, "256-bit token, base64url");

    let (s, _, me, _) = call!(app, get("/api/auth/me").insert_header(("cookie", cookie.clone())));
    assert_eq!((s, me["display_name"].as_str()), (StatusCode::OK, Some("Ada")));

    // The portal's probe answers 200 signed in or not (a signed-out page logs no failed request).
    let (s, _, probe, _) = call!(app, get("/api/auth/session").insert_header(("cookie", cookie.clone())));
    assert_eq!((s, &probe["me"]), (StatusCode::OK, &me), "{probe}");
    let (s, _, probe, _) = call!(app, get("/api/auth/session"));
    assert_eq!((s, probe), (StatusCode::OK, json!({"me": null})));
    let (s, _, probe, _) =
        call!(app, get("/api/auth/session").insert_header(("cookie", "proofup_session=not-a-session")));
    assert_eq!((s, probe), (StatusCode::OK, json!({"me": null})));

    // A second sign-in gets a different session id.
    let again = sign_in!(app, "ada", ADMIN_PASSWORD).0;
    assert_ne!(again, cookie);

    let log = h.store.list_sign_ins(None, 10).unwrap().items;
    let summary: Vec<_> = log.iter().map(|e| (e.username.as_str(), e.reason.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("ada", "Password; MFA registration policy off"),
            ("ada", "Password; MFA registration policy off"),
            ("nobody", "Unknown username"),
            ("ada", "Wrong password")
        ]
    );
    assert!(log.iter().all(|e| e.ip == "192.0.2.10" && e.interactive));
    let stored = serde_json::to_string(&log).unwrap();
    assert!(!stored.contains(ADMIN_PASSWORD) && !stored.contains(value));
    assert!(h.store.user(me["id"].as_str().unwrap()).unwrap().unwrap().last_sign_in_at.is_some());
}

#[actix_web::test]
async fn failed_sign_ins_throttle_the_account_then_lock_it() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let cookie = setup!(h, app);
    h.clock.advance(Duration::minutes(2)); // past the per-IP window of the set-up requests

    // Five different guesses (a wrong password typed again is not a new guess: counted once).
    for i in 0..5 {
        let (s, _, _, _) =
            call!(app, post("/api/auth/sign-in", json!({"username": "ada", "password": format!("wrong guess {i}")})));
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused during the delay, without being checked.
    let (s, headers, body, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "ada", "password": ADMIN_PASSWORD})));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers.get("retry-after").unwrap(), "30");
    assert_eq!(body["retry_after_seconds"], 30);
    // The same holds for a username that does not exist: the throttle reveals nothing.
    for i in 0..5 {
        call!(app, post("/api/auth/sign-in", json!({"username": "ghost", "password": format!("wrong guess {i}")})));
    }
    let (s, _, _, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "ghost", "password": "wrong wrong wrong"})));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);

    h.clock.advance(Duration::seconds(30));
    sign_in!(app, "ada", ADMIN_PASSWORD).0;
    assert_eq!(h.store.throttle("ada").unwrap().consecutive_failures, 0, "success resets the count");

    // 100 consecutive failures lock the account until an administrator unlocks it.
    let mut t = h.store.throttle("ada").unwrap();
    t.consecutive_failures = 100;
    t.last_failure_at = Some(h.clock.now() - Duration::days(3));
    h.store.put_throttle("ada", &t).unwrap();
    let (s, _, body, _) = call!(app, post("/api/auth/sign-in", json!({"username": "ada", "password": ADMIN_PASSWORD})));
    assert_eq!((s, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("account_locked")));

    let id = h.store.user_by_username("ada").unwrap().unwrap().id;
    let (s, _, body, _) =
        call!(app, post(&format!("/api/users/{id}/unlock"), json!({})).insert_header(("cookie", cookie.clone())));
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    sign_in!(app, "ada", ADMIN_PASSWORD).0;
    let audit = h.store.list_audit(None, 1).unwrap().items;
    assert_eq!(audit[0].action, "user.sign_in_unlocked");
    assert_eq!(audit[0].changes[0].before.as_deref(), Some("100"));

    let (s, _, _, _) = call!(app, post("/api/users/no-such-user/unlock", json!({})).insert_header(("cookie", cookie)));
    assert_eq!(s, StatusCode::NOT_FOUND);
}

use proofup::domain::clock::Clock as _;

#[actix_web::test]
async fn per_ip_limit_answers_429_with_retry_after() {
    let h = Harness::with_config(HttpConfig { sign_in_per_ip_per_minute: 3, ..HttpConfig::for_tests() });
    let app = init_service(proofup::http::app(h.state.clone())).await;
    for i in 0..3 {
        let (s, _, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": format!("u{i}"), "password": "x"})));
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    h.clock.advance(Duration::seconds(20));
    let (s, headers, body, _) = call!(app, post("/api/auth/sign-in", json!({"username": "u9", "password": "x"})));
    assert_eq!((s, body["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert_eq!(headers.get("retry-after").unwrap(), "40");
    // Another address is not affected; a forged X-Forwarded-For from an untrusted peer changes nothing.
    let other = post("/api/auth/sign-in", json!({"username": "u9", "password": "x"}))
        .peer_addr("198.51.100.7:1".parse().unwrap());
    assert_eq!(call!(app, other).0, StatusCode::UNAUTHORIZED);
    let forged = post("/api/auth/sign-in", json!({"username": "u9", "password": "x"}))
        .insert_header(("x-forwarded-for", "203.0.113.1"));
    assert_eq!(call!(app, forged).0, StatusCode::TOO_MANY_REQUESTS);
    let log = h.store.list_sign_ins(None, 10).unwrap().items;
    assert!(log.iter().any(|e| e.reason == "Too many attempts from this IP address"));
}

#[actix_web::test]
async fn sessions_end_after_idle_and_absolute_limits_and_at_sign_out() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let cookie = setup!(h, app);
    let me = |c: &str| get("/api/auth/me").insert_header(("cookie", c.to_owned()));

    // Idle: 29 minutes is fine, then 30 without a request ends it.
    h.clock.advance(Duration::minutes(29));
    assert_eq!(call!(app, me(&cookie)).0, StatusCode::OK);
    h.clock.advance(Duration::minutes(30));
    let (s, _, body, _) = call!(app, me(&cookie));
    assert_eq!((s, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    assert_eq!(h.store.count_sessions().unwrap(), 0, "expired session deleted");

    // Absolute: active every 20 minutes, still ends 12 hours after sign-in.
    let cookie = sign_in!(app, ADMIN, ADMIN_PASSWORD).0;
    for _ in 0..35 {
        h.clock.advance(Duration::minutes(20));
        assert_eq!(call!(app, me(&cookie)).0, StatusCode::OK);
    }
    h.clock.advance(Duration::minutes(20)); // 12 h after sign-in
    assert_eq!(call!(app, me(&cookie)).0, StatusCode::UNAUTHORIZED);

    // Sign-out deletes the session on the server and clears the cookie.
    let cookie = sign_in!(app, ADMIN, ADMIN_PASSWORD).0;
    let (s, headers, _, _) =
        call!(app, post("/api/auth/sign-out", json!({})).insert_header(("cookie", cookie.clone())));
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(set_cookie_header(&headers).contains("Max-Age=0"));
    assert_eq!(call!(app, me(&cookie)).0, StatusCode::UNAUTHORIZED, "old cookie replayed after sign-out");
    assert_eq!(h.store.count_sessions().unwrap(), 0);
    // Signing out again is harmless.
    assert_eq!(
        call!(app, post("/api/auth/sign-out", json!({})).insert_header(("cookie", cookie))).0,
        StatusCode::NO_CONTENT
    );
}

#[actix_web::test]
async fn disabled_user_session_ends_and_roles_are_checked_per_request() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin_cookie = setup!(h, app);
    // A plain user, written through the store (the directory API arrives later).
    let now = proofup::domain::clock::Clock::now(h.clock.as_ref());
    let hash = proofup::hashing::HashPool::new().hash("a plain user's passphrase".into()).await.unwrap();
    let user = User {
        id: "u-1".into(),
        username: "bob".into(),
        display_name: "Bob".into(),
        email: None,
        email_verified: false,
        admin_notices: false,
        role: Role::User,
        enabled: true,
        emergency_access: false,
        password_hash: hash,
        created_at: now,
        updated_at: now,
        last_sign_in_at: None,
    };
    let client = ClientInfo::new("127.0.0.1".into(), "test");
    h.store
        .create_user(&user, proofup::service::audit(now, None, "user.created", Some(&user), vec![], &client))
        .unwrap();
    assert!(matches!(
        h.store.create_user(&user, proofup::service::audit(now, None, "user.created", Some(&user), vec![], &client)),
        Err(proofup::store::StoreError::Conflict(_))
    ));
    let bob = sign_in!(app, "bob", "a plain user's passphrase").0;
    for path in ["/api/overview", "/api/audit", "/api/sign-ins"] {
        let (s, _, body, _) = call!(app, get(path).insert_header(("cookie", bob.clone())));
        assert_eq!((s, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{path}");
        let (s, _, _, _) = call!(app, get(path));
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path} anonymous");
        let (s, _, _, _) = call!(app, get(path).insert_header(("cookie", admin_cookie.clone())));
        assert_eq!(s, StatusCode::OK, "{path} admin");
    }
    let (s, _, _, _) = call!(app, post("/api/users/u-1/unlock", json!({})).insert_header(("cookie", bob.clone())));
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Disabling the user ends their live session at the next request.
    let mut disabled = user.clone();
    disabled.enabled = false;
    h.store
        .create_user(
            &User { username: "bob2".into(), id: "u-2".into(), ..disabled.clone() },
            proofup::service::audit(now, None, "user.created", None, vec![], &client),
        )
        .unwrap();
    let bob2 =
        call!(app, post("/api/auth/sign-in", json!({"username": "bob2", "password": "a plain user's passphrase"})));
    assert_eq!((bob2.0, bob2.2["error"].as_str()), (StatusCode::FORBIDDEN, Some("account_disabled")));
    let wrong = call!(app, post("/api/auth/sign-in", json!({"username": "bob2", "password": "not bob's passphrase"})));
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED, "disabled is only revealed to the right password");
}

#[actix_web::test]
async fn overview_counts_the_store() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let cookie = setup!(h, app);
    let (s, _, body, _) = call!(app, get("/api/overview").insert_header(("cookie", cookie)));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["me"]["username"], "ada");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["counts"], json!({"users": 1, "active_sessions": 1, "audit_entries": 1, "sign_in_entries": 1}));
}

#[actix_web::test]
async fn logs_page_by_key_newest_first() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let cookie = setup!(h, app);
    for i in 0..7 {
        // A minute apart: refused attempts naming no user share a row per address and minute.
        h.clock.advance(Duration::seconds(61));
        call!(app, post("/api/auth/sign-in", json!({"username": format!("user{i}"), "password": "x"})));
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = match &after {
            Some(a) => format!("/api/sign-ins?limit=3&after={a}"),
            None => "/api/sign-ins?limit=3".into(),
        };
        let (s, _, body, _) = call!(app, get(&q).insert_header(("cookie", cookie.clone())));
        assert_eq!(s, StatusCode::OK, "{body}");
        seen.extend(body["items"].as_array().unwrap().iter().map(|e| e["username"].as_str().unwrap().to_owned()));
        match body["next_after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["user6", "user5", "user4", "user3", "user2", "user1", "user0", "ada"]);
    for bad in [
        "/api/sign-ins?limit=0",
        "/api/sign-ins?limit=201",
        "/api/sign-ins?after=zz",
        "/api/sign-ins?limit=abc",
        "/api/audit?bogus=1",
    ] {
        let (s, _, body, _) = call!(app, get(bad).insert_header(("cookie", cookie.clone())));
        assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")), "{bad}");
    }
}

#[actix_web::test]
async fn state_changes_must_be_same_origin_json() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let body = json!({"username": "a", "password": "b"});
    let evil = post("/api/auth/sign-in", body.clone()).insert_header(("origin", "https://evil.example"));
    let (s, _, b, _) = call!(app, evil);
    assert_eq!((s, b["error"].as_str()), (StatusCode::FORBIDDEN, Some("cross_site_request")));
    let cross = post("/api/auth/sign-in", body.clone()).insert_header(("sec-fetch-site", "cross-site"));
    assert_eq!(call!(app, cross).0, StatusCode::FORBIDDEN);
    let sibling = post("/api/auth/sign-in", body.clone()).insert_header(("sec-fetch-site", "same-site"));
    assert_eq!(call!(app, sibling).0, StatusCode::FORBIDDEN);
    let form =
        post("/api/auth/sign-in", body.clone()).insert_header(("content-type", "application/x-www-form-urlencoded"));
    let (s, _, b, _) = call!(app, form);
    assert_eq!((s, b["error"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));
    let text = post("/api/auth/sign-out", json!({})).insert_header(("content-type", "text/plain"));
    assert_eq!(call!(app, text).0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let none = actix_web::test::TestRequest::post().uri("/api/auth/sign-out");
    assert_eq!(call!(app, none).0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A client without Origin / Sec-Fetch-Site (curl, scripts) is fine when it sends JSON.
    let plain = actix_web::test::TestRequest::post()
        .uri("/api/auth/sign-in")
        .insert_header(("content-type", "application/json; charset=utf-8"))
        .set_payload(body.to_string());
    assert_eq!(call!(app, plain).0, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn bad_bodies_get_typed_errors_and_nothing_is_written() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let raw = |payload: String| post("/api/auth/sign-in", json!(null)).set_payload(payload);

    let (s, _, b, bytes) = call!(app, raw("{\"username\": \"a\", ".into()));
    assert_eq!((s, b["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("line") && !text.contains("column"), "{text}");

    let (s, _, b, _) = call!(app, raw(json!({"username": "a"}).to_string()));
    assert_eq!((s, b["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
    assert!(b["message"].as_str().unwrap().contains("password"), "{b}");

    let (s, _, b, _) =
        call!(app, raw(json!({"username": "a", "password": "b", "role": "global_administrator"}).to_string()));
    assert_eq!((s, b["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));

    let (s, _, b, _) = call!(app, raw(format!("{{\"username\": \"{}\", \"password\": \"x\"}}", "a".repeat(100_000))));
    assert_eq!((s, b["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));

    let (s, _, b, _) = call!(app, raw("[1,2,3]".into()));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(h.store.count_sign_ins().unwrap(), 0, "rejected bodies never reach the sign-in logic");
}

#[actix_web::test]
async fn unknown_api_paths_are_json_404_and_other_paths_get_the_portal() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let (s, headers, b, _) = call!(app, get("/api/no/such/thing"));
    assert_eq!((s, b["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    assert!(headers.get("content-type").unwrap().to_str().unwrap().starts_with("application/json"));

    for deep in ["/", "/users", "/logs/audit", "/no/such/page"] {
        let (s, headers, _, bytes) = call!(app, get(deep));
        assert_eq!(s, StatusCode::OK, "{deep}");
        assert_eq!(headers.get("content-type").unwrap(), "text/html; charset=utf-8");
        assert_eq!(headers.get("cache-control").unwrap(), "no-cache");
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        assert!(String::from_utf8_lossy(&bytes).contains("<title>Proofup</title>"));
    }
    let (s, _, _, _) = call!(app, actix_web::test::TestRequest::delete().uri("/users"));
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _, b, _) = call!(app, get("/healthz"));
    assert_eq!((s, b), (StatusCode::OK, json!({"status": "ok"})));
    let (s, _, b, _) = call!(app, get("/readyz"));
    assert_eq!((s, b), (StatusCode::OK, json!({"status": "ready"})));
}

#[actix_web::test]
async fn built_assets_are_cached_compressed_and_typed() {
    if !proofup::http::assets::ui_built() {
        eprintln!("portal not built into this test binary (run `make test`): only the fallback page is checked");
        let h = Harness::new();
        let app = init_service(proofup::http::app(h.state.clone())).await;
        let (_, _, _, bytes) = call!(app, get("/"));
        assert!(String::from_utf8_lossy(&bytes).contains("make run"));
        return;
    }
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let (_, _, _, index) = call!(app, get("/"));
    let index = String::from_utf8_lossy(&index).to_string();
    let wasm = index.split('\'').find(|s| s.ends_with("_bg.wasm")).expect("wasm in index.html").to_owned();
    let (s, headers, _, plain) = call!(app, get(&wasm));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers.get("content-type").unwrap(), "application/wasm");
    assert_eq!(headers.get("cache-control").unwrap(), "public, max-age=31536000, immutable");
    assert!(headers.get("content-encoding").is_none());
    let (_, headers, _, br) = call!(app, get(&wasm).insert_header(("accept-encoding", "gzip, deflate, br")));
    assert_eq!(headers.get("content-encoding").unwrap(), "br");
    assert!(br.len() * 2 < plain.len(), "brotli at least halves the wasm: {} vs {}", br.len(), plain.len());
    let (_, headers, _, gz) = call!(app, get(&wasm).insert_header(("accept-encoding", "gzip")));
    assert_eq!(headers.get("content-encoding").unwrap(), "gzip");
    assert!(gz.len() < plain.len());
    let (_, headers, _, _) = call!(app, get(&wasm).insert_header(("accept-encoding", "br;q=0, gzip")));
    assert_eq!(headers.get("content-encoding").unwrap(), "gzip");

    // Two bundles: the pages only administrators use come with the administrators' bundle, every
    // other page with the everyday one, which is the smaller; the CSP lets both loaders run.
    let wasm_of = |html: &[u8]| {
        let html = String::from_utf8_lossy(html).to_string();
        html.split('\'').find(|s| s.ends_with("_bg.wasm")).expect("wasm in the page").to_owned()
    };
    for page in ["/sign-in", "/security-info", "/sign-in/more-information?x=1", "/setup", "/no-such-page"] {
        let (s, headers, _, html) = call!(app, get(page));
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(headers.get("cache-control").unwrap(), "no-cache", "{page}");
        assert_eq!(wasm_of(&html), wasm, "{page} is an everyday page");
    }
    let (_, headers, _, admin) = call!(app, get("/users/some-id"));
    let admin_wasm = wasm_of(&admin);
    assert_ne!(admin_wasm, wasm, "the administrators' pages have their own bundle");
    assert_eq!(headers.get("cache-control").unwrap(), "no-cache");
    for page in
        ["/users", "/groups/g", "/policy/mfa-registration", "/applications/new", "/reports/registration", "/logs/audit"]
    {
        let (_, _, _, html) = call!(app, get(page));
        assert_eq!(wasm_of(&html), admin_wasm, "{page}");
    }
    let (s, _, _, admin_plain) = call!(app, get(&admin_wasm));
    assert_eq!(s, StatusCode::OK);
    assert!(
        plain.len() < admin_plain.len(),
        "the everyday bundle is the smaller: {} vs {}",
        plain.len(),
        admin_plain.len()
    );
    let csp = headers.get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert_eq!(csp.matches("'sha256-").count(), 2, "one loader hash per bundle: {csp}");
}

#[actix_web::test]
async fn every_documented_operation_is_served() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let (s, _, doc, _) = call!(app, get("/api/openapi.json"));
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut ops = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            ops.push((method.clone(), path.clone()));
        }
    }
    for (method, path) in &ops {
        let uri = path.replace("{id}", "some-id").replace("{kind}", "user").replace("{member}", "some-member");
        let req = match method.as_str() {
            "get" => get(&uri),
            "post" => post(&uri, json!({})),
            "patch" => post(&uri, json!({})).method(actix_web::http::Method::PATCH),
            "put" => post(&uri, json!({})).method(actix_web::http::Method::PUT),
            "delete" => post(&uri, json!({})).method(actix_web::http::Method::DELETE),
            other => panic!("unexpected method {other}"),
        };
        let (_, _, body, _) = call!(app, req);
        let msg = body["message"].as_str().unwrap_or("");
        assert!(!msg.starts_with("No API route"), "{method} {path} is documented but not served");
    }
    // And the ones the portal relies on are documented.
    for needed in [
        "/api/setup",
        "/api/setup/status",
        "/api/auth/sign-in",
        "/api/auth/sign-out",
        "/api/auth/me",
        "/api/overview",
        "/api/audit",
        "/api/sign-ins",
        "/api/users/{id}/unlock",
        "/api/groups",
        "/api/groups/{id}/members",
        "/api/policy",
        "/api/policy/impact",
        "/api/policy/what-if",
        "/api/reports/registration",
        "/api/auth/second-factor",
        "/api/auth/skip-registration",
        "/api/me/methods/totp",
        "/api/me/methods/totp/confirm",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(needed), "{needed} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"]["ApiError"].is_object());
}

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (_, _, _, index) = call!(app, get("/"));
    let index = String::from_utf8_lossy(&index).to_string();
    let mut requests = vec![
        ("portal", get("/")),
        ("deep link", get("/users/123")),
        ("API JSON", with(&admin, get("/api/overview"))),
        ("API 401", get("/api/overview")),
        ("API 404", get("/api/nope")),
        ("API 422", post("/api/auth/sign-in", json!({"username": 1}))),
        ("healthz", get("/healthz")),
        ("405", post("/", json!({}))),
    ];
    if let Some(wasm) = index.split('\'').find(|s| s.ends_with("_bg.wasm")) {
        requests.push(("wasm", get(wasm)));
    }
    for (what, req) in requests {
        let (_, hd, _, _) = call!(app, req);
        let csp = hd.get("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP")).to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "connect-src 'self'",
        ] {
            assert!(csp.contains(directive), "{what}: {directive} missing from {csp}");
        }
        assert!(!csp.contains("'unsafe-eval'") && !csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        assert_eq!(hd.get("x-content-type-options").unwrap(), "nosniff", "{what}");
        assert_eq!(hd.get("referrer-policy").unwrap(), "no-referrer", "{what}");
        assert!(hd.get("strict-transport-security").is_none(), "{what}: no HSTS over plain http");
    }
    // The CSP lets exactly the portal's inline loader run: its hash is in script-src.
    let (_, hd, _, _) = call!(app, get("/"));
    let csp = hd.get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    for hash in proofup::http::assets::inline_script_hashes(&index) {
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{hash} not allowed by {csp}");
    }
    // Authenticated API answers are never cached.
    let (_, hd, _, _) = call!(app, with(&admin, get("/api/users")));
    assert_eq!(hd.get("cache-control").unwrap(), "no-store");

    // Over https (secure cookies): HSTS for a year, subdomains included.
    let mut config = proofup::config::HttpConfig::for_tests();
    config.public_url = "https://id.example.com".into();
    config.secure_cookies = true;
    let h2 = Harness::with_config(config);
    let app2 = init_service(proofup::http::app(h2.state.clone())).await;
    let (_, hd, _, _) = call!(app2, get("/healthz"));
    assert_eq!(hd.get("strict-transport-security").unwrap(), "max-age=31536000; includeSubDomains");
}
