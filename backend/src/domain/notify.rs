//! Notifications: the events Proofup tells others about, and the one durable outbox they wait in
//! — keyed by channel (the webhook today; e-mail is the next), with one retry schedule for all.
//! Pure: what is queued and when a failed message is tried again. The service queues and
//! delivers; adapters (`crate::adapters`) do the sending.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Give up after this many failed tries (about 4½ hours of retries in all).
pub const MAX_ATTEMPTS: u32 = 12;

/// Where a message goes. Each channel has its own sender and its own status on the Overview.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The administrators' webhook URL: the event as JSON.
    #[default]
    Webhook,
    /// E-mail over SMTP: each message carries its recipient and its rendered body.
    Mail,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Webhook, Channel::Mail];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Mail => "mail",
        }
    }

    /// The name under which an engine keeps this channel's status value `name` (`last_error`,
    /// `last_delivered_at`). The webhook's keep the names they had before there were channels.
    pub fn status_key(self, name: &str) -> String {
        match self {
            Channel::Webhook => name.to_owned(),
            Channel::Mail => format!("mail.{name}"),
        }
    }
}

/// What happened, as receivers see it (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// An emergency-access account signed in.
    EmergencyAccessSignIn,
    /// The MFA registration policy was saved (a new version).
    PolicyChanged,
    /// A user followed "This wasn't me" in a security notice.
    UserReported,
    /// An administrator asked for a test message.
    Test,
    /// A sign-in raised risk detections.
    RiskDetected,
    /// A user's risk changed (remediated, dismissed, confirmed).
    UserRiskChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::EmergencyAccessSignIn => "emergency_access.sign_in",
            EventKind::PolicyChanged => "policy.saved",
            EventKind::UserReported => "user.reported_not_me",
            EventKind::Test => "test",
            EventKind::RiskDetected => "risk.detected",
            EventKind::UserRiskChanged => "user.risk_changed",
        }
    }
}

/// One queued message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Stable across retries; sent as `X-Proofup-Event-Id` so receivers can drop duplicates.
    pub id: String,
    /// Messages written before channels existed were webhook deliveries.
    #[serde(default)]
    pub channel: Channel,
    /// What is sent: for the webhook, the event `{"id","type","at","data"}`.
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
    /// The mail channel's message: its recipient and rendered bodies (`event` then records only
    /// what it was about).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<super::mail::Mail>,
}

/// The wait after the `attempts`-th failure: 10 s, doubling, at most 1 hour.
pub fn backoff(attempts: u32) -> Duration {
    let secs = 10i64.saturating_mul(1i64 << attempts.saturating_sub(1).min(20));
    Duration::seconds(secs.min(3600))
}

impl Message {
    /// A new event for `channel`, due at once: `{"id","type","at","data"}`.
    pub fn event(channel: Channel, kind: EventKind, data: serde_json::Value, id: String, now: OffsetDateTime) -> Self {
        let at = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let event = serde_json::json!({"id": id, "type": kind.as_str(), "at": at, "data": data});
        Message {
            id,
            channel,
            event,
            created_at: now,
            attempts: 0,
            next_at: now,
            last_error: None,
            given_up: false,
            mail: None,
        }
    }

    /// A new e-mail, due at once. `event` records what it is about, never its body.
    pub fn mail(kind: &str, mail: super::mail::Mail, id: String, now: OffsetDateTime) -> Self {
        let at = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let event = serde_json::json!({"id": id, "type": kind, "at": at});
        Message {
            id,
            channel: Channel::Mail,
            event,
            created_at: now,
            attempts: 0,
            next_at: now,
            last_error: None,
            given_up: false,
            mail: Some(mail),
        }
    }

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
        let mut d = Message::event(Channel::Webhook, EventKind::Test, serde_json::json!({}), "e1".into(), t);
        assert_eq!(d.event["type"], "test");
        assert_eq!(d.event["at"], "2026-11-28T09:00:00Z");
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
