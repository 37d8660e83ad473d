//! Flows, codes, grants, refresh and access tokens of sign-ins through applications. A code and
//! a refresh token are spent by one conditional UPDATE ... RETURNING the row as it was.

use super::conn::Sql;
use time::OffsetDateTime;

use super::{d, j, pg, PgStore};
use crate::domain::oidc::grant::{AccessGrant, CodeGrant, Flow, Grant, RefreshGrant, FLOW_KEPT_AFTER_EXPIRY};
use crate::store::{GrantStore, StoreResult};

impl GrantStore for PgStore {
    fn put_flow(&self, flow: &Flow) -> StoreResult<()> {
        let (id, exp, doc) = (flow.id.clone(), flow.expires_at, j(flow)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO flows (id, expires_at, doc) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, doc = EXCLUDED.doc",
                &[&id, &exp, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn flow(&self, id: &str) -> StoreResult<Option<Flow>> {
        let id = id.to_owned();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM flows WHERE id = $1", &[&id]).map_err(pg)?.map(|r| d(r.get(0))).transpose()
        })
    }

    fn delete_flow(&self, id: &str) -> StoreResult<()> {
        let id = id.to_owned();
        self.run(move |c| {
            c.execute("DELETE FROM flows WHERE id = $1", &[&id]).map_err(pg)?;
            Ok(())
        })
    }

    fn put_code(&self, key: &[u8; 32], code: &CodeGrant) -> StoreResult<()> {
        let (k, exp, doc) = (key.to_vec(), code.expires_at, j(code)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO codes (key, expires_at, doc) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc",
                &[&k, &exp, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn code(&self, key: &[u8; 32]) -> StoreResult<Option<CodeGrant>> {
        let k = key.to_vec();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM codes WHERE key = $1", &[&k]).map_err(pg)?.map(|r| d(r.get(0))).transpose()
        })
    }

    fn spend_code(&self, key: &[u8; 32], issued: &[u8; 32]) -> StoreResult<Option<CodeGrant>> {
        let (k, issued) = (key.to_vec(), *issued);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let Some(row) = tx.query_opt("SELECT doc FROM codes WHERE key = $1 FOR UPDATE", &[&k]).map_err(pg)? else {
                return Ok(None);
            };
            let before: CodeGrant = d(row.get(0))?;
            let mut after = before.clone();
            after.spent = true;
            after.issued.push(issued);
            tx.execute("UPDATE codes SET doc = $2 WHERE key = $1", &[&k, &j(&after)?]).map_err(pg)?;
            tx.commit().map_err(pg)?;
            Ok(Some(before))
        })
    }

    fn put_access_token(&self, key: &[u8; 32], grant: &AccessGrant) -> StoreResult<()> {
        let (k, exp, doc) = (key.to_vec(), grant.expires_at, j(grant)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO access_tokens (key, expires_at, doc) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc",
                &[&k, &exp, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn access_token(&self, key: &[u8; 32]) -> StoreResult<Option<AccessGrant>> {
        let k = key.to_vec();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM access_tokens WHERE key = $1", &[&k])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn revoke_access_tokens(&self, keys: &[[u8; 32]]) -> StoreResult<()> {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
        self.run(move |c| {
            c.execute("DELETE FROM access_tokens WHERE key = ANY($1)", &[&keys]).map_err(pg)?;
            Ok(())
        })
    }

    fn put_grant(&self, grant: &Grant) -> StoreResult<()> {
        let g = grant.clone();
        // Kept as a column so the sign-out's delete is one statement; the rule is the domain's
        // (`Grant::ends_with_sign_out_of`: same sid, not offline).
        let offline = g.offline();
        let doc = j(grant)?;
        self.run(move |c| {
            c.execute(
                "INSERT INTO grants (user_id, id, sid, offline, expires_at, doc) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (user_id, id) DO UPDATE SET sid = EXCLUDED.sid, offline = EXCLUDED.offline, expires_at = EXCLUDED.expires_at, doc = EXCLUDED.doc",
                &[&g.user_id, &g.id, &g.sid, &offline, &g.expires_at, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn grant(&self, user_id: &str, id: &str) -> StoreResult<Option<Grant>> {
        let (u, i) = (user_id.to_owned(), id.to_owned());
        self.run(move |c| {
            c.query_opt("SELECT doc FROM grants WHERE user_id = $1 AND id = $2", &[&u, &i])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn end_grant(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let (u, i) = (user_id.to_owned(), id.to_owned());
        self.run(move |c| {
            Ok(c.execute("DELETE FROM grants WHERE user_id = $1 AND id = $2", &[&u, &i]).map_err(pg)? == 1)
        })
    }

    fn end_user_grants(&self, user_id: &str, sid: Option<&str>) -> StoreResult<u64> {
        let (u, sid) = (user_id.to_owned(), sid.map(str::to_owned));
        self.run(move |c| {
            c.execute(
                "DELETE FROM grants WHERE user_id = $1 AND ($2::text IS NULL OR (sid = $2 AND NOT offline))",
                &[&u, &sid],
            )
            .map_err(pg)
        })
    }

    fn put_refresh_token(&self, key: &[u8; 32], token: &RefreshGrant) -> StoreResult<()> {
        let (k, exp, spent, doc) = (key.to_vec(), token.expires_at, token.spent, j(token)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO refresh_tokens (key, expires_at, spent, doc) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET spent = EXCLUDED.spent, doc = EXCLUDED.doc",
                &[&k, &exp, &spent, &doc],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn refresh_token(&self, key: &[u8; 32]) -> StoreResult<Option<RefreshGrant>> {
        let k = key.to_vec();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM refresh_tokens WHERE key = $1", &[&k])
                .map_err(pg)?
                .map(|r| d(r.get(0)))
                .transpose()
        })
    }

    fn spend_refresh_token(&self, key: &[u8; 32]) -> StoreResult<Option<RefreshGrant>> {
        let k = key.to_vec();
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let Some(row) =
                tx.query_opt("SELECT doc FROM refresh_tokens WHERE key = $1 FOR UPDATE", &[&k]).map_err(pg)?
            else {
                return Ok(None);
            };
            let before: RefreshGrant = d(row.get(0))?;
            let after = RefreshGrant { spent: true, ..before.clone() };
            tx.execute("UPDATE refresh_tokens SET spent = true, doc = $2 WHERE key = $1", &[&k, &j(&after)?])
                .map_err(pg)?;
            tx.commit().map_err(pg)?;
            Ok(Some(before))
        })
    }

    fn sweep_grants(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let kept = now - FLOW_KEPT_AFTER_EXPIRY;
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let lock = super::SWEEP_LOCK + 1;
            if !tx.query_one("SELECT pg_try_advisory_xact_lock($1)", &[&lock]).map_err(pg)?.get::<_, bool>(0) {
                return Ok(0); // another node is sweeping
            }
            let mut n = tx.execute("DELETE FROM flows WHERE expires_at <= $1", &[&kept]).map_err(pg)?;
            for table in ["codes", "access_tokens", "grants", "refresh_tokens"] {
                n += tx.execute(&format!("DELETE FROM {table} WHERE expires_at <= $1"), &[&now]).map_err(pg)?;
            }
            tx.commit().map_err(pg)?;
            Ok(n)
        })
    }
}
