//! Risk-based sign-in protection through the real API: a synthetic GeoIP database (MMDB, written
//! here and read back by the server's maxminddb reader), addresses through a trusted proxy's
//! X-Forwarded-For, the device cookie, the detections with their evidence, and the sign-in risk
//! policy stepping up or refusing.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use proofup::config::HttpConfig;
use proofup::domain::clock::Clock;
use serde_json::json;
use time::Duration;

#[derive(serde::Serialize)]
struct Country {
    iso_code: String,
}
#[derive(serde::Serialize)]
struct City {
    names: BTreeMap<String, String>,
}
#[derive(serde::Serialize)]
struct Location {
    latitude: f64,
    longitude: f64,
    accuracy_radius: u16,
}
#[derive(serde::Serialize)]
struct Record {
    country: Country,
    city: City,
    location: Location,
    autonomous_system_number: u32,
    autonomous_system_organization: String,
}

/// The documentation ranges placed (risk.md §3.8): Paris, Sydney, Berlin.
fn synthetic_mmdb(dir: &std::path::Path) -> std::path::PathBuf {
    let mut w = mmdb_writer::Writer::new("Proofup-Test-City-ASN");
    for (net, cc, city, lat, lon, asn) in [
        ("198.51.100.0/24", "FR", "Paris", 48.8566, 2.3522, 64500),
        ("203.0.113.0/24", "AU", "Sydney", -33.8688, 151.2093, 64501),
        ("192.0.2.128/25", "DE", "Berlin", 52.52, 13.405, 64502),
    ] {
        let rec = Record {
            country: Country { iso_code: cc.into() },
            city: City { names: [("en".to_owned(), city.to_owned())].into() },
            location: Location { latitude: lat, longitude: lon, accuracy_radius: 20 },
            autonomous_system_number: asn,
            autonomous_system_organization: format!("Example Net {asn}"),
        };
        w.insert(net.parse::<ipnet::IpNet>().unwrap(), &rec).unwrap();
    }
    let path = dir.join("geo.mmdb");
    std::fs::write(&path, w.to_bytes().unwrap()).unwrap();
    path
}

fn risk_harness() -> (Harness, tempfile::TempDir) {
    let files = tempfile::tempdir().unwrap();
    let geo = proofup::adapters::geoip::MmdbLocator::open(&[synthetic_mmdb(files.path())]).unwrap();
    let sources = proofup::service::risk::RiskSources { geo: Some(Arc::new(geo)), ..Default::default() };
    // The tests' peer (192.0.2.10) is a trusted proxy: X-Forwarded-For says who signs in.
    let config = HttpConfig {
        trusted_proxies: vec!["192.0.2.10/32".parse().unwrap()],
        metrics_token: Some(proofup::domain::setup::sha256(METRICS_TOKEN)),
        ..HttpConfig::for_tests()
    };
    (Harness::with_risk(config, sources), files)
}

const METRICS_TOKEN: &str = "risk-metrics-token-0123456789abcdef";

/// A sign-in from `ip` (through the proxy), with this browser's device cookie if it has one.
fn from(ip: &str, device: Option<&str>, user: &str, pw: &str) -> actix_web::test::TestRequest {
    let req =
        post("/api/auth/sign-in", json!({"username": user, "password": pw})).insert_header(("x-forwarded-for", ip));
    match device {
        Some(d) => req.insert_header(("cookie", d.to_owned())),
        None => req,
    }
}

/// Saves one of the risk policies (`sign-in-risk` or `user-risk`) over the current version; the
/// version saved.
macro_rules! save_risk_policy {
    ($app:expr, $admin:expr, $which:expr, $policy:expr) => {{
        let (_, _, cur, _) = call!($app, with(&$admin, get("/api/policy")));
        let body = json!({"policy": $policy, "based_on_version": cur["version"]});
        let (s, _, saved, _) = call!($app, with(&$admin, put(&format!("/api/policy/{}", $which), body)));
        assert_eq!(s, StatusCode::OK, "{saved}");
        saved
    }};
}

