//! Users, temporary access passes and first-run setup.

use super::conn::Sql;
use crate::store::Conflict;
use proofup_shared::api::Page;
use time::OffsetDateTime;

use super::{d, insert_audit, j, pg, rfc3339, PgStore, BATCH};
use crate::domain::model::User;
use crate::domain::setup::SetupTokenRecord;
use crate::domain::tap::TapRecord;
use crate::store::{AuditDraft, PassStore, SetupStore, StoreError, StoreResult, UserFilter, UserStore};

fn role(u: &User) -> String {
    serde_json::to_value(u.role).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Replaces a stored user (same id and username); `NotFound` when there is none.
fn replace_user_row(c: &mut impl Sql, u: &User, role: &str) -> StoreResult<()> {
    let n = c
        .execute(
            "UPDATE users SET role = $3, enabled = $4, emergency_access = $5, doc = $6 WHERE id = $1 AND username = $2",
            &[&u.id, &u.username, &role, &u.enabled, &u.emergency_access, &j(u)?],
        )
        .map_err(pg)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn is_unique_violation(e: &postgres::Error) -> bool {
    e.as_db_error().is_some_and(|d| d.code() == &postgres::error::SqlState::UNIQUE_VIOLATION)
}

impl PgStore {
    /// A new user, their pass if any, and the audit entries: one transaction.
    fn insert_user(&self, user: &User, pass: Option<&TapRecord>, audit: Vec<AuditDraft>) -> StoreResult<()> {
        let (u, r, pass) = (user.clone(), role(user), pass.map(j).transpose()?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let inserted = tx.execute(
                "INSERT INTO users (id, username, role, enabled, emergency_access, doc) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&u.id, &u.username, &r, &u.enabled, &u.emergency_access, &j(&u)?],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict(Conflict::UsernameTaken(u.username.clone())))
                }
                r => r.map_err(pg)?,
            };
            if let Some(pass) = pass {
                tx.execute("INSERT INTO passes (user_id, doc) VALUES ($1, $2)", &[&u.id, &pass]).map_err(pg)?;
            }
            for a in audit {
                insert_audit(&mut tx, a)?;
            }
            tx.commit().map_err(pg)
        })
    }
}

