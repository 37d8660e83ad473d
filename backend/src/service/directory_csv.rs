//! CSV export and import of users and groups.
//!
//! One file holds both: `kind,name,display_name,email,role,emergency_access,member_of`,
//! where `kind` is `user` or `group`, a group's `display_name` is its description, and
//! `member_of` lists the groups the row is directly in, separated by `;`. Import checks
//! every line first; if any line is wrong nothing is written and every bad line is reported.

use super::Core;
use std::collections::{HashMap, HashSet};

use proofup_shared::api::{CreateUserRequest, Role};
use proofup_shared::directory::{
    check_group_description, CreateGroupRequest, ImportResult, ImportedPass, MemberKind, CSV_HEADER,
};
use proofup_shared::validation::{validate_display_name, validate_email, validate_username};
use proofup_shared::FieldError;
use time::Duration;

use super::{Manager, Reader, ServiceError};
use crate::domain::model::Group;
use crate::domain::roles::{may_assign_role, may_set_emergency_access};
use crate::store::StoreError;

pub const MAX_ROWS: usize = 100_000;

fn role_name(r: Role) -> &'static str {
    match r {
        Role::GlobalAdministrator => "global_administrator",
        Role::SecurityAdministrator => "security_administrator",
        Role::SecurityOperator => "security_operator",
        Role::SecurityReader => "security_reader",
        Role::User => "user",
    }
}

fn parse_role(s: &str) -> Option<Role> {
    let s = s.trim();
    if s.is_empty() {
        return Some(Role::User);
    }
    [Role::GlobalAdministrator, Role::SecurityAdministrator, Role::SecurityOperator, Role::SecurityReader, Role::User]
        .into_iter()
        .find(|r| role_name(*r) == s || r.label().eq_ignore_ascii_case(s))
}

struct Row {
    line: usize,
    kind: MemberKind,
    name: String,
    display: String,
    email: Option<String>,
    role: Role,
    emergency: bool,
    member_of: Vec<String>,
}

