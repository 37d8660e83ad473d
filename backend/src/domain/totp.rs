//! RFC 6238 time-based one-time codes: 160-bit secrets, 6 digits, 30-second
//! steps, one step of drift either side, and no code accepted twice.
//! The algorithm is `totp-rs`; the window and replay rules are ours.

use rand::RngCore as _;
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;
use totp_rs::{Algorithm, Secret, TOTP};

pub const STEP_SECONDS: u64 = 30;
pub const DIGITS: usize = 6;
/// Steps accepted either side of the current one (network delay and clock drift).
pub const DRIFT_STEPS: u64 = 1;
pub const SECRET_BYTES: usize = 20;

/// A new 160-bit secret from the operating system's CSPRNG.
pub fn new_secret() -> Vec<u8> {
    let mut s = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

/// Base32 without padding, as authenticator apps expect it.
pub fn base32(secret: &[u8]) -> String {
    Secret::Raw(secret.to_vec()).to_encoded().to_string().trim_end_matches('=').to_owned()
}

/// Decodes a base32 secret (spaces and padding allowed).
pub fn decode_base32(text: &str) -> Option<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace() && *c != '=').collect::<String>().to_uppercase();
    Secret::Encoded(clean).to_bytes().ok()
}

/// The secret in groups of four characters, for typing it by hand.
pub fn grouped(secret_b32: &str) -> String {
    secret_b32.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Key URI (`otpauth://totp/Issuer:account?...`) that authenticator apps read from the QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        percent(issuer),
        percent(account),
        base32(secret),
        percent(issuer)
    )
}

fn totp(secret: &[u8], digits: usize, algorithm: Algorithm) -> TOTP {
    TOTP::new_unchecked(algorithm, digits, 0, STEP_SECONDS, secret.to_vec())
}

/// The code for a given unix time (tests and vectors).
pub fn code_at(secret: &[u8], unix: u64) -> String {
    totp(secret, DIGITS, Algorithm::SHA1).generate(unix)
}

pub fn step_of(at: OffsetDateTime) -> u64 {
    at.unix_timestamp().max(0) as u64 / STEP_SECONDS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpCheck {
    /// Accepted; remember this step so no code at or before it is accepted again.
    Accepted {
        step: u64,
    },
    /// Right code, but its step was already used (replay).
    Replayed,
    Wrong,
}

/// Checks `code` against the steps now-1, now, now+1, in constant time per
/// comparison, refusing any step at or before `last_step`.
pub fn verify(secret: &[u8], code: &str, now: OffsetDateTime, last_step: Option<u64>) -> TotpCheck {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return TotpCheck::Wrong;
    }
    let t = totp(secret, DIGITS, Algorithm::SHA1);
    let current = step_of(now);
    let mut matched = None;
    for step in current.saturating_sub(DRIFT_STEPS)..=current + DRIFT_STEPS {
        let expected = t.generate(step * STEP_SECONDS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && matched.is_none() {
            matched = Some(step);
        }
    }
    match matched {
        Some(step) if last_step.is_some_and(|l| step <= l) => TotpCheck::Replayed,
        Some(step) => TotpCheck::Accepted { step },
        None => TotpCheck::Wrong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    #[test]
    fn rfc6238_appendix_b_vectors() {
        let sha1 = b"12345678901234567890";
        let sha256 = b"12345678901234567890123456789012";
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234";
        let rows: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (t, a, b, c) in rows {
            assert_eq!(totp(sha1, 8, Algorithm::SHA1).generate(t), a, "SHA1 at {t}");
            assert_eq!(totp(sha256, 8, Algorithm::SHA256).generate(t), b, "SHA256 at {t}");
            assert_eq!(totp(sha512, 8, Algorithm::SHA512).generate(t), c, "SHA512 at {t}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_vectors() {
        // HOTP(K, C) is TOTP at time C * 30 with the same secret.
        let k = b"12345678901234567890";
        let expected =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (c, e) in expected.iter().enumerate() {
            assert_eq!(code_at(k, c as u64 * STEP_SECONDS), *e, "counter {c}");
        }
    }

    #[test]
    fn window_edges_and_replay() {
        let s = new_secret();
        let now = at(1_700_000_015); // step boundary at ..000_000 + 30k
        let step = step_of(now);
        let code = |d: i64| code_at(&s, ((step as i64 + d) * 30) as u64);
        assert_eq!(verify(&s, &code(0), now, None), TotpCheck::Accepted { step });
        assert_eq!(verify(&s, &code(-1), now, None), TotpCheck::Accepted { step: step - 1 });
        assert_eq!(verify(&s, &code(1), now, None), TotpCheck::Accepted { step: step + 1 });
        assert_eq!(verify(&s, &code(-2), now, None), TotpCheck::Wrong);
        assert_eq!(verify(&s, &code(2), now, None), TotpCheck::Wrong);
        // Replay: the same code, and an older one after a newer one, are refused.
        assert_eq!(verify(&s, &code(0), now, Some(step)), TotpCheck::Replayed);
        assert_eq!(verify(&s, &code(-1), now, Some(step)), TotpCheck::Replayed);
        assert_eq!(verify(&s, &code(1), now, Some(step)), TotpCheck::Accepted { step: step + 1 });
        assert_eq!(verify(&s, "12345", now, None), TotpCheck::Wrong);
        assert_eq!(verify(&s, "abcdef", now, None), TotpCheck::Wrong);
        let spaced = format!("{} {}", &code(0)[..3], &code(0)[3..]);
        assert_eq!(verify(&s, &spaced, now, None), TotpCheck::Accepted { step });
    }

    #[test]
    fn secrets_are_160_bits_and_distinct() {
        let set: std::collections::HashSet<Vec<u8>> = (0..1000).map(|_| new_secret()).collect();
        assert_eq!(set.len(), 1000);
        assert!(set.iter().all(|s| s.len() == 20));
        let s = vec![0u8; 20];
        assert_eq!(base32(&s).len(), 32);
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
        let uri = otpauth_uri("Proofup", "alice", &s);
        assert_eq!(
            uri,
            "otpauth://totp/Proofup:alice?secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&issuer=Proofup&algorithm=SHA1&digits=6&period=30"
        );
    }
}
