//! Groups and their direct memberships. Every membership change also appends to
//! `directory_changes`, which the other nodes poll to keep their membership index in step.

use super::conn::Sql;
use crate::store::Conflict;
use proofup_shared::api::Page;
use proofup_shared::directory::MemberKind;

use super::{d, insert_audit, j, pg, PgStore, BATCH};
use crate::domain::model::Group;
use crate::store::{AuditDraft, GroupStore, StoreError, StoreResult};

pub(super) fn kind_text(k: MemberKind) -> &'static str {
    match k {
        MemberKind::User => "user",
        MemberKind::Group => "group",
    }
}

fn kind_of(s: &str) -> MemberKind {
    if s == "group" {
        MemberKind::Group
    } else {
        MemberKind::User
    }
}

fn unique(e: &postgres::Error) -> bool {
    e.as_db_error().is_some_and(|d| d.code() == &postgres::error::SqlState::UNIQUE_VIOLATION)
}

impl GroupStore for PgStore {
    fn group(&self, id: &str) -> StoreResult<Option<Group>> {
        let id = id.to_owned();
        self.run(move |c| {
            c.query_opt("SELECT doc FROM groups WHERE id = $1", &[&id]).map_err(pg)?.map(|r| d(r.get(0))).transpose()
        })
    }

    fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>> {
        let key = Group::name_key(name);
        self.run(move |c| {
            c.query_opt("SELECT doc FROM groups WHERE name = $1", &[&key]).map_err(pg)?.map(|r| d(r.get(0))).transpose()
        })
    }

    fn count_groups(&self) -> StoreResult<u64> {
        self.run(|c| Ok(c.query_one("SELECT count(*) FROM groups", &[]).map_err(pg)?.get::<_, i64>(0) as u64))
    }

