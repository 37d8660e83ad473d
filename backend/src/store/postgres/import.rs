//! `proofup migrate`: an embedded store's records into an empty PostgreSQL database, in one
//! transaction (all or nothing), with the counts checked at the end.

use super::conn::{Sql, Tx};
use super::groups::kind_text;
use super::{j, pg, PgStore};
use crate::store::migrate::{Counts, Record};
use crate::store::{StoreError, StoreResult};

fn text<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn insert(tx: &mut Tx<'_>, r: &Record) -> StoreResult<()> {
    let run = |tx: &mut Tx<'_>, sql: &str, p: &[&(dyn postgres::types::ToSql + Sync)]| {
        tx.execute(sql, p).map(|_| ()).map_err(pg)
    };
    match r {
        Record::User(u) => run(
            tx,
            "INSERT INTO users (id, username, role, enabled, emergency_access, doc) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&u.id, &u.username, &text(u.role), &u.enabled, &u.emergency_access, &j(u)?],
        ),
        Record::Group(g) => run(
            tx,
            "INSERT INTO groups (id, name, doc) VALUES ($1, $2, $3)",
            &[&g.id, &crate::domain::model::Group::name_key(&g.name), &j(g)?],
        ),
        Record::Member { group, kind, member } => run(
            tx,
            "INSERT INTO memberships (group_id, kind, member) VALUES ($1, $2, $3)",
            &[group, &kind_text(*kind), member],
        ),
        Record::Session { key, session } => run(
            tx,
            "INSERT INTO sessions (key, user_id, created_at, last_seen_at, doc) VALUES ($1, $2, $3, $4, $5)",
            &[&key.to_vec(), &session.user_id, &session.created_at, &session.last_seen_at, &j(session)?],
        ),
        Record::Login { key, flow } => run(
            tx,
            "INSERT INTO login_flows (key, user_id, expires_at, doc) VALUES ($1, $2, $3, $4)",
            &[&key.to_vec(), &flow.user_id, &flow.expires_at, &j(flow)?],
        ),
        Record::Pass { user_id, pass } => {
            run(tx, "INSERT INTO passes (user_id, doc) VALUES ($1, $2)", &[user_id, &j(pass)?])
        }
        Record::Method(m) => run(
            tx,
            "INSERT INTO methods (user_id, id, kind, credential_id, last_step, doc) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&m.user_id, &m.id, &text(m.kind), &m.credential_id, &m.last_step.map(|s| s as i64), &j(m)?],
        ),
        Record::Recovery { user_id, codes } => {
            run(tx, "INSERT INTO recovery_codes (user_id, doc) VALUES ($1, $2)", &[user_id, &j(codes)?])
        }
        Record::Registration { user_id, state } => {
            run(tx, "INSERT INTO registration_state (user_id, doc) VALUES ($1, $2)", &[user_id, &j(state)?])
        }
        Record::Policy(p) => {
            run(tx, "INSERT INTO policy_versions (version, doc) VALUES ($1, $2)", &[&(p.version as i64), &j(p)?])
        }
        Record::Audit(e) => run(
            tx,
            "INSERT INTO audit (at, actor, action, target, doc) VALUES ($1, $2, $3, $4, $5)",
            &[&e.at, &e.actor, &e.action, &e.target, &j(e)?],
        ),
        Record::SignIn(e) => run(
            tx,
            "INSERT INTO sign_ins (at, username, result, application, doc) VALUES ($1, $2, $3, $4, $5)",
            &[&e.at, &e.username, &text(e.result), &e.application, &j(e)?],
        ),
        Record::Alert(a) => run(
            tx,
            "INSERT INTO alerts (id, acknowledged, doc) VALUES ($1, $2, $3)",
            &[&a.id, &a.acknowledged_at.is_some(), &j(a)?],
        ),
        Record::RiskProfile(p) => {
            run(tx, "INSERT INTO risk_profiles (user_id, doc) VALUES ($1, $2)", &[&p.user_id, &j(p)?])
        }
        Record::Detection(d) => {
            run(tx, "INSERT INTO detections (at, user_id, doc) VALUES ($1, $2, $3)", &[&d.at, &d.user_id, &j(d)?])
        }
        Record::WebhookUrl(u) => {
            run(tx, "INSERT INTO webhook (name, doc) VALUES ('url', $1)", &[&serde_json::Value::String(u.clone())])
        }
        Record::Message(m) => run(
            tx,
            "INSERT INTO outbox (id, channel, next_at, given_up, doc) VALUES ($1, $2, $3, $4, $5)",
            &[&m.id, &m.channel.as_str(), &m.next_at, &m.given_up, &j(m)?],
        ),
        Record::Application(a) => run(tx, "INSERT INTO applications (id, doc) VALUES ($1, $2)", &[&a.id, &j(a)?]),
        Record::SigningKeys(k) => run(tx, "INSERT INTO signing_keys (id, doc) VALUES (1, $1)", &[&j(k)?]),
        Record::SetupDone => run(tx, "INSERT INTO setup (id, done) VALUES (1, true)", &[]),
        // The copied secrets' key is the one in force, whatever a node recorded before.
        Record::SecretKeyCheck(c) => run(
            tx,
            "INSERT INTO settings (name, value) VALUES ('secret_key_check', $1) \
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            &[c],
        ),
    }
}

impl PgStore {
    /// Imports `records` into this database, which must hold no user, group or policy yet.
    /// One transaction: a failure leaves the database as it was.
    pub fn import(&self, records: Vec<Record>) -> StoreResult<Counts> {
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let existing: i64 = tx
                .query_one("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM groups) + (SELECT count(*) FROM policy_versions)", &[])
                .map_err(pg)?
                .get(0);
            if existing > 0 {
                return Err(StoreError::Conflict(crate::store::Conflict::DatabaseNotEmpty));
            }
            let mut counts = Counts::default();
            for r in &records {
                insert(&mut tx, r)?;
                counts.add(r);
            }
            if counts.memberships > 0 {
                tx.execute("INSERT INTO directory_changes DEFAULT VALUES", &[]).map_err(pg)?;
            }
            let check = |tx: &mut Tx<'_>, table: &str| -> StoreResult<u64> {
                Ok(tx.query_one(&format!("SELECT count(*) FROM {table}"), &[]).map_err(pg)?.get::<_, i64>(0) as u64)
            };
            let read = (
                check(&mut tx, "users")?,
                check(&mut tx, "groups")?,
                check(&mut tx, "memberships")?,
                check(&mut tx, "audit")?,
                check(&mut tx, "sign_ins")?,
            );
            if read != (counts.users, counts.groups, counts.memberships, counts.audit, counts.sign_ins) {
                return Err(StoreError::Backend(format!("the counts do not match after the copy: {read:?} vs {counts:?}")));
            }
            tx.commit().map_err(pg)?;
            Ok(counts)
        })
    }
}
