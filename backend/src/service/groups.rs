//! Groups and nested membership. Every change writes the store (with its audit
//! entry) and then the in-memory index, under the index's write lock, so the
//! index always matches what is stored.

use proofup_shared::directory::{
    check_group_description, CreateGroupRequest, DirectoryRef, GroupDetail, GroupView, MemberKind, UpdateGroupRequest,
    UserGroup,
};
use proofup_shared::FieldError;

use super::{audit, change};
use super::{Actor, Core, Manager, Reader, ServiceError, Subject};
use crate::domain::membership::MembershipError;
use crate::domain::model::Group;
use crate::store::{AuditDraft, StoreError};

impl Core {
    /// A group's name for display; the id itself if the group is gone (e.g. a path read before a delete).
    pub(crate) fn group_name(&self, id: &str) -> String {
        let s = self.store.as_ref();
        s.group(id).ok().flatten().map_or_else(|| id.to_owned(), |g| g.name)
    }
}

impl Core {
    /// The username or group name of a member, if it exists.
    pub(super) fn member_name(&self, kind: MemberKind, member: &str) -> Result<Option<String>, StoreError> {
        let s = self.store.as_ref();
        Ok(match kind {
            MemberKind::User => s.user(member)?.map(|u| u.username),
            MemberKind::Group => s.group(member)?.map(|g| g.name),
        })
    }
}

fn group_audit(
    actor: &Actor<'_>,
    now: time::OffsetDateTime,
    action: &str,
    g: &Group,
    changes: Vec<proofup_shared::api::FieldChange>,
) -> AuditDraft {
    let mut d = audit(now, Some(actor.user), action, None, changes, actor.client);
    d.0.target_id = Some(g.id.clone());
    d.0.target = format!("group {}", g.name);
    d
}

fn check_fields(name: Option<&str>, description: Option<&str>) -> Result<(), ServiceError> {
    let mut fields = Vec::new();
    if let Some(Err(m)) = name.map(crate::domain::names::check_group_name) {
        fields.push(FieldError { field: "name".into(), message: m });
    }
    if let Some(Err(m)) = description.map(check_group_description) {
        fields.push(FieldError { field: "description".into(), message: m });
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(fields))
    }
}

impl Core {
    pub(super) fn directory_ref(&self, kind: MemberKind, id: &str) -> Result<Option<DirectoryRef>, StoreError> {
        let s = self.store.as_ref();
        Ok(match kind {
            MemberKind::User => {
                s.user(id)?.map(|u| DirectoryRef { kind, id: u.id, name: u.username, detail: u.display_name })
            }
            MemberKind::Group => {
                s.group(id)?.map(|g| DirectoryRef { kind, id: g.id, name: g.name, detail: g.description })
            }
        })
    }
}

impl Core {
    pub fn group_view(&self, g: &Group) -> Result<GroupView, ServiceError> {
        Ok(GroupView {
            id: g.id.clone(),
            name: g.name.clone(),
            description: g.description.clone(),
            member_count: self.store.members(&g.id)?.len() as u64,
            created_at: g.created_at,
            updated_at: g.updated_at,
        })
    }

    pub fn create_group(&self, by: &Manager<'_>, req: CreateGroupRequest) -> Result<GroupView, ServiceError> {
        check_fields(Some(&req.name), Some(&req.description))?;
        let now = self.clock.now();
        let g = Group {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: req.name,
            description: req.description,
            created_at: now,
            updated_at: now,
        };
        let entry = group_audit(by.actor(), now, "group.created", &g, vec![change("name", None, Some(&g.name))]);
        self.store.create_group(&g, entry)?;
        self.group_view(&g)
    }

    pub fn update_group(&self, by: &Manager<'_>, id: &str, req: UpdateGroupRequest) -> Result<GroupView, ServiceError> {
        check_fields(req.name.as_deref(), req.description.as_deref())?;
        let before = self.store.group(id)?.ok_or(ServiceError::NotFound("The group"))?;
        let mut g = before.clone();
        let mut changes = Vec::new();
        if let Some(n) = req.name.filter(|n| *n != before.name) {
            changes.push(change("name", Some(&before.name), Some(&n)));
            g.name = n;
        }
        if let Some(d) = req.description.filter(|d| *d != before.description) {
            changes.push(change("description", Some(&before.description), Some(&d)));
            g.description = d;
        }
        if !changes.is_empty() {
            let now = self.clock.now();
            g.updated_at = now;
            let entry = group_audit(by.actor(), now, "group.updated", &g, changes);
            self.store.update_group(&g, entry)?;
        }
        self.group_view(&g)
    }

    /// Deletes a group (it leaves every group it was in); refused while the policy names it.
    pub fn delete_group(&self, by: &Manager<'_>, id: &str) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        let g = s.group(id)?.ok_or(ServiceError::NotFound("The group"))?;
        let policy = s.policy()?.policy;
        if policy.include_groups.iter().chain(&policy.exclude_groups).any(|x| x == id) {
            return Err(ServiceError::Conflict(format!(
                "The MFA registration policy names {}. Remove it from the policy first.",
                g.name
            )));
        }
        let mut idx = self.membership.write().map_err(super::index_poisoned)?;
        let entry =
            group_audit(by.actor(), self.clock.now(), "group.deleted", &g, vec![change("name", Some(&g.name), None)]);
        s.delete_group(id, entry)?;
        idx.remove_group(id);
        Ok(())
    }