    fn create_group(&self, group: &Group, audit: AuditDraft) -> StoreResult<()> {
        let (g, key, doc) = (group.clone(), Group::name_key(&group.name), j(group)?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            match tx.execute("INSERT INTO groups (id, name, doc) VALUES ($1, $2, $3)", &[&g.id, &key, &doc]) {
                Err(e) if unique(&e) => return Err(StoreError::Conflict(Conflict::GroupNameTaken(g.name.clone()))),
                r => r.map_err(pg)?,
            };
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn update_group(&self, group: &Group, audit: AuditDraft) -> StoreResult<()> {
        let (g, key, doc) = (group.clone(), Group::name_key(&group.name), j(group)?);
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            match tx.execute("UPDATE groups SET name = $2, doc = $3 WHERE id = $1", &[&g.id, &key, &doc]) {
                Err(e) if unique(&e) => return Err(StoreError::Conflict(Conflict::GroupNameTaken(g.name.clone()))),
                Ok(0) => return Err(StoreError::NotFound),
                r => r.map_err(pg)?,
            };
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn delete_group(&self, id: &str, audit: AuditDraft) -> StoreResult<()> {
        let id = id.to_owned();
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            // Its own members go with it (ON DELETE CASCADE); then its place in every parent.
            if tx.execute("DELETE FROM groups WHERE id = $1", &[&id]).map_err(pg)? == 0 {
                return Err(StoreError::NotFound);
            }
            tx.execute("DELETE FROM memberships WHERE kind = 'group' AND member = $1", &[&id]).map_err(pg)?;
            tx.execute("INSERT INTO directory_changes DEFAULT VALUES", &[]).map_err(pg)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn list_groups(&self, prefix: &str, after: Option<&str>, limit: usize) -> StoreResult<Page<Group>> {
        let prefix = prefix.to_owned();
        let after = after.map(str::to_owned).filter(|a| a.as_str() >= prefix.as_str());
        self.run(move |c| {
            let pattern = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            let rows = c
                .query(
                    "SELECT name, doc FROM groups WHERE name LIKE $1 AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3",
                    &[&pattern, &after, &(limit as i64)],
                )
                .map_err(pg)?;
            let mut items = Vec::with_capacity(rows.len());
            let mut last = None;
            for r in rows {
                last = Some(r.get::<_, String>(0));
                items.push(d(r.get(1))?);
            }
            let next_after = if items.len() == limit { last } else { None };
            Ok(Page { items, next_after })
        })
    }

    fn add_member(&self, group: &str, kind: MemberKind, member: &str, audit: AuditDraft) -> StoreResult<bool> {
        let (g, m) = (group.to_owned(), member.to_owned());
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            if tx.query_opt("SELECT 1 FROM groups WHERE id = $1 FOR SHARE", &[&g]).map_err(pg)?.is_none() {
                return Err(StoreError::NotFound);
            }
            let added = tx
                .execute(
                    "INSERT INTO memberships (group_id, kind, member) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&g, &kind_text(kind), &m],
                )
                .map_err(pg)?;
            if added == 0 {
                return Ok(false);
            }
            tx.execute("INSERT INTO directory_changes DEFAULT VALUES", &[]).map_err(pg)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)?;
            Ok(true)
        })
    }

    fn remove_member(&self, group: &str, kind: MemberKind, member: &str, audit: AuditDraft) -> StoreResult<()> {
        let (g, m) = (group.to_owned(), member.to_owned());
        self.run(move |c| {
            let mut tx = c.transaction().map_err(pg)?;
            let n = tx
                .execute(
                    "DELETE FROM memberships WHERE group_id = $1 AND kind = $2 AND member = $3",
                    &[&g, &kind_text(kind), &m],
                )
                .map_err(pg)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            tx.execute("INSERT INTO directory_changes DEFAULT VALUES", &[]).map_err(pg)?;
            insert_audit(&mut tx, audit)?;
            tx.commit().map_err(pg)
        })
    }

    fn members(&self, group: &str) -> StoreResult<Vec<(MemberKind, String)>> {
        let g = group.to_owned();
        self.run(move |c| {
            Ok(c.query("SELECT kind, member FROM memberships WHERE group_id = $1 ORDER BY kind DESC, member", &[&g])
                .map_err(pg)?
                .into_iter()
                .map(|r| (kind_of(r.get::<_, &str>(0)), r.get(1)))
                .collect())
        })
    }

    fn direct_parents(&self, kind: MemberKind, member: &str) -> StoreResult<Vec<String>> {
        let m = member.to_owned();
        self.run(move |c| {
            Ok(c.query(
                "SELECT group_id FROM memberships WHERE kind = $1 AND member = $2 ORDER BY group_id",
                &[&kind_text(kind), &m],
            )
            .map_err(pg)?
            .into_iter()
            .map(|r| r.get(0))
            .collect())
        })
    }

    fn membership_version(&self) -> StoreResult<Option<u64>> {
        self.run(|c| {
            Ok(Some(
                c.query_one("SELECT coalesce(max(seq), 0) FROM directory_changes", &[]).map_err(pg)?.get::<_, i64>(0)
                    as u64,
            ))
        })
    }

    fn for_each_edge(&self, f: &mut dyn FnMut(&str, MemberKind, &str)) -> StoreResult<()> {
        let mut after: Option<(String, String, String)> = None;
        loop {
            let from = after.clone();
            let page: Vec<(String, String, String)> = self.run(move |c| {
                let (g, k, m) = match from {
                    Some((g, k, m)) => (Some(g), Some(k), Some(m)),
                    None => (None, None, None),
                };
                Ok(c.query(
                    "SELECT group_id, kind, member FROM memberships \
                     WHERE ($1::text IS NULL OR (group_id, kind, member) > ($1, $2::text, $3::text)) \
                     ORDER BY group_id, kind, member LIMIT $4",
                    &[&g, &k, &m, &(BATCH * 20)],
                )
                .map_err(pg)?
                .into_iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
            })?;
            let n = page.len();
            for (g, k, m) in &page {
                f(g, kind_of(k), m);
            }
            after = page.into_iter().last();
            if (n as i64) < BATCH * 20 {
                return Ok(());
            }
        }
    }
}
