//! Risk profiles (one row per user) and detections (newest first by time, then insertion).

use crate::domain::records::DetectionRecord;
use crate::domain::risk::Profile;
use proofup_shared::api::Page;
use time::OffsetDateTime;

use super::conn::Sql;
use super::logs::newest_first;
use super::{d, insert_audit, j, pg, PgStore};
use crate::store::{AuditDraft, RiskStore, StoreResult};

impl RiskStore for PgStore {
    fn risk_profile(&self, user_id: &str) -> StoreResult<Option<Profile>> {
        let id = user_id.to_owned();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM risk_profiles WHERE user_id = $1", &[&id])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn put_risk_profile(&self, profile: &Profile) -> StoreResult<()> {
        let (id, doc) = (profile.user_id.clone(), j(profile)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO risk_profiles (user_id, doc) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET doc = EXCLUDED.doc",
                &[&id, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn learn_risk_profile(&self, user_id: &str, seen: &crate::domain::risk::Seen) -> StoreResult<()> {
        let (id, seen) = (user_id.to_owned(), seen.clone());
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            // Locks the row (or, for a first profile, the insert below conflicts and retries are
            // not needed: a concurrent first insert loses one sign-in of learning, never data).
            let row =
                tx.query_opt("SELECT doc FROM risk_profiles WHERE user_id = $1 FOR UPDATE", &[&id]).map_err(pg)?;
            let mut p = match row {
                Some(r) => d::<Profile>(r.get(0)).unwrap_or_else(|_| Profile::new(&id, seen.at)),
                None => Profile::new(&id, seen.at),
            };
            p.remember(seen);
            tx.execute(
                "INSERT INTO risk_profiles (user_id, doc) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET doc = EXCLUDED.doc",
                &[&id, &j(&p)?],
            )
            .map_err(pg)?;
            tx.commit().map_err(pg)
        })
    }

    fn for_each_risk_profile(&self, f: &mut dyn FnMut(Profile)) -> StoreResult<()> {
        let docs: Vec<serde_json::Value> = self.run(move |c| {
            Ok(c.query("SELECT doc FROM risk_profiles", &[]).map_err(pg)?.into_iter().map(|r| r.get(0)).collect())
        })?;
        for doc in docs {
            if let Ok(p) = d::<Profile>(doc) {
                f(p);
            }
        }
        Ok(())
    }

    fn add_detections(&self, found: &[DetectionRecord]) -> StoreResult<()> {
        let rows: Vec<(OffsetDateTime, String, serde_json::Value)> =
            found.iter().map(|f| Ok((f.at, f.user_id.clone(), j(f)?))).collect::<StoreResult<_>>()?;
        if rows.is_empty() {
            return Ok(());
        }
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            for (at, user, doc) in &rows {
                tx.execute("INSERT INTO detections (at, user_id, doc) VALUES ($1, $2, $3)", &[at, user, doc])
                    .map_err(pg)?;
            }
            tx.commit().map_err(pg)
        })
    }

    fn user_detections(&self, user_id: &str) -> StoreResult<Vec<DetectionRecord>> {
        let id = user_id.to_owned();
        self.run(move |c| {
            c.query("SELECT seq, doc FROM detections WHERE user_id = $1 ORDER BY at DESC, seq DESC", &[&id])
                .map_err(pg)?
                .into_iter()
                .map(|r| {
                    let mut rec: DetectionRecord = d(r.get(1))?;
                    rec.id = r.get::<_, i64>(0).to_string();
                    Ok(rec)
                })
                .collect()
        })
    }

    fn list_detections(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<DetectionRecord>> {
        newest_first(self, "detections", (None, None), |_: &DetectionRecord| true, |r, id| r.id = id, after, limit)
    }

    fn update_detections(
        &self,
        user_id: &str,
        change: &crate::domain::risk::StateChange,
        audit: Option<AuditDraft>,
    ) -> StoreResult<u64> {
        let (id, change) = (user_id.to_owned(), change.clone());
        // Read, locked, changed and written back in one transaction.
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let rows = tx.query("SELECT seq, doc FROM detections WHERE user_id = $1 FOR UPDATE", &[&id]).map_err(pg)?;
            let mut n = 0u64;
            for r in rows {
                let seq: i64 = r.get(0);
                let mut rec: DetectionRecord = d(r.get(1))?;
                rec.id = seq.to_string();
                if change.apply(&mut rec) {
                    tx.execute("UPDATE detections SET doc = $2 WHERE seq = $1", &[&seq, &j(&rec)?]).map_err(pg)?;
                    n += 1;
                }
            }
            if n > 0 {
                if let Some(a) = audit {
                    insert_audit(&mut tx, a)?;
                }
            }
            tx.commit().map_err(pg)?;
            Ok(n)
        })
    }

    fn prune_detections(&self, before: OffsetDateTime) -> StoreResult<u64> {
        self.run(move |c| c.execute("DELETE FROM detections WHERE at < $1", &[&before]).map_err(pg))
    }
}