impl UserStore for PgStore {
    fn user(&self, id: &str) -> StoreResult<Option<User>> {
        let id = id.to_owned();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM users WHERE id = $1", &[&id]).map_err(pg)?.map(|r| d(r.get(0))).transpose()
        })
    }

    fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let name = username.to_owned();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM users WHERE username = $1", &[&name])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn count_users(&self) -> StoreResult<u64> {
        self.run(|c| Ok(c.query_one("SELECT count(*) FROM users", &[]).map_err(pg)?.get::<_, i64>(0) as u64))
    }

    fn create_user(&self, user: &User, audit: AuditDraft) -> StoreResult<()> {
        self.insert_user(user, None, vec![audit])
    }

    fn create_user_with_pass(&self, user: &User, pass: &TapRecord, audit: [AuditDraft; 2]) -> StoreResult<()> {
        self.insert_user(user, Some(pass), audit.into())
    }

    fn reset_sign_in(&self, user: &User, pass: &TapRecord, audit: [AuditDraft; 2]) -> StoreResult<u64> {
        let (u, r, pass) = (user.clone(), role(user), j(pass)?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            replace_user_row(&mut tx, &u, &r)?;
            let ended = tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&u.id]).map_err(pg)?;
            tx.execute("DELETE FROM login_flows WHERE user_id = $1", &[&u.id]).map_err(pg)?;
            tx.execute("DELETE FROM grants WHERE user_id = $1", &[&u.id]).map_err(pg)?;
            tx.execute(
                "INSERT INTO passes (user_id, doc) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET doc = EXCLUDED.doc",
                &[&u.id, &pass],
            )
            .map_err(pg)?;
            for a in audit {
                insert_audit(&mut tx, a)?;
            }
            tx.commit().map_err(pg)?;
            Ok(ended)
        })
    }

    fn set_last_sign_in(&self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        let id = id.to_owned();
        let at = serde_json::Value::String(rfc3339(at)?);
        self.run(move |c| {
            c.execute("UPDATE users SET doc = jsonb_set(doc, '{last_sign_in_at}', $2) WHERE id = $1", &[&id, &at])
                .map_err(pg)?;
            Ok(())
        })
    }

    fn update_user(&self, user: &User, audit: AuditDraft) -> StoreResult<()> {
        let (u, r) = (user.clone(), role(user));
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            replace_user_row(&mut tx, &u, &r)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn delete_user(&self, id: &str, audit: AuditDraft) -> StoreResult<()> {
        let id = id.to_owned();
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            if tx.execute("DELETE FROM users WHERE id = $1", &[&id]).map_err(pg)? == 0 {
                return Err(StoreError::NotFound);
            }
            let touched =
                tx.execute("DELETE FROM memberships WHERE kind = 'user' AND member = $1", &[&id]).map_err(pg)?;
            if touched > 0 {
                tx.execute("INSERT INTO directory_changes DEFAULT VALUES", &[]).map_err(pg)?;
            }
            for table in [
                "passes",
                "methods",
                "recovery_codes",
                "registration_state",
                "sessions",
                "login_flows",
                "grants",
                "risk_profiles",
                "detections",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE user_id = $1"), &[&id]).map_err(pg)?;
            }
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    /// The filter runs in SQL (a range of the username index, the role and flag columns); only a
    /// display-name word, when asked for, is tested here, on rows fetched in batches.
    fn list_users(&self, filter: &UserFilter, after: Option<&str>, limit: usize) -> StoreResult<Page<User>> {
        if limit == 0 {
            return Ok(Page { items: Vec::new(), next_after: None });
        }
        let filter = filter.clone();
        let mut cursor = after.map(str::to_owned).filter(|a| a.as_str() >= filter.prefix.as_str());
        let role = filter.role.and_then(|r| serde_json::to_value(r).ok()).and_then(|v| v.as_str().map(str::to_owned));
        let upper = prefix_successor(&filter.prefix);
        let limit_i = i64::try_from(limit).unwrap_or(i64::MAX);
        let batch = if filter.name_word.is_empty() { limit_i } else { BATCH.max(limit_i) };
        self.run(move |c| {
            let mut items = Vec::with_capacity(limit.min(256));
            'scan: loop {
                let rows = c
                    .query(
                        "SELECT username, doc FROM users \
                         WHERE username >= $1 AND ($2::text IS NULL OR username < $2) AND ($3::text IS NULL OR username > $3) \
                           AND ($4::text IS NULL OR role = $4) AND ($5::boolean IS NULL OR enabled = $5) \
                           AND ($6::boolean IS NULL OR emergency_access = $6) \
                         ORDER BY username LIMIT $7",
                        &[&filter.prefix, &upper, &cursor, &role, &filter.enabled, &filter.emergency_access, &batch],
                    )
                    .map_err(pg)?;
                let n = rows.len();
                for r in rows {
                    let name: String = r.get(0);
                    cursor = Some(name);
                    let u: User = d(r.get(1))?;
                    if filter.matches(&u) {
                        items.push(u);
                        if items.len() == limit {
                            break 'scan;
                        }
                    }
                }
                if (n as i64) < batch {
                    break;
                }
            }
            let next_after = if items.len() == limit { items.last().map(|u: &User| u.username.clone()) } else { None };
            Ok(Page { items, next_after })
        })
    }

    fn count_enabled_global_admins(&self) -> StoreResult<u64> {
        let role = serde_json::to_value(proofup_shared::api::Role::GlobalAdministrator)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.run(move |c| {
            Ok(c.query_one("SELECT count(*) FROM users WHERE enabled AND role = $1", &[&role])
                .map_err(pg)?
                .get::<_, i64>(0) as u64)
        })
    }

    fn for_each_user(&self, f: &mut dyn FnMut(User)) -> StoreResult<()> {
        // Streamed in pages: the closure stays on the caller's thread.
        let mut after: Option<String> = None;
        loop {
            let from = after.clone();
            let page: Vec<(String, serde_json::Value)> = self.run(move |c| {
                Ok(c.query(
                    "SELECT id, doc FROM users WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2",
                    &[&from, &BATCH],
                )
                .map_err(pg)?
                .into_iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect())
            })?;
            let n = page.len();
            for (id, doc) in page {
                after = Some(id);
                f(d(doc)?);
            }
            if (n as i64) < BATCH {
                return Ok(());
            }
        }
    }
}

