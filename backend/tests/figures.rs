//! One definition of each registration status: the Overview, the impact estimate and the
//! registration report count the same users the same way, under Off, Report-only and On.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use serde_json::{json, Value};

fn counts_of(report: &Value) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    for row in report["items"].as_array().unwrap() {
        *m.entry(row["status"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    m
}

macro_rules! assert_agree {
    ($app:expr, $admin:expr, $policy:expr, $when:expr) => {{
        let (_, _, overview, _) = call!($app, with(&$admin, get("/api/overview")));
        let (s, _, impact, _) = call!($app, with(&$admin, post("/api/policy/impact", json!({"policy": $policy}))));
        assert_eq!(s, StatusCode::OK, "{impact}");
        let (_, _, report, _) = call!($app, with(&$admin, get("/api/reports/registration")));
        let r = &overview["registration"];
        assert_eq!(r, &impact["impact"], "{}: the Overview shows the saved policy's impact", $when);
        let c = counts_of(&report);
        let n = |k: &str| c.get(k).copied().unwrap_or(0);
        for (field, status) in [
            ("registered", "registered"),
            ("in_grace", "in_grace"),
            ("not_yet_prompted", "not_yet_prompted"),
            ("forced", "required"),
            ("excluded", "excluded"),
            ("not_included", "not_in_scope"),
        ] {
            assert_eq!(r[field].as_u64().unwrap(), n(status), "{}: {field} vs report {status}: {r} {c:?}", $when);
            let (_, _, filtered, _) =
                call!($app, with(&$admin, get(&format!("/api/reports/registration?status={status}"))));
            assert_eq!(filtered["items"].as_array().unwrap().len() as u64, n(status), "{}: filter {status}", $when);
            assert_eq!(filtered["total"].as_u64().unwrap(), n(status), "{}: total {status}", $when);
        }
        r.clone()
    }};
}

#[actix_web::test]
async fn overview_impact_and_report_agree_on_every_status() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    user_with_password!(app, admin, "carol");
    let dave = user_with_password!(app, admin, "dave");

    // Never saved: Off, nobody prompted, so nobody is "in grace".
    let (_, _, current, _) = call!(app, with(&admin, get("/api/policy")));
    let r = assert_agree!(app, admin, current["policy"], "never saved");
    assert_eq!(r["in_grace"], 0, "{r}");

    // Report-only over all users except dave: sign-ins start no clock.
    let policy = json!({"enforcement": "report_only", "include_all": true, "include_users": [], "include_groups": [],
        "exclude_users": [dave], "exclude_groups": [], "require_registration": true, "grace_days": 14});
    save_policy!(app, admin, policy);
    sign_in!(app, "bob", PW);
    let r = assert_agree!(app, admin, policy, "report-only");
    assert_eq!(r["in_grace"], 0, "report-only starts no grace period: {r}");
    assert_eq!(r["excluded"], 1);
    assert!(r["not_yet_prompted"].as_u64().unwrap() >= 2, "{r}");

    // On: bob's next sign-in prompts him (his clock starts); the rest are not prompted yet.
    let policy = json!({"enforcement": "on", "include_all": true, "include_users": [], "include_groups": [],
        "exclude_users": [dave], "exclude_groups": [], "require_registration": true, "grace_days": 14});
    save_policy!(app, admin, policy);
    let (_, body) = sign_in!(app, "bob", PW);
    assert_eq!(body["me"]["next_step"]["step"], "register_mfa", "{body}");
    let r = assert_agree!(app, admin, policy, "on");
    assert_eq!(r["in_grace"], 1, "{r}");
    let (_, _, rows, _) = call!(app, with(&admin, get("/api/reports/registration?status=in_grace")));
    assert_eq!(rows["items"][0]["user_id"], bob.as_str());

    // The grace ended by an administrator: bob is forced, and every view says so.
    let (s, _, _, _) = call!(
        app,
        with(&admin, post(&format!("/api/users/{bob}/grace"), json!({"end_now": true, "reason": "phone issued"})))
    );
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = assert_agree!(app, admin, policy, "grace ended");
    assert_eq!(r["forced"], 1, "{r}");
    assert_eq!(r["in_grace"], 0, "{r}");
}

#[actix_web::test]
async fn what_if_says_off_never_interrupts() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    for (enforcement, interrupts) in [("off", false), ("report_only", false), ("on", true)] {
        let draft = json!({"enforcement": enforcement, "include_all": true, "include_users": [], "include_groups": [],
            "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 14});
        let (s, _, w, _) =
            call!(app, with(&admin, post("/api/policy/what-if", json!({"user_id": bob, "policy": draft}))));
        assert_eq!(s, StatusCode::OK, "{w}");
        assert_eq!(w["interrupts"], interrupts, "{enforcement}: {w}");
        let text = w["explanation"].to_string();
        assert_eq!(text.contains("sign-in is not interrupted"), !interrupts, "{enforcement}: {text}");
    }
}

#[actix_web::test]
async fn the_first_sign_in_with_a_pass_records_what_the_policy_did() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    save_policy!(
        app,
        admin,
        json!({"enforcement": "report_only", "include_all": true, "include_users": [], "include_groups": [],
               "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 14})
    );
    user_with_password!(app, admin, "erin");
    let newest = h.store.list_sign_ins(None, 1).unwrap().items.remove(0);
    assert_eq!(newest.username, "erin");
    assert!(newest.reason.contains("Password chosen after a temporary access pass"), "{}", newest.reason);
    assert!(newest.reason.contains("Report-only: MFA registration would be prompted"), "{}", newest.reason);
}

#[actix_web::test]
async fn a_user_who_skipped_is_told_when_registration_becomes_required() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");
    let (c, _) = sign_in!(app, "bob", PW);
    let (s, _, r, _) = call!(app, with(&c, get("/api/me/registration")));
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["required_from"].is_null(), "no policy, no reminder: {r}");

    save_policy!(
        app,
        admin,
        json!({"enforcement": "on", "include_all": true, "include_users": [], "include_groups": [],
               "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 14})
    );
    let (c, body) = sign_in!(app, "bob", PW);
    assert_eq!(body["me"]["next_step"]["step"], "register_mfa", "{body}");
    let deadline = body["me"]["next_step"]["deadline"].clone();
    let (s, hd, _, _) = call!(app, with(&c, post("/api/auth/skip-registration", json!({}))));
    assert_eq!(s, StatusCode::OK);
    let c = session_cookie(&hd).unwrap();
    let (_, _, r, _) = call!(app, with(&c, get("/api/me/registration")));
    assert_eq!(r["required_from"], deadline, "the deadline he was shown at the interrupt");

    // Registered: nothing to remind.
    let (c, _) = add_authenticator_app!(app, h, c);
    let (_, _, r, _) = call!(app, with(&c, get("/api/me/registration")));
    assert!(r["required_from"].is_null(), "{r}");
}
