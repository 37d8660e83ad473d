//! Sessions and per-account throttles, shared by every node.

use super::conn::Sql;
use time::OffsetDateTime;

use super::{d, insert_audit, j, pg, PgStore};
use crate::domain::login::LoginFlow;
use crate::domain::model::Session;
use crate::domain::throttle::{AccountThrottle, ThrottleDecision};
use crate::store::{AuditDraft, GrantStore, SessionStore, StoreResult, ThrottleStore};

fn key32(v: Vec<u8>) -> StoreResult<[u8; 32]> {
    v.try_into().map_err(|_| super::backend("a session key is not 32 bytes"))
}

impl SessionStore for PgStore {
    fn put_login(&self, key: &[u8; 32], flow: &LoginFlow) -> StoreResult<()> {
        let (k, user, exp, doc) = (key.to_vec(), flow.user_id.clone(), flow.expires_at, j(flow)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO login_flows (key, user_id, expires_at, doc) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET user_id = EXCLUDED.user_id, expires_at = EXCLUDED.expires_at, \
                 doc = EXCLUDED.doc",
                &[&k, &user, &exp, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn login(&self, key: &[u8; 32]) -> StoreResult<Option<LoginFlow>> {
        let k = key.to_vec();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM login_flows WHERE key = $1", &[&k])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn delete_login(&self, key: &[u8; 32]) -> StoreResult<()> {
        let k = key.to_vec();
        self.run(move |c| {
            c.execute("DELETE FROM login_flows WHERE key = $1", &[&k]).map_err(pg)?;
            Ok(())
        })
    }

    fn create_session(&self, key: &[u8; 32], session: &Session) -> StoreResult<()> {
        let (k, s, doc) = (key.to_vec(), session.clone(), j(session)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO sessions (key, user_id, created_at, last_seen_at, doc) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (key) DO UPDATE SET user_id = EXCLUDED.user_id, created_at = EXCLUDED.created_at, \
                 last_seen_at = EXCLUDED.last_seen_at, doc = EXCLUDED.doc",
                &[&k, &s.user_id, &s.created_at, &s.last_seen_at, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn promote_login(&self, from: &[u8; 32], to: &[u8; 32], session: &Session) -> StoreResult<bool> {
        let (f, k, s, doc) = (from.to_vec(), to.to_vec(), session.clone(), j(session)?);
        self.run(move |c| {
            // One statement, one round trip: the insert happens only if the delete found the flow.
            let n = c
                .execute(
                    "WITH gone AS (DELETE FROM login_flows WHERE key = $1 RETURNING key) \
                     INSERT INTO sessions (key, user_id, created_at, last_seen_at, doc) \
                     SELECT $2, $3, $4, $5, $6 FROM gone \
                     ON CONFLICT (key) DO UPDATE SET user_id = EXCLUDED.user_id, created_at = EXCLUDED.created_at, \
                     last_seen_at = EXCLUDED.last_seen_at, doc = EXCLUDED.doc",
                    &[&f, &k, &s.user_id, &s.created_at, &s.last_seen_at, &doc],
                )
                .map_err(pg)?;
            Ok(n == 1)
        })
    }

    fn session_with_user(&self, key: &[u8; 32]) -> StoreResult<Option<(Session, Option<crate::domain::model::User>)>> {
        with_user(
            self,
            "SELECT s.doc, u.doc FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.key = $1",
            key,
        )
    }

    fn login_with_user(&self, key: &[u8; 32]) -> StoreResult<Option<(LoginFlow, Option<crate::domain::model::User>)>> {
        with_user(
            self,
            "SELECT l.doc, u.doc FROM login_flows l LEFT JOIN users u ON u.id = l.user_id WHERE l.key = $1",
            key,
        )
    }

    fn write_password_step(&self, w: &crate::store::StepWrites) -> StoreResult<()> {
        use crate::store::StepProgress;
        let (session, flow) = match &w.progress {
            StepProgress::Session(s) => (true, j(s)?),
            StepProgress::Login(f) => (false, j(f)?),
        };
        let (created, seen, expires) = match &w.progress {
            StepProgress::Session(s) => (s.created_at, s.last_seen_at, s.created_at),
            StepProgress::Login(f) => (w.at, w.at, f.expires_at),
        };
        let result =
            serde_json::to_value(w.log.result).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let log = j(&w.log)?;
        let last = serde_json::Value::String(super::rfc3339(w.at)?);
        let (t, k, u, at, user, app) = (
            w.throttle_key.clone(),
            w.key.to_vec(),
            w.user_id.clone(),
            w.log.at,
            w.log.username.clone(),
            w.log.application.clone(),
        );
        self.run(move |c| {
            // One statement, one round trip: each write a data-modifying CTE.
            c.execute(
                "WITH t AS (DELETE FROM throttles WHERE key = $1), \
                 s AS (INSERT INTO sessions (key, user_id, created_at, last_seen_at, doc) \
                       SELECT $2, $3, $4, $5, $6 WHERE $7 \
                       ON CONFLICT (key) DO UPDATE SET user_id = EXCLUDED.user_id, created_at = EXCLUDED.created_at, \
                       last_seen_at = EXCLUDED.last_seen_at, doc = EXCLUDED.doc), \
                 l AS (INSERT INTO login_flows (key, user_id, expires_at, doc) SELECT $2, $3, $8, $6 WHERE NOT $7 \
                       ON CONFLICT (key) DO UPDATE SET user_id = EXCLUDED.user_id, expires_at = EXCLUDED.expires_at, \
                       doc = EXCLUDED.doc), \
                 u AS (UPDATE users SET doc = jsonb_set(doc, '{last_sign_in_at}', $9) WHERE id = $3) \
                 INSERT INTO sign_ins (at, username, result, application, doc) VALUES ($10, $11, $12, $13, $14)",
                &[&t, &k, &u, &created, &seen, &flow, &session, &expires, &last, &at, &user, &result, &app, &log],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn code_step_facts(&self, key: &[u8; 32], now: OffsetDateTime) -> StoreResult<Option<crate::store::CodeStepFacts>> {
        let k = key.to_vec();
        let mut fresh = AccountThrottle::default();
        let first = fresh.reserve(now);
        let fresh = j(&fresh)?;
        let read = self.run(move |c| {
            // One statement: the flow with its user and methods, and, for a live flow of an
            // enabled user whose account has no failures (no row: a success deletes it), the
            // attempt reserved by inserting the row. With a row there, the caller's usual
            // reservation follows.
            let Some(r) = c
                .query_opt(
                    "WITH f AS (SELECT l.doc AS flow, u.doc AS account, u.id AS uid, u.username AS uname, \
                                (l.expires_at > $3 AND coalesce((u.doc->>'enabled')::boolean, false)) AS open \
                                FROM login_flows l LEFT JOIN users u ON u.id = l.user_id WHERE l.key = $1), \
                     r AS (INSERT INTO throttles (key, doc) SELECT uname, $2 FROM f WHERE open AND $4 \
                           ON CONFLICT (key) DO NOTHING RETURNING key) \
                     SELECT f.flow, f.account, f.open, EXISTS (SELECT 1 FROM r), \
                     (SELECT coalesce(jsonb_agg(m.doc), '[]'::jsonb) FROM methods m WHERE m.user_id = f.uid AND f.open) \
                     FROM f",
                    &[&k, &fresh, &now, &(first == ThrottleDecision::Allow)],
                )
                .map_err(pg)?
            else {
                return Ok(None);
            };
            let flow: LoginFlow = d(r.get(0))?;
            let user: Option<crate::domain::model::User> = r.get::<_, Option<serde_json::Value>>(1).map(d).transpose()?;
            let (open, reserved): (bool, bool) = (r.get(2), r.get(3));
            let mut methods: Vec<crate::domain::model::Method> = d(r.get(4))?;
            methods.sort_by_key(|m| m.created_at);
            Ok(Some((flow, user, open, reserved, methods)))
        })?;
        let Some((flow, user, open, reserved, methods)) = read else { return Ok(None) };
        let attempt = match (&user, open, reserved) {
            (_, false, _) | (None, _, _) => None,
            (Some(_), true, true) => Some(first),
            (Some(u), true, false) => Some(self.reserve_attempt(&u.username, now)?),
        };
        let methods = if attempt.is_some() { methods } else { Vec::new() };
        Ok(Some(crate::store::CodeStepFacts { flow, user, methods, attempt }))
    }

    fn write_code_step(&self, w: &crate::store::CodeStepWrites) -> StoreResult<crate::store::CodeStepWritten> {
        use crate::store::CodeStepWritten;
        let result =
            serde_json::to_value(w.log.result).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let log = j(&w.log)?;
        let doc = j(&w.session)?;
        let used = serde_json::Value::String(super::rfc3339(w.log.at)?);
        let (u, m, step, t) = (w.user_id.clone(), w.method_id.clone(), w.step as i64, w.throttle_key.clone());
        let (at, name, app) = (w.log.at, w.log.username.clone(), w.log.application.clone());
        let (from, to, created, seen) = (w.from.to_vec(), w.to.to_vec(), w.session.created_at, w.session.last_seen_at);
        self.run(move |c| {
            // One statement, one round trip. The spent step is the gate: every other write is
            // made only if it was spent here (of two uses of one code, one writes).
            let r = c
                .query_one(
                    "WITH m AS (UPDATE methods SET last_step = $3, \
                                doc = jsonb_set(jsonb_set(doc, '{last_step}', to_jsonb($3::bigint)), '{last_used_at}', $4) \
                                WHERE user_id = $1 AND id = $2 AND (last_step IS NULL OR last_step < $3) RETURNING id), \
                     t AS (DELETE FROM throttles WHERE key = $5 AND EXISTS (SELECT 1 FROM m)), \
                     g AS (INSERT INTO sign_ins (at, username, result, application, doc) \
                           SELECT $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM m)), \
                     gone AS (DELETE FROM login_flows WHERE key = $11 AND EXISTS (SELECT 1 FROM m) RETURNING key), \
                     s AS (INSERT INTO sessions (key, user_id, created_at, last_seen_at, doc) \
                           SELECT $12, $1, $13, $14, $15 FROM gone \
                           ON CONFLICT (key) DO UPDATE SET user_id = EXCLUDED.user_id, created_at = EXCLUDED.created_at, \
                           last_seen_at = EXCLUDED.last_seen_at, doc = EXCLUDED.doc RETURNING key) \
                     SELECT EXISTS (SELECT 1 FROM m), EXISTS (SELECT 1 FROM s)",
                    &[&u, &m, &step, &used, &t, &at, &name, &result, &app, &log, &from, &to, &created, &seen, &doc],
                )
                .map_err(pg)?;
            Ok(match (r.get::<_, bool>(0), r.get::<_, bool>(1)) {
                (false, _) => CodeStepWritten::Replayed,
                (true, false) => CodeStepWritten::FlowGone,
                (true, true) => CodeStepWritten::Session,
            })
        })
    }

    fn password_step_facts(&self, username: &str) -> StoreResult<crate::store::StepFacts> {
        let name = username.to_owned();
        self.run(move |c| {
            // One statement: the user (if any) with what hangs off them, and the policies.
            let r = c
                .query_one(
                    "SELECT u.doc, p.doc, r.doc, g.doc, \
                     (SELECT coalesce(jsonb_agg(m.doc), '[]'::jsonb) FROM methods m WHERE m.user_id = u.id), \
                     (SELECT doc FROM policy_versions ORDER BY version DESC LIMIT 1) \
                     FROM (SELECT 1) AS one \
                     LEFT JOIN users u ON u.username = $1 \
                     LEFT JOIN risk_profiles p ON p.user_id = u.id \
                     LEFT JOIN recovery_codes r ON r.user_id = u.id \
                     LEFT JOIN registration_state g ON g.user_id = u.id",
                    &[&name],
                )
                .map_err(pg)?;
            let opt = |i: usize| r.get::<_, Option<serde_json::Value>>(i);
            let mut methods: Vec<crate::domain::model::Method> = d(r.get(4))?;
            methods.sort_by_key(|m| m.created_at);
            Ok(crate::store::StepFacts {
                user: opt(0).map(d).transpose()?,
                profile: opt(1).map(d).transpose()?,
                codes: opt(2).map(d).transpose()?,
                registration: opt(3).map(d).transpose()?.unwrap_or_default(),
                methods,
                policies: opt(5).map(d).transpose()?.unwrap_or_else(crate::domain::records::PolicyRecord::never_saved),
            })
        })
    }

    fn session(&self, key: &[u8; 32]) -> StoreResult<Option<Session>> {
        let k = key.to_vec();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM sessions WHERE key = $1", &[&k]).map_err(pg)?.map(|r| d(r.get(0))).transpose()
        })
    }

    fn touch_session(&self, key: &[u8; 32], at: OffsetDateTime) -> StoreResult<()> {
        // Only a session that still exists: a concurrent sign-out wins.
        let (k, text) = (key.to_vec(), serde_json::Value::String(super::rfc3339(at)?));
        self.run(move |c| {
            c.execute(
                "UPDATE sessions SET last_seen_at = $2, doc = jsonb_set(doc, '{last_seen_at}', $3) WHERE key = $1",
                &[&k, &at, &text],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn delete_session(&self, key: &[u8; 32]) -> StoreResult<()> {
        let k = key.to_vec();
        self.run(move |c| {
            c.execute("DELETE FROM sessions WHERE key = $1", &[&k]).map_err(pg)?;
            Ok(())
        })
    }

    fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64> {
        let id = user_id.to_owned();
        // One statement: the sign-ins in progress end with the sessions.
        let n = self.run(move |c| {
            c.execute(
                "WITH flows AS (DELETE FROM login_flows WHERE user_id = $1) DELETE FROM sessions WHERE user_id = $1",
                &[&id],
            )
            .map_err(pg)
        })?;
        self.end_user_grants(user_id, None)?;
        Ok(n)
    }

    fn count_sessions(&self) -> StoreResult<u64> {
        self.run(|c| Ok(c.query_one("SELECT count(*) FROM sessions", &[]).map_err(pg)?.get::<_, i64>(0) as u64))
    }

    fn put_ceremony(&self, key: &str, ceremony: &crate::domain::model::Ceremony) -> StoreResult<()> {
        let (k, exp, doc) = (key.to_owned(), ceremony.expires_at, j(ceremony)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO ceremonies (key, expires_at, doc) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at, doc = EXCLUDED.doc",
                &[&k, &exp, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn ceremony(&self, key: &str) -> StoreResult<Option<crate::domain::model::Ceremony>> {
        let k = key.to_owned();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM ceremonies WHERE key = $1", &[&k])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn add_ceremony(&self, key: &str, ceremony: &crate::domain::model::Ceremony) -> StoreResult<bool> {
        let (k, exp, doc) = (key.to_owned(), ceremony.expires_at, j(ceremony)?);
        self.run(move |c| {
            let n = c
                .execute(
                    "INSERT INTO ceremonies (key, expires_at, doc) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
                    &[&k, &exp, &doc],
                )
                .map_err(pg)?;
            Ok(n == 1)
        })
    }

    fn take_ceremony(&self, key: &str) -> StoreResult<Option<crate::domain::model::Ceremony>> {
        let k = key.to_owned();
        self.run(move |c| {
            c.query_opt("DELETE FROM ceremonies WHERE key = $1 RETURNING doc", &[&k])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn user_sessions(&self, user_id: &str) -> StoreResult<Vec<([u8; 32], Session)>> {
        let id = user_id.to_owned();
        self.run(move |c| {
            c.query("SELECT key, doc FROM sessions WHERE user_id = $1 ORDER BY created_at DESC", &[&id])
                .map_err(pg)?
                .into_iter()
                .map(|r| Ok((key32(r.get(0))?, d(r.get(1))?)))
                .collect()
        })
    }
}

impl ThrottleStore for PgStore {
    fn throttle(&self, username: &str) -> StoreResult<AccountThrottle> {
        let k = username.to_owned();
        self.run(move |c| {
            Ok(c.query_opt("SELECT doc FROM throttles WHERE key = $1", &[&k])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()?
                .unwrap_or_default())
        })
    }

    fn put_throttle(&self, username: &str, t: &AccountThrottle) -> StoreResult<()> {
        let (k, doc, clear) = (username.to_owned(), j(t)?, t.consecutive_failures == 0);
        self.run(move |c| {
            if clear {
                c.execute("DELETE FROM throttles WHERE key = $1", &[&k]).map_err(pg)?;
            } else {
                c.execute(
                    "INSERT INTO throttles (key, doc) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc",
                    &[&k, &doc],
                )
                .map_err(pg)?;
            }
            Ok(())
        })
    }

    fn reserve_attempt(&self, username: &str, now: OffsetDateTime) -> StoreResult<ThrottleDecision> {
        // Concurrent attempts on any node count one each. An account with no failures has no row
        // (a success deletes it): the reserved attempt is then one insert, one round trip. With a
        // row, the row is locked for the decision.
        let k = username.to_owned();
        let mut fresh = AccountThrottle::default();
        let first = fresh.reserve(now);
        let fresh = j(&fresh)?;
        self.run(move |c| {
            if first == ThrottleDecision::Allow
                && c.execute(
                    "INSERT INTO throttles (key, doc) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                    &[&k, &fresh],
                )
                .map_err(pg)?
                    == 1
            {
                return Ok(first);
            }
            let mut tx = c.transaction().map_err(pg)?;
            // One statement that inserts the row or locks the one there: a row another node
            // deletes meanwhile (a success) is retried by the server, never read as missing.
            let row = tx
                .query_one(
                    "INSERT INTO throttles (key, doc) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET doc = throttles.doc RETURNING doc",
                    &[&k, &j(&AccountThrottle::default())?],
                )
                .map_err(pg)?;
            let mut t: AccountThrottle = d(row.get(0))?;
            let decision = t.reserve(now);
            if decision == ThrottleDecision::Allow {
                tx.execute("UPDATE throttles SET doc = $2 WHERE key = $1", &[&k, &j(&t)?]).map_err(pg)?;
            } else if t.consecutive_failures == 0 {
                tx.execute("DELETE FROM throttles WHERE key = $1", &[&k]).map_err(pg)?;
            }
            tx.commit().map_err(pg)?;
            Ok(decision)
        })
    }

    fn attempt_succeeded(&self, username: &str) -> StoreResult<()> {
        let k = username.to_owned();
        self.run(move |c| {
            c.execute("DELETE FROM throttles WHERE key = $1", &[&k]).map_err(pg)?;
            Ok(())
        })
    }

    fn clear_throttle(&self, username: &str, audit: AuditDraft) -> StoreResult<()> {
        let k = username.to_owned();
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            tx.execute("DELETE FROM throttles WHERE key = $1", &[&k]).map_err(pg)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }
}

/// A record under `key` with its user, read by `sql` (the record's doc, then the user's).
fn with_user<T: serde::de::DeserializeOwned + Send + 'static>(
    store: &PgStore,
    sql: &'static str,
    key: &[u8; 32],
) -> StoreResult<Option<(T, Option<crate::domain::model::User>)>> {
    let k = key.to_vec();
    store.run(move |c| {
        let Some(r) = c.query_opt(sql, &[&k]).map_err(pg)? else { return Ok(None) };
        let user = r.get::<_, Option<serde_json::Value>>(1).map(d).transpose()?;
        Ok(Some((d(r.get(0))?, user)))
    })
}
