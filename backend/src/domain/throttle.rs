//! Per-account throttling of failed sign-ins (NIST SP 800-63B 5.2.2).
//!
//! Keyed by the normalised username whether or not such a user exists, so the
//! throttle itself does not reveal which accounts exist.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Failures allowed before delays start.
pub const FREE_FAILURES: u32 = 5;
/// First delay; doubles with each further failure.
pub const FIRST_DELAY: Duration = Duration::seconds(30);
pub const MAX_DELAY: Duration = Duration::hours(1);
/// Consecutive failures after which only an administrator can unlock the account.
pub const LOCK_AFTER: u32 = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountThrottle {
    pub consecutive_failures: u32,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_failure_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleDecision {
    Allow,
    /// Refuse without checking the password; try again after this long.
    Wait(Duration),
    Locked,
}

impl AccountThrottle {
    /// The delay that applies after `failures` consecutive failures.
    pub fn delay_after(failures: u32) -> Duration {
        if failures < FREE_FAILURES {
            return Duration::ZERO;
        }
        let doublings = (failures - FREE_FAILURES).min(16);
        let d = FIRST_DELAY * 2_i32.pow(doublings);
        d.min(MAX_DELAY)
    }

    pub fn check(&self, now: OffsetDateTime) -> ThrottleDecision {
        if self.consecutive_failures >= LOCK_AFTER {
            return ThrottleDecision::Locked;
        }
        let Some(last) = self.last_failure_at else { return ThrottleDecision::Allow };
        let delay = Self::delay_after(self.consecutive_failures);
        // Within the free failures there is no delay, even for a request whose clock reading
        // is a moment older than the last reservation (it read the time, then waited its turn).
        if delay == Duration::ZERO {
            return ThrottleDecision::Allow;
        }
        let until = last + delay;
        if now < until {
            ThrottleDecision::Wait(until - now)
        } else {
            ThrottleDecision::Allow
        }
    }

    /// Reserves one attempt: when the throttle allows one now, it is counted as a failure at
    /// once, before the (slow) check runs, so that N concurrent guesses count as N. A right
    /// answer then clears the count. Refusals change nothing.
    pub fn reserve(&mut self, now: OffsetDateTime) -> ThrottleDecision {
        let decision = self.check(now);
        if decision == ThrottleDecision::Allow {
            self.record_failure(now);
        }
        decision
    }

    pub fn record_failure(&mut self, now: OffsetDateTime) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_failure_at = Some(now);
    }
}

/// The throttle's key for a (normalised) username: the name itself when it could be a real
/// username, else a digest, so that a 20 kB "username" costs 64 bytes of key.
pub fn key(name: &str) -> String {
    if name.len() <= 128 {
        return name.to_owned();
    }
    let digest: String = super::setup::sha256(name).iter().map(|b| format!("{b:02x}")).collect();
    format!("~{digest}")
}

/// The throttle's key for failures from a browser or network the account's profile knows: its
/// own count, apart from everyone else's.
pub fn familiar_key(name: &str) -> String {
    format!("{}\u{1}familiar", key(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reserving_counts_the_attempt_before_the_check() {
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let mut t = AccountThrottle::default();
        let decisions: Vec<_> = (0..8).map(|_| t.reserve(t0)).collect();
        assert_eq!(decisions[..5], [ThrottleDecision::Allow; 5]);
        assert_eq!(decisions[5], ThrottleDecision::Wait(FIRST_DELAY));
        assert_eq!(t.consecutive_failures, 5, "refusals are not counted");
        // A free attempt is allowed even when its clock reads earlier than the last reservation.
        let mut racing = AccountThrottle::default();
        assert_eq!(racing.reserve(t0 + Duration::milliseconds(5)), ThrottleDecision::Allow);
        assert_eq!(racing.reserve(t0), ThrottleDecision::Allow);
        assert_eq!(key("ada"), "ada");
        let long = "x".repeat(20_000);
        assert_eq!(key(&long).len(), 65);
        assert_ne!(key(&long), key(&"y".repeat(20_000)));
    }

    #[test]
    fn delays_grow_then_cap_then_lock() {
        assert_eq!(AccountThrottle::delay_after(4), Duration::ZERO);
        assert_eq!(AccountThrottle::delay_after(5), Duration::seconds(30));
        assert_eq!(AccountThrottle::delay_after(6), Duration::seconds(60));
        assert_eq!(AccountThrottle::delay_after(12), Duration::hours(1));
        assert_eq!(AccountThrottle::delay_after(99), Duration::hours(1));

        let t0 = datetime!(2026-01-01 00:00 UTC);
        let mut t = AccountThrottle::default();
        for _ in 0..4 {
            t.record_failure(t0);
        }
        assert_eq!(t.check(t0), ThrottleDecision::Allow);
        t.record_failure(t0);
        assert_eq!(t.check(t0 + Duration::seconds(10)), ThrottleDecision::Wait(Duration::seconds(20)));
        assert_eq!(t.check(t0 + Duration::seconds(30)), ThrottleDecision::Allow);
        t.consecutive_failures = LOCK_AFTER;
        assert_eq!(t.check(t0 + Duration::days(30)), ThrottleDecision::Locked);
    }
}
