//! The audit log, the sign-in log and emergency-access alerts: newest first by time, then by
//! insertion (as the embedded engine's keys sort). Cursors are `micros.seq` of the last row.

use super::conn::Sql;
use crate::domain::records::{AlertRecord, AuditRecord, SignInRecord};
use proofup_shared::api::Page;
use time::OffsetDateTime;

use super::{d, insert_audit, j, pg, PgStore, BATCH};
use crate::store::{
    AlertStore, AuditDraft, AuditFilter, AuditLog, SignInFilter, SignInLog, StoreError, StoreResult, SCAN_BUDGET,
};

fn cursor(at: OffsetDateTime, seq: i64) -> String {
    format!("{}.{seq}", at.unix_timestamp_nanos() / 1000)
}

fn parse_cursor(s: &str) -> StoreResult<(OffsetDateTime, i64)> {
    let (micros, seq) = s.split_once('.').ok_or(StoreError::BadCursor)?;
    let micros: i128 = micros.parse().map_err(|_| StoreError::BadCursor)?;
    let seq: i64 = seq.parse().map_err(|_| StoreError::BadCursor)?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).map_err(|_| StoreError::BadCursor)?;
    Ok((at, seq))
}

/// A page of `table` newest first within the window, filtered by `keep` (at most
/// `SCAN_BUDGET` rows read, then a short page with a cursor, as the embedded engine does).
/// `fill` gives each row's document its id.
pub(super) fn newest_first<T: serde::de::DeserializeOwned + Send + 'static>(
    store: &PgStore,
    table: &'static str,
    window: (Option<OffsetDateTime>, Option<OffsetDateTime>),
    keep: impl Fn(&T) -> bool + Send + 'static,
    fill: fn(&mut T, String),
    after: Option<&str>,
    limit: usize,
) -> StoreResult<Page<T>> {
    let mut last = after.map(parse_cursor).transpose()?;
    store.run(move |c| {
        let (from, to) = window;
        let mut items = Vec::with_capacity(limit.min(256));
        let mut scanned = 0usize;
        let mut last_cursor = None;
        'scan: loop {
            let (lat, lseq) = match last {
                Some((a, s)) => (Some(a), Some(s)),
                None => (None, None),
            };
            let rows = c
                .query(
                    &format!(
                        "SELECT seq, at, doc FROM {table} WHERE ($1::timestamptz IS NULL OR at >= $1) \
                         AND ($2::timestamptz IS NULL OR at <= $2) \
                         AND ($3::timestamptz IS NULL OR (at, seq) < ($3, $4::bigint)) \
                         ORDER BY at DESC, seq DESC LIMIT $5"
                    ),
                    &[&from, &to, &lat, &lseq, &BATCH],
                )
                .map_err(pg)?;
            let n = rows.len();
            for r in rows {
                let (seq, at): (i64, OffsetDateTime) = (r.get(0), r.get(1));
                last = Some((at, seq));
                last_cursor = Some(cursor(at, seq));
                scanned += 1;
                let mut item: T = d(r.get(2))?;
                fill(&mut item, seq.to_string());
                if keep(&item) {
                    items.push(item);
                    if items.len() == limit {
                        break 'scan;
                    }
                }
                if scanned >= SCAN_BUDGET {
                    break 'scan;
                }
            }
            if (n as i64) < BATCH {
                break;
            }
        }
        let next_after = if items.len() == limit || scanned >= SCAN_BUDGET { last_cursor } else { None };
        Ok(Page { items, next_after })
    })
}

/// Retention: rows older than `before`, then the oldest beyond `max_rows`.
fn prune(store: &PgStore, table: &'static str, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64> {
    store.run(move |c| {
        let mut removed = c.execute(&format!("DELETE FROM {table} WHERE at < $1"), &[&before]).map_err(pg)?;
        let len: i64 = c.query_one(&format!("SELECT count(*) FROM {table}"), &[]).map_err(pg)?.get(0);
        let excess = len - max_rows as i64;
        if excess > 0 {
            removed += c
                .execute(
                    &format!("DELETE FROM {table} WHERE seq IN (SELECT seq FROM {table} ORDER BY at, seq LIMIT $1)"),
                    &[&excess],
                )
                .map_err(pg)?;
        }
        Ok(removed)
    })
}

fn count(store: &PgStore, table: &'static str) -> StoreResult<u64> {
    store.run(move |c| {
        Ok(c.query_one(&format!("SELECT count(*) FROM {table}"), &[]).map_err(pg)?.get::<_, i64>(0) as u64)
    })
}

impl AuditLog for PgStore {
    fn append_audit(&self, entry: AuditDraft) -> StoreResult<()> {
        self.run(move |c| insert_audit(c, entry))
    }

    fn search_audit(&self, filter: &AuditFilter, after: Option<&str>, limit: usize) -> StoreResult<Page<AuditRecord>> {
        let f = filter.clone();
        newest_first(
            self,
            "audit",
            (filter.from, filter.to),
            move |e| f.matches(e),
            |e: &mut AuditRecord, id| e.id = id,
            after,
            limit,
        )
    }

    fn count_audit(&self) -> StoreResult<u64> {
        count(self, "audit")
    }