fn device_cookie(h: &actix_web::http::header::HeaderMap) -> Option<String> {
    h.get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("proofup_device="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

#[actix_web::test]
async fn a_sign_in_from_the_other_side_of_the_world_is_detected_with_its_evidence_and_stepped_up() {
    let (h, _files) = risk_harness();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let alice = user_with_password!(app, admin, "alice");

    // Alice's laptop: ten sign-ins from Paris over six days. The first sets the device cookie.
    let (s, hd, body, _) = call!(app, from("198.51.100.7", None, "alice", PW));
    assert_eq!(s, StatusCode::OK, "{body}");
    let laptop = device_cookie(&hd).expect("a device cookie");
    assert!(set_cookie_header(&hd).contains("HttpOnly"));
    for _ in 0..10 {
        h.clock.advance(Duration::hours(14));
        let (s, hd, body, _) = call!(app, from("198.51.100.7", Some(&laptop), "alice", PW));
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(device_cookie(&hd).is_none(), "a known browser keeps its cookie");
    }
    // Six days on, the administrator signs in again.
    let admin = sign_in!(app, ADMIN, ADMIN_PASSWORD).0;
    let (s, _, page, raw) = call!(app, with(&admin, get("/api/risk/detections")));
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&raw));
    assert_eq!(page["items"], json!([]), "her usual sign-ins raise nothing");

    // Two hours later, from Sydney on another browser: atypical travel and unfamiliar properties.
    h.clock.advance(Duration::hours(2));
    let (s, _, body, _) = call!(app, from("203.0.113.9", None, "alice", PW));
    assert_eq!(s, StatusCode::OK, "the policy is off: detected, logged, let through: {body}");
    let admin = sign_in!(app, ADMIN, ADMIN_PASSWORD).0;
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    let items = page["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"atypical_travel") && kinds.contains(&"unfamiliar_features"), "{page}");
    let travel = items.iter().find(|d| d["kind"] == "atypical_travel").unwrap();
    assert_eq!(travel["level"], "high");
    assert_eq!(travel["state"], "at_risk");
    assert_eq!(travel["username"], "alice");
    assert_eq!(travel["ip"], "203.0.113.9");
    assert_eq!(travel["place"]["city"], "Sydney");
    assert_eq!(travel["evidence"]["from"]["city"], "Paris");
    let km = travel["evidence"]["km"].as_u64().unwrap();
    assert!((16_900..17_000).contains(&km), "{km}");
    let text = travel["explanation"].as_str().unwrap();
    assert!(text.contains("Paris, FR") && text.contains("Sydney, AU") && text.contains("km/h"), "{text}");
    assert_eq!(travel["sign_in"], items[0]["sign_in"], "one sign-in, one id");
    // The sign-in log says what the (off) policy saw, and where the sign-in came from.
    let (_, _, log, _) = call!(app, with(&admin, get("/api/sign-ins?user=alice&limit=1")));
    assert!(log["items"][0]["reason"].as_str().unwrap().contains("sign-in risk high"), "{log}");
    assert_eq!(log["items"][0]["place"]["city"], "Sydney");
    assert_eq!(log["items"][0]["place"]["lat_e1"], -339, "coordinates kept to 0.1°");
    // Risky sign-ins: one, its two detections grouped.
    let (_, _, risky, _) = call!(app, with(&admin, get("/api/risk/sign-ins")));
    let risky = risky["items"].clone();
    assert_eq!(risky.as_array().unwrap().len(), 1, "{risky}");
    assert_eq!(risky[0]["level"], "high");
    assert_eq!(risky[0]["detections"].as_array().unwrap().len(), 2);
    // Before switching the policy on: the backtest over 30 days of sign-ins.
    let draft = json!({"enforcement": "on", "include_all": true, "level": "medium", "passkey_only_at_high": false, "block_at": null});
    let (s, _, bt, _) = call!(app, with(&admin, post("/api/policy/sign-in-risk/backtest", json!({"policy": draft}))));
    assert_eq!(s, StatusCode::OK, "{bt}");
    assert_eq!(bt["risky_sign_ins"], 1, "{bt}");
    assert_eq!(
        (bt["stepped_up"].as_u64(), bt["stepped_up_without_method"].as_u64(), bt["blocked"].as_u64()),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(bt["users_stepped_up"], 1);
    assert!(bt["sign_ins"].as_u64().unwrap() >= 12, "her Paris sign-ins count too: {bt}");
    let blocking = json!({"enforcement": "on", "include_all": true, "level": "medium", "block_at": "high"});
    let (_, _, bt, _) =
        call!(app, with(&admin, post("/api/policy/sign-in-risk/backtest", json!({"policy": blocking}))));
    assert_eq!(
        (bt["stepped_up"].as_u64(), bt["blocked"].as_u64(), bt["users_blocked"].as_u64()),
        (Some(0), Some(1), Some(1))
    );
    let excluding = json!({"enforcement": "on", "include_all": true, "exclude_users": [alice], "level": "low"});
    let (_, _, bt, _) =
        call!(app, with(&admin, post("/api/policy/sign-in-risk/backtest", json!({"policy": excluding}))));
    assert_eq!(bt["stepped_up"], 0, "an excluded user is never stepped up: {bt}");

    // The sign-in risk policy On at medium: Alice has no method to prove it is her, and she may
    // not register one from there either (whoever holds only her password would bind theirs).
    let saved = save_risk_policy!(
        app,
        admin,
        "sign-in-risk",
        json!({"enforcement": "on", "include_all": true, "level": "medium", "passkey_only_at_high": false, "block_at": null})
    );
    assert!(saved["changes"].as_array().unwrap().iter().any(|c| c["field"] == "sign_in_risk.enforcement"));
    h.clock.advance(Duration::minutes(30));
    let (s, hd, body, _) = call!(app, from("203.0.113.9", None, "alice", PW));
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "sign_in_risk_blocked");
    assert!(body["message"].as_str().unwrap().contains("temporary access pass"), "{body}");
    assert!(session_cookie(&hd).is_none(), "no session");
    let admin = sign_in!(app, ADMIN, ADMIN_PASSWORD).0;
    let (_, _, log, _) = call!(app, with(&admin, get("/api/sign-ins?user=alice&limit=1")));
    assert_eq!(log["items"][0]["result"], "blocked");
    assert!(log["items"][0]["reason"].as_str().unwrap().contains("no method"), "{log}");

    // From home she still signs in: the policy steps up risk, not Alice.
    let (s, _, body, _) = call!(app, from("198.51.100.7", Some(&laptop), "alice", PW));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["me"]["next_step"]["step"], "done");

    // The throttle is no lock-out weapon. Guesses from elsewhere count apart from hers...
    for i in 0..3 {
        h.clock.advance(Duration::minutes(1));
        let (s, _, _, _) = call!(app, from("203.0.113.50", None, "alice", &format!("guess {i}")));
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(h.store.throttle("alice").unwrap().consecutive_failures, 3);
    assert_eq!(h.store.throttle(&proofup::domain::throttle::familiar_key("alice")).unwrap().consecutive_failures, 0);
    // ...and once they reach the lock (as a few days of paced guessing would), the guesser is
    // locked out, not Alice at her desk.
    let mut t = h.store.throttle("alice").unwrap();
    t.consecutive_failures = proofup::domain::throttle::LOCK_AFTER + 20;
    h.store.put_throttle("alice", &t).unwrap();
    let (s, _, body, _) = call!(app, from("203.0.113.50", None, "alice", PW));
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "account_locked");
    let (s, _, body, _) = call!(app, from("198.51.100.7", Some(&laptop), "alice", PW));
    assert_eq!(s, StatusCode::OK, "her own browser is not locked out: {body}");
    // A typo typed again and again counts once (six would otherwise start the delays).
    for _ in 0..8 {
        let (s, _, body, _) = call!(app, from("198.51.100.7", Some(&laptop), "alice", "lantern harbour quiet seven"));
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    }
    assert_eq!(h.store.throttle(&proofup::domain::throttle::familiar_key("alice")).unwrap().consecutive_failures, 1);
    let (s, _, body, _) = call!(app, from("198.51.100.7", Some(&laptop), "alice", PW));
    assert_eq!(s, StatusCode::OK, "{body}");
}

