//! Second factors and recovery codes. A TOTP step is spent by one conditional UPDATE, so of
//! two nodes accepting the same code at once exactly one succeeds.

use super::conn::Sql;
use crate::store::Conflict;
use time::OffsetDateTime;

use super::{d, insert_audit, j, pg, PgStore};
use crate::domain::model::{Method, RecoveryCodeSet};
use crate::store::{AuditDraft, MethodStore, RecoveryStore, SessionStore, StoreError, StoreResult};

fn kind(m: &Method) -> String {
    serde_json::to_value(m.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl MethodStore for PgStore {
    fn methods(&self, user_id: &str) -> StoreResult<Vec<Method>> {
        let id = user_id.to_owned();
        self.run(move |c| {
            let mut out: Vec<Method> = c
                .query("SELECT doc FROM methods WHERE user_id = $1", &[&id])
                .map_err(pg)?
                .into_iter()
                .map(|r| d(r.get(0)))
                .collect::<StoreResult<_>>()?;
            out.sort_by_key(|m| m.created_at);
            Ok(out)
        })
    }

    fn method(&self, user_id: &str, id: &str) -> StoreResult<Option<Method>> {
        let (u, i) = (user_id.to_owned(), id.to_owned());
        self.run(move |c| {
            c.query_opt("SELECT doc FROM methods WHERE user_id = $1 AND id = $2", &[&u, &i])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn add_method(&self, method: &Method, audit: AuditDraft) -> StoreResult<()> {
        let (m, k, doc) = (method.clone(), kind(method), j(method)?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            if tx.query_opt("SELECT 1 FROM users WHERE id = $1 FOR SHARE", &[&m.user_id]).map_err(pg)?.is_none() {
                return Err(StoreError::NotFound);
            }
            let last_step = m.last_step.map(|s| s as i64);
            let inserted = tx.execute(
                "INSERT INTO methods (user_id, id, kind, credential_id, last_step, doc) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&m.user_id, &m.id, &k, &m.credential_id, &last_step, &doc],
            );
            match inserted {
                Err(e) if e.as_db_error().is_some_and(|d| d.code() == &postgres::error::SqlState::UNIQUE_VIOLATION) => {
                    return Err(StoreError::Conflict(Conflict::PasskeyRegistered))
                }
                r => r.map_err(pg)?,
            };
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn record_totp_use(&self, user_id: &str, id: &str, step: u64, at: OffsetDateTime) -> StoreResult<bool> {
        let (u, i, step, text) =
            (user_id.to_owned(), id.to_owned(), step as i64, serde_json::Value::String(super::rfc3339(at)?));
        self.run(move |c| {
            let n = c
                .execute(
                    "UPDATE methods SET last_step = $3, \
                     doc = jsonb_set(jsonb_set(doc, '{last_step}', to_jsonb($3::bigint)), '{last_used_at}', $4) \
                     WHERE user_id = $1 AND id = $2 AND (last_step IS NULL OR last_step < $3)",
                    &[&u, &i, &step, &text],
                )
                .map_err(pg)?;
            Ok(n == 1)
        })
    }

    fn rename_method(&self, user_id: &str, id: &str, name: &str, audit: AuditDraft) -> StoreResult<()> {
        let (u, i, name) = (user_id.to_owned(), id.to_owned(), serde_json::Value::String(name.to_owned()));
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let n = tx
                .execute(
                    "UPDATE methods SET doc = jsonb_set(doc, '{name}', $3) WHERE user_id = $1 AND id = $2",
                    &[&u, &i, &name],
                )
                .map_err(pg)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn delete_method(&self, user_id: &str, id: &str, audit: AuditDraft) -> StoreResult<()> {
        let (u, i) = (user_id.to_owned(), id.to_owned());
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            if tx.execute("DELETE FROM methods WHERE user_id = $1 AND id = $2", &[&u, &i]).map_err(pg)? == 0 {
                return Err(StoreError::NotFound);
            }
            // Recovery codes go with the last method (they are a backup for a method, not one).
            let left: i64 = tx.query_one("SELECT count(*) FROM methods WHERE user_id = $1", &[&u]).map_err(pg)?.get(0);
            if left == 0 {
                tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&u]).map_err(pg)?;
            }
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn delete_all_methods(&self, user_id: &str, audit: AuditDraft) -> StoreResult<u64> {
        let u = user_id.to_owned();
        let n = self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let n = tx.execute("DELETE FROM methods WHERE user_id = $1", &[&u]).map_err(pg)?;
            tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&u]).map_err(pg)?;
            tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&u]).map_err(pg)?;
            tx.execute("DELETE FROM login_flows WHERE user_id = $1", &[&u]).map_err(pg)?;
            tx.execute("DELETE FROM grants WHERE user_id = $1", &[&u]).map_err(pg)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)?;
            Ok(n)
        })?;
        let _ = self.delete_user_sessions(user_id)?;
        Ok(n)
    }

    fn method_counts(&self) -> StoreResult<std::collections::HashMap<String, u32>> {
        self.run(|c| {
            Ok(c.query("SELECT user_id, count(*) FROM methods GROUP BY user_id", &[])
                .map_err(pg)?
                .into_iter()
                .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u32))
                .collect())
        })
    }

    fn methods_and_codes(&self, user_id: &str) -> StoreResult<(Vec<Method>, Option<RecoveryCodeSet>)> {
        let id = user_id.to_owned();
        self.run(move |c| {
            // One round trip: each method beside the codes (or one row of nulls).
            let rows = c
                .query(
                    "SELECT m.doc, r.doc FROM (SELECT 1) AS one \
                     LEFT JOIN methods m ON m.user_id = $1 LEFT JOIN recovery_codes r ON r.user_id = $1",
                    &[&id],
                )
                .map_err(pg)?;
            let mut methods = Vec::new();
            let mut codes = None;
            for r in rows {
                if let Some(doc) = r.get::<_, Option<serde_json::Value>>(0) {
                    methods.push(d::<Method>(doc)?);
                }
                if codes.is_none() {
                    codes = r.get::<_, Option<serde_json::Value>>(1).map(d).transpose()?;
                }
            }
            methods.sort_by_key(|m| m.created_at);
            Ok((methods, codes))
        })
    }

    fn passkey_users(&self) -> StoreResult<std::collections::HashSet<String>> {
        self.run(|c| {
            Ok(c.query("SELECT DISTINCT user_id FROM methods WHERE credential_id IS NOT NULL", &[])
                .map_err(pg)?
                .into_iter()
                .map(|r| r.get::<_, String>(0))
                .collect())
        })
    }

    fn record_passkey_use(
        &self,
        user_id: &str,
        id: &str,
        passkey: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let (u, i, p) = (user_id.to_owned(), id.to_owned(), passkey.map(str::to_owned));
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let Some(row) = tx
                .query_opt("SELECT doc FROM methods WHERE user_id = $1 AND id = $2 FOR UPDATE", &[&u, &i])
                .map_err(pg)?
            else {
                return Err(StoreError::NotFound);
            };
            let mut m: Method = d(row.get(0))?;
            if let Some(p) = p {
                m.passkey = Some(p);
            }
            m.last_used_at = Some(at);
            tx.execute("UPDATE methods SET doc = $3 WHERE user_id = $1 AND id = $2", &[&u, &i, &j(&m)?]).map_err(pg)?;
            tx.commit().map_err(pg)
        })
    }

    fn credential_taken(&self, credential_id: &str) -> StoreResult<bool> {
        let cred = credential_id.to_owned();
        self.run(move |c| {
            Ok(c.query_opt("SELECT 1 FROM methods WHERE credential_id = $1", &[&cred]).map_err(pg)?.is_some())
        })
    }
}

