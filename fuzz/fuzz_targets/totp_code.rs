//! Codes typed at the second step: only the exact code of the current step (±1 for clock
//! drift), six ASCII digits once whitespace is dropped, is accepted, and never a step already used.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proofup::domain::totp::{self, TotpCheck, DRIFT_STEPS, STEP_SECONDS};

fuzz_target!(|input: (Vec<u8>, String, u32, Option<u8>, Option<u8>)| {
    let (secret, code, minutes, last_back, pick) = input;
    if secret.is_empty() {
        return;
    }
    // Any minute over about 95 years from 2023.
    let unix = 1_700_000_000 + i64::from(minutes % 50_000_000) * 60;
    let now = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    let step = totp::step_of(now);
    let last = last_back.map(|b| step + DRIFT_STEPS - u64::from(b % 4));
    let right: Vec<(u64, String)> =
        (step - DRIFT_STEPS..=step + DRIFT_STEPS).map(|s| (s, totp::code_at(&secret, s * STEP_SECONDS))).collect();
    // Sometimes type a right code (of a step near now), wrapped in the input's whitespace.
    let code = match pick {
        Some(k) => {
            let ws: String = code.chars().filter(|c| c.is_whitespace()).collect();
            format!("{ws}{}{ws}", right[usize::from(k) % right.len()].1)
        }
        None => code,
    };
    let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    // The earliest step whose code it is decides (a later step with the same code does not help).
    let first = right.iter().find(|(_, rc)| *rc == typed).map(|(rs, _)| *rs);
    match totp::verify(&secret, &code, now, last) {
        TotpCheck::Accepted { step: s } => {
            assert_eq!(first, Some(s), "{code:?} accepted at step {s}");
            assert!(last.is_none_or(|l| s > l), "step {s} accepted again after {last:?}");
        }
        TotpCheck::Replayed => assert!(first.is_some_and(|s| last.is_some_and(|l| s <= l)), "{code:?} called a replay"),
        TotpCheck::Wrong => assert_eq!(first, None, "{code:?} refused though it is the code of a step"),
    }
});
