//! Temporary access passes: a one-time code an administrator hands to a user,
//! who signs in with it once and must then choose their own password.

use rand::Rng as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::setup::sha256;

/// 32 symbols without 0/O, 1/I: 5 bits each, 16 of them = 80 bits.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
pub const DEFAULT_TTL: Duration = Duration::hours(8);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapRecord {
    pub sha256: [u8; 32],
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// `ABCD-EFGH-JKLM-NPQR`
pub fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..16).map(|_| ALPHABET[rng.gen_range(0..32)] as char).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// What people type: any case, with or without dashes and spaces.
pub fn normalize(typed: &str) -> String {
    typed.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_uppercase()).collect()
}

impl TapRecord {
    pub fn new(code: &str, now: OffsetDateTime, ttl: Duration) -> Self {
        Self { sha256: sha256(&normalize(code)), created_at: now, expires_at: now + ttl }
    }

    pub fn matches(&self, typed: &str, now: OffsetDateTime) -> bool {
        now < self.expires_at && bool::from(sha256(&normalize(typed)).ct_eq(&self.sha256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn codes_are_long_grouped_and_match_loosely_until_expiry() {
        let code = generate();
        assert_eq!(code.len(), 19);
        assert_eq!(code.split('-').count(), 4);
        assert_ne!(generate(), code);
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let r = TapRecord::new(&code, t0, DEFAULT_TTL);
        assert!(r.matches(&code.to_lowercase().replace('-', " "), t0));
        assert!(r.matches(&code, t0 + Duration::hours(8) - Duration::SECOND));
        assert!(!r.matches(&code, t0 + Duration::hours(8)));
        assert!(!r.matches("AAAA-AAAA-AAAA-AAAA", t0));
    }
}
