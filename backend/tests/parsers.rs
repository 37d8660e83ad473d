//! Property tests for every parser of outside input: codes typed at sign-in (TOTP,
//! recovery), names and URLs, the CSV import and query strings through the real API.
//! Nothing panics, nothing answers 5xx, a refusal is a typed 4xx that writes nothing,
//! and only the exact right code is ever accepted. Failing cases are kept by proptest
//! under `proptest-regressions/` (the corpus).
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use proofup::domain::totp::{self, TotpCheck};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::json;
use time::macros::datetime;

const SECRET: &[u8; 20] = b"12345678901234567890";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_typed_code_is_accepted_only_when_it_is_the_right_one(code in ".{0,40}") {
        let now = datetime!(2026-11-28 09:00:00 UTC);
        let step = now.unix_timestamp() as u64 / 30;
        let right: Vec<String> = (step - 1..=step + 1).map(|s| totp::code_at(SECRET, s * 30)).collect();
        let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        match totp::verify(SECRET, &code, now, None) {
            TotpCheck::Accepted { .. } => prop_assert!(right.contains(&typed), "{code:?} accepted"),
            _ => prop_assert!(!right.contains(&typed) || typed.len() != 6),
        }
    }

    #[test]
    fn digit_strings_near_the_right_code_are_refused(n in 0u32..1_000_000) {
        let now = datetime!(2026-11-28 09:00:00 UTC);
        let step = now.unix_timestamp() as u64 / 30;
        let code = format!("{n:06}");
        let right = (step - 1..=step + 1).any(|s| totp::code_at(SECRET, s * 30) == code);
        prop_assert_eq!(matches!(totp::verify(SECRET, &code, now, None), TotpCheck::Accepted { .. }), right);
    }

    #[test]
    fn base32_and_recovery_codes_never_panic(s in "\\PC{0,80}") {
        let _ = totp::decode_base32(&s);
        if let Some(n) = proofup::service::recovery::normalize(&s) {
            prop_assert_eq!(n.len(), 16);
            prop_assert!(n.bytes().all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b)));
        }
    }

    #[test]
    fn names_and_urls_are_checked_without_panics(s in "\\PC{0,300}") {
        let _ = proofup_shared::mfa::check_method_name(&s);
        let _ = proofup_shared::directory::check_group_name(&s);
        if proofup_shared::webhook::check_webhook_url(&s).is_ok() {
            prop_assert!(s.starts_with("http://") || s.starts_with("https://"));
            prop_assert!(!s.contains(char::is_whitespace));
        }
        let _ = proofup_shared::webhook::redact_webhook_url(&s);
        if let Ok(u) = proofup_shared::validation::validate_username(&s) {
            prop_assert_eq!(proofup_shared::validation::validate_username(&u), Ok(u.clone()), "normalising twice changes nothing");
        }
        let _ = proofup_shared::validation::validate_display_name(&s);
        let _ = proofup_shared::validation::validate_email(&s);
        let _ = proofup_shared::validation::validate_password_shape(&s, "alice");
    }
}

/// CSV-ish text: the header or not, then lines of fields with quotes, commas, newlines and unicode.
fn csv_text() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        "[a-z][a-z0-9._-]{0,12}",
        Just(String::new()),
        Just("user".to_owned()),
        Just("group".to_owned()),
        Just("global_administrator".to_owned()),
        Just("true".to_owned()),
        "\\PC{0,20}",
        "[\",\n\r=+@-]{1,4}",
    ];
    let line = prop::collection::vec(field, 0..9).prop_map(|f| f.join(","));
    (any::<bool>(), prop::collection::vec(line, 0..12)).prop_map(|(header, lines)| {
        let mut t = if header { format!("{}\n", proofup_shared::directory::CSV_HEADER) } else { String::new() };
        t.push_str(&lines.join("\n"));
        t
    })
}

#[actix_web::test]
async fn csv_import_and_query_strings_never_fail_untyped() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let volatile = ["sessions", "signins", "throttle"];
    let mut runner = TestRunner::deterministic();
    let strategy = csv_text();
    let mut imported = 0;
    for _ in 0..300 {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        h.store.flush().unwrap();
        let before = h.sled().digest(&volatile).unwrap();
        let (s, _, body, _) = call!(app, with(&admin, post("/api/directory/import", json!({"csv": text}))));
        assert!(!s.is_server_error(), "{text:?} → {s}: {body}");
        if s.is_success() {
            imported += 1;
        } else {
            assert!(s.is_client_error() && body["error"].is_string(), "{text:?} → {s}: {body}");
            h.store.flush().unwrap();
            assert_eq!(h.sled().digest(&volatile).unwrap(), before, "a refused import wrote something: {text:?}");
        }
    }
    eprintln!("CSV: 300 generated files, {imported} imported, the rest refused with nothing written");

    let value = "\\PC{0,30}|[0-9-]{1,25}|%[0-9A-F]{2}";
    let values = proptest::string::string_regex(value).unwrap();
    for _ in 0..200 {
        let v = values.new_tree(&mut runner).unwrap().current();
        let enc = encode(&v);
        for path in [
            format!("/api/users?q={enc}&limit={enc}&after={enc}&role={enc}&enabled={enc}"),
            format!("/api/groups?q={enc}&after={enc}"),
            format!("/api/directory/search?q={enc}"),
            format!("/api/sign-ins?user={enc}&result={enc}&from={enc}&to={enc}&after={enc}"),
            format!("/api/audit?actor={enc}&action={enc}&from={enc}&after={enc}&limit={enc}"),
            format!("/api/reports/registration?status={enc}"),
        ] {
            let (s, _, body, _) = call!(app, with(&admin, get(&path)));
            assert!(!s.is_server_error(), "{path} → {s}: {body}");
            if !s.is_success() {
                assert!(s.is_client_error() && body["error"].is_string(), "{path} → {s}: {body}");
            }
        }
    }
    assert_eq!(call!(app, with(&admin, get("/api/overview"))).0, StatusCode::OK);
}
