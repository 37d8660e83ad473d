//! The registration report is paged on the server: filtered by status, sorted by username or by
//! deadline, walked with opaque cursors; the CSV export is the whole report, streamed.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use proofup::domain::clock::Clock;
use proofup::domain::model::User;
use proofup::domain::policy::RegistrationState;
use proofup_shared::api::Role;
use serde_json::{json, Value};
use time::Duration;

const USERS: usize = 1_200;

/// Every page of `query` (which must end in `&` or `?`), walked with `next_after`.
macro_rules! walk {
    ($app:expr, $admin:expr, $query:expr, $limit:expr) => {{
        let mut rows: Vec<Value> = Vec::new();
        let mut after: Option<String> = None;
        let mut total = None;
        let mut pages = 0;
        loop {
            let mut path = format!("/api/reports/registration{}limit={}", $query, $limit);
            if let Some(a) = &after {
                path.push_str(&format!("&after={}", encode(a)));
            }
            let (s, _, page, _) = call!($app, with(&$admin, get(&path)));
            assert_eq!(s, StatusCode::OK, "{path}: {page}");
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= $limit, "{path}: a page holds at most limit rows");
            let t = page["total"].as_u64().unwrap();
            assert_eq!(*total.get_or_insert(t), t, "the total is the same on every page");
            rows.extend(items.iter().cloned());
            pages += 1;
            assert!(pages <= USERS + 2, "the cursor moves forward");
            match page["next_after"].as_str() {
                Some(a) => {
                    assert_eq!(items.len(), $limit, "only the last page is short");
                    after = Some(a.to_owned());
                }
                None => break,
            }
        }
        (rows, total.unwrap(), pages)
    }};
}

