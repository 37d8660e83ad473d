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
