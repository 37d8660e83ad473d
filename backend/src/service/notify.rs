//! Notifications: events go into the one durable outbox, per channel, and a job hands each
//! channel's due messages to that channel's [`Transport`] (an adapter in `crate::adapters`),
//! with the domain's retry schedule (`Message::failed`). Queuing happens inside the use case that
//! caused the event, so the event is as durable as the change; sending is off the request path.

use time::OffsetDateTime;

use super::{Core, ServiceError};
use crate::domain::notify::{Channel, EventKind, Message};
use crate::store::StoreError;

/// How long a claimed message is this node's to send: another node's job is not handed it before.
const LEASE: time::Duration = time::Duration::minutes(1);
/// Most messages one channel sends per run.
const BATCH: usize = 50;

/// The port a channel's sender implements. `Err` carries a short reason for the Overview,
/// never a secret (the webhook URL often carries a token).
pub trait Transport: Send + Sync {
    fn channel(&self) -> Channel;
    /// Sends one message to `destination` (for the webhook, its URL; for mail, the recipient).
    fn send(&self, destination: &str, message: &Message) -> Result<(), String>;
}

impl Core {
    /// Queues an event for every channel configured to hear it: the webhook, when it has a URL,
    /// and mail to the administrators who asked for notices. Called inside the use case, before
    /// its durability is awaited.
    pub(crate) fn enqueue_event(
        &self,
        kind: EventKind,
        data: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let s = self.store.as_ref();
        // Mail: the administrators who asked hear of what needs a person's eyes.
        let text = |k: &str| data.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let for_admins = match kind {
            EventKind::EmergencyAccessSignIn => Some((
                format!("Emergency-access account signed in: {}", text("user")),
                format!("The break-glass account {} signed in from {}. Confirm it was expected, then acknowledge the alert.", text("user"), text("ip")),
            )),
            EventKind::PolicyChanged => Some((
                "The MFA registration policy was changed".to_owned(),
                format!("{} saved version {} of the MFA registration policy.", text("saved_by"), data["version"]),
            )),
            EventKind::UserReported => Some((
                format!("{} reported a change they did not make", text("user")),
                format!("{} followed \"This wasn't me\" about: {}. They are signed out everywhere and their password no longer works.", text("user"), text("reported")),
            )),
            EventKind::Test => None,
            // Users at risk: administrators hear of high risk only (Entra's default threshold).
            EventKind::RiskDetected if data["level"] == "high" => Some((
                format!("High-risk sign-in: {}", text("user")),
                format!("A sign-in by {} from {} was rated high risk. See Risk detections in the portal for the evidence.", text("user"), text("ip")),
            )),
            EventKind::RiskDetected | EventKind::UserRiskChanged => None,
        };
        if let Some((title, detail)) = for_admins {
            self.mail_admins(&title, &detail, now)?;
        }
        if s.webhook_url()?.is_none() {
            return Ok(());
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        s.enqueue_message(&Message::event(Channel::Webhook, kind, data, id, now))
    }
}

impl Core {
    /// How `channel`'s deliveries are going, for the Overview and its settings; `destination`
    /// as shown (none: the channel is off).
    pub(super) fn channel_status(
        &self,
        channel: Channel,
        destination: Option<String>,
    ) -> Result<proofup_shared::webhook::ChannelStatus, ServiceError> {
        let c = self.store.outbox_counts(channel)?;
        let (last_error, last_error_at) = c.last_error.map_or((None, None), |(m, at)| (Some(m), Some(at)));
        Ok(proofup_shared::webhook::ChannelStatus {
            configured: destination.is_some(),
            destination,
            pending: c.pending,
            failing: c.failing,
            given_up: c.given_up,
            last_error,
            last_error_at,
            last_delivered_at: c.last_sent_at,
        })
    }

    /// Where `channel`'s messages go now; `None`: the channel is off, nothing is sent.
    fn destination(&self, channel: Channel) -> Result<Option<String>, StoreError> {
        match channel {
            Channel::Webhook => self.store.webhook_url(),
            // Each message names its recipient; the channel is on when the server has mail.
            Channel::Mail => Ok(self.mail.as_ref().map(|m| m.server.clone())),
        }
    }

    /// The job: tries every due message once, per channel with a transport. Returns how many
    /// were sent. Blocking (the transports are); run it off the async workers.
    pub fn deliver_due(&self, transports: &[&dyn Transport]) -> Result<u32, ServiceError> {
        let s = self.store.as_ref();
        let mut sent = 0;
        for t in transports {
            let channel = t.channel();
            let Some(to) = self.destination(channel)? else { continue };
            let now = self.clock.now();
            for mut m in s.claim_due_messages(channel, now, LEASE, BATCH)? {
                let to = m.mail.as_ref().map_or(to.as_str(), |mail| mail.to.as_str());
                match t.send(to, &m) {
                    Ok(()) => {
                        s.message_sent(&m, self.clock.now())?;
                        sent += 1;
                    }
                    Err(e) => {
                        m.failed(e.clone(), now);
                        tracing::warn!(channel = channel.as_str(), message = %m.id, attempts = m.attempts, given_up = m.given_up, error = %e, "notification not sent");
                        s.message_failed(&m, now)?;
                    }
                }
            }
        }
        Ok(sent)
    }
}
