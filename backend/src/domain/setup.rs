//! The one-time first-run setup token.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

pub const SETUP_TOKEN_TTL: Duration = Duration::hours(1);

/// What the store keeps: only the hash of the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupTokenRecord {
    pub sha256: [u8; 32],
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupTokenError {
    Missing,
    Wrong,
    Expired,
}

pub fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

impl SetupTokenRecord {
    pub fn for_token(token: &str, now: OffsetDateTime) -> Self {
        Self { sha256: sha256(token), expires_at: now + SETUP_TOKEN_TTL }
    }

    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<(), SetupTokenError> {
        if !bool::from(sha256(token).ct_eq(&self.sha256)) {
            return Err(SetupTokenError::Wrong);
        }
        if now >= self.expires_at {
            return Err(SetupTokenError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn token_checks() {
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let r = SetupTokenRecord::for_token("abc", t0);
        assert_eq!(r.verify("abc", t0 + Duration::minutes(59)), Ok(()));
        assert_eq!(r.verify("abd", t0), Err(SetupTokenError::Wrong));
        assert_eq!(r.verify("abc", t0 + Duration::hours(1)), Err(SetupTokenError::Expired));
    }
}
