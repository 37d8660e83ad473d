//! Applications (OIDC clients) and the signing key set, replaced whole by compare-and-swap.

use super::conn::Sql;
use super::{d, insert_audit, j, pg, PgStore};
use crate::domain::oidc::{Application, SigningKey};
use crate::store::Conflict;
use crate::store::{ApplicationStore, AuditDraft, StoreError, StoreResult};

impl ApplicationStore for PgStore {
    fn applications(&self) -> StoreResult<Vec<Application>> {
        self.run(|c| {
            c.query("SELECT doc FROM applications ORDER BY id", &[])
                .map_err(pg)?
                .into_iter()
                .map(|r| d(r.get(0)))
                .collect()
        })
    }

    fn application(&self, id: &str) -> StoreResult<Option<Application>> {
        let id = id.to_owned();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM applications WHERE id = $1", &[&id])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn create_application(&self, app: &Application, audit: AuditDraft) -> StoreResult<()> {
        let (id, doc) = (app.id.clone(), j(app)?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            if tx
                .execute("INSERT INTO applications (id, doc) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&id, &doc])
                .map_err(pg)?
                == 0
            {
                return Err(StoreError::Conflict(Conflict::ApplicationExists));
            }
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn update_application(&self, app: &Application, audit: AuditDraft) -> StoreResult<()> {
        let (id, doc) = (app.id.clone(), j(app)?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            if tx.execute("UPDATE applications SET doc = $2 WHERE id = $1", &[&id, &doc]).map_err(pg)? == 0 {
                return Err(StoreError::NotFound);
            }
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn delete_application(&self, id: &str, audit: AuditDraft) -> StoreResult<()> {
        let id = id.to_owned();
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            if tx.execute("DELETE FROM applications WHERE id = $1", &[&id]).map_err(pg)? == 0 {
                return Err(StoreError::NotFound);
            }
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.run(|c| {
            Ok(c.query_opt("SELECT doc FROM signing_keys WHERE id = 1", &[])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()?
                .unwrap_or_default())
        })
    }

    fn replace_signing_keys(
        &self,
        before: &[SigningKey],
        after: &[SigningKey],
        audit: Option<AuditDraft>,
    ) -> StoreResult<()> {
        let (before, doc) = (before.to_vec(), j(&after)?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            // Two nodes making the first keys at once: the row lock (or the insert's key) orders them.
            tx.execute("INSERT INTO signing_keys (id, doc) VALUES (1, '[]') ON CONFLICT DO NOTHING", &[])
                .map_err(pg)?;
            let row = tx.query_one("SELECT doc FROM signing_keys WHERE id = 1 FOR UPDATE", &[]).map_err(pg)?;
            let current: Vec<SigningKey> = d(row.get(0))?;
            if current != before {
                return Err(StoreError::Conflict(Conflict::SigningKeysChanged));
            }
            tx.execute("UPDATE signing_keys SET doc = $1 WHERE id = 1", &[&doc]).map_err(pg)?;
            if let Some(a) = audit {
                insert_audit(&mut tx, a)?;
            }
            tx.commit().map_err(pg)
        })
    }
}