impl Core {
    /// Every user and group, groups first, with their direct parent groups.
    pub fn export_directory(&self, _: &Reader<'_>) -> Result<String, ServiceError> {
        let s = self.store.as_ref();
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| StoreError::Backend(e.to_string());
        w.write_record(CSV_HEADER.split(',')).map_err(err)?;
        let mut names: HashMap<String, String> = HashMap::new();
        let mut groups = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = s.list_groups("", after.as_deref(), 200)?;
            for g in page.items {
                names.insert(g.id.clone(), g.name.clone());
                groups.push(g);
            }
            match page.next_after {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let parents = |kind, id: &str| -> Result<String, StoreError> {
            let mut p: Vec<String> = s.direct_parents(kind, id)?.iter().filter_map(|g| names.get(g).cloned()).collect();
            p.sort();
            Ok(p.join(";"))
        };
        // Defuse spreadsheet formulas in free text.
        let safe = |v: &str| if v.starts_with(['=', '+', '-', '@']) { format!("'{v}") } else { v.to_owned() };
        for g in &groups {
            w.write_record([
                "group",
                &safe(&g.name),
                &safe(&g.description),
                "",
                "",
                "",
                &safe(&parents(MemberKind::Group, &g.id)?),
            ])
            .map_err(err)?;
        }
        let mut users = Vec::new();
        s.for_each_user(&mut |u| users.push(u))?;
        users.sort_by(|a, b| a.username.cmp(&b.username));
        for u in &users {
            w.write_record([
                "user",
                &u.username,
                &safe(&u.display_name),
                u.email.as_deref().unwrap_or(""),
                role_name(u.role),
                if u.emergency_access { "true" } else { "false" },
                &safe(&parents(MemberKind::User, &u.id)?),
            ])
            .map_err(err)?;
        }
        Ok(String::from_utf8(w.into_inner().map_err(|e| StoreError::Backend(e.to_string()))?)
            .map_err(|e| StoreError::Backend(e.to_string()))?)
    }

    /// Checks the whole file; on any problem nothing is written and every bad line is listed.
    pub fn import_directory(
        &self,
        by: &Manager<'_>,
        text: &str,
        pass_ttl: Duration,
    ) -> Result<ImportResult, ServiceError> {
        let s = self.store.as_ref();
        let mut problems: Vec<FieldError> = Vec::new();
        let mut bad =
            |line: usize, message: String| problems.push(FieldError { field: format!("line {line}"), message });
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
        match reader.headers() {
            Ok(h) if h.iter().collect::<Vec<_>>().join(",") == CSV_HEADER => {}
            _ => {
                return Err(ServiceError::Invalid(vec![FieldError {
                    field: "line 1".into(),
                    message: format!("The first line must be the header {CSV_HEADER}"),
                }]))
            }
        }
        let mut rows = Vec::new();
        let mut seen_users = HashSet::new();
        let mut seen_groups = HashSet::new();
        for (i, rec) in reader.records().enumerate() {
            let line = i + 2;
            if rows.len() >= MAX_ROWS {
                bad(line, format!("At most {MAX_ROWS} rows per import."));
                break;
            }
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    bad(line, format!("Not valid CSV: {e}"));
                    continue;
                }
            };
            if rec.len() != 7 {
                bad(line, format!("Expected 7 fields, found {}.", rec.len()));
                continue;
            }
            let f = |i: usize| rec.get(i).unwrap_or("").to_owned();
            let member_of: Vec<String> =
                f(6).split(';').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect();
            match f(0).as_str() {
                "user" => {
                    let mut errs = Vec::new();
                    let name = validate_username(&f(1)).map_err(|e| errs.push(format!("username: {e}"))).ok();
                    let display =
                        validate_display_name(&f(2)).map_err(|e| errs.push(format!("display name: {e}"))).ok();
                    let email = validate_email(&f(3)).map_err(|e| errs.push(format!("email: {e}"))).ok().flatten();
                    let role = parse_role(&f(4));
                    if role.is_none() {
                        errs.push(format!("role: unknown role {:?}.", f(4)));
                    }
                    let emergency = match f(5).to_lowercase().as_str() {
                        "" | "false" | "no" => false,
                        "true" | "yes" => true,
                        other => {
                            errs.push(format!("emergency_access: use true or false, not {other:?}."));
                            false
                        }
                    };
                    if let Some(r) = role.filter(|r| !may_assign_role(by.actor().user.role, *r)) {
                        errs.push(format!("role: your role cannot create a {}.", r.label()));
                    }
                    if emergency && !may_set_emergency_access(by.actor().user.role) {
                        errs.push(
                            "emergency_access: only a Global administrator marks emergency-access accounts.".into(),
                        );
                    }
                    if let Some(n) = &name {
                        if !seen_users.insert(n.clone()) {
                            errs.push(format!("the username {n} appears twice in the file."));
                        } else if s.user_by_username(n)?.is_some() {
                            errs.push(format!("the username {n} is already taken."));
                        }
                    }
                    if !errs.is_empty() {
                        bad(line, errs.join("; "));
                        continue;
                    }
                    rows.push(Row {
                        line,
                        kind: MemberKind::User,
                        name: name.unwrap_or_default(),
                        display: display.unwrap_or_default(),
                        email,
                        role: role.unwrap_or(Role::User),
                        emergency,
                        member_of,
                    });
                }
                "group" => {
                    let mut errs = Vec::new();
                    let name = f(1);
                    if let Err(e) = crate::domain::names::check_group_name(&name) {
                        errs.push(format!("name: {e}"));
                    } else if !seen_groups.insert(Group::name_key(&name)) {
                        errs.push(format!("the group {name} appears twice in the file."));
                    } else if s.group_by_name(&name)?.is_some() {
                        errs.push(format!("a group named {name} already exists."));
                    }
                    if let Err(e) = check_group_description(&f(2)) {
                        errs.push(format!("description: {e}"));
                    }
                    if !errs.is_empty() {
                        bad(line, errs.join("; "));
                        continue;
                    }
                    rows.push(Row {
                        line,
                        kind: MemberKind::Group,
                        name,
                        display: f(2),
                        email: None,
                        role: Role::User,
                        emergency: false,
                        member_of,
                    });
                }
                other => bad(line, format!("kind must be user or group, not {other:?}.")),
            }
        }
        // Memberships: every named group exists (in the store or the file), and no cycle appears.
        let mut trial = self
            .membership
            .read()
            .map_err(|_| ServiceError::Store(StoreError::Backend("&self.membership lock".into())))?
            .clone();
        let mut existing: HashMap<String, String> = HashMap::new(); // name key → id (store groups)
        for r in &rows {
            for m in &r.member_of {
                let key = Group::name_key(m);
                if seen_groups.contains(&key) {
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = existing.entry(key) {
                    match s.group_by_name(m)? {
                        Some(g) => {
                            slot.insert(g.id);
                        }
                        None => bad(r.line, format!("member_of: no group named {m}.")),
                    }
                }
            }
        }
        let node = |name: &str| -> String {
            let key = Group::name_key(name);
            existing.get(&key).cloned().unwrap_or_else(|| format!("new:{key}"))
        };
        for r in rows.iter().filter(|r| r.kind == MemberKind::Group) {
            for m in &r.member_of {
                if let Err(e) = trial.add_group(&node(m), &node(&r.name)) {
                    bad(r.line, format!("member_of: {} in {m} would make a cycle ({e}).", r.name));
                }
            }
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.field.trim_start_matches("line ").parse::<usize>().unwrap_or(0));
            return Err(ServiceError::Invalid(problems));
        }

        // Everything checked: write groups, then users, then memberships.
        let mut ids: HashMap<String, String> = existing;
        let mut result = ImportResult { users_created: 0, groups_created: 0, memberships_added: 0, passes: Vec::new() };
        for r in rows.iter().filter(|r| r.kind == MemberKind::Group) {
            let g =
                self.create_group(by, CreateGroupRequest { name: r.name.clone(), description: r.display.clone() })?;
            ids.insert(Group::name_key(&g.name), g.id);
            result.groups_created += 1;
        }
        for r in rows.iter().filter(|r| r.kind == MemberKind::User) {
            let (u, pass) = self.create_user(
                by,
                CreateUserRequest {
                    username: r.name.clone(),
                    display_name: r.display.clone(),
                    email: r.email.clone(),
                    role: r.role,
                    emergency_access: r.emergency,
                    send_pass_by_mail: false,
                },
                pass_ttl,
            )?;
            ids.insert(format!("user:{}", u.username), u.id.clone());
            result.passes.push(ImportedPass { username: u.username, code: pass.code, expires_at: pass.expires_at });
            result.users_created += 1;
        }
        for r in &rows {
            let member = match r.kind {
                MemberKind::User => ids.get(&format!("user:{}", r.name)),
                MemberKind::Group => ids.get(&Group::name_key(&r.name)),
            }
            .cloned()
            .unwrap_or_default();
            for m in &r.member_of {
                let group = ids.get(&Group::name_key(m)).cloned().unwrap_or_default();
                if self.add_member(by, &group, r.kind, &member)? {
                    result.memberships_added += 1;
                }
            }
        }
        Ok(result)
    }
}