    /// Adds a direct member; `false` when it already was one. A group that would make a cycle is refused.
    pub fn add_member(
        &self,
        by: &Manager<'_>,
        group_id: &str,
        kind: MemberKind,
        member: &str,
    ) -> Result<bool, ServiceError> {
        let s = self.store.as_ref();
        let g = s.group(group_id)?.ok_or(ServiceError::NotFound("The group"))?;
        let Some(name) = self.member_name(kind, member)? else {
            return Err(ServiceError::Invalid(vec![FieldError {
                field: "id".into(),
                message: format!("No {} has this id.", if kind == MemberKind::User { "user" } else { "group" }),
            }]));
        };
        let mut idx = self.membership.write().map_err(super::index_poisoned)?;
        if kind == MemberKind::Group {
            idx.check_add_group(group_id, member).map_err(|e| {
                let message = match e {
                    MembershipError::SelfMember => "A group cannot be a member of itself.".to_owned(),
                    MembershipError::Cycle(path) => {
                        let names: Vec<String> = path.split(" → ").map(|id| self.group_name(id)).collect();
                        format!(
                            "{name} already contains {} ({}); adding it would make a cycle.",
                            g.name,
                            names.join(" → ")
                        )
                    }
                };
                ServiceError::Invalid(vec![FieldError { field: "id".into(), message }])
            })?;
        }
        let entry = group_audit(
            by.actor(),
            self.clock.now(),
            "group.member_added",
            &g,
            vec![change("member", None, Some(&name))],
        );
        let added = s.add_member(group_id, kind, member, entry)?;
        match kind {
            MemberKind::User => idx.add_user(group_id, member),
            MemberKind::Group => idx.add_group(group_id, member).map_err(|e| ServiceError::Conflict(e.to_string()))?,
        }
        Ok(added)
    }

    pub fn remove_member(
        &self,
        by: &Manager<'_>,
        group_id: &str,
        kind: MemberKind,
        member: &str,
    ) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        let g = s.group(group_id)?.ok_or(ServiceError::NotFound("The group"))?;
        let name = self.member_name(kind, member)?.unwrap_or_else(|| member.to_owned());
        let mut idx = self.membership.write().map_err(super::index_poisoned)?;
        let entry = group_audit(
            by.actor(),
            self.clock.now(),
            "group.member_removed",
            &g,
            vec![change("member", Some(&name), None)],
        );
        s.remove_member(group_id, kind, member, entry)?;
        match kind {
            MemberKind::User => idx.remove_user(group_id, member),
            MemberKind::Group => idx.remove_group_member(group_id, member),
        }
        Ok(())
    }

    /// A group with its direct members and the groups it is in.
    pub fn group_detail(&self, _: &Reader<'_>, id: &str) -> Result<GroupDetail, ServiceError> {
        let s = self.store.as_ref();
        let g = s.group(id)?.ok_or(ServiceError::NotFound("The group"))?;
        let mut members = Vec::new();
        for (kind, m) in s.members(id)? {
            if let Some(r) = self.directory_ref(kind, &m)? {
                members.push(r);
            }
        }
        members.sort_by(|a, b| {
            (a.kind == MemberKind::User, a.name.to_lowercase())
                .cmp(&(b.kind == MemberKind::User, b.name.to_lowercase()))
        });
        let mut member_of = Vec::new();
        for p in s.direct_parents(MemberKind::Group, id)? {
            if let Some(r) = self.directory_ref(MemberKind::Group, &p)? {
                member_of.push(r);
            }
        }
        member_of.sort_by_key(|a| a.name.to_lowercase());
        let policy = s.policy()?.policy;
        let named_by_policy = policy.include_groups.iter().chain(&policy.exclude_groups).any(|x| x == id);
        Ok(GroupDetail { group: self.group_view(&g)?, members, member_of, named_by_policy })
    }

    /// A user's groups, direct and through nesting, each with its path by name.
    pub fn user_groups(&self, subject: &Subject<'_>) -> Result<Vec<UserGroup>, ServiceError> {
        let user_id = subject.user_id();
        self.user(user_id)?;
        let memberships = self.membership.read().map_err(super::index_poisoned)?.groups_of(user_id);
        let name = |id: &str| self.group_name(id);
        let mut out: Vec<UserGroup> = memberships
            .iter()
            .map(|m| UserGroup {
                id: m.group.clone(),
                name: name(&m.group),
                path: m.path.iter().map(|p| name(p)).collect(),
            })
            .collect();
        out.sort_by_key(|a| (a.path.len(), a.name.to_lowercase()));
        Ok(out)
    }

    /// Users and groups whose name starts with `q` (for pickers).
    pub fn search_directory(&self, _: &Reader<'_>, q: &str, limit: usize) -> Result<Vec<DirectoryRef>, ServiceError> {
        let s = self.store.as_ref();
        let prefix = q.trim().to_lowercase();
        let groups = s.list_groups(&prefix, None, limit)?;
        let filter = crate::store::UserFilter { prefix: prefix.clone(), ..Default::default() };
        let mut users = s.list_users(&filter, None, limit)?.items;
        // Then display names ("smi" finds ann / Ann Smith), when usernames left room (two letters
        // at least: this pass is a scan).
        if users.len() < limit && prefix.chars().count() >= 2 {
            let by_name = crate::store::UserFilter { name_word: prefix.clone(), ..Default::default() };
            for u in s.list_users(&by_name, None, limit)?.items {
                if users.len() < limit && !users.iter().any(|x| x.id == u.id) {
                    users.push(u);
                }
            }
        }
        let mut out: Vec<DirectoryRef> = groups
            .items
            .into_iter()
            .map(|g| DirectoryRef { kind: MemberKind::Group, id: g.id, name: g.name, detail: g.description })
            .chain(users.into_iter().map(|u| DirectoryRef {
                kind: MemberKind::User,
                id: u.id,
                name: u.username,
                detail: u.display_name,
            }))
            .collect();
        out.truncate(limit);
        Ok(out)
    }
}