#[actix_web::test]
async fn a_spray_then_the_right_password_is_a_password_spray_detection_and_a_method_steps_up() {
    let (h, _files) = risk_harness();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    let (c, _) = sign_in!(app, "bob", PW);
    let (_, secret) = add_authenticator_app!(app, h, c);
    // Risk policy On at medium; the registration policy is off.
    save_risk_policy!(app, admin, "sign-in-risk", json!({"enforcement": "on", "include_all": true, "level": "medium"}));

    // 12 accounts, two passwords, one address: a spray.
    for i in 0..12 {
        for pw in ["Winter2026!", "Spring2026!"] {
            // Paced under the per-address limit (20 a minute): the watch spans the hour.
            h.clock.advance(Duration::seconds(4));
            let (s, _, _, _) = call!(app, from("198.51.100.66", None, &format!("user{i}"), pw));
            assert_eq!(s, StatusCode::UNAUTHORIZED);
        }
    }
    // Another address is clean: bob signs in from there and proves his app as always.
    let (s, _, body, _) = call!(app, from("203.0.113.20", None, "bob", PW));
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    assert_eq!(page["items"], json!([]));

    // The sprayer gets bob's password right: high risk; bob's authenticator app answers it.
    let (s, hd, body, _) = call!(app, from("198.51.100.66", None, "bob", PW));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["me"]["next_step"]["step"], "second_factor");
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    let spray = &page["items"][0];
    assert_eq!((spray["kind"].as_str(), spray["level"].as_str()), (Some("password_spray"), Some("high")), "{page}");
    assert_eq!(spray["evidence"]["accounts"], 12);
    assert_eq!(spray["evidence"]["passwords"], 2);
    assert_eq!(spray["user_id"], bob);
    // Prometheus counts it by kind and level, never by user or address.
    let (s, _, _, bytes) =
        call!(app, get("/metrics").insert_header(("authorization", format!("Bearer {METRICS_TOKEN}"))));
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let series: Vec<&str> = text.lines().filter(|l| l.starts_with("proofup_risk_detections_total")).collect();
    assert!(
        series.iter().any(|l| l.starts_with("proofup_risk_detections_total{kind=\"password_spray\",level=\"high\"}")),
        "{series:?}"
    );
    assert!(series.iter().all(|l| !l.contains("bob") && !l.contains("198.51")), "{series:?}");
    // The Overview's risk card.
    let (_, _, overview, _) = call!(app, with(&admin, get("/api/overview")));
    assert_eq!(overview["risk"]["users_high"], 1, "{}", overview["risk"]);
    assert_eq!(overview["risk"]["sign_in_policy"], "on");
    assert!(overview["risk"]["geoip"].as_str().unwrap().contains("geo.mmdb"), "{}", overview["risk"]);
    let pending = session_cookie(&hd).unwrap();
    h.clock.advance(Duration::seconds(31));
    let (s, _, body, _) =
        call!(app, with(&pending, post("/api/auth/second-factor", json!({"code": code(&secret, &h, 0)}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    // His app code proves it is him, but his password is known to the sprayer: the detection
    // stays open as his user risk (a password change closes it).
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    assert_eq!(page["items"][0]["state"], "at_risk", "{page}");
    let (_, _, users, _) = call!(app, with(&admin, get("/api/risk/users")));
    let users = users["items"].clone();
    assert_eq!((users[0]["user_id"].as_str(), users[0]["level"].as_str()), (Some(bob.as_str()), Some("high")));
    let _ = h.clock.now();
}

#[actix_web::test]
async fn private_and_unknown_addresses_never_fail_and_readers_alone_read_detections() {
    let (h, _files) = risk_harness();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "carol");
    for ip in ["10.1.2.3", "2001:db8::1", "100.64.0.1", "unknown"] {
        let (s, _, body, _) = call!(app, from(ip, None, "carol", PW));
        assert_eq!(s, StatusCode::OK, "{ip}: {body}");
    }
    let (s, _, _, _) = call!(app, with(&admin, get("/api/risk/detections")));
    assert_eq!(s, StatusCode::OK);
    let (c, _) = sign_in!(app, "carol", PW);
    let (s, _, _, _) = call!(app, with(&c, get("/api/risk/detections")));
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _, _) =
        call!(app, with(&c, put("/api/policy/sign-in-risk", json!({"policy": {}, "based_on_version": 0}))));
    assert!(s == StatusCode::FORBIDDEN || s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST, "{s}");
}

/// The same store and clock, served again with a breached-password set holding `leaked` (the
/// operator imported a corpus after the passwords were chosen).
fn with_breached(h: &Harness, files: &std::path::Path, leaked: &[&str]) -> proofup::http::AppState {
    let list = files.join("leaked.txt");
    std::fs::write(&list, leaked.join("\n")).unwrap();
    let set_path = files.join("breached.set");
    proofup::adapters::breached::BreachedSet::build(&list, &set_path, "test corpus", 1).unwrap();
    let set = proofup::adapters::breached::BreachedSet::open(&set_path).unwrap();
    let geo = proofup::adapters::geoip::MmdbLocator::open(&[synthetic_mmdb(files)]).unwrap();
    let sources = proofup::service::risk::RiskSources {
        geo: Some(Arc::new(geo)),
        breached: Some(Arc::new(set)),
        ..Default::default()
    };
    let config = HttpConfig { trusted_proxies: vec!["192.0.2.10/32".parse().unwrap()], ..HttpConfig::for_tests() };
    state_with_options(h.store.clone(), h.clock.clone(), config, &h.secret_key, sources)
}

#[actix_web::test]
async fn a_leaked_password_makes_the_user_risky_until_a_secure_password_change() {
    let (h, files) = risk_harness();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let dave = user_with_password!(app, admin, "dave");
    let (c, _) = sign_in!(app, "dave", PW);
    let (_, secret) = add_authenticator_app!(app, h, c);
    drop(app);
    // A breach corpus arrives that holds Dave's password.
    let app = init_service(proofup::http::app(with_breached(&h, files.path(), &[PW, "another leaked one"]))).await;
    h.clock.advance(Duration::seconds(31));
    let (s, hd, body, _) = call!(app, post("/api/auth/sign-in", json!({"username": "dave", "password": PW})));
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, hd2, body, _) = call!(
        app,
        with(&session_cookie(&hd).unwrap(), post("/api/auth/second-factor", json!({"code": code(&secret, &h, 0)})))
    );
    assert_eq!(s, StatusCode::OK, "no user risk policy yet: the usual second step: {body}");
    let other_session = session_cookie(&hd2).unwrap();
    // The leaked password, right at sign-in: leaked credentials, high, on the user.
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    let leaked = page["items"].as_array().unwrap().iter().find(|d| d["kind"] == "leaked_credentials").cloned().unwrap();
    assert_eq!(leaked["level"], "high");
    assert!(leaked["explanation"].as_str().unwrap().contains("test corpus"));
    assert!(!page.to_string().contains(PW), "the password itself is never stored or shown");
    let (_, _, users, _) = call!(app, with(&admin, get("/api/risk/users")));
    let users = users["items"].clone();
    assert_eq!(users[0]["user_id"], dave);
    // Filtered, and as CSV (the evidence in words, no password).
    let (_, _, only, _) = call!(app, with(&admin, get("/api/risk/detections?kind=leaked_credentials&user=DAVE")));
    assert_eq!(only["items"].as_array().unwrap().len(), 1, "{only}");
    let (_, _, none, _) = call!(app, with(&admin, get("/api/risk/detections?kind=leaked_credentials&state=dismissed")));
    assert_eq!(none["items"], json!([]));
    let (s, hd, _, bytes) = call!(app, with(&admin, get("/api/risk/detections?format=csv&user=dave")));
    assert_eq!(s, StatusCode::OK);
    assert!(hd.get("content-disposition").unwrap().to_str().unwrap().contains("risk-detections.csv"));
    let csv = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(csv.starts_with("at,username,detection,level,state"), "{csv}");
    assert!(csv.contains(",\"dave\",leaked_credentials,high,\"At risk\""), "{csv}");
    assert!(csv.contains("test corpus") && !csv.contains(PW), "{csv}");
    let (s, _, _, _) = call!(app, with(&admin, get("/api/risk/detections?kind=nonsense")));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(users[0]["level"], "high");

    // The user risk policy On at high, secure password change.
    save_risk_policy!(
        app,
        admin,
        "user-risk",
        json!({"enforcement": "on", "include_all": true, "level": "high", "remedy": "secure_password_change"})
    );

    // Dave signs in: his app code first, then a new password.
    h.clock.advance(Duration::seconds(31));
    let (s, hd, body, _) = call!(app, post("/api/auth/sign-in", json!({"username": "dave", "password": PW})));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["me"]["next_step"]["step"], "second_factor");
    let pending = session_cookie(&hd).unwrap();
    let (s, hd, body, _) =
        call!(app, with(&pending, post("/api/auth/second-factor", json!({"code": code(&secret, &h, 0)}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["next_step"]["step"], "set_password", "{body}");
    let pending = session_cookie(&hd).unwrap_or(pending);
    // Not another leaked one.
    let (s, _, body, _) =
        call!(app, with(&pending, post("/api/auth/password", json!({"new_password": "another leaked one"}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"][0]["message"].as_str().unwrap().contains("breached"), "{body}");
    let (s, hd, body, _) =
        call!(app, with(&pending, post("/api/auth/password", json!({"new_password": "copper kettle winter nine"}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["next_step"]["step"], "done", "{body}");
    assert!(session_cookie(&hd).is_some());
    // Remediated; his other session ended with the old password.
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    let leaked = page["items"].as_array().unwrap().iter().find(|d| d["kind"] == "leaked_credentials").cloned().unwrap();
    assert_eq!(leaked["state"], "remediated");
    assert_eq!(leaked["detail"], "secure_password_change");
    let (_, _, users, _) = call!(app, with(&admin, get("/api/risk/users")));
    let users = users["items"].clone();
    assert_eq!(users, json!([]));
    let (s, _, _, _) = call!(app, with(&other_session, get("/api/auth/me")));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, _, audit, _) = call!(app, with(&admin, get("/api/audit?action=risk.")));
    assert_eq!(audit["items"][0]["action"], "risk.remediated", "{audit}");
}

#[actix_web::test]
async fn administrators_dismiss_confirm_safe_or_confirm_compromised_with_a_reason() {
    let (h, files) = risk_harness();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let erin = user_with_password!(app, admin, "erin");
    drop(app);
    let app = init_service(proofup::http::app(with_breached(&h, files.path(), &[PW]))).await;
    // A webhook receiver is configured: detections and risk changes are events for it.
    let (s, _, body, _) =
        call!(app, with(&admin, put("/api/settings/webhook", json!({"url": "https://siem.example.test/hook"}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    let (erin_session, _) = sign_in!(app, "erin", PW);
    let (_, _, users, _) = call!(app, with(&admin, get("/api/risk/users")));
    let users = users["items"].clone();
    assert_eq!(users[0]["username"], "erin");

    // A reason is required.
    let (s, _, body, _) =
        call!(app, with(&admin, post(&format!("/api/risk/users/{erin}"), json!({"action": "dismiss", "reason": " "}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Confirm compromised: user risk high, her sessions end, the verdict is a detection.
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post(&format!("/api/risk/users/{erin}"), json!({"action": "confirm_compromised", "reason": "phished"}))
        )
    );
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, _, _, _) = call!(app, with(&erin_session, get("/api/auth/me")));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "signed out everywhere");
    let (_, _, users, _) = call!(app, with(&admin, get("/api/risk/users")));
    let users = users["items"].clone();
    assert_eq!((users[0]["state"].as_str(), users[0]["level"].as_str()), (Some("confirmed_compromised"), Some("high")));
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    assert!(page["items"].as_array().unwrap().iter().any(|d| d["kind"] == "admin_confirmed_compromised"));
    // Dismiss closes everything, irreversibly, audited with the reason.
    let (s, _, _, _) = call!(
        app,
        with(&admin, post(&format!("/api/risk/users/{erin}"), json!({"action": "dismiss", "reason": "pen test"})))
    );
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, users, _) = call!(app, with(&admin, get("/api/risk/users")));
    let users = users["items"].clone();
    assert_eq!(users, json!([]));
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    assert!(page["items"].as_array().unwrap().iter().all(|d| d["state"] == "dismissed"), "{page}");
    let (_, _, audit, _) = call!(app, with(&admin, get("/api/audit?action=risk.dismissed")));
    assert_eq!(audit["items"][0]["changes"][0]["after"], "pen test");
    // The webhook's events: the detection (kind, level, evidence in words), then each change.
    let queued = h
        .store
        .due_messages(proofup::domain::notify::Channel::Webhook, h.clock.now() + Duration::days(1), 100)
        .unwrap();
    let events: Vec<&serde_json::Value> = queued.iter().map(|m| &m.event).collect();
    let detected = events.iter().find(|e| e["type"] == "risk.detected").unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(detected["data"]["user"], "erin");
    assert_eq!(detected["data"]["level"], "high");
    assert_eq!(detected["data"]["detections"][0]["kind"], "leaked_credentials");
    assert!(detected["data"]["detections"][0]["evidence"].as_str().unwrap().contains("test corpus"));
    assert!(!serde_json::to_string(&events).unwrap().contains(PW), "no password in any event");
    let mut changes: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "user.risk_changed")
        .map(|e| e["data"]["state"].as_str().unwrap())
        .collect();
    changes.sort_unstable();
    assert_eq!(changes, ["confirmed_compromised", "dismissed"], "{events:?}");
    let (s, _, _, _) =
        call!(app, with(&admin, post("/api/risk/users/nobody", json!({"action": "dismiss", "reason": "x"}))));
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_session_used_from_another_country_and_network_signs_in_again() {
    use common::rp::{authorize_path, location, query_of, CALLBACK};
    let (h, _files) = risk_harness();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");
    let (_, _, created, _) =
        call!(app, with(&admin, post("/api/applications", json!({"name": "Wiki", "redirect_uris": [CALLBACK]}))));
    let id = created["application"]["id"].as_str().unwrap().to_owned();
    save_risk_policy!(app, admin, "sign-in-risk", json!({"enforcement": "on", "include_all": true, "level": "medium"}));

    // Bob signs in from Paris (he has no method: a password-only session).
    let (s, hd, body, _) = call!(app, from("198.51.100.7", None, "bob", PW));
    assert_eq!(s, StatusCode::OK, "{body}");
    let sso = hd
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("proofup_sso="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .unwrap();
    let authorize = |ip: &str, extra: &[(&str, &str)]| {
        get(&authorize_path(&id, extra))
            .insert_header(("cookie", sso.clone()))
            .insert_header(("x-forwarded-for", ip.to_owned()))
    };
    // From where he signed in: single sign-on as always.
    let (s, hd, _, _) = call!(app, authorize("198.51.100.9", &[("prompt", "none")]));
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(query_of(&location(&hd)).contains_key("code"), "{}", location(&hd));
    // The same cookie from Sydney, another network: an anomalous token. prompt=none cannot ask.
    let (_, hd, _, _) = call!(app, authorize("203.0.113.9", &[("prompt", "none")]));
    assert_eq!(query_of(&location(&hd))["error"], "interaction_required", "{}", location(&hd));
    // Without prompt=none: a new interactive sign-in inside the application's sign-in.
    let (_, hd, _, _) = call!(app, authorize("203.0.113.9", &[]));
    assert!(location(&hd).starts_with("/sign-in?flow="), "{}", location(&hd));
    let admin = sign_in!(app, ADMIN, ADMIN_PASSWORD).0;
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    let token = page["items"].as_array().unwrap().iter().find(|d| d["kind"] == "anomalous_token").cloned().unwrap();
    assert_eq!(token["level"], "medium");
    assert_eq!(token["application"], "Wiki");
    let text = token["explanation"].as_str().unwrap();
    assert!(text.contains("Paris, FR") && text.contains("Sydney, AU"), "{text}");
}

#[actix_web::test]
async fn a_refresh_token_used_from_another_country_and_network_is_an_anomalous_token() {
    use common::rp::{authorize_path, cookie_named, location, query_of, resume_and_flow, CALLBACK};
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let (h, _files) = risk_harness();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "carol");
    let body = json!({"name": "Notes", "redirect_uris": [CALLBACK], "scopes": ["openid"], "refresh_tokens": true, "refresh_token_days": 30});
    let (_, _, created, _) = call!(app, with(&admin, post("/api/applications", body)));
    let (id, secret) = (
        created["application"]["id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    );
    let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[("scope", "openid"), ("nonce", "n-1")])));
    let flow_cookie = cookie_named(&hd, "proofup_flow").unwrap();
    let (resume, _) = resume_and_flow(&hd);
    let (c, _) = sign_in!(app, "carol", PW);
    let (_, hd, _, _) = call!(app, get(&resume).insert_header(("cookie", format!("{c}; {flow_cookie}"))));
    let code = query_of(&location(&hd))["code"].clone();
    let token = |ip: &str, body: String| {
        post("/oauth2/token", json!({}))
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .insert_header(("x-forwarded-for", ip.to_owned()))
            .set_payload(body)
    };
    // The application's server exchanges the code from Paris…
    let (s, _, tokens, _) = call!(
        app,
        token(
            "198.51.100.20",
            format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}&client_id={id}&client_secret={secret}",
                encode(CALLBACK)
            )
        )
    );
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let refresh =
        |rt: &str| format!("grant_type=refresh_token&refresh_token={rt}&client_id={id}&client_secret={secret}");
    // …refreshes from there (nothing to see), then the token turns up in Sydney on another network.
    let (s, _, next, _) = call!(app, token("198.51.100.21", refresh(tokens["refresh_token"].as_str().unwrap())));
    assert_eq!(s, StatusCode::OK, "{next}");
    let (s, _, last, _) = call!(app, token("203.0.113.40", refresh(next["refresh_token"].as_str().unwrap())));
    assert_eq!(s, StatusCode::OK, "the grant goes on: {last}");
    let (s, _, _, _) = call!(app, token("203.0.113.41", refresh(last["refresh_token"].as_str().unwrap())));
    assert_eq!(s, StatusCode::OK);
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    let tokens: Vec<&serde_json::Value> =
        page["items"].as_array().unwrap().iter().filter(|d| d["kind"] == "anomalous_token").collect();
    assert_eq!(tokens.len(), 1, "once per grant: {page}");
    let text = tokens[0]["explanation"].as_str().unwrap();
    assert!(text.contains("A refresh token of Notes") && text.contains("FR") && text.contains("AU"), "{text}");
    let (_, _, users, _) = call!(app, with(&admin, get("/api/risk/users")));
    let users = users["items"].clone();
    assert_eq!((users[0]["username"].as_str(), users[0]["level"].as_str()), (Some("carol"), Some("medium")));
}

#[actix_web::test]
async fn risky_users_and_sign_ins_are_filtered_paged_and_exported_and_the_policies_show_impact_and_what_if() {
    let (h, files) = risk_harness();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let frank = user_with_password!(app, admin, "frank");
    let gina = user_with_password!(app, admin, "gina");
    let (c, _) = sign_in!(app, "frank", PW);
    add_authenticator_app!(app, h, c);
    drop(app);
    // A breach corpus holds their password: each sign-in is a leaked-credentials detection.
    let app = init_service(proofup::http::app(with_breached(&h, files.path(), &[PW]))).await;
    h.clock.advance(Duration::seconds(31));
    for who in ["frank", "gina"] {
        h.clock.advance(Duration::minutes(5));
        let (s, _, body, _) = call!(app, from("198.51.100.7", None, who, PW));
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let admin = sign_in!(app, ADMIN, ADMIN_PASSWORD).0;
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post(&format!("/api/risk/users/{gina}"), json!({"action": "confirm_compromised", "reason": "phished"}))
        )
    );
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");

    // Risky users: paged (newest first at one level), filtered, exported.
    let (s, _, p1, _) = call!(app, with(&admin, get("/api/risk/users?limit=1")));
    assert_eq!(s, StatusCode::OK, "{p1}");
    assert_eq!((p1["items"][0]["username"].as_str(), p1["next_after"].as_str()), (Some("gina"), Some("1")), "{p1}");
    let kinds = p1["items"][0]["detections"].as_array().unwrap();
    assert!(kinds.contains(&json!("leaked_credentials")) && kinds.contains(&json!("admin_confirmed_compromised")));
    let (_, _, p2, _) = call!(app, with(&admin, get("/api/risk/users?limit=1&after=1")));
    assert_eq!((p2["items"][0]["username"].as_str(), p2["next_after"].as_str()), (Some("frank"), None), "{p2}");
    let (s, _, _, _) = call!(app, with(&admin, get("/api/risk/users?after=frank")));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a cursor is the previous page's next_after");
    let count = |v: &serde_json::Value| v["items"].as_array().unwrap().len();
    let (_, _, v, _) = call!(app, with(&admin, get("/api/risk/users?state=confirmed_compromised")));
    assert_eq!((count(&v), v["items"][0]["username"].as_str()), (1, Some("gina")));
    let (_, _, v, _) = call!(app, with(&admin, get("/api/risk/users?kind=leaked_credentials&level=high")));
    assert_eq!(count(&v), 2);
    let (_, _, v, _) = call!(app, with(&admin, get("/api/risk/users?kind=password_spray")));
    assert_eq!(count(&v), 0);
    let (_, _, v, _) = call!(app, with(&admin, get("/api/risk/users?user=FRANK")));
    assert_eq!((count(&v), v["items"][0]["username"].as_str()), (1, Some("frank")));
    let (s, hd, _, bytes) = call!(app, with(&admin, get("/api/risk/users?format=csv")));
    assert_eq!(s, StatusCode::OK);
    assert!(hd.get("content-disposition").unwrap().to_str().unwrap().contains("risky-users.csv"));
    let csv = String::from_utf8(bytes.to_vec()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "username,level,state,open_detections,detections,last_detected_at");
    assert!(lines[1].starts_with("\"gina\",high,\"Confirmed compromised\",2,"), "{csv}");
    assert!(lines[2].starts_with("\"frank\",high,\"At risk\",1,leaked_credentials,"), "{csv}");
    assert_eq!(lines.len(), 3);
    let (s, _, _, _) = call!(app, with(&admin, get("/api/risk/users?format=csv&limit=1")));
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Risky sign-ins: the same filters, paging and export.
    let (_, _, v, _) = call!(app, with(&admin, get("/api/risk/sign-ins?kind=leaked_credentials&limit=1")));
    assert_eq!((count(&v), v["items"][0]["username"].as_str(), v["next_after"].as_str()), (1, Some("gina"), Some("1")));
    let (_, _, v, _) = call!(app, with(&admin, get("/api/risk/sign-ins?user=frank")));
    assert_eq!((count(&v), v["items"][0]["ip"].as_str()), (1, Some("198.51.100.7")));
    let (_, _, v, _) = call!(app, with(&admin, get("/api/risk/sign-ins?state=confirmed_compromised")));
    assert_eq!((count(&v), v["items"][0]["username"].as_str()), (1, Some("gina")), "{v}");
    let (_, _, v, _) = call!(app, with(&admin, get("/api/risk/sign-ins?level=low")));
    assert_eq!(count(&v), 0);
    let (s, _, _, bytes) = call!(app, with(&admin, get("/api/risk/sign-ins?format=csv&user=frank")));
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(csv.starts_with("at,username,level,state,detections,ip,country,city"), "{csv}");
    assert!(
        csv.contains(",\"frank\",high,\"At risk\",leaked_credentials,\"198.51.100.7\",\"FR\",\"Paris\",64500,"),
        "{csv}"
    );

    // The user risk policy's impact, before saving: frank and gina are at high risk now; gina has
    // no method, so she would be refused until given a temporary access pass.
    let user_risk =
        json!({"enforcement": "on", "include_all": true, "level": "high", "remedy": "secure_password_change"});
    let (s, _, imp, _) = call!(app, with(&admin, post("/api/policy/user-risk/impact", json!({"policy": user_risk}))));
    assert_eq!(s, StatusCode::OK, "{imp}");
    assert_eq!(imp["impact"]["users"], 3, "{imp}");
    assert_eq!((imp["impact"]["in_scope"].as_u64(), imp["impact"]["must_remediate"].as_u64()), (Some(3), Some(2)));
    assert_eq!(imp["impact"]["must_remediate_without_method"], 1);
    let warnings = imp["warnings"].to_string();
    assert!(
        warnings.contains("2 users at high risk or above now must prove a second factor and change their password"),
        "{warnings}"
    );
    assert!(warnings.contains("1 of them have no method") && warnings.contains("emergency-access"), "{warnings}");
    let excluding = json!({"enforcement": "on", "include_all": true, "exclude_users": [gina], "level": "high"});
    let (_, _, imp, _) = call!(app, with(&admin, post("/api/policy/user-risk/impact", json!({"policy": excluding}))));
    assert_eq!((imp["impact"]["excluded"].as_u64(), imp["impact"]["must_remediate"].as_u64()), (Some(1), Some(1)));
    // The sign-in risk policy's impact: who could not answer a step-up.
    let sign_in_risk = json!({"enforcement": "on", "include_all": false, "include_users": [frank, gina], "level": "medium", "passkey_only_at_high": true});
    let (_, _, imp, _) =
        call!(app, with(&admin, post("/api/policy/sign-in-risk/impact", json!({"policy": sign_in_risk}))));
    assert_eq!(
        (imp["impact"]["in_scope"].as_u64(), imp["impact"]["not_included"].as_u64()),
        (Some(2), Some(1)),
        "{imp}"
    );
    assert_eq!(
        (imp["impact"]["without_method"].as_u64(), imp["impact"]["without_passkey"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(imp["warnings"].to_string().contains("1 user in scope have no passkey"), "{imp}");

    // What-if, from the decision a sign-in runs: frank at medium proves his app code; gina has no
    // method and is refused; at high with a block, frank is blocked; excluded, nothing.
    let ask = |user: &str, level: &str, policy: serde_json::Value| {
        post("/api/policy/sign-in-risk/what-if", json!({"user_id": user, "level": level, "policy": policy}))
    };
    let (s, _, w, _) = call!(app, with(&admin, ask(&frank, "medium", sign_in_risk.clone())));
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!((w["in_scope"].as_bool(), w["effect"].as_str()), (Some(true), Some("second_factor_required")), "{w}");
    let text = w["explanation"].to_string();
    assert!(text.contains("Included: the user is selected.") && text.contains("authenticator app"), "{text}");
    let (_, _, w, _) = call!(app, with(&admin, ask(&frank, "high", sign_in_risk.clone())));
    assert_eq!(w["effect"], "no_method", "frank has no passkey: {w}");
    assert!(w["explanation"].to_string().contains("only a passkey can prove it is you"), "{w}");
    let (_, _, w, _) = call!(app, with(&admin, ask(&gina, "medium", sign_in_risk.clone())));
    assert!(w["explanation"].to_string().contains("temporary access pass"), "{w}");
    let blocking = json!({"enforcement": "on", "include_all": true, "level": "medium", "block_at": "high"});
    let (_, _, w, _) = call!(app, with(&admin, ask(&frank, "high", blocking)));
    assert_eq!(w["effect"], "blocked", "{w}");
    let (_, _, w, _) = call!(app, with(&admin, ask(&frank, "low", sign_in_risk.clone())));
    assert_eq!((w["in_scope"].as_bool(), w.get("effect")), (Some(true), None), "below the level: {w}");
    let (_, _, admin_id, _) = call!(app, with(&admin, get("/api/auth/me")));
    let (_, _, w, _) = call!(app, with(&admin, ask(admin_id["id"].as_str().unwrap(), "high", sign_in_risk)));
    assert_eq!((w["in_scope"].as_bool(), w.get("effect")), (Some(false), None), "{w}");
    assert!(w["explanation"].to_string().contains("Not included"), "{w}");
    // The user risk policy for frank at his risk now: a second factor, then a new password.
    let (s, _, w, _) =
        call!(app, with(&admin, post("/api/policy/user-risk/what-if", json!({"user_id": frank, "policy": user_risk}))));
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!((w["level"].as_str(), w["effect"].as_str()), (Some("high"), Some("password_change_required")), "{w}");
    assert!(w["explanation"].to_string().contains("not in the breached set"), "{w}");
    // The saved (Off) policy: nothing.
    let (_, _, w, _) = call!(app, with(&admin, post("/api/policy/user-risk/what-if", json!({"user_id": frank}))));
    assert_eq!(w.get("effect"), None, "{w}");
    let (s, _, _, _) = call!(app, with(&admin, post("/api/policy/user-risk/what-if", json!({"user_id": "nobody"}))));
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_new_browser_on_a_new_network_mails_the_user_a_notice_with_this_wasnt_me() {
    let files = tempfile::tempdir().unwrap();
    let geo = proofup::adapters::geoip::MmdbLocator::open(&[synthetic_mmdb(files.path())]).unwrap();
    let sources = proofup::service::risk::RiskSources { geo: Some(Arc::new(geo)), ..Default::default() };
    // Mail on (the outbox is read here; tests/mail.rs sends through a real SMTP server).
    let smtp = proofup::config::SmtpConfig {
        host: "127.0.0.1".into(),
        port: 9,
        security: proofup::config::SmtpSecurity::None,
        username: None,
        password: None,
        ca_pem: None,
        from: "Contoso sign-in <no-reply@contoso.test>".into(),
    };
    let config = HttpConfig {
        trusted_proxies: vec!["192.0.2.10/32".parse().unwrap()],
        mail: Some(proofup::adapters::smtp::SmtpSender::setup(&smtp)),
        organisation: "Contoso".into(),
        ..HttpConfig::for_tests()
    };
    let h = Harness::with_risk(config, sources);
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let hana = user_with_password!(app, admin, "hana");
    let mut u = h.store.user(&hana).unwrap().unwrap();
    u.email = Some("hana@contoso.test".into());
    u.email_verified = true;
    let client = proofup::domain::model::ClientInfo::new("127.0.0.1".into(), "test");
    h.store
        .update_user(
            &u,
            proofup::service::audit(h.clock.now(), Some(&u), "user.email_verified", Some(&u), vec![], &client),
        )
        .unwrap();
    let mails = |h: &Harness| -> Vec<proofup::domain::mail::Mail> {
        h.store
            .due_messages(proofup::domain::notify::Channel::Mail, h.clock.now() + Duration::days(1), 100)
            .unwrap()
            .into_iter()
            .filter_map(|m| m.mail)
            .filter(|m| m.subject.starts_with("New sign-in"))
            .collect()
    };
    // Learning: her laptop in Paris, eleven sign-ins over six days. No notice while it learns,
    // even from the first browser.
    let (_, hd, _, _) = call!(app, from("198.51.100.7", None, "hana", PW));
    let laptop = device_cookie(&hd).unwrap();
    for _ in 0..10 {
        h.clock.advance(Duration::hours(14));
        let (s, _, body, _) = call!(app, from("198.51.100.7", Some(&laptop), "hana", PW));
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    assert!(mails(&h).is_empty(), "no notice while the profile learns");
    // Her laptop in Berlin, and a new browser at home: one of the two is familiar, no notice.
    h.clock.advance(Duration::hours(20));
    let (s, _, _, _) = call!(app, from("192.0.2.200", Some(&laptop), "hana", PW));
    assert_eq!(s, StatusCode::OK);
    let (s, _, _, _) = call!(app, from("198.51.100.7", None, "hana", PW));
    assert_eq!(s, StatusCode::OK);
    assert!(mails(&h).is_empty(), "a familiar browser or a familiar network: no notice");
    // A browser she never used, from Sydney: she is told where and on what.
    h.clock.advance(Duration::days(1));
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let (s, _, body, _) = call!(app, from("203.0.113.9", None, "hana", PW).insert_header(("user-agent", ua)));
    assert_eq!(s, StatusCode::OK, "the policy is off: in, and told: {body}");
    let got = mails(&h);
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(
        (m.to.as_str(), m.subject.as_str()),
        ("hana@contoso.test", "New sign-in to your account (Contoso sign-in)")
    );
    assert!(m.text.contains("Firefox on Windows, Sydney, AU"), "{}", m.text);
    assert!(m.text.contains("Example Net 64501") && m.text.contains("203.0.113.9"), "{}", m.text);
    assert!(m.html.contains("Firefox on Windows"));
    // "This wasn't me": a user-reported detection naming the sign-in.
    let at = m.text.find("/report#t=").unwrap() + "/report#t=".len();
    let token: String =
        m.text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let (s, _, body, _) = call!(app, post("/api/auth/report", json!({"token": token})));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body["change"].as_str().unwrap().contains("new device and location"), "{body}");
    let admin = sign_in!(app, ADMIN, ADMIN_PASSWORD).0;
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections?kind=user_reported")));
    assert_eq!(page["items"][0]["username"], "hana", "{page}");
    assert!(page["items"][0]["explanation"].as_str().unwrap().contains("Sydney"), "{page}");
}
