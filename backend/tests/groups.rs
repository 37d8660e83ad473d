//! Groups through the real API: nesting, cycles refused, membership paths.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use serde_json::json;

#[actix_web::test]
async fn groups_nest_refuse_cycles_and_show_paths() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    let eng = group!(app, admin, "Engineering");
    let staff = group!(app, admin, "Staff");
    let all = group!(app, admin, "Everyone");
    add!(app, admin, eng, "user", bob);
    add!(app, admin, staff, "group", eng);
    add!(app, admin, all, "group", staff);

    // Duplicate names (case-insensitive), bad names, unknown ids, cycles.
    let (s, _, body, _) = call!(app, with(&admin, post("/api/groups", json!({"name": "engineering"}))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _, body, _) = call!(app, with(&admin, post("/api/groups", json!({"name": ""}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "name");
    let (s, _, _, _) = call!(app, with(&admin, get("/api/groups/nope")));
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, body, _) =
        call!(app, with(&admin, post(&format!("/api/groups/{eng}/members"), json!({"kind": "group", "id": all}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains("cycle") && msg.contains("Engineering → Staff → Everyone"), "{msg}");
    let (s, _, body, _) =
        call!(app, with(&admin, post(&format!("/api/groups/{eng}/members"), json!({"kind": "user", "id": "ghost"}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _, _, _) =
        call!(app, with(&admin, post(&format!("/api/groups/{eng}/members"), json!({"kind": "user", "id": bob}))));
    assert_eq!(s, StatusCode::OK, "adding twice is a no-op");

    // Bob's groups, with the path by name.
    let (s, _, body, _) = call!(app, with(&admin, get(&format!("/api/users/{bob}/groups"))));
    assert_eq!(s, StatusCode::OK);
    let paths: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["path"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect::<Vec<_>>().join(" → "))
        .collect();
    assert_eq!(paths, ["Engineering", "Engineering → Staff", "Engineering → Staff → Everyone"]);

    // Detail, search, paging, rename.
    let (_, _, body, _) = call!(app, with(&admin, get(&format!("/api/groups/{staff}"))));
    assert_eq!(body["members"][0]["name"], "Engineering");
    assert_eq!(body["member_of"][0]["name"], "Everyone");
    let (_, _, body, _) = call!(app, with(&admin, get("/api/directory/search?q=e")));
    let names: Vec<&str> = body.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Engineering", "Everyone"]);
    let (_, _, body, _) = call!(app, with(&admin, get("/api/groups?limit=2")));
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let next = body["next_after"].as_str().unwrap().to_owned();
    let (_, _, body, _) = call!(app, with(&admin, get(&format!("/api/groups?limit=2&after={next}"))));
    assert_eq!(body["items"][0]["name"], "Staff");
    assert!(body["next_after"].is_null());
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post(&format!("/api/groups/{staff}"), json!({"name": "All staff"})).method(actix_web::http::Method::PATCH)
        )
    );
    assert_eq!(s, StatusCode::OK, "{body}");

    // A plain user cannot read or change groups.
    let (bob_cookie, _) = sign_in!(app, "bob", PW);
    let (s, _, _, _) = call!(app, with(&bob_cookie, get("/api/groups")));
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _, _) = call!(app, with(&bob_cookie, post("/api/groups", json!({"name": "Mine"}))));
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Deleting the middle group removes it from its parent; the index follows.
    let (s, _, _, _) = call!(app, with(&admin, delete(&format!("/api/groups/{staff}"))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, body, _) = call!(app, with(&admin, get(&format!("/api/users/{bob}/groups"))));
    assert_eq!(body.as_array().unwrap().len(), 1);
    let (_, _, body, _) = call!(app, with(&admin, get(&format!("/api/groups/{all}"))));
    assert!(body["members"].as_array().unwrap().is_empty());
    // Removing a membership that is not there is a 404.
    let (s, _, _, _) = call!(app, with(&admin, delete(&format!("/api/groups/{all}/members/group/{eng}"))));
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _, _) = call!(app, with(&admin, delete(&format!("/api/groups/{eng}/members/user/{bob}"))));
    assert_eq!(s, StatusCode::NO_CONTENT);

    // The index is rebuilt from the store at start.
    add!(app, admin, all, "group", eng);
    add!(app, admin, eng, "user", bob);
    let fresh = common::state(h.store.clone(), h.clock.clone(), proofup::config::HttpConfig::for_tests());
    let app2 = init_service(proofup::http::app(fresh)).await;
    let (_, _, body, _) = call!(app2, with(&admin, get(&format!("/api/users/{bob}/groups"))));
    assert_eq!(body.as_array().unwrap().len(), 2, "{body}");
    assert_eq!(body[1]["path"], json!(["Engineering", "Everyone"]));
}

#[actix_web::test]
async fn the_picker_finds_users_by_a_word_of_their_display_name() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    for (username, display) in [("ann", "Ann Smith-Jones"), ("smithy", "Jo Blogg"), ("zed", "Zed Ramírez")] {
        let (s, _, body, _) =
            call!(app, with(&admin, post("/api/users", json!({"username": username, "display_name": display}))));
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let search = |q: &str| with(&admin, get(&format!("/api/directory/search?q={}", encode(q))));
    let names = |body: &serde_json::Value| -> Vec<String> {
        body.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
    };
    // Usernames first, then display-name words; nobody twice.
    let (_, _, body, _) = call!(app, search("smi"));
    assert_eq!(names(&body), ["smithy", "ann"], "{body}");
    let (_, _, body, _) = call!(app, search("JON"));
    assert_eq!(names(&body), ["ann"], "{body}");
    let (_, _, body, _) = call!(app, search("ramí"));
    assert_eq!(names(&body), ["zed"], "{body}");
    let (_, _, body, _) = call!(app, search("ann"));
    assert_eq!(names(&body), ["ann"], "{body}");
    // One letter matches usernames only (the display-name pass is a scan).
    let (_, _, body, _) = call!(app, search("j"));
    assert!(names(&body).is_empty(), "{body}");
}

/// Issue 27 item 3: the people picker matches every word typed against the start of a word of
/// the display name ("Dave G" and "dave grohl" find Dave Grohl), on either engine.
#[actix_web::test]
async fn the_picker_matches_each_word_typed_against_the_display_name() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    for (u, d) in [("dave", "Dave Grohl"), ("dgrant", "Dana Grant"), ("kurt", "Kurt Cobain")] {
        let (s, _, _, _) = call!(app, with(&admin, post("/api/users", json!({"username": u, "display_name": d}))));
        assert_eq!(s, StatusCode::CREATED);
    }
    let found = |body: &serde_json::Value| -> Vec<String> {
        body.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
    };
    for (q, want) in [
        ("Dave", vec!["dave"]),
        ("Dave%20G", vec!["dave"]),
        ("dave%20grohl", vec!["dave"]),
        ("grohl%20dave", vec!["dave"]),
        ("d%20g", vec!["dave", "dgrant"]),
        ("Dave%20C", vec![]),
        ("gro", vec!["dave"]),
    ] {
        let (s, _, body, _) = call!(app, with(&admin, get(&format!("/api/directory/search?q={q}"))));
        assert_eq!(s, StatusCode::OK);
        assert_eq!(found(&body), want, "q={q}");
    }
}
