//! The webhook's settings, and the notifications outbox (every channel's messages in one table,
//! each row naming its channel). Several nodes may send: `claim_due_messages` hands each due
//! message to one of them (`FOR UPDATE SKIP LOCKED`); `due_messages` only looks.

use super::conn::{Conn, Sql};
use time::OffsetDateTime;

use super::{d, insert_audit, j, pg, PgStore};
use crate::domain::notify::{Channel, Message};
use crate::store::{AuditDraft, OutboxCounts, OutboxStore, StoreResult, WebhookStore};

fn setting(c: &mut Conn, name: &str) -> StoreResult<Option<serde_json::Value>> {
    Ok(c.query_opt("SELECT doc FROM webhook WHERE name = $1", &[&name]).map_err(pg)?.map(|r| r.get(0)))
}

fn set(c: &mut impl Sql, name: &str, doc: &serde_json::Value) -> StoreResult<()> {
    c.execute(
        "INSERT INTO webhook (name, doc) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET doc = EXCLUDED.doc",
        &[&name, doc],
    )
    .map_err(pg)?;
    Ok(())
}

impl WebhookStore for PgStore {
    fn webhook_url(&self) -> StoreResult<Option<String>> {
        self.run(|c| Ok(setting(c, "url")?.and_then(|v| v.as_str().map(str::to_owned))))
    }

    fn set_webhook_url(&self, url: Option<&str>, audit: AuditDraft) -> StoreResult<()> {
        let url = url.map(str::to_owned);
        let (last_error, channel) = (Channel::Webhook.status_key("last_error"), Channel::Webhook.as_str());
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            match &url {
                Some(u) => set(&mut tx, "url", &serde_json::Value::String(u.clone()))?,
                None => {
                    tx.execute("DELETE FROM webhook WHERE name = 'url'", &[]).map_err(pg)?;
                }
            }
            tx.execute("DELETE FROM webhook WHERE name = $1", &[&last_error]).map_err(pg)?;
            tx.execute("DELETE FROM outbox WHERE given_up AND channel = $1", &[&channel]).map_err(pg)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }
}

impl OutboxStore for PgStore {
    fn enqueue_message(&self, m: &Message) -> StoreResult<()> {
        let (id, channel, next_at, given_up, doc) = (m.id.clone(), m.channel.as_str(), m.next_at, m.given_up, j(m)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO outbox (id, channel, next_at, given_up, doc) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO UPDATE SET next_at = EXCLUDED.next_at, given_up = EXCLUDED.given_up, doc = EXCLUDED.doc",
                &[&id, &channel, &next_at, &given_up, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn due_messages(&self, channel: Channel, now: OffsetDateTime, limit: usize) -> StoreResult<Vec<Message>> {
        let (limit, channel) = (limit as i64, channel.as_str());
        self.run(move |c| {
            let rows = c
                .query(
                    "SELECT doc FROM outbox WHERE channel = $3 AND NOT given_up AND next_at <= $1 ORDER BY id LIMIT $2",
                    &[&now, &limit, &channel],
                )
                .map_err(pg)?;
            let all: Vec<Message> = rows.into_iter().map(|r| d(r.get(0))).collect::<StoreResult<_>>()?;
            Ok(all.into_iter().filter(|x| x.due(now)).collect())
        })
    }

    fn claim_due_messages(
        &self,
        channel: Channel,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        // Locked rows are skipped, not waited for: two nodes claiming at once get disjoint sets;
        // the lease makes a claim by a node that died due again later.
        let (until, limit, channel) = (now + lease, limit as i64, channel.as_str());
        self.run(move |c| {
            c.query(
                "UPDATE outbox SET next_at = $2 WHERE id IN (SELECT id FROM outbox WHERE channel = $4 AND NOT given_up \
                 AND next_at <= $1 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING doc",
                &[&now, &until, &limit, &channel],
            )
            .map_err(pg)?
            .into_iter()
            .map(|r| d(r.get(0)))
            .collect()
        })
    }

    fn message_sent(&self, m: &Message, at: OffsetDateTime) -> StoreResult<()> {
        let (id, key) = (m.id.clone(), m.channel.status_key("last_delivered_at"));
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            tx.execute("DELETE FROM outbox WHERE id = $1", &[&id]).map_err(pg)?;
            set(&mut tx, &key, &j(&at.unix_timestamp())?)?;
            tx.commit().map_err(pg)
        })
    }

    fn message_failed(&self, m: &Message, at: OffsetDateTime) -> StoreResult<()> {
        let (id, next_at, given_up, doc) = (m.id.clone(), m.next_at, m.given_up, j(m)?);
        let err = j(&(m.last_error.clone().unwrap_or_default(), at.unix_timestamp()))?;
        let key = m.channel.status_key("last_error");
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            tx.execute(
                "UPDATE outbox SET next_at = $2, given_up = $3, doc = $4 WHERE id = $1",
                &[&id, &next_at, &given_up, &doc],
            )
            .map_err(pg)?;
            set(&mut tx, &key, &err)?;
            tx.commit().map_err(pg)
        })
    }

    fn outbox_counts(&self, channel: Channel) -> StoreResult<OutboxCounts> {
        let name = channel.as_str();
        self.run(move |c| {
            let row = c
                .query_one(
                    "SELECT count(*) FILTER (WHERE NOT given_up), \
                     count(*) FILTER (WHERE NOT given_up AND (doc->>'attempts')::int > 0), \
                     count(*) FILTER (WHERE given_up) FROM outbox WHERE channel = $1",
                    &[&name],
                )
                .map_err(pg)?;
            let n = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or(0);
            let mut st = OutboxCounts { pending: n(0), failing: n(1), given_up: n(2), ..Default::default() };
            let ts = |t: i64| OffsetDateTime::from_unix_timestamp(t).ok();
            if let Some(v) = setting(c, &channel.status_key("last_error"))? {
                let (msg, at): (String, i64) = d(v)?;
                st.last_error = ts(at).map(|at| (msg, at));
            }
            if let Some(v) = setting(c, &channel.status_key("last_delivered_at"))? {
                st.last_sent_at = ts(d(v)?);
            }
            Ok(st)
        })
    }
}