#[actix_web::test]
async fn report_pages_by_username_and_deadline_and_streams_the_whole_csv() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let now = h.clock.now();

    // 1,200 users (names with dots and digits, ids not in name order).
    let users: Vec<User> = (0..USERS)
        .map(|i| User {
            id: format!("id-{:05}", (i * 7919) % 100_000),
            username: format!("u{:04}.{}", (i * 31) % USERS, i % 3),
            display_name: format!("User {i}"),
            email: None,
            email_verified: false,
            admin_notices: false,
            role: Role::User,
            enabled: true,
            emergency_access: false,
            password_hash: String::new(),
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
        })
        .collect();
    match &h.sled {
        Some(sled) => sled.seed_directory(&users, &[], &[]).unwrap(),
        // PostgreSQL: through the port, one user (and its audit entry) at a time.
        None => {
            for u in &users {
                let audit = proofup::service::audit(
                    now,
                    None,
                    "user.created",
                    Some(u),
                    Vec::new(),
                    &proofup::domain::model::ClientInfo::new("127.0.0.1".into(), "test"),
                );
                h.store.create_user(u, audit).unwrap();
            }
        }
    }
    // Every third user was prompted, at different times (so deadlines differ, with ties); every
    // seventh of those had the grace ended by an administrator (required now).
    let mut prompted = 0;
    let mut required = 0;
    for (i, u) in users.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let mut st =
            RegistrationState { first_prompted_at: Some(now - Duration::hours((i % 97) as i64)), ..Default::default() };
        if i % 7 == 0 {
            st.deadline_override = Some(now - Duration::minutes((i % 5) as i64));
            required += 1;
        } else {
            prompted += 1;
        }
        h.store.put_registration_state(&u.id, &st, None).unwrap();
    }
    let policy = json!({"enforcement": "on", "include_all": true, "include_users": [], "include_groups": [],
        "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 14});
    save_policy!(app, admin, policy);

    // By username: every user once, in order, 137 at a time.
    let (rows, total, pages) = walk!(app, admin, "?", 137);
    let names: Vec<&str> = rows.iter().map(|r| r["username"].as_str().unwrap()).collect();
    let mut expected: Vec<String> = users.iter().map(|u| u.username.clone()).chain([ADMIN.to_owned()]).collect();
    expected.sort();
    assert_eq!(names, expected.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(total as usize, USERS + 1);
    assert_eq!(pages, (USERS + 1).div_ceil(137));

    // The default page is 100 rows.
    let (_, _, first, _) = call!(app, with(&admin, get("/api/reports/registration")));
    assert_eq!(first["items"].as_array().unwrap().len(), 100);
    assert_eq!(first["total"], (USERS + 1) as u64);

    // In grace, by deadline: soonest first, ties by username, only that status.
    let (rows, total, _) = walk!(app, admin, "?status=in_grace&sort=deadline&", 50);
    assert_eq!(total, prompted);
    assert_eq!(rows.len() as u64, prompted);
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "in_grace");
            (r["deadline"].as_str().unwrap().to_owned(), r["username"].as_str().unwrap().to_owned())
        })
        .collect();
    let parse = |t: &str| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap();
    for w in keys.windows(2) {
        let (a, b) = (parse(&w[0].0), parse(&w[1].0));
        assert!(a < b || (a == b && w[0].1 < w[1].1), "deadline order: {w:?}");
    }

    // All users by deadline: passed deadlines first, those without one last (by username).
    let (rows, total, _) = walk!(app, admin, "?sort=deadline&", 200);
    assert_eq!(total as usize, USERS + 1);
    let seen: HashSet<&str> = rows.iter().map(|r| r["user_id"].as_str().unwrap()).collect();
    assert_eq!(seen.len(), USERS + 1, "no row twice, none missed");
    let with_deadline = rows.iter().take_while(|r| !r["deadline"].is_null()).count() as u64;
    assert_eq!(with_deadline, prompted + required);
    assert!(rows[..required as usize].iter().all(|r| r["status"] == "required"), "passed deadlines first");
    let tail: Vec<&str> = rows[with_deadline as usize..].iter().map(|r| r["username"].as_str().unwrap()).collect();
    assert!(tail.windows(2).all(|w| w[0] < w[1]), "rows without a deadline by username");
    assert!(rows[with_deadline as usize..].iter().all(|r| r["deadline"].is_null()));

    // The CSV is the whole report (status filter kept), streamed: no Content-Length up front.
    let (s, hd, _, csv) = call!(app, with(&admin, get("/api/reports/registration?format=csv")));
    assert_eq!(s, StatusCode::OK);
    assert!(hd.get("content-length").is_none(), "streamed, not buffered: {hd:?}");
    let csv = String::from_utf8(csv.to_vec()).unwrap();
    assert_eq!(csv.lines().count(), USERS + 2, "header and one line per user");
    let csv_names: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap().trim_matches('"')).collect();
    assert_eq!(csv_names, expected.iter().map(String::as_str).collect::<Vec<_>>());
    let (_, _, _, csv) = call!(app, with(&admin, get("/api/reports/registration?format=csv&status=required")));
    let csv = String::from_utf8(csv.to_vec()).unwrap();
    assert_eq!(csv.lines().count() as u64, required + 1);
    assert!(csv.lines().skip(1).all(|l| l.contains(",required,")), "{csv}");

    // Bad queries are typed 400s naming what is wrong.
    let (_, _, page, _) = call!(app, with(&admin, get("/api/reports/registration?limit=3")));
    let user_cursor = page["next_after"].as_str().unwrap().to_owned();
    for (query, says) in [
        ("sort=age".to_owned(), "sort"),
        ("status=bogus".to_owned(), "status"),
        ("limit=0".to_owned(), "limit"),
        ("limit=501".to_owned(), "limit"),
        ("after=zzz".to_owned(), "cursor"),
        (format!("sort=deadline&after={}", encode(&user_cursor)), "cursor"),
        ("sort=deadline&after=d.soon.bob".to_owned(), "cursor"),
        ("format=csv&limit=5".to_owned(), "CSV"),
        ("format=csv&sort=deadline".to_owned(), "CSV"),
        ("format=pdf".to_owned(), "format"),
    ] {
        let (s, _, body, _) = call!(app, with(&admin, get(&format!("/api/reports/registration?{query}"))));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains(says), "{query}: {body}");
    }
}
