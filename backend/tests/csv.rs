//! CSV import and export of the directory: all-or-nothing import that lists every bad line, and a round trip.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use serde_json::json;

macro_rules! admin {
    ($h:expr, $app:expr) => {{
        let token = $h.issue_setup_token();
        call!($app, post("/api/setup", json!({"token": token, "username": ADMIN, "display_name": "Ada", "password": ADMIN_PASSWORD})));
        let (_, hd, _, _) = call!($app, post("/api/auth/sign-in", json!({"username": ADMIN, "password": ADMIN_PASSWORD})));
        session_cookie(&hd).unwrap()
    }};
}

const HEADER: &str = "kind,name,display_name,email,role,emergency_access,member_of";

#[actix_web::test]
async fn import_checks_every_line_first_then_writes_everything() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let c = admin!(h, app);
    let import =
        |csv: String| post("/api/directory/import", json!({ "csv": csv })).insert_header(("cookie", c.clone()));

    // Bad lines: each reported with its line number; nothing written.
    let bad = format!(
        "{HEADER}\n\
         group,Staff,Everyone on staff,,,,\n\
         user,al ice,Alice,,,,\n\
         user,bob,Bob,not-an-email,wizard,maybe,Nowhere\n\
         group,Staff,again,,,,\n\
         user,{ADMIN},Dup,,,,\n\
         thing,x,,,,,\n\
         user,carol,Carol\n"
    );
    let (s, _, body, _) = call!(app, import(bad));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let lines: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(lines, ["line 3", "line 4", "line 5", "line 6", "line 7", "line 8"], "{body}");
    let msg4 = body["fields"][1]["message"].as_str().unwrap();
    assert!(msg4.contains("email") && msg4.contains("role") && msg4.contains("emergency_access"), "{msg4}");
    assert_eq!(h.store.count_users().unwrap(), 1);
    assert_eq!(h.store.count_groups().unwrap(), 0, "the valid group on line 2 was not written either");

    // A cycle within the file is refused.
    let cyclic = format!("{HEADER}\ngroup,A,,,,,B\ngroup,B,,,,,A\n");
    let (s, _, body, _) = call!(app, import(cyclic));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"][0]["message"].as_str().unwrap().contains("cycle"), "{body}");
    assert_eq!(h.store.count_groups().unwrap(), 0);

    // A wrong header.
    let (s, _, body, _) = call!(app, import("name\nx\n".into()));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"][0]["field"], "line 1");

    // A good file: nested groups, users with roles, memberships; passes shown once.
    let good = format!(
        "{HEADER}\n\
         user,Alice,Alice Liddell,alice@example.org,,false,Engineering\n\
         group,Engineering,Builders,,,,Staff\n\
         group,Staff,Everyone on staff,,,,\n\
         user,bob,Bob,,security_reader,,Staff;Engineering\n"
    );
    let (s, _, body, _) = call!(app, import(good));
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["users_created"], 2);
    assert_eq!(body["groups_created"], 2);
    assert_eq!(body["memberships_added"], 4);
    assert_eq!(body["passes"].as_array().unwrap().len(), 2);
    assert_eq!(body["passes"][0]["username"], "alice");
    let alice = h.store.user_by_username("alice").unwrap().unwrap();
    assert_eq!(alice.email.as_deref(), Some("alice@example.org"));
    let (_, _, groups, _) =
        call!(app, get(&format!("/api/users/{}/groups", alice.id)).insert_header(("cookie", c.clone())));
    assert_eq!(groups[1]["path"], json!(["Engineering", "Staff"]), "{groups}");
    let bob = h.store.user_by_username("bob").unwrap().unwrap();
    assert_eq!(bob.role, proofup_shared::api::Role::SecurityReader);

    // Importing the same file again: every line is now a duplicate.
    let (s, _, body, _) = call!(app, import(format!("{HEADER}\nuser,alice,A,,,,\ngroup,staff,,,,,\n")));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"].as_array().unwrap().len(), 2);

    // Export, and the export imports into an empty directory with the same shape.
    let (s, hd, _, bytes) = call!(app, get("/api/directory/export").insert_header(("cookie", c.clone())));
    assert_eq!(s, StatusCode::OK);
    assert!(hd.get("content-type").unwrap().to_str().unwrap().starts_with("text/csv"));
    let csv = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(csv.starts_with(HEADER), "{csv}");
    assert!(csv.contains("group,Engineering,Builders,,,,Staff\n"), "{csv}");
    assert!(csv.contains("user,bob,Bob,,security_reader,false,Engineering;Staff\n"), "{csv}");
    let without_admin: String =
        csv.lines().filter(|l| !l.starts_with(&format!("user,{ADMIN},"))).map(|l| format!("{l}\n")).collect();
    let h2 = Harness::new();
    let app2 = init_service(proofup::http::app(h2.state.clone())).await;
    let c2 = admin!(h2, app2);
    let (s, _, body, _) = call!(
        app2,
        post("/api/directory/import", json!({ "csv": without_admin })).insert_header(("cookie", c2.clone()))
    );
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (_, _, _, again) = call!(app2, get("/api/directory/export").insert_header(("cookie", c2)));
    assert_eq!(String::from_utf8(again.to_vec()).unwrap(), csv, "round trip");
}
