//! The webhook URL, its status and the outbox.

use ::sled::transaction::Transactional;
use time::OffsetDateTime;

use super::*;

impl WebhookStore for SledStore {
    fn webhook_url(&self) -> StoreResult<Option<String>> {
        Ok(self.webhook.get(b"url").map_err(backend)?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn set_webhook_url(&self, url: Option<&str>, audit: AuditDraft) -> StoreResult<()> {
        let dead: Vec<::sled::IVec> = self
            .outbox
            .iter()
            .filter_map(|r| r.ok())
            .filter(|(_, v)| dec::<crate::domain::webhook::Delivery>(v).is_ok_and(|d| d.given_up))
            .map(|(k, _)| k)
            .collect();
        (&self.webhook, &self.outbox, &self.audit)
            .transaction(|(webhook, outbox, log)| {
                match url {
                    Some(u) => webhook.insert(b"url".as_slice(), u.as_bytes())?,
                    None => webhook.remove(b"url".as_slice())?,
                };
                webhook.remove(b"last_error".as_slice())?;
                for k in &dead {
                    outbox.remove(k)?;
                }
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn enqueue_delivery(&self, d: &crate::domain::webhook::Delivery) -> StoreResult<()> {
        self.outbox.insert(d.id.as_bytes(), enc(d)?).map_err(backend)?;
        self.flush()
    }

    fn due_deliveries(&self, now: OffsetDateTime, limit: usize) -> StoreResult<Vec<crate::domain::webhook::Delivery>> {
        let mut out = Vec::new();
        for v in self.outbox.iter().values() {
            let d: crate::domain::webhook::Delivery = dec(&v.map_err(backend)?)?;
            if d.due(now) {
                out.push(d);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn delivery_succeeded(&self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        self.outbox.remove(id.as_bytes()).map_err(backend)?;
        self.webhook.insert(b"last_delivered_at", enc(&at.unix_timestamp())?).map_err(backend)?;
        self.flush()
    }

    fn delivery_failed(&self, d: &crate::domain::webhook::Delivery, at: OffsetDateTime) -> StoreResult<()> {
        // A delivery removed meanwhile (webhook turned off) stays removed.
        if self.outbox.contains_key(d.id.as_bytes()).map_err(backend)? {
            self.outbox.insert(d.id.as_bytes(), enc(d)?).map_err(backend)?;
        }
        let err = (d.last_error.clone().unwrap_or_default(), at.unix_timestamp());
        self.webhook.insert(b"last_error", enc(&err)?).map_err(backend)?;
        self.flush()
    }

    fn webhook_status(&self) -> StoreResult<proofup_shared::webhook::WebhookStatus> {
        let url = self.webhook_url()?;
        let mut st = proofup_shared::webhook::WebhookStatus {
            configured: url.is_some(),
            destination: url.as_deref().map(proofup_shared::webhook::redact_webhook_url),
            ..Default::default()
        };
        for v in self.outbox.iter().values() {
            let d: crate::domain::webhook::Delivery = dec(&v.map_err(backend)?)?;
            if d.given_up {
                st.given_up += 1;
            } else {
                st.pending += 1;
                if d.attempts > 0 {
                    st.failing += 1;
                }
            }
        }
        let ts = |t: i64| OffsetDateTime::from_unix_timestamp(t).ok();
        if let Some(v) = self.webhook.get(b"last_error").map_err(backend)? {
            let (msg, at): (String, i64) = dec(&v)?;
            st.last_error = Some(msg);
            st.last_error_at = ts(at);
        }
        if let Some(v) = self.webhook.get(b"last_delivered_at").map_err(backend)? {
            st.last_delivered_at = ts(dec(&v)?);
        }
        Ok(st)
    }
}
