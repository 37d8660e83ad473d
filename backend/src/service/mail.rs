//! Mail: messages rendered from the domain's templates and queued in the one outbox (channel
//! `mail`), sent by the notification job through the SMTP adapter. The settings in force come
//! from the server's command line; Global administrators see them and send a test message.

use proofup_shared::mail::{EmailStatus, MailSettings, MailTestQueued, MailTestRequest};
use proofup_shared::webhook::ChannelStatus;
use proofup_shared::FieldError;
use time::OffsetDateTime;

use super::mfa::{PendingLookup, PendingMap};
use super::{audit, change, Caller, Core, Global, ServiceError};
use crate::domain::mail::{render, AddressCheck, Notice};
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
        self.channel_status(Channel::Mail, self.mail.as_ref().map(|m| m.server.clone()))
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

/// Address codes waiting for their user, sealed in the store's ceremonies, per session.
static ADDRESS_CHECKS: PendingMap<AddressCheck> = PendingMap::new("address");

impl Core {
    /// The signed-in user's address and whether it is proved.
    pub fn email_status(&self, caller: &Caller) -> Result<EmailStatus, ServiceError> {
        let now = self.clock.now();
        let user = self.user(&caller.user.id)?;
        let pending = match ADDRESS_CHECKS.peek(self, &caller.key, &user.id, now) {
            Ok(c) if Some(&c.address) == user.email.as_ref() && !user.email_verified => Some(c.expires()),
            _ => None,
        };
        Ok(EmailStatus {
            address: user.email.clone(),
            verified: user.email_verified,
            mail_enabled: self.mail.is_some(),
            code_expires_at: pending,
            admin_notices: user.role.can_read_admin().then_some(user.admin_notices),
        })
    }

    /// An administrator turns their own notices of emergency-access sign-ins, policy changes
    /// and users' reports on or off (on needs a confirmed address). Audited.
    pub fn set_admin_notices(&self, caller: &Caller, on: bool) -> Result<EmailStatus, ServiceError> {
        let reader = caller.reader()?;
        let now = self.clock.now();
        let user = self.user(&caller.user.id)?;
        if on && !(user.email.is_some() && user.email_verified) {
            return Err(ServiceError::Conflict("Confirm your e-mail address first.".into()));
        }
        if user.admin_notices != on {
            let mut after = user.clone();
            after.admin_notices = on;
            after.updated_at = now;
            let (before, now_) = if on { ("off", "on") } else { ("on", "off") };
            let actor = reader.actor();
            let entry = audit(
                now,
                Some(actor.user),
                "user.admin_notices",
                Some(&user),
                vec![change("admin_notices", Some(before), Some(now_))],
                actor.client,
            );
            self.store.update_user(&after, entry)?;
        }
        self.email_status(caller)
    }

    /// Mails `title` and `detail` to every administrator who asked for notices (enabled, an
    /// administrator role, a confirmed address).
    pub(super) fn mail_admins(&self, title: &str, detail: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        if self.mail.is_none() {
            return Ok(());
        }
        use proofup_shared::api::Role;
        for role in
            [Role::GlobalAdministrator, Role::SecurityAdministrator, Role::SecurityOperator, Role::SecurityReader]
        {
            let filter = crate::store::UserFilter { role: Some(role), enabled: Some(true), ..Default::default() };
            let mut after: Option<String> = None;
            loop {
                let page = self.store.list_users(&filter, after.as_deref(), 200)?;
                for u in page.items.iter().filter(|u| u.admin_notices && u.email_verified) {
                    if let Some(to) = &u.email {
                        let notice = Notice::AdminEvent { title: title.to_owned(), detail: detail.to_owned() };
                        self.enqueue_mail(to, &notice, now)?;
                    }
                }
                match page.next_after {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// Mails a code to the user's address (one a minute at most; a new one replaces the last).
    pub fn send_address_code(&self, caller: &Caller) -> Result<EmailStatus, ServiceError> {
        let now = self.clock.now();
        let user = self.user(&caller.user.id)?;
        let Some(address) = user.email.clone() else {
            return Err(ServiceError::Conflict(
                "Your account has no e-mail address: ask your administrator to add it.".into(),
            ));
        };
        if user.email_verified {
            return Err(ServiceError::Conflict("Your address is already confirmed.".into()));
        }
        if self.mail.is_none() {
            return Err(ServiceError::Conflict("This server sends no mail, so it cannot confirm addresses.".into()));
        }
        if let Ok(last) = ADDRESS_CHECKS.peek(self, &caller.key, &user.id, now) {
            if now < last.resend_at() {
                return Err(ServiceError::Throttled(last.resend_at() - now));
            }
        }
        let code = format!("{:06}", rand::Rng::gen_range(&mut rand::rngs::OsRng, 0..1_000_000u32));
        let check = AddressCheck::new(&user.id, &address, &code, now);
        ADDRESS_CHECKS.put(self, caller.key, &user.id, &check, check.expires())?;
        let minutes = crate::domain::mail::ADDRESS_CODE_LIFETIME.whole_minutes();
        self.enqueue_mail(&address, &Notice::AddressCode { code, minutes }, now)?;
        self.email_status(caller)
    }

    /// Confirms the address with the mailed code (the account throttle counts wrong ones; a code
    /// takes five wrong tries, then a new one is needed). Audited.
    pub fn confirm_address(&self, caller: &Caller, code: &str) -> Result<EmailStatus, ServiceError> {
        let now = self.clock.now();
        let user = self.user(&caller.user.id)?;
        let waiting = || ServiceError::Conflict("No code is waiting: send a new one.".into());
        let mut check = ADDRESS_CHECKS.peek(self, &caller.key, &user.id, now).map_err(|e| match e {
            PendingLookup::Unavailable(m) => ServiceError::Store(StoreError::Backend(m)),
            _ => waiting(),
        })?;
        if user.email.as_ref() != Some(&check.address) || user.email_verified {
            ADDRESS_CHECKS.discard(self, &caller.key)?;
            return Err(waiting());
        }
        self.reserve_attempt(&user, now)?;
        if code.len() > 16 || !check.matches(&user.id, code) {
            check.tries_left = check.tries_left.saturating_sub(1);
            if check.tries_left == 0 {
                ADDRESS_CHECKS.discard(self, &caller.key)?;
                return Err(ServiceError::InvalidCode(
                    "That code is not right, and it no longer works: send a new one.".into(),
                ));
            }
            ADDRESS_CHECKS.put(self, caller.key, &user.id, &check, check.expires())?;
            return Err(ServiceError::InvalidCode("That code is not right.".into()));
        }
        ADDRESS_CHECKS.discard(self, &caller.key)?;
        self.attempt_succeeded(&user)?;
        let mut after = user.clone();
        after.email_verified = true;
        after.updated_at = now;
        let entry = audit(
            now,
            Some(&user),
            "user.email_verified",
            Some(&user),
            vec![change("email_verified", Some("no"), Some("yes"))],
            &caller.client,
        );
        self.store.update_user(&after, entry)?;
        self.email_status(caller)
    }
}
