//! Log searches: sign-ins by user, result and time; audit entries by actor, target, action and time; paging.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use serde_json::json;
use time::Duration;

#[actix_web::test]
async fn logs_filter_by_who_what_and_when_with_paging() {
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
    // Day 1 (2026-11-28): a wrong password for bob (unknown), the admin signs in.
    call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": "nope nope nope nope"})));
    // Day 2: the admin signs in and creates two users.
    h.clock.advance(Duration::days(1));
    let (_, hd, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": ADMIN, "password": ADMIN_PASSWORD})));
    let c = session_cookie(&hd).unwrap();
    for name in ["carol", "dave"] {
        let (s, _, _, _) = call!(
            app,
            post("/api/users", json!({"username": name, "display_name": name})).insert_header(("cookie", c.clone()))
        );
        assert_eq!(s, StatusCode::CREATED);
    }
    let q = |path: &str| get(path).insert_header(("cookie", c.clone()));

    let (_, _, page, _) = call!(app, q("/api/sign-ins?result=failure"));
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["username"], "bob");
    let (_, _, page, _) = call!(app, q("/api/sign-ins?user=ADA"));
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "case-insensitive username");
    let (_, _, page, _) = call!(app, q("/api/sign-ins?to=2026-11-28"));
    assert_eq!(page["items"][0]["username"], "bob", "day 1 only: {page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, _, page, _) = call!(app, q("/api/sign-ins?from=2026-11-29T00:00:00Z"));
    assert_eq!(page["items"][0]["username"], ADMIN);

    let (_, _, page, _) = call!(app, q("/api/audit?action=user.created"));
    let targets: Vec<&str> = page["items"].as_array().unwrap().iter().map(|e| e["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["dave", "carol"], "newest first");
    let (_, _, page, _) = call!(app, q("/api/audit?action=user.created&target=CAR&actor=ada"));
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, _, page, _) = call!(app, q("/api/audit?actor=someone-else"));
    assert!(page["items"].as_array().unwrap().is_empty());
    assert!(page["next_after"].is_null());

    // Paging through a filtered search.
    let (_, _, p1, _) = call!(app, q("/api/audit?action=user.created&limit=1"));
    assert_eq!(p1["items"][0]["target"], "dave");
    let next = p1["next_after"].as_str().unwrap();
    let (_, _, p2, _) = call!(app, q(&format!("/api/audit?action=user.created&limit=1&after={next}")));
    assert_eq!(p2["items"][0]["target"], "carol");

    // Bad input is a typed 400.
    for bad in
        ["/api/audit?from=yesterday", "/api/sign-ins?result=maybe", "/api/audit?after=zz", "/api/sign-ins?limit=0"]
    {
        let (s, _, body, _) = call!(app, q(bad));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "bad_request");
    }
}

#[actix_web::test]
async fn a_users_live_sessions_are_listed_without_tokens() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let token = h.issue_setup_token();
    let (_, _, me, _) = call!(
        app,
        post(
            "/api/setup",
            json!({"token": token, "username": ADMIN, "display_name": "Ada", "password": ADMIN_PASSWORD})
        )
    );
    let id = me["id"].as_str().unwrap().to_owned();
    let (_, hd, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": ADMIN, "password": ADMIN_PASSWORD})));
    let c1 = session_cookie(&hd).unwrap();
    h.clock.advance(Duration::minutes(1));
    let (_, hd, _, _) = call!(
        app,
        post("/api/auth/sign-in", json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
            .insert_header(("user-agent", "Firefox/140"))
    );
    let c2 = session_cookie(&hd).unwrap();
    let (s, _, list, raw) = call!(app, get(&format!("/api/users/{id}/sessions")).insert_header(("cookie", c1.clone())));
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["user_agent"], "Firefox/140", "newest first");
    assert_eq!(list[0]["stage"], "full");
    let raw = String::from_utf8_lossy(&raw).to_string();
    for c in [&c1, &c2] {
        assert!(!raw.contains(c.split('=').nth(1).unwrap()), "no token in the listing");
    }
    // Signing out removes it from the list.
    call!(app, post("/api/auth/sign-out", json!({})).insert_header(("cookie", c2)));
    let (_, _, list, _) = call!(app, get(&format!("/api/users/{id}/sessions")).insert_header(("cookie", c1.clone())));
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (s, _, _, _) = call!(app, get("/api/users/nope/sessions").insert_header(("cookie", c1)));
    assert_eq!(s, StatusCode::NOT_FOUND);
}
