//! `GET /metrics` through the real App and store: who may read it, and that the series count what
//! the sign-ins did. One test in its own binary, since the recorder is per process: every delta
//! asserted here is exact.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use serde_json::json;

const TOKEN: &str = "0123456789abcdef0123456789abcdef-metrics";

/// `name{label="v",...}` → value, with the labels sorted, from the Prometheus text format.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let key = match series.split_once('{') {
            Some((name, labels)) => {
                let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                labels.sort_unstable();
                format!("{name}{{{}}}", labels.join(","))
            }
            None => series.to_owned(),
        };
        out.insert(key, value.parse().unwrap());
    }
    out
}

macro_rules! scrape {
    ($app:expr) => {{
        let (s, hd, _, bytes) =
            call!($app, get("/metrics").insert_header(("authorization", format!("Bearer {TOKEN}"))));
        assert_eq!(s, StatusCode::OK);
        assert!(hd.get("content-type").unwrap().to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        (parse(&text), text)
    }};
}

fn v(m: &BTreeMap<String, f64>, key: &str) -> f64 {
    m.get(key).copied().unwrap_or(0.0)
}

/// How much each named series moved between two scrapes.
fn deltas(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, keys: &[&str]) -> Vec<f64> {
    keys.iter().map(|k| v(after, k) - v(before, k)).collect()
}

const OK: &str = "proofup_sign_ins_total{interactive=\"true\",result=\"success\"}";
const FAILED: &str = "proofup_sign_ins_total{interactive=\"true\",result=\"failure\"}";
const SHOWN: &str = "proofup_mfa_interrupts_total{event=\"shown\"}";
const SKIPPED: &str = "proofup_mfa_interrupts_total{event=\"skipped\"}";
const REGISTERED: &str = "proofup_mfa_interrupts_total{event=\"registered\"}";
const REPORT_ONLY: &str = "proofup_mfa_interrupts_total{event=\"report_only\"}";
const CODE_OK: &str = "proofup_second_steps_total{method=\"authenticator_app\",result=\"success\"}";
const CODE_BAD: &str = "proofup_second_steps_total{method=\"authenticator_app\",result=\"failure\"}";
const HASHED: &str = "proofup_hash_wait_seconds_count";

#[actix_web::test]
async fn metrics_need_the_token_and_count_sign_ins_second_steps_and_the_interrupt() {
    // Off without a token file: 404, and it says how to turn it on.
    let off = Harness::new();
    let app = init_service(proofup::http::app(off.state.clone())).await;
    let (s, _, body, _) = call!(app, get("/metrics"));
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(body["message"].as_str().unwrap().contains("--metrics-token-file"), "{body}");

    // On: the token file is read and kept as its hash; short tokens are refused at start.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics-token");
    std::fs::write(&file, "too short\n").unwrap();
    let e = proofup::config::read_metrics_token(&file).unwrap_err();
    assert!(e.contains("shorter than 32"), "{e}");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let mut config = proofup::config::HttpConfig::for_tests();
    config.metrics_token = Some(proofup::config::read_metrics_token(&file).unwrap());
    let h = Harness::with_config(config);
    let app = init_service(proofup::http::app(h.state.clone())).await;

    // No token, a wrong token, another scheme: 401 with the Bearer challenge.
    for auth in [None, Some("Bearer not-the-token-at-all-not-the-token"), Some(&*format!("Basic {TOKEN}"))] {
        let mut req = get("/metrics");
        if let Some(a) = auth {
            req = req.insert_header(("authorization", a));
        }
        let (s, hd, body, _) = call!(app, req);
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{auth:?} {body}");
        assert_eq!(hd.get("www-authenticate").unwrap(), "Bearer realm=\"proofup metrics\"");
    }
    // A guesser is slowed down like one at the token endpoint: 30 failures a minute per address.
    let guesser = || get("/metrics").peer_addr("198.51.100.7:4000".parse().unwrap());
    for _ in 0..30 {
        let (s, _, _, _) = call!(app, guesser().insert_header(("authorization", "Bearer guess")));
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, hd, body, _) = call!(app, guesser().insert_header(("authorization", format!("Bearer {TOKEN}"))));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(hd.get("retry-after").is_some());
    // Prometheus scrapes by address, not by the public URL's host name.
    let (s, _, _, _) = call!(
        app,
        get("/metrics")
            .insert_header(("host", "10.0.0.5:8080"))
            .insert_header(("authorization", format!("Bearer {TOKEN}")))
    );
    assert_eq!(s, StatusCode::OK);

    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    let (m0, text) = scrape!(app);
    assert_eq!(v(&m0, &format!("proofup_build_info{{version=\"{}\"}}", env!("CARGO_PKG_VERSION"))), 1.0, "{text}");

    // A wrong password: one failed sign-in, one hash.
    let (s, _, _, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": "not bob's password at all"})));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (m1, _) = scrape!(app);
    assert_eq!(deltas(&m0, &m1, &[OK, FAILED, HASHED]), [0.0, 1.0, 1.0]);
    // The hashing queue is empty between requests; the request went to the sign_in group.
    assert_eq!(v(&m1, "proofup_hash_pool_queue"), 0.0);
    let group = "proofup_http_request_duration_seconds_count{group=\"sign_in\",status=\"4xx\"}";
    assert_eq!(v(&m1, group) - v(&m0, group), 1.0);

    // Report-only: counted as "would have been shown", nobody is interrupted.
    let mut policy =
        json!({"enforcement": "report_only", "include_all": true, "require_registration": true, "grace_days": 14});
    save_policy!(app, admin, policy);
    let (m1, _) = scrape!(app);
    let (_, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["step"], "done");
    let (m2, _) = scrape!(app);
    assert_eq!(deltas(&m1, &m2, &[OK, REPORT_ONLY, SHOWN]), [1.0, 1.0, 0.0]);

    // On: shown, then skipped (the skip is a sign-in log entry too).
    policy["enforcement"] = json!("on");
    save_policy!(app, admin, policy);
    let (m2, _) = scrape!(app);
    let (bob_c, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["step"], "register_mfa");
    let (s, _, _, _) = call!(app, with(&bob_c, post("/api/auth/skip-registration", json!({}))));
    assert_eq!(s, StatusCode::OK);
    let (m3, _) = scrape!(app);
    assert_eq!(deltas(&m2, &m3, &[OK, SHOWN, SKIPPED, REGISTERED]), [2.0, 1.0, 1.0, 0.0]);

    // Shown again, and an authenticator app registered at it.
    let (bob_c, _) = sign_in!(app, "bob", PW);
    let (_, _, setup, _) = call!(app, with(&bob_c, post("/api/me/methods/totp", json!({}))));
    let secret = secret_of(&setup);
    let (s, _, _, _) = call!(
        app,
        with(&bob_c, post("/api/me/methods/totp/confirm", json!({"name": "Phone", "code": code(&secret, &h, 0)})))
    );
    assert_eq!(s, StatusCode::CREATED);
    let (m4, _) = scrape!(app);
    assert_eq!(deltas(&m3, &m4, &[OK, SHOWN, SKIPPED, REGISTERED]), [2.0, 1.0, 0.0, 1.0]);

    // The second step: a wrong code, then the right one (no interrupt: bob has a method now).
    h.clock.advance(time::Duration::seconds(30));
    let (c, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["step"], "second_factor");
    let (s, _, _, _) = call!(app, with(&c, post("/api/auth/second-factor", json!({"code": "000000"}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _, _) = call!(app, with(&c, post("/api/auth/second-factor", json!({"code": code(&secret, &h, 0)}))));
    assert_eq!(s, StatusCode::OK);
    let (m5, text) = scrape!(app);
    assert_eq!(deltas(&m4, &m5, &[OK, FAILED, CODE_OK, CODE_BAD, SHOWN, HASHED]), [2.0, 1.0, 1.0, 1.0, 0.0, 1.0]);

    // Store latency: the embedded store's disk syncs, or every PostgreSQL call, are timed.
    let engine = if on_postgres() { "postgres" } else { "sled" };
    let syncs = format!("proofup_store_call_duration_seconds_count{{engine=\"{engine}\"}}");
    let syncs = syncs.as_str();
    assert!(v(&m5, syncs) > v(&m0, syncs), "{text}");
    // Histograms carry their buckets; the series never name a user, an address or a path.
    assert!(
        text.contains("proofup_http_request_duration_seconds_bucket{group=\"sign_in\",status=\"2xx\",le=\"0.005\"}"),
        "{text}"
    );
    assert!(!text.contains("bob") && !text.contains("192.0.2.10") && !text.contains("/api/"), "{text}");
    let _ = bob;

    // The webhook backlog is read at each scrape: a configured (unreachable) webhook and a policy
    // change leave one event pending (no sender runs in this test).
    let (s, _, body, _) =
        call!(app, with(&admin, put("/api/settings/webhook", json!({"url": "http://127.0.0.1:9/hook"}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(v(&m5, "proofup_webhook_backlog{state=\"pending\"}"), 0.0);
    policy["grace_days"] = json!(7);
    save_policy!(app, admin, policy);
    let (m6, _) = scrape!(app);
    assert_eq!(v(&m6, "proofup_webhook_backlog{state=\"pending\"}"), 1.0);
    assert_eq!(v(&m6, "proofup_webhook_backlog{state=\"given_up\"}"), 0.0);
}
