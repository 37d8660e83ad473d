//! Directory users through the API: temporary access passes, set password, roles, disable, delete.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use serde_json::{json, Value};
use time::Duration;

/// Creates a user as `cookie` and returns (id, pass code).
macro_rules! create_user {
    ($app:expr, $cookie:expr, $body:expr) => {{
        let (s, _, body, _) = call!($app, with(&$cookie, post("/api/users", $body)));
        assert_eq!(s, StatusCode::CREATED, "{body}");
        (
            body["user"]["id"].as_str().unwrap().to_owned(),
            body["temporary_access_pass"]["code"].as_str().unwrap().to_owned(),
        )
    }};
}

const BOB_PASSWORD: &str = "lantern harbor quiet seven";

#[actix_web::test]
async fn a_new_user_signs_in_once_with_the_pass_and_must_set_a_password() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);

    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post("/api/users", json!({"username": "Bob", "display_name": "Bob Builder", "email": "bob@example.org"}))
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["username"], "bob");
    assert_eq!(body["user"]["role"], "user");
    assert_eq!(body["user"]["has_password"], false);
    let code = body["temporary_access_pass"]["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 19, "{code}");
    let expires = body["temporary_access_pass"]["expires_at"].as_str().unwrap();
    assert!(expires.starts_with("2026-11-28T17:00"), "8 hours: {expires}");
    let id = body["user"]["id"].as_str().unwrap().to_owned();

    // Duplicates and bad input.
    let (s, _, b, _) =
        call!(app, with(&admin, post("/api/users", json!({"username": "BOB", "display_name": "Other"}))));
    assert_eq!((s, b["error"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (s, _, b, _) =
        call!(app, with(&admin, post("/api/users", json!({"username": "-x", "display_name": "", "email": "nope"}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = b["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["username", "display_name", "email"]);
    let (s, _, _, _) = call!(
        app,
        with(&admin, post("/api/users", json!({"username": "eve", "display_name": "Eve", "password_hash": "x"})))
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused");

    // The pass works, typed loosely, once; the session can do nothing but set a password.
    let loose = code.to_lowercase().replace('-', " ");
    let (bob, me) = sign_in!(app, "bob", loose);
    assert_eq!(me["me"]["must_set_password"], true);
    let (s, _, b, _) = call!(app, with(&bob, get(&format!("/api/users/{id}"))));
    assert_eq!((s, b["error"].as_str()), (StatusCode::FORBIDDEN, Some("password_change_required")));
    let (s, _, b, _) = call!(app, with(&bob, get("/api/auth/me")));
    assert_eq!((s, b["must_set_password"].as_bool()), (StatusCode::OK, Some(true)));
    let (s, _, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": code})));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the pass is single use");

    // Setting a password: the rules apply, then a new session replaces the old.
    let (s, _, b, _) = call!(app, with(&bob, post("/api/auth/password", json!({"new_password": "bob"}))));
    assert_eq!((s, b["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password")));
    let (s, headers, b, _) = call!(app, with(&bob, post("/api/auth/password", json!({"new_password": BOB_PASSWORD}))));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["must_set_password"], false);
    let fresh = session_cookie(&headers).unwrap();
    assert_ne!(fresh, bob);
    assert_eq!(call!(app, with(&bob, get("/api/auth/me"))).0, StatusCode::UNAUTHORIZED, "old session ended");
    let (s, _, b, _) = call!(app, with(&fresh, get(&format!("/api/users/{id}"))));
    assert_eq!((s, b["has_password"].as_bool()), (StatusCode::OK, Some(true)), "a user reads their own record");
    let (bob2, _) = sign_in!(app, "bob", BOB_PASSWORD);

    // Changing it again from a full session needs the current password.
    let (s, _, b, _) =
        call!(app, with(&bob2, post("/api/auth/password", json!({"new_password": "another long passphrase"}))));
    assert_eq!((s, b["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password")));

    // The admin sees the last sign-in; the log says how.
    let (_, _, b, _) = call!(app, with(&admin, get(&format!("/api/users/{id}"))));
    assert!(b["last_sign_in_at"].is_string(), "{b}");
    let how: Vec<_> = h
        .store
        .list_sign_ins(None, 10)
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.username == "bob")
        .map(|e| e.reason)
        .collect();
    assert_eq!(
        how,
        [
            "Password; MFA registration policy off",
            "Password chosen after a temporary access pass; MFA registration policy off",
            "Wrong password",
            "Temporary access pass"
        ]
    );
    let actions: Vec<_> = h.store.list_audit(None, 10).unwrap().items.into_iter().map(|e| e.action).collect();
    assert_eq!(actions[0], "user.password_set");
    assert!(
        actions.contains(&"user.created".to_owned())
            && actions.contains(&"user.temporary_access_pass_issued".to_owned())
    );
    let audit_text = serde_json::to_string(&h.store.list_audit(None, 50).unwrap()).unwrap();
    assert!(!audit_text.contains(&code) && !audit_text.contains(BOB_PASSWORD), "no secrets in the audit log");
}

#[actix_web::test]
async fn passes_expire_and_reset_sign_in_replaces_the_password() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (id, code) = create_user!(app, admin, json!({"username": "carol", "display_name": "Carol"}));
    h.clock.advance(Duration::hours(8));
    let (s, _, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "carol", "password": code})));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "expired after 8 hours");
    let admin = sign_in!(app, ADMIN, ADMIN_PASSWORD).0; // the admin's session idled out meanwhile

    let (s, _, pass, _) = call!(app, with(&admin, post(&format!("/api/users/{id}/reset-sign-in"), json!({}))));
    assert_eq!(s, StatusCode::OK, "{pass}");
    let code = pass["code"].as_str().unwrap();
    let (carol, _) = sign_in!(app, "carol", code);
    call!(app, with(&carol, post("/api/auth/password", json!({"new_password": BOB_PASSWORD}))));
    let (carol, _) = sign_in!(app, "carol", BOB_PASSWORD);

    // Reset: sessions end, the password stops working, the new pass works.
    let (_, _, pass, _) = call!(app, with(&admin, post(&format!("/api/users/{id}/reset-sign-in"), json!({}))));
    assert_eq!(call!(app, with(&carol, get("/api/auth/me"))).0, StatusCode::UNAUTHORIZED);
    let (s, _, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "carol", "password": BOB_PASSWORD})));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, me) = sign_in!(app, "carol", pass["code"].as_str().unwrap());
    assert_eq!(me["me"]["must_set_password"], true);

    let (s, _, _, _) = call!(app, with(&admin, post("/api/users/nope/reset-sign-in", json!({}))));
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn disabling_ends_sessions_and_deleting_keeps_the_logs() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (id, code) = create_user!(app, admin, json!({"username": "dave", "display_name": "Dave"}));
    let (dave, _) = sign_in!(app, "dave", code);
    call!(app, with(&dave, post("/api/auth/password", json!({"new_password": BOB_PASSWORD}))));
    let (dave, _) = sign_in!(app, "dave", BOB_PASSWORD);

    let (s, _, b, _) = call!(app, with(&admin, patch(&format!("/api/users/{id}"), json!({"enabled": false}))));
    assert_eq!((s, b["enabled"].as_bool()), (StatusCode::OK, Some(false)), "{b}");
    assert_eq!(
        call!(app, with(&dave, get("/api/auth/me"))).0,
        StatusCode::UNAUTHORIZED,
        "disabled: session ended at once"
    );
    let (s, _, b, _) = call!(app, post("/api/auth/sign-in", json!({"username": "dave", "password": BOB_PASSWORD})));
    assert_eq!((s, b["error"].as_str()), (StatusCode::FORBIDDEN, Some("account_disabled")));
    call!(app, with(&admin, patch(&format!("/api/users/{id}"), json!({"enabled": true}))));
    let (dave, _) = sign_in!(app, "dave", BOB_PASSWORD);
    let audit = h.store.list_audit(None, 3).unwrap().items;
    assert_eq!(audit[0].action, "user.enabled");
    assert_eq!(audit[1].action, "user.disabled");
    assert_eq!(audit[1].changes[0].field, "enabled");

    // An empty PATCH changes nothing and writes no audit entry.
    let before = h.store.count_audit().unwrap();
    let (s, _, _, _) = call!(app, with(&admin, patch(&format!("/api/users/{id}"), json!({}))));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.store.count_audit().unwrap(), before);

    let (s, _, _, _) = call!(app, with(&admin, delete(&format!("/api/users/{id}"))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(call!(app, with(&admin, get(&format!("/api/users/{id}")))).0, StatusCode::NOT_FOUND);
    assert_eq!(call!(app, with(&admin, delete(&format!("/api/users/{id}")))).0, StatusCode::NOT_FOUND);
    assert_eq!(call!(app, with(&dave, get("/api/auth/me"))).0, StatusCode::UNAUTHORIZED);
    assert_eq!(h.store.count_sessions().unwrap(), 1, "only the admin's session is left");
    assert!(h.store.list_sign_ins(None, 50).unwrap().items.iter().any(|e| e.username == "dave"), "log entries stay");
    // The name is free again.
    create_user!(app, admin, json!({"username": "dave", "display_name": "Another Dave"}));
}

#[actix_web::test]
async fn the_last_global_administrator_stays() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let me = call!(app, with(&admin, get("/api/auth/me"))).2;
    let my_id = me["id"].as_str().unwrap().to_owned();
    let (s, _, b, _) =
        call!(app, with(&admin, patch(&format!("/api/users/{my_id}"), json!({"role": "security_reader"}))));
    assert_eq!((s, b["error"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{b}");
    assert!(b["message"].as_str().unwrap().contains("last enabled Global administrator"));
    let (s, _, _, _) = call!(app, with(&admin, patch(&format!("/api/users/{my_id}"), json!({"enabled": false}))));
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _, _) = call!(app, with(&admin, delete(&format!("/api/users/{my_id}"))));
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (other, _) =
        create_user!(app, admin, json!({"username": "grace", "display_name": "Grace", "role": "global_administrator"}));
    let (s, _, b, _) =
        call!(app, with(&admin, patch(&format!("/api/users/{my_id}"), json!({"role": "security_reader"}))));
    assert_eq!(s, StatusCode::OK, "{b}");
    // Now ada is a reader: she cannot change grace back, and grace is the last one.
    let (s, _, _, _) = call!(app, with(&admin, patch(&format!("/api/users/{other}"), json!({"enabled": false}))));
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn roles_decide_who_may_do_what() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let mut cookies = std::collections::HashMap::new();
    for role in ["security_administrator", "security_operator", "security_reader", "user"] {
        let name = role.replace('_', ".");
        let (_, code) = create_user!(app, admin, json!({"username": name, "display_name": role, "role": role}));
        let (c, _) = sign_in!(app, name.as_str(), code);
        let (s, headers, _, _) =
            call!(app, with(&c, post("/api/auth/password", json!({"new_password": BOB_PASSWORD}))));
        assert_eq!(s, StatusCode::OK);
        cookies.insert(role, session_cookie(&headers).unwrap());
    }
    let (target, _) = create_user!(app, admin, json!({"username": "target", "display_name": "Target"}));
    let sa = &cookies["security_administrator"];
    // Security administrators manage plain users, not roles or break-glass accounts.
    let (s, _, _, _) = call!(app, with(sa, post("/api/users", json!({"username": "u2", "display_name": "U2"}))));
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, _, _) = call!(
        app,
        with(sa, post("/api/users", json!({"username": "u3", "display_name": "U3", "role": "security_reader"})))
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _, _) = call!(
        app,
        with(sa, post("/api/users", json!({"username": "u4", "display_name": "U4", "emergency_access": true})))
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _, _) = call!(app, with(sa, patch(&format!("/api/users/{target}"), json!({"display_name": "Renamed"}))));
    assert_eq!(s, StatusCode::OK);
    let (s, _, _, _) =
        call!(app, with(sa, patch(&format!("/api/users/{target}"), json!({"role": "global_administrator"}))));
    assert_eq!(s, StatusCode::FORBIDDEN);
    let ada = call!(app, with(&admin, get("/api/auth/me"))).2["id"].as_str().unwrap().to_owned();
    let (s, _, _, _) = call!(app, with(sa, patch(&format!("/api/users/{ada}"), json!({"display_name": "Nope"}))));
    assert_eq!(s, StatusCode::FORBIDDEN, "cannot edit an administrator");
    // Only the Global administrator sets emergency access.
    let (s, _, b, _) =
        call!(app, with(&admin, patch(&format!("/api/users/{target}"), json!({"emergency_access": true}))));
    assert_eq!((s, b["emergency_access"].as_bool()), (StatusCode::OK, Some(true)));

    // Readers read; nobody below security administrator writes; users see only themselves.
    for role in ["security_operator", "security_reader"] {
        let c = &cookies[role];
        assert_eq!(call!(app, with(c, get("/api/users"))).0, StatusCode::OK, "{role}");
        assert_eq!(call!(app, with(c, get(&format!("/api/users/{target}")))).0, StatusCode::OK, "{role}");
        assert_eq!(
            call!(app, with(c, post("/api/users", json!({"username": "zz", "display_name": "Z"})))).0,
            StatusCode::FORBIDDEN,
            "{role}"
        );
        assert_eq!(
            call!(app, with(c, patch(&format!("/api/users/{target}"), json!({"enabled": false})))).0,
            StatusCode::FORBIDDEN,
            "{role}"
        );
        assert_eq!(call!(app, with(c, delete(&format!("/api/users/{target}")))).0, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(
            call!(app, with(c, post(&format!("/api/users/{target}/reset-sign-in"), json!({})))).0,
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }
    let u = &cookies["user"];
    assert_eq!(call!(app, with(u, get("/api/users"))).0, StatusCode::FORBIDDEN);
    assert_eq!(call!(app, with(u, get(&format!("/api/users/{target}")))).0, StatusCode::FORBIDDEN);
    for path in ["/api/users", "/api/users/x"] {
        assert_eq!(call!(app, get(path)).0, StatusCode::UNAUTHORIZED, "{path} anonymous");
    }
}

#[actix_web::test]
async fn users_list_by_username_with_prefix_search_and_keyset_paging() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    for name in ["zoe", "amy", "anna", "andrew", "bert", "ann"] {
        create_user!(app, admin, json!({"username": name, "display_name": name}));
    }
    let names = |b: &Value| {
        b["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let (_, _, b, _) = call!(app, with(&admin, get("/api/users?limit=3")));
    assert_eq!(names(&b), ["ada", "amy", "andrew"]);
    let next = b["next_after"].as_str().unwrap().to_owned();
    let (_, _, b, _) = call!(app, with(&admin, get(&format!("/api/users?limit=3&after={next}"))));
    assert_eq!(names(&b), ["ann", "anna", "bert"]);
    let (_, _, b, _) =
        call!(app, with(&admin, get(&format!("/api/users?limit=3&after={}", b["next_after"].as_str().unwrap()))));
    assert_eq!(names(&b), ["zoe"]);
    assert!(b["next_after"].is_null());
    let (_, _, b, _) = call!(app, with(&admin, get("/api/users?q=AN&limit=2")));
    assert_eq!(names(&b), ["andrew", "ann"]);
    let (_, _, b, _) =
        call!(app, with(&admin, get(&format!("/api/users?q=an&limit=2&after={}", b["next_after"].as_str().unwrap()))));
    assert_eq!(names(&b), ["anna"]);
    let (s, _, _, _) = call!(app, with(&admin, get("/api/users?limit=500")));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _, _) = call!(app, with(&admin, get("/api/users?role=emperor")));
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Filters: role, enabled, emergency access.
    let (_, _, b, _) = call!(app, with(&admin, get("/api/users?role=global_administrator")));
    assert_eq!(names(&b), ["ada"]);
    let (_, _, b, _) = call!(app, with(&admin, get("/api/users?q=a")));
    let anna = b["items"].as_array().unwrap().iter().find(|u| u["username"] == "anna").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call!(app, with(&admin, patch(&format!("/api/users/{anna}"), json!({"enabled": false, "emergency_access": true}))));
    let (_, _, b, _) = call!(app, with(&admin, get("/api/users?enabled=false")));
    assert_eq!(names(&b), ["anna"]);
    let (_, _, b, _) = call!(app, with(&admin, get("/api/users?emergency_access=true&q=an")));
    assert_eq!(names(&b), ["anna"]);
    let (_, _, b, _) = call!(app, with(&admin, get("/api/users?role=user&enabled=true&limit=2")));
    assert_eq!(names(&b), ["amy", "andrew"]);
}

#[actix_web::test]
async fn a_disabled_users_pass_is_not_burnt() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (id, code) = create_user!(app, admin, json!({"username": "erin", "display_name": "Erin"}));
    call!(app, with(&admin, patch(&format!("/api/users/{id}"), json!({"enabled": false}))));
    let (s, _, b, _) = call!(app, post("/api/auth/sign-in", json!({"username": "erin", "password": code})));
    assert_eq!((s, b["error"].as_str()), (StatusCode::FORBIDDEN, Some("account_disabled")));
    call!(app, with(&admin, patch(&format!("/api/users/{id}"), json!({"enabled": true}))));
    let (_, me) = sign_in!(app, "erin", code);
    assert_eq!(me["me"]["must_set_password"], true);
}
