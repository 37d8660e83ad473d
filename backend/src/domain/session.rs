//! Session lifetime rules (NIST SP 800-63B 4.2.3: 30 min idle, 12 h absolute).

use time::{Duration, OffsetDateTime};

use super::model::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self { idle: Duration::minutes(30), absolute: Duration::hours(12) }
    }
}

/// A session's public handle, shown in lists and used to end it: derived from its store key
/// (itself a SHA-256 of the cookie token) so that neither can be recovered from it.
pub fn public_id(key: &[u8; 32]) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(b"proofup session id\0");
    h.update(key);
    h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// `last_seen_at` is written at most this often, so reads do not each cost a write.
pub const TOUCH_EVERY: Duration = Duration::seconds(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    Valid { touch: bool },
    IdleExpired,
    AbsoluteExpired,
}

pub fn check(session: &Session, limits: SessionLimits, now: OffsetDateTime) -> SessionCheck {
    if now >= session.created_at + limits.absolute {
        return SessionCheck::AbsoluteExpired;
    }
    // The idle clock may lag by TOUCH_EVERY; count from the recorded time, which is the stricter choice.
    if now >= session.last_seen_at + limits.idle {
        return SessionCheck::IdleExpired;
    }
    SessionCheck::Valid { touch: now - session.last_seen_at >= TOUCH_EVERY }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn s(created: OffsetDateTime, seen: OffsetDateTime) -> Session {
        Session { last_seen_at: seen, ..Session::begun("u", created, "", "") }
    }

    #[test]
    fn idle_and_absolute_edges() {
        let l = SessionLimits::default();
        let t0 = datetime!(2026-01-01 00:00 UTC);
        assert_eq!(check(&s(t0, t0), l, t0), SessionCheck::Valid { touch: false });
        assert_eq!(check(&s(t0, t0), l, t0 + Duration::seconds(61)), SessionCheck::Valid { touch: true });
        assert_eq!(
            check(&s(t0, t0), l, t0 + Duration::minutes(30) - Duration::SECOND),
            SessionCheck::Valid { touch: true }
        );
        assert_eq!(check(&s(t0, t0), l, t0 + Duration::minutes(30)), SessionCheck::IdleExpired);
        let seen = t0 + Duration::hours(12) - Duration::minutes(1);
        assert_eq!(check(&s(t0, seen), l, t0 + Duration::hours(12)), SessionCheck::AbsoluteExpired);
    }
}
