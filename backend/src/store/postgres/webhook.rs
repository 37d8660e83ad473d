//! The webhook's URL and outbox. Several nodes may send: `claim_due` hands each due delivery to
//! one of them (`FOR UPDATE SKIP LOCKED`); `due_deliveries` only looks.

use super::conn::{Conn, Sql};
use time::OffsetDateTime;

use super::{d, insert_audit, j, pg, PgStore};
use crate::domain::webhook::Delivery;
use crate::store::{AuditDraft, StoreResult, WebhookStore};

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
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            match &url {
                Some(u) => set(&mut tx, "url", &serde_json::Value::String(u.clone()))?,
                None => {
                    tx.execute("DELETE FROM webhook WHERE name = 'url'", &[]).map_err(pg)?;
                }
            }
            tx.execute("DELETE FROM webhook WHERE name = 'last_error'", &[]).map_err(pg)?;
            tx.execute("DELETE FROM outbox WHERE given_up", &[]).map_err(pg)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn enqueue_delivery(&self, del: &Delivery) -> StoreResult<()> {
        let (id, next_at, given_up, doc) = (del.id.clone(), del.next_at, del.given_up, j(del)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO outbox (id, next_at, given_up, doc) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET next_at = EXCLUDED.next_at, given_up = EXCLUDED.given_up, doc = EXCLUDED.doc",
                &[&id, &next_at, &given_up, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn due_deliveries(&self, now: OffsetDateTime, limit: usize) -> StoreResult<Vec<Delivery>> {
        let limit = limit as i64;
        self.run(move |c| {
            let rows = c
                .query(
                    "SELECT doc FROM outbox WHERE NOT given_up AND next_at <= $1 ORDER BY id LIMIT $2",
                    &[&now, &limit],
                )
                .map_err(pg)?;
            let all: Vec<Delivery> = rows.into_iter().map(|r| d(r.get(0))).collect::<StoreResult<_>>()?;
            Ok(all.into_iter().filter(|x| x.due(now)).collect())
        })
    }

    fn claim_due_deliveries(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        // Locked rows are skipped, not waited for: two nodes claiming at once get disjoint sets;
        // the lease makes a claim by a node that died due again later.
        let (until, limit) = (now + lease, limit as i64);
        self.run(move |c| {
            c.query(
                "UPDATE outbox SET next_at = $2 WHERE id IN (SELECT id FROM outbox WHERE NOT given_up AND next_at <= $1 \
                 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING doc",
                &[&now, &until, &limit],
            )
            .map_err(pg)?
            .into_iter()
            .map(|r| d(r.get(0)))
            .collect()
        })
    }

    fn delivery_succeeded(&self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        let id = id.to_owned();
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            tx.execute("DELETE FROM outbox WHERE id = $1", &[&id]).map_err(pg)?;
            set(&mut tx, "last_delivered_at", &j(&at.unix_timestamp())?)?;
            tx.commit().map_err(pg)
        })
    }

    fn delivery_failed(&self, del: &Delivery, at: OffsetDateTime) -> StoreResult<()> {
        let (id, next_at, given_up, doc) = (del.id.clone(), del.next_at, del.given_up, j(del)?);
        let err = j(&(del.last_error.clone().unwrap_or_default(), at.unix_timestamp()))?;
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            tx.execute(
                "UPDATE outbox SET next_at = $2, given_up = $3, doc = $4 WHERE id = $1",
                &[&id, &next_at, &given_up, &doc],
            )
            .map_err(pg)?;
            set(&mut tx, "last_error", &err)?;
            tx.commit().map_err(pg)
        })
    }

    fn webhook_status(&self) -> StoreResult<proofup_shared::webhook::WebhookStatus> {
        self.run(|c| {
            let url = setting(c, "url")?.and_then(|v| v.as_str().map(str::to_owned));
            let mut st = proofup_shared::webhook::WebhookStatus {
                configured: url.is_some(),
                destination: url.as_deref().map(proofup_shared::webhook::redact_webhook_url),
                ..Default::default()
            };
            for r in c.query("SELECT doc FROM outbox", &[]).map_err(pg)? {
                let x: Delivery = d(r.get(0))?;
                if x.given_up {
                    st.given_up += 1;
                } else {
                    st.pending += 1;
                    if x.attempts > 0 {
                        st.failing += 1;
                    }
                }
            }
            let ts = |t: i64| OffsetDateTime::from_unix_timestamp(t).ok();
            if let Some(v) = setting(c, "last_error")? {
                let (msg, at): (String, i64) = d(v)?;
                st.last_error = Some(msg);
                st.last_error_at = ts(at);
            }
            if let Some(v) = setting(c, "last_delivered_at")? {
                st.last_delivered_at = ts(d(v)?);
            }
            Ok(st)
        })
    }
}
