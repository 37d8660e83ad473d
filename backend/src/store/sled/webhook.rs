//! The webhook's settings, and the notifications outbox (every channel's messages in one tree,
//! keyed by id; each channel's last error and last send in the `webhook` tree).

use ::sled::transaction::Transactional;
use time::OffsetDateTime;

use super::*;
use crate::domain::notify::{Channel, Message};
use crate::store::{OutboxCounts, OutboxStore};

impl WebhookStore for SledStore {
    fn webhook_url(&self) -> StoreResult<Option<String>> {
        Ok(self.webhook.get(b"url").map_err(backend)?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn set_webhook_url(&self, url: Option<&str>, audit: AuditDraft) -> StoreResult<()> {
        let dead: Vec<::sled::IVec> = self
            .outbox
            .iter()
            .filter_map(|r| r.ok())
            .filter(|(_, v)| dec::<Message>(v).is_ok_and(|m| m.given_up && m.channel == Channel::Webhook))
            .map(|(k, _)| k)
            .collect();
        let last_error = Channel::Webhook.status_key("last_error");
        (&self.webhook, &self.outbox, &self.audit)
            .transaction(|(webhook, outbox, log)| {
                match url {
                    Some(u) => webhook.insert(b"url".as_slice(), u.as_bytes())?,
                    None => webhook.remove(b"url".as_slice())?,
                };
                webhook.remove(last_error.as_bytes())?;
                for k in &dead {
                    outbox.remove(k)?;
                }
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}

impl OutboxStore for SledStore {
    fn enqueue_message(&self, m: &Message) -> StoreResult<()> {
        self.outbox.insert(m.id.as_bytes(), enc(m)?).map_err(backend)?;
        self.flush()
    }

    fn due_messages(&self, channel: Channel, now: OffsetDateTime, limit: usize) -> StoreResult<Vec<Message>> {
        let mut out = Vec::new();
        for v in self.outbox.iter().values() {
            let m: Message = dec(&v.map_err(backend)?)?;
            if m.channel == channel && m.due(now) {
                out.push(m);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn message_sent(&self, m: &Message, at: OffsetDateTime) -> StoreResult<()> {
        self.outbox.remove(m.id.as_bytes()).map_err(backend)?;
        let key = m.channel.status_key("last_delivered_at");
        self.webhook.insert(key.as_bytes(), enc(&at.unix_timestamp())?).map_err(backend)?;
        self.flush()
    }

    fn message_failed(&self, m: &Message, at: OffsetDateTime) -> StoreResult<()> {
        if self.outbox.contains_key(m.id.as_bytes()).map_err(backend)? {
            self.outbox.insert(m.id.as_bytes(), enc(m)?).map_err(backend)?;
        }
        let err = (m.last_error.clone().unwrap_or_default(), at.unix_timestamp());
        self.webhook.insert(m.channel.status_key("last_error").as_bytes(), enc(&err)?).map_err(backend)?;
        self.flush()
    }

    fn outbox_counts(&self, channel: Channel) -> StoreResult<OutboxCounts> {
        let mut st = OutboxCounts::default();
        for v in self.outbox.iter().values() {
            let m: Message = dec(&v.map_err(backend)?)?;
            if m.channel != channel {
                continue;
            }
            if m.given_up {
                st.given_up += 1;
            } else {
                st.pending += 1;
                if m.attempts > 0 {
                    st.failing += 1;
                }
            }
        }
        let ts = |t: i64| OffsetDateTime::from_unix_timestamp(t).ok();
        if let Some(v) = self.webhook.get(channel.status_key("last_error")).map_err(backend)? {
            let (msg, at): (String, i64) = dec(&v)?;
            st.last_error = ts(at).map(|at| (msg, at));
        }
        if let Some(v) = self.webhook.get(channel.status_key("last_delivered_at")).map_err(backend)? {
            st.last_sent_at = ts(dec(&v)?);
        }
        Ok(st)
    }
}
