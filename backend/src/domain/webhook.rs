//! Webhook deliveries: what is queued and when a failed one is tried again. Pure.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Give up after this many failed tries (about 4½ hours of retries in all).
pub const MAX_ATTEMPTS: u32 = 12;

/// One queued event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Stable across retries; sent as `X-Proofup-Event-Id` so receivers can drop duplicates.
    pub id: String,
    pub event: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub next_at: OffsetDateTime,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Given up: kept for the Overview until the webhook is saved again.
    #[serde(default)]
    pub given_up: bool,
}

/// The wait after the `attempts`-th failure: 10 s, doubling, at most 1 hour.
pub fn backoff(attempts: u32) -> Duration {
    let secs = 10i64.saturating_mul(1i64 << attempts.saturating_sub(1).min(20));
    Duration::seconds(secs.min(3600))
}

impl Delivery {
    /// Records a failed try: schedules the retry, or gives up after [`MAX_ATTEMPTS`].
    pub fn failed(&mut self, error: String, now: OffsetDateTime) {
        self.attempts += 1;
        self.last_error = Some(error);
        if self.attempts >= MAX_ATTEMPTS {
            self.given_up = true;
        } else {
            self.next_at = now + backoff(self.attempts);
        }
    }

    pub fn due(&self, now: OffsetDateTime) -> bool {
        !self.given_up && self.next_at <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(backoff(1), Duration::seconds(10));
        assert_eq!(backoff(2), Duration::seconds(20));
        assert_eq!(backoff(5), Duration::seconds(160));
        assert_eq!(backoff(9), Duration::seconds(2560));
        assert_eq!(backoff(10), Duration::hours(1));
        assert_eq!(backoff(400), Duration::hours(1));
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let t = datetime!(2026-11-28 09:00 UTC);
        let mut d = Delivery {
            id: "e1".into(),
            event: serde_json::json!({}),
            created_at: t,
            attempts: 0,
            next_at: t,
            last_error: None,
            given_up: false,
        };
        assert!(d.due(t));
        d.failed("HTTP 500".into(), t);
        assert!(!d.due(t + Duration::seconds(9)));
        assert!(d.due(t + Duration::seconds(10)));
        for _ in 1..MAX_ATTEMPTS {
            d.failed("HTTP 500".into(), t);
        }
        assert!(d.given_up);
        assert!(!d.due(t + Duration::days(1)));
    }
}