    fn prune_audit(&self, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64> {
        prune(self, "audit", before, max_rows)
    }
}

impl SignInLog for PgStore {
    fn for_each_sign_in(&self, from: OffsetDateTime, f: &mut dyn FnMut(SignInRecord)) -> StoreResult<u64> {
        // Batches by (at, seq), so memory holds one batch at a time.
        let mut last: Option<(OffsetDateTime, i64)> = None;
        let mut n = 0;
        loop {
            let cursor = last;
            let rows: Vec<(OffsetDateTime, i64, serde_json::Value)> = self.run(move |c| {
                let (lat, lseq) = match cursor {
                    Some((a, s)) => (Some(a), Some(s)),
                    None => (None, None),
                };
                Ok(c.query(
                    "SELECT at, seq, doc FROM sign_ins WHERE at >= $1 \
                     AND ($2::timestamptz IS NULL OR (at, seq) > ($2, $3::bigint)) ORDER BY at, seq LIMIT 5000",
                    &[&from, &lat, &lseq],
                )
                .map_err(pg)?
                .into_iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
            })?;
            let done = rows.len() < 5000;
            for (at, seq, doc) in rows {
                last = Some((at, seq));
                if let Ok(mut e) = d::<SignInRecord>(doc) {
                    e.id = seq.to_string();
                    f(e);
                    n += 1;
                }
            }
            if done {
                return Ok(n);
            }
        }
    }

    fn append_sign_in(&self, entry: SignInRecord) -> StoreResult<()> {
        let result =
            serde_json::to_value(entry.result).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let doc = j(&entry)?;
        self.run(move |c| {
            c.execute(
                "INSERT INTO sign_ins (at, username, result, application, doc) VALUES ($1, $2, $3, $4, $5)",
                &[&entry.at, &entry.username, &result, &entry.application, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn count_sign_in(&self, key: &str, entry: SignInRecord) -> StoreResult<()> {
        let result =
            serde_json::to_value(entry.result).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let doc = j(&SignInRecord { count: 1, ..entry.clone() })?;
        let key = key.to_owned();
        self.run(move |c| {
            c.execute(
                "INSERT INTO sign_ins (at, username, result, application, doc, agg_key) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (agg_key) DO UPDATE SET username = EXCLUDED.username, \
                 doc = jsonb_set(jsonb_set(sign_ins.doc, '{count}', \
                       to_jsonb(coalesce((sign_ins.doc->>'count')::int, 1) + 1)), '{username}', to_jsonb(EXCLUDED.username))",
                &[&entry.at, &entry.username, &result, &entry.application, &doc, &key],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn search_sign_ins(
        &self,
        filter: &SignInFilter,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<SignInRecord>> {
        let f = filter.clone();
        newest_first(
            self,
            "sign_ins",
            (filter.from, filter.to),
            move |e| f.matches(e),
            |e: &mut SignInRecord, id| e.id = id,
            after,
            limit,
        )
    }

    fn count_sign_ins(&self) -> StoreResult<u64> {
        count(self, "sign_ins")
    }

    fn prune_sign_ins(&self, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64> {
        prune(self, "sign_ins", before, max_rows)
    }
}

impl AlertStore for PgStore {
    fn add_alert(&self, alert: AlertRecord) -> StoreResult<()> {
        self.run(move |c| {
            let mut a = alert;
            let seq: i64 =
                c.query_one("SELECT nextval(pg_get_serial_sequence('alerts', 'seq'))", &[]).map_err(pg)?.get(0);
            a.id = cursor(a.at, seq);
            c.execute(
                "INSERT INTO alerts (seq, id, acknowledged, doc) VALUES ($1, $2, $3, $4)",
                &[&seq, &a.id, &a.acknowledged_at.is_some(), &j(&a)?],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn alert(&self, id: &str) -> StoreResult<Option<AlertRecord>> {
        let id = id.to_owned();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM alerts WHERE id = $1", &[&id]).map_err(pg)?.map(|r| d(r.get(0))).transpose()
        })
    }

    fn open_alerts(&self, limit: usize) -> StoreResult<Vec<AlertRecord>> {
        let limit = limit as i64;
        self.run(move |c| {
            c.query(
                "SELECT doc FROM alerts WHERE NOT acknowledged ORDER BY (doc->>'at')::timestamptz DESC, seq DESC LIMIT $1",
                &[&limit],
            )
            .map_err(pg)?
            .into_iter()
            .map(|r| d(r.get(0)))
            .collect()
        })
    }

    fn acknowledge_alert(&self, id: &str, by: &str, at: OffsetDateTime, audit: AuditDraft) -> StoreResult<()> {
        let (id, by) = (id.to_owned(), by.to_owned());
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let Some(row) = tx.query_opt("SELECT doc FROM alerts WHERE id = $1 FOR UPDATE", &[&id]).map_err(pg)? else {
                return Err(StoreError::NotFound);
            };
            let mut a: AlertRecord = d(row.get(0))?;
            a.acknowledged_by = Some(by);
            a.acknowledged_at = Some(at);
            tx.execute("UPDATE alerts SET acknowledged = true, doc = $2 WHERE id = $1", &[&id, &j(&a)?]).map_err(pg)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }
}