impl RecoveryStore for PgStore {
    fn recovery_codes(&self, user_id: &str) -> StoreResult<Option<RecoveryCodeSet>> {
        let u = user_id.to_owned();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM recovery_codes WHERE user_id = $1", &[&u])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn set_recovery_codes(&self, user_id: &str, codes: &RecoveryCodeSet, audit: AuditDraft) -> StoreResult<()> {
        let (u, doc) = (user_id.to_owned(), j(codes)?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            if tx.query_opt("SELECT 1 FROM users WHERE id = $1 FOR SHARE", &[&u]).map_err(pg)?.is_none() {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "INSERT INTO recovery_codes (user_id, doc) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET doc = EXCLUDED.doc",
                &[&u, &doc],
            )
            .map_err(pg)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn use_recovery_code(&self, user_id: &str, hash: &str, audit: AuditDraft) -> StoreResult<Option<u32>> {
        let (u, hash) = (user_id.to_owned(), hash.to_owned());
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let Some(row) =
                tx.query_opt("SELECT doc FROM recovery_codes WHERE user_id = $1 FOR UPDATE", &[&u]).map_err(pg)?
            else {
                return Ok(None);
            };
            let mut set: RecoveryCodeSet = d(row.get(0))?;
            if !set.spend(&hash) {
                return Ok(None);
            }
            tx.execute("UPDATE recovery_codes SET doc = $2 WHERE user_id = $1", &[&u, &j(&set)?]).map_err(pg)?;
            let mut entry = audit;
            entry.0.changes.push(set.spent_change());
            insert_audit(&mut tx, entry)?;
            tx.commit().map_err(pg)?;
            Ok(Some(set.remaining()))
        })
    }
}
