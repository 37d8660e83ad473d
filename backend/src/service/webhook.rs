//! The optional webhook: events (emergency-access sign-ins, policy changes) go
//! into a durable outbox and are POSTed as JSON, retried with backoff; failures
//! show on the Overview. The URL is never logged (it often carries a token).

use super::Core;
use proofup_shared::webhook::{check_webhook_url, redact_webhook_url, WebhookSettings, WebhookSettingsRequest};
use proofup_shared::FieldError;
use time::OffsetDateTime;

use super::{audit, change};
use super::{Actor, ServiceError};
use crate::domain::webhook::Delivery;
use crate::store::{StoreError, WebhookStore};

/// Sends one event. `Err` carries a short reason for the Overview (never the URL).
pub trait Sender: Send + Sync {
    fn post(&self, url: &str, body: &str, event_id: &str) -> Result<(), String>;
}

/// HTTP(S) with a 10-second limit per try.
pub struct HttpSender {
    agent: ureq::Agent,
}

impl HttpSender {
    pub fn new() -> Self {
        let mut b = ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(10))
            .redirects(0)
            .user_agent(concat!("Proofup/", env!("CARGO_PKG_VERSION")));
        match native_tls::TlsConnector::new() {
            Ok(tls) => b = b.tls_connector(std::sync::Arc::new(tls)),
            Err(e) => tracing::error!(error = %e, "no TLS for webhooks"),
        }
        Self { agent: b.build() }
    }
}

impl Default for HttpSender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender for HttpSender {
    fn post(&self, url: &str, body: &str, event_id: &str) -> Result<(), String> {
        match self
            .agent
            .post(url)
            .set("content-type", "application/json")
            .set("x-proofup-event-id", event_id)
            .send_string(body)
        {
            Ok(r) if (200..300).contains(&r.status()) => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(ureq::Error::Status(code, _)) => Err(format!("HTTP {code}")),
            // ureq's transport error text names the URL: keep only its kind.
            Err(ureq::Error::Transport(t)) => Err(format!("could not deliver: {}", t.kind())),
        }
    }
}

/// Queues an event if a webhook is configured.
pub fn enqueue<S: WebhookStore + ?Sized>(
    s: &S,
    kind: &str,
    data: serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    if s.webhook_url()?.is_none() {
        return Ok(());
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let at = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let event = serde_json::json!({"id": id, "type": kind, "at": at, "data": data});
    s.enqueue_delivery(&Delivery {
        id,
        event,
        created_at: now,
        attempts: 0,
        next_at: now,
        last_error: None,
        given_up: false,
    })
}

/// Tries every due delivery once. Returns how many were delivered.
pub fn deliver_due<S: WebhookStore + ?Sized>(
    s: &S,
    sender: &dyn Sender,
    now: OffsetDateTime,
) -> Result<u32, StoreError> {
    let Some(url) = s.webhook_url()? else { return Ok(0) };
    let mut delivered = 0;
    // Leased for a minute: another node's sender does not post the same event meanwhile.
    for mut d in s.claim_due_deliveries(now, time::Duration::minutes(1), 50)? {
        let body = d.event.to_string();
        match sender.post(&url, &body, &d.id) {
            Ok(()) => {
                s.delivery_succeeded(&d.id, now)?;
                delivered += 1;
            }
            Err(e) => {
                d.failed(e.clone(), now);
                tracing::warn!(event = %d.id, attempts = d.attempts, given_up = d.given_up, error = %e, "webhook delivery failed");
                s.delivery_failed(&d, now)?;
            }
        }
    }
    Ok(delivered)
}

impl Core {
    /// The outbox's counts (for `/metrics`).
    pub fn webhook_backlog(&self) -> Result<proofup_shared::webhook::WebhookStatus, ServiceError> {
        Ok(self.store.webhook_status()?)
    }

    pub fn webhook_settings(&self) -> Result<WebhookSettings, ServiceError> {
        let s = self.store.as_ref();
        Ok(WebhookSettings { url: s.webhook_url()?, status: s.webhook_status()? })
    }

    /// Sets or clears the URL (audited with the host only).
    pub fn save_webhook(
        &self,
        actor: &Actor<'_>,
        req: WebhookSettingsRequest,
    ) -> Result<WebhookSettings, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let url = req.url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
        if let Some(u) = &url {
            if let Err(message) = check_webhook_url(u) {
                return Err(ServiceError::Invalid(vec![FieldError { field: "url".into(), message }]));
            }
        }
        let before = s.webhook_url()?.map(|u| redact_webhook_url(&u));
        let after = url.as_deref().map(redact_webhook_url);
        let entry = audit(
            now,
            Some(actor.user),
            "settings.webhook",
            None,
            vec![change("webhook", before.as_deref(), after.as_deref())],
            actor.client,
        );
        s.set_webhook_url(url.as_deref(), entry)?;
        self.webhook_settings()
    }

    /// Queues a test event.
    pub fn send_test_webhook(&self, actor: &Actor<'_>) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        if s.webhook_url()?.is_none() {
            return Err(ServiceError::Conflict("Set a webhook URL first.".into()));
        }
        Ok(enqueue(s, "test", serde_json::json!({"requested_by": actor.user.username}), now)?)
    }
}
