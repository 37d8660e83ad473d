//! Mail: messages rendered from the domain's templates and queued in the one outbox (channel
//! `mail`), sent by the notification job through the SMTP adapter. The settings in force come
//! from the server's command line; Global administrators see them and send a test message.

use proofup_shared::mail::{MailSettings, MailTestQueued, MailTestRequest};
use proofup_shared::webhook::ChannelStatus;
use proofup_shared::FieldError;
use time::OffsetDateTime;

use super::{audit, change, Core, Global, ServiceError};
use crate::domain::mail::{render, Notice};
use crate::domain::notify::{Channel, Message};
use crate::store::StoreError;

impl Core {
    /// Whether the server sends mail (started with `--smtp-url`).
    pub fn mail_enabled(&self) -> bool {
        self.mail.is_some()
    }

    /// Renders `notice` for `to` and queues it; `false` (nothing queued) when mail is off. Called
    /// inside the use case, so the message is as durable as the change that caused it.
    pub(crate) fn enqueue_mail(&self, to: &str, notice: &Notice, now: OffsetDateTime) -> Result<bool, StoreError> {
        if self.mail.is_none() {
            return Ok(false);
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mail = render(notice, &self.brand, to);
        self.store.enqueue_message(&Message::mail(notice.kind(), mail, id, now))?;
        Ok(true)
    }

    /// How mail's deliveries are going.
    pub(super) fn mail_backlog(&self) -> Result<ChannelStatus, ServiceError> {
        let c = self.store.outbox_counts(Channel::Mail)?;
        let (last_error, last_error_at) = c.last_error.map_or((None, None), |(m, at)| (Some(m), Some(at)));
        Ok(ChannelStatus {
            configured: self.mail.is_some(),
            destination: self.mail.as_ref().map(|m| m.server.clone()),
            pending: c.pending,
            failing: c.failing,
            given_up: c.given_up,
            last_error,
            last_error_at,
            last_delivered_at: c.last_sent_at,
        })
    }

    /// The mail settings in force and how deliveries go (Global administrators).
    pub fn mail_settings(&self, _: &Global<'_>) -> Result<MailSettings, ServiceError> {
        let m = self.mail.as_ref();
        Ok(MailSettings {
            enabled: m.is_some(),
            server: m.map(|m| m.server.clone()),
            security: m.map(|m| m.security.clone()),
            username: m.and_then(|m| m.username.clone()),
            from: m.map(|m| m.from.clone()),
            organisation: self.brand.organisation.clone(),
            status: self.mail_backlog()?,
        })
    }

    /// Queues a test message to `req.to`, or to the administrator's own address (audited).
    pub fn send_test_mail(&self, by: &Global<'_>, req: MailTestRequest) -> Result<MailTestQueued, ServiceError> {
        let actor = by.actor();
        if self.mail.is_none() {
            return Err(ServiceError::Conflict(
                "Mail is off: start Proofup with --smtp-url and --mail-from to send mail.".into(),
            ));
        }
        let field = |message: String| ServiceError::Invalid(vec![FieldError { field: "to".into(), message }]);
        let to = match req.to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => proofup_shared::validation::validate_email(t).map_err(field)?,
            None => actor.user.email.clone(),
        }
        .ok_or_else(|| field("Your account has no e-mail address: enter the address to send the test to.".into()))?;
        let now = self.clock.now();
        self.enqueue_mail(&to, &Notice::Test { requested_by: actor.user.username.clone() }, now)?;
        self.store.append_audit(audit(
            now,
            Some(actor.user),
            "mail.test_queued",
            None,
            vec![change("to", None, Some(&to))],
            actor.client,
        ))?;
        Ok(MailTestQueued { to })
    }
}
