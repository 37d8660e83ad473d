//! Policy versions and each user's registration state. A save is version `based_on + 1` by the
//! primary key: of two nodes saving from the same version, the second gets a Conflict.

use super::conn::Sql;
use crate::domain::records::PolicyRecord;
use crate::store::Conflict;

use super::{d, insert_audit, j, pg, PgStore};
use crate::domain::policy::RegistrationState;
use crate::store::{AuditDraft, PolicyStore, StoreError, StoreResult};

fn stale() -> StoreError {
    StoreError::Conflict(Conflict::StalePolicy)
}

impl PolicyStore for PgStore {
    fn policy(&self) -> StoreResult<PolicyRecord> {
        self.run(|c| {
            match c.query_opt("SELECT doc FROM policy_versions ORDER BY version DESC LIMIT 1", &[]).map_err(pg)? {
                Some(r) => d(r.get(0)),
                None => Ok(PolicyRecord::never_saved()),
            }
        })
    }

    fn save_policy(&self, next: &PolicyRecord, based_on: u64, audit: AuditDraft) -> StoreResult<()> {
        let (version, doc) = (next.version, j(next)?);
        self.run(move |c| {
            if version != based_on + 1 {
                return Err(stale());
            }
            let mut tx = c.transaction().map_err(pg)?;
            let latest: i64 =
                tx.query_one("SELECT coalesce(max(version), 0) FROM policy_versions", &[]).map_err(pg)?.get(0);
            if latest as u64 != based_on {
                return Err(stale());
            }
            match tx.execute("INSERT INTO policy_versions (version, doc) VALUES ($1, $2)", &[&(version as i64), &doc]) {
                Err(e) if e.as_db_error().is_some_and(|d| d.code() == &postgres::error::SqlState::UNIQUE_VIOLATION) => {
                    return Err(stale())
                }
                r => r.map_err(pg)?,
            };
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(|e| {
                if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
                    stale()
                } else {
                    pg(e)
                }
            })
        })
    }

    fn policy_versions(&self, limit: usize) -> StoreResult<Vec<PolicyRecord>> {
        let limit = limit as i64;
        self.run(move |c| {
            c.query("SELECT doc FROM policy_versions ORDER BY version DESC LIMIT $1", &[&limit])
                .map_err(pg)?
                .into_iter()
                .map(|r| d(r.get(0)))
                .collect()
        })
    }

    fn registration_state(&self, user_id: &str) -> StoreResult<RegistrationState> {
        let u = user_id.to_owned();
        self.run(move |c| {
            Ok(c.query_opt("SELECT doc FROM registration_state WHERE user_id = $1", &[&u])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()?
                .unwrap_or_default())
        })
    }

    fn all_registration_states(&self) -> StoreResult<std::collections::HashMap<String, RegistrationState>> {
        self.run(|c| {
            c.query("SELECT user_id, doc FROM registration_state", &[])
                .map_err(pg)?
                .into_iter()
                .map(|r| Ok((r.get(0), d(r.get(1))?)))
                .collect()
        })
    }

    fn put_registration_state(
        &self,
        user_id: &str,
        state: &RegistrationState,
        audit: Option<AuditDraft>,
    ) -> StoreResult<()> {
        let (u, doc) = (user_id.to_owned(), j(state)?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            if tx.query_opt("SELECT 1 FROM users WHERE id = $1 FOR SHARE", &[&u]).map_err(pg)?.is_none() {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "INSERT INTO registration_state (user_id, doc) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET doc = EXCLUDED.doc",
                &[&u, &doc],
            )
            .map_err(pg)?;
            if let Some(a) = audit {
                insert_audit(&mut tx, a)?;
            }
            tx.commit().map_err(pg)
        })
    }
}
