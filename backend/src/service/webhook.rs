//! The optional webhook's settings and status: events (emergency-access sign-ins, policy
//! changes) wait in the notifications outbox (`notify.rs`) and are POSTed as JSON by the HTTP
//! adapter (`crate::adapters::webhook_http`); failures show on the Overview. The URL is never
//! logged (it often carries a token).

use super::Core;
use proofup_shared::webhook::{check_webhook_url, redact_webhook_url, WebhookSettings, WebhookSettingsRequest};
use proofup_shared::FieldError;

use super::{audit, change};
use super::{Manager, ServiceError};
use crate::domain::notify::{Channel, EventKind};
use proofup_shared::webhook::ChannelStatus;

impl Core {
    /// The outbox's counts (for `/metrics`).
    pub fn webhook_backlog(&self) -> Result<ChannelStatus, ServiceError> {
        let url = self.store.webhook_url()?;
        self.channel_status(Channel::Webhook, url.as_deref().map(redact_webhook_url))
    }

    pub fn webhook_settings(&self) -> Result<WebhookSettings, ServiceError> {
        Ok(WebhookSettings { url: self.store.webhook_url()?, status: self.webhook_backlog()? })
    }

    /// Sets or clears the URL (audited with the host only).
    pub fn save_webhook(&self, by: &Manager<'_>, req: WebhookSettingsRequest) -> Result<WebhookSettings, ServiceError> {
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
            Some(by.actor().user),
            "settings.webhook",
            None,
            vec![change("webhook", before.as_deref(), after.as_deref())],
            by.actor().client,
        );
        s.set_webhook_url(url.as_deref(), entry)?;
        self.webhook_settings()
    }

    /// Queues a test event.
    pub fn send_test_webhook(&self, by: &Manager<'_>) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        if s.webhook_url()?.is_none() {
            return Err(ServiceError::Conflict("Set a webhook URL first.".into()));
        }
        Ok(self.enqueue_event(EventKind::Test, serde_json::json!({"requested_by": by.actor().user.username}), now)?)
    }
}