impl PassStore for PgStore {
    fn put_pass(&self, user_id: &str, pass: &TapRecord, audit: AuditDraft) -> StoreResult<()> {
        let (id, doc) = (user_id.to_owned(), j(pass)?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            tx.execute(
                "INSERT INTO passes (user_id, doc) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET doc = EXCLUDED.doc",
                &[&id, &doc],
            )
            .map_err(pg)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn take_pass(&self, user_id: &str, check: &dyn Fn(&TapRecord) -> bool) -> StoreResult<bool> {
        // The check runs here, on the caller's thread; the pass is then deleted only if it is
        // still the one checked (compare-and-delete): two nodes taking it at once, one wins.
        let id = user_id.to_owned();
        let found: Option<serde_json::Value> = {
            let id = id.clone();
            self.run(move |c| {
                Ok(c.query_opt("SELECT doc FROM passes WHERE user_id = $1", &[&id]).map_err(pg)?.map(|r| r.get(0)))
            })?
        };
        let Some(doc) = found else { return Ok(false) };
        if !check(&d::<TapRecord>(doc.clone())?) {
            return Ok(false);
        }
        self.run(move |c| {
            Ok(c.execute("DELETE FROM passes WHERE user_id = $1 AND doc = $2", &[&id, &doc]).map_err(pg)? == 1)
        })
    }
}

impl SetupStore for PgStore {
    fn secret_key_check(&self) -> StoreResult<Option<String>> {
        self.run(|c| {
            Ok(c.query_opt("SELECT value FROM settings WHERE name = 'secret_key_check'", &[])
                .map_err(pg)?
                .map(|r| r.get(0)))
        })
    }

    fn record_secret_key_check(&self, check: &str) -> StoreResult<String> {
        let check = check.to_owned();
        self.run(move |c| {
            c.execute(
                "INSERT INTO settings (name, value) VALUES ('secret_key_check', $1) ON CONFLICT (name) DO NOTHING",
                &[&check],
            )
            .map_err(pg)?;
            Ok(c.query_one("SELECT value FROM settings WHERE name = 'secret_key_check'", &[]).map_err(pg)?.get(0))
        })
    }

    fn setup_token(&self) -> StoreResult<Option<SetupTokenRecord>> {
        self.run(|c| match c.query_opt("SELECT token FROM setup WHERE id = 1", &[]).map_err(pg)? {
            Some(r) => r.get::<_, Option<serde_json::Value>>(0).map(d).transpose(),
            None => Ok(None),
        })
    }

    fn setup_done(&self) -> StoreResult<bool> {
        self.run(|c| Ok(c.query_opt("SELECT done FROM setup WHERE id = 1", &[]).map_err(pg)?.is_some_and(|r| r.get(0))))
    }

    fn put_setup_token(&self, record: &SetupTokenRecord) -> StoreResult<()> {
        let doc = j(record)?;
        self.run(move |c| {
            c.execute(
                "INSERT INTO setup (id, token) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token",
                &[&doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn complete_setup(&self, token: &SetupTokenRecord, admin: &User, audit: AuditDraft) -> StoreResult<()> {
        let (doc, u, r) = (j(token)?, admin.clone(), role(admin));
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let row = tx.query_opt("SELECT token, done FROM setup WHERE id = 1 FOR UPDATE", &[]).map_err(pg)?;
            let (stored, done): (Option<serde_json::Value>, bool) = match row {
                Some(r) => (r.get(0), r.get(1)),
                None => (None, false),
            };
            if stored.as_ref() != Some(&doc) {
                return Err(StoreError::Conflict(Conflict::SetupTokenUsed));
            }
            if done {
                return Err(StoreError::Conflict(Conflict::SetupDone));
            }
            tx.execute("UPDATE setup SET token = NULL, done = true WHERE id = 1", &[]).map_err(pg)?;
            let inserted = tx.execute(
                "INSERT INTO users (id, username, role, enabled, emergency_access, doc) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&u.id, &u.username, &r, &u.enabled, &u.emergency_access, &j(&u)?],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(StoreError::Conflict(Conflict::UsernameTaken(u.username.clone()))),
                r => r.map_err(pg)?,
            };
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }
}

/// The smallest string above every string that starts with `prefix` (`None`: no bound, for the
/// empty prefix or one ending in the last code point).
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next code point, skipping the surrogate gap.
        let next = (u32::from(last) + 1..=0x10_FFFF).find_map(char::from_u32);
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_successor;

    #[test]
    fn the_successor_bounds_exactly_the_names_with_the_prefix() {
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("ab"), Some("ac".into()));
        assert_eq!(prefix_successor("a\u{D7FF}"), Some("a\u{E000}".into()));
        assert_eq!(prefix_successor("a\u{10FFFF}"), Some("b".into()));
        let upper = prefix_successor("bob").unwrap();
        for name in ["bob", "bob.smith", "bobz\u{10FFFF}"] {
            assert!(name >= "bob" && name < upper.as_str(), "{name}");
        }
        assert!("boc" >= upper.as_str());
    }
}
