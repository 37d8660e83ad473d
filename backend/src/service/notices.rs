//! Security notices: when a sign-in method is added or removed or the password changes, the user
//! hears of it at their confirmed address, with a "This wasn't me" link. Following the link (once,
//! within 7 days) records the report, signs the user out everywhere (sessions, sign-ins in
//! progress, grants), stops the password from working — a new one is chosen with the user's
//! methods ("Forgot your password?") or an administrator's pass — and alerts the administrators
//! (Overview, webhook). The link's token travels in the URL's fragment, which browsers never send
//! to a server; the store keeps only its SHA-256.

use std::net::IpAddr;

use proofup_shared::mail::Reported;
use proofup_shared::overview::AlertKind;
use time::OffsetDateTime;

use super::mfa::{PendingLookup, PendingMap};
use super::{audit, change, new_token, session_key, Core, ServiceError};
use crate::domain::mail::{Notice, ReportLink, SecurityChange, REPORT_LINK_LIFETIME};
use crate::domain::model::{ClientInfo, User};
use crate::domain::notify::EventKind;
use crate::domain::records::AlertRecord;
use crate::store::StoreError;

/// "This wasn't me" links not yet followed, sealed in the store's ceremonies.
static REPORTS: PendingMap<ReportLink> = PendingMap::new("report");

impl Core {
    /// Queues a security notice about `change` to the user's confirmed address, if mail is on and
    /// the address is confirmed (nothing is mailed to an address nobody proved). Called inside the
    /// use case that made the change.
    pub(crate) fn notify_security(
        &self,
        user: &User,
        change: SecurityChange,
        client: &ClientInfo,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        let Some(to) = user.email.as_ref().filter(|_| user.email_verified && self.mail.is_some()) else {
            return Ok(());
        };
        let token = new_token();
        let link = ReportLink { change: change.clone(), sent_at: now };
        REPORTS.put(self, session_key(&token), &user.id, &link, now + REPORT_LINK_LIFETIME)?;
        let when = now
            .format(time::macros::format_description!(
                "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
            ))
            .unwrap_or_default();
        let report = format!("{}/report#t={token}", self.brand.portal);
        self.enqueue_mail(to, &Notice::Security { change, when, ip: client.ip.clone(), report }, now)?;
        Ok(())
    }

    /// Follows a "This wasn't me" link (single use). Audited, alerted, and the account is locked
    /// down as the module says.
    /// `ip` is limited like the token endpoint: a link's token is a verifier.
    pub async fn report_not_me(&self, ip: IpAddr, token: &str, client: &ClientInfo) -> Result<Reported, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        self.verifier_gate(ip).map_err(ServiceError::Throttled)?;
        let gone = || {
            self.verifier_failed(ip);
            ServiceError::Conflict("This link has been used or has expired.".into())
        };
        if token.is_empty() || token.len() > 128 {
            return Err(gone());
        }
        // Taken, not read: of two following the link at once, one reports.
        let (owner, link) = REPORTS.take_owned(self, &session_key(token), now).map_err(|e| match e {
            PendingLookup::Unavailable(m) => ServiceError::Store(StoreError::Backend(m)),
            _ => gone(),
        })?;
        let user = s.user(&owner)?.ok_or_else(gone)?;
        let summary = link.change.summary();
        let mut after = user.clone();
        after.password_hash = String::new();
        after.updated_at = now;
        // Sessions (and with them sign-ins in progress and grants) end before the password goes:
        // the port keeps writes in order (see `set_own_password`).
        s.delete_user_sessions(&user.id)?;
        s.update_user(
            &after,
            audit(
                now,
                Some(&user),
                "user.reported_not_me",
                Some(&user),
                vec![change("reported", None, Some(&summary)), change("password", Some("(set)"), Some("(cleared)"))],
                client,
            ),
        )?;
        s.add_alert(AlertRecord {
            id: String::new(),
            kind: AlertKind::UserReported,
            detail: Some(summary.clone()),
            at: now,
            user_id: user.id.clone(),
            username: user.username.clone(),
            ip: client.ip.clone(),
            acknowledged_by: None,
            acknowledged_at: None,
        })?;
        // A detection: user reported suspicious activity (high), open until remediated.
        s.add_detections(&[crate::domain::records::DetectionRecord {
            id: String::new(),
            at: now,
            user_id: user.id.clone(),
            username: user.username.clone(),
            kind: proofup_shared::risk::DetectionKind::UserReported,
            level: proofup_shared::risk::RiskLevel::High,
            state: proofup_shared::risk::RiskState::AtRisk,
            detail: None,
            changed_at: None,
            changed_by: None,
            sign_in: None,
            ip: client.ip.clone(),
            place: self.locate(&client.ip),
            application: None,
            evidence: proofup_shared::risk::Evidence::Reported { what: summary.clone() },
        }])?;
        crate::metrics::risk_detection(
            proofup_shared::risk::DetectionKind::UserReported,
            proofup_shared::risk::RiskLevel::High,
        );
        self.enqueue_event(
            EventKind::UserReported,
            serde_json::json!({"user": user.username, "user_id": user.id, "reported": summary, "ip": client.ip}),
            now,
        )?;
        tracing::warn!(user = %user.username, reported = %summary, "a user reported a change they did not make");
        s.durable().await?;
        Ok(Reported { username: user.username, change: summary })
    }
}
