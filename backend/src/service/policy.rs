//! The MFA registration policy at work: deciding at sign-in, skips, saving
//! versions, impact, "what if", the registration report, grace changes.

use super::Core;

use proofup_shared::api::FieldChange;
use proofup_shared::policy::{
    Enforcement, GraceRequest, Impact, MfaRegistrationPolicy, SavePolicyRequest, SavePolicyResponse, WhatIf,
};
use proofup_shared::FieldError;
use time::{Duration, OffsetDateTime};

use super::{audit, change};
use super::{Manager, Operator, Reader, ServiceError};
use crate::domain::model::User;
use crate::domain::policy::{self, Decision, RegistrationState, UserFacts};
use crate::store::StoreError;

fn list_changes(field: &str, before: &[String], after: &[String], name: &dyn Fn(&str) -> String) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for a in after.iter().filter(|a| !before.contains(a)) {
        out.push(change(field, None, Some(&name(a))));
    }
    for b in before.iter().filter(|b| !after.contains(b)) {
        out.push(change(field, Some(&name(b)), None));
    }
    out
}

fn diff(
    before: &MfaRegistrationPolicy,
    after: &MfaRegistrationPolicy,
    user: &dyn Fn(&str) -> String,
    group: &dyn Fn(&str) -> String,
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    if before.enforcement != after.enforcement {
        out.push(change("enforcement", Some(before.enforcement.label()), Some(after.enforcement.label())));
    }
    let inc = |p: &MfaRegistrationPolicy| if p.include_all { "All users" } else { "Selected users and groups" };
    if before.include_all != after.include_all {
        out.push(change("include", Some(inc(before)), Some(inc(after))));
    }
    if before.require_registration != after.require_registration {
        let v = |b: bool| if b { "Require MFA registration" } else { "None" };
        out.push(change("control", Some(v(before.require_registration)), Some(v(after.require_registration))));
    }
    if before.grace_days != after.grace_days {
        out.push(change("grace_days", Some(&before.grace_days.to_string()), Some(&after.grace_days.to_string())));
    }
    out.extend(list_changes("include_users", &before.include_users, &after.include_users, user));
    out.extend(list_changes("include_groups", &before.include_groups, &after.include_groups, group));
    out.extend(list_changes("exclude_users", &before.exclude_users, &after.exclude_users, user));
    out.extend(list_changes("exclude_groups", &before.exclude_groups, &after.exclude_groups, group));
    let same = |n: &str| n.to_owned();
    out.extend(list_changes(
        "registration_networks",
        &before.registration_networks,
        &after.registration_networks,
        &same,
    ));
    out
}

impl Core {
    /// The users and groups a policy's assignments name that the directory does not have.
    pub(super) fn unknown_refs(&self, a: proofup_shared::policy::Assignments<'_>) -> Vec<FieldError> {
        let s = self.store.as_ref();
        let mut out = Vec::new();
        for (field, list) in [("include_users", a.include_users), ("exclude_users", a.exclude_users)] {
            if let Some(bad) = list.iter().find(|id| s.user(id).ok().flatten().is_none()) {
                out.push(FieldError { field: field.into(), message: format!("No user has the id {bad}.") });
            }
        }
        for (field, list) in [("include_groups", a.include_groups), ("exclude_groups", a.exclude_groups)] {
            if let Some(bad) = list.iter().find(|id| s.group(id).ok().flatten().is_none()) {
                out.push(FieldError { field: field.into(), message: format!("No group has the id {bad}.") });
            }
        }
        out
    }
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

impl Core {
    /// For a user who was prompted and has not registered yet, under enforcement On: when
    /// registration is (or became) required. `None` for everyone else.
    pub fn registration_due(&self, user: &User) -> Result<Option<OffsetDateTime>, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let current = s.policy()?;
        let (decision, _, _) = self.decide_with(&current.policy, user, now)?;
        if !policy::interrupts(&current.policy, &decision) {
            return Ok(None);
        }
        Ok(match decision {
            Decision::Prompt { deadline, starts_clock: false, .. } | Decision::Required { deadline, .. } => {
                Some(deadline)
            }
            _ => None,
        })
    }

    /// An administrator extends or ends one user's grace period (reason required, audited).
    pub fn set_grace(
        &self,
        by: &Operator<'_>,
        user_id: &str,
        req: GraceRequest,
    ) -> Result<RegistrationState, ServiceError> {
        let s = self.store.as_ref();
        let user = s.user(user_id)?.ok_or(ServiceError::NotFound("The user"))?;
        if !crate::domain::roles::may_act_on_security(by.actor().user.role, user.role) {
            return Err(ServiceError::Forbidden("Your role cannot change this user's grace period.".into()));
        }
        let mut fields = Vec::new();
        let reason = req.reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(|c| c.is_control() && c != '\n') {
            fields.push(FieldError { field: "reason".into(), message: "Give a reason (up to 500 characters).".into() });
        }
        let now = self.clock.now();
        let new_deadline = match (req.extend_days, req.end_now) {
            (Some(d), false) if (1..=90).contains(&d) => now + Duration::days(d.into()),
            (None, true) => now,
            _ => {
                fields.push(FieldError {
                    field: "extend_days".into(),
                    message: "Either extend by 1 to 90 days, or end the grace period now.".into(),
                });
                now
            }
        };
        if !fields.is_empty() {
            return Err(ServiceError::Invalid(fields));
        }
        let mut state = s.registration_state(user_id)?;
        let before = state.deadline_override.map(proofup_shared::validation::utc_text);
        state.deadline_override = Some(new_deadline);
        if state.first_prompted_at.is_none() {
            state.first_prompted_at = Some(now);
        }
        let action = if req.end_now { "policy.grace_ended" } else { "policy.grace_extended" };
        let entry = audit(
            now,
            Some(by.actor().user),
            action,
            Some(&user),
            vec![
                change("deadline", before.as_deref(), Some(&proofup_shared::validation::utc_text(new_deadline))),
                change("reason", None, Some(reason)),
            ],
            by.actor().client,
        );
        s.put_registration_state(user_id, &state, Some(entry))?;
        Ok(state)
    }

    /// Validates and saves a new version; returns it with non-blocking warnings.
    pub fn save_policy(&self, by: &Manager<'_>, req: SavePolicyRequest) -> Result<SavePolicyResponse, ServiceError> {
        let s = self.store.as_ref();
        let mut p = req.policy;
        for l in [&mut p.include_users, &mut p.include_groups, &mut p.exclude_users, &mut p.exclude_groups] {
            dedup(l);
        }
        p.registration_networks =
            p.registration_networks.iter().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect();
        dedup(&mut p.registration_networks);
        let mut problems = p.problems();
        problems.extend(self.unknown_refs(p.assignments()));
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let current = s.policy()?;
        if current.version != req.based_on_version {
            return Err(ServiceError::Conflict(
                "Someone saved the policy after you opened it. Reload to see their version.".into(),
            ));
        }
        let user_name = |id: &str| s.user(id).ok().flatten().map_or_else(|| id.to_owned(), |u| u.username);
        let group_name = |id: &str| self.group_name(id);
        let changes = diff(&current.policy, &p, &user_name, &group_name);
        let now = self.clock.now();
        let next = crate::domain::records::PolicyRecord {
            version: current.version + 1,
            policy: p.clone(),
            sign_in_risk: current.sign_in_risk.clone(),
            user_risk: current.user_risk.clone(),
            saved_at: Some(now),
            saved_by: Some(by.actor().user.username.clone()),
            changes: changes.clone(),
        };
        let mut entry = audit(now, Some(by.actor().user), "policy.saved", None, changes, by.actor().client);
        entry.0.target = format!("MFA registration policy v{}", next.version);
        s.save_policy(&next, req.based_on_version, entry)?;
        self.enqueue_event(
            crate::domain::notify::EventKind::PolicyChanged,
            serde_json::json!({
                "version": next.version,
                "saved_by": by.actor().user.username,
                "enforcement": next.policy.enforcement,
                "changes": next.changes,
            }),
            now,
        )?;
        let imp = self.impact(&p, now)?;
        let warnings = self.warnings(&p, by.actor().user, now, &imp)?;
        Ok(SavePolicyResponse { saved: next.into(), warnings })
    }

    /// How the policy `p` treats one user, with every step explained.
    pub fn what_if(
        &self,
        _: &Reader<'_>,
        user_id: &str,
        draft: Option<&MfaRegistrationPolicy>,
    ) -> Result<WhatIf, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let user = &s.user(user_id)?.ok_or(ServiceError::NotFound("The user"))?;
        let saved;
        let p = match draft {
            Some(p) => p,
            None => {
                saved = s.policy()?.policy;
                &saved
            }
        };
        let (d, methods, state) = self.decide_with(p, user, now)?;
        let name = |id: &str| self.group_name(id);
        let mut explanation = Vec::new();
        match &d {
            Decision::NotInScope(why) => explanation.push(policy::describe_out(why, &name)),
            Decision::Registered { via, .. } | Decision::Prompt { via, .. } | Decision::Required { via, .. } => {
                explanation.push(policy::describe_in(via, &name));
                explanation.push("Not excluded.".into());
            }
        }
        match &d {
        Decision::NotInScope(_) => {}
        Decision::Registered { methods, .. } => explanation.push(format!("Registered: {methods} method(s).")),
        Decision::Prompt { starts_clock: true, .. } if !policy::interrupts(p, &d) => {
            explanation.push("No method yet.".into())
        }
        Decision::Prompt { deadline, starts_clock: true, .. } => explanation.push(format!(
            "No method yet. Not prompted yet: the {}-day grace period starts at the next interactive sign-in (it would end {}).",
            p.grace_days,
            deadline.date()
        )),
        Decision::Prompt { deadline, .. } => explanation.push(format!(
            "No method. First prompted {}; may skip until {} ({} days left, {} so far).",
            state.first_prompted_at.map_or_else(|| "-".into(), |t| t.date().to_string()),
            deadline.date(),
            policy::days_left(*deadline, now),
            if state.skips == 1 { "1 skip".to_owned() } else { format!("{} skips", state.skips) }
        )),
        Decision::Required { deadline, .. } => explanation.push(format!(
            "No method, and the grace period ended {}: registration is required at the next sign-in.",
            deadline.date()
        )),
    }
        let _ = methods;
        let interrupts = policy::interrupts(p, &d);
        if !interrupts && matches!(d, Decision::Prompt { .. } | Decision::Required { .. }) {
            explanation.push(format!("Enforcement is {}: sign-in is not interrupted.", p.enforcement.label()));
        }
        Ok(WhatIf {
            user_id: user.id.clone(),
            username: user.username.clone(),
            decision: policy::view(&d, now, &name),
            explanation,
            interrupts,
        })
    }

    /// The impact of a draft on every user, with the warnings to show `me` before saving.
    pub fn draft_impact(
        &self,
        reader: &Reader<'_>,
        p: &MfaRegistrationPolicy,
    ) -> Result<(Impact, Vec<String>), ServiceError> {
        let now = self.clock.now();
        let impact = self.impact(p, now);
        crate::memory::release_soon();
        let impact = impact?;
        let warnings = self.warnings(p, reader.actor().user, now, &impact)?;
        Ok((impact, warnings))
    }
}

/// The policy evaluated over the store and the membership index.
impl Core {
    /// Records a skip (the access decision allowed it).
    pub(crate) fn record_skip(&self, user: &User, now: OffsetDateTime) -> Result<(), StoreError> {
        let s = self.store.as_ref();
        let mut state = s.registration_state(&user.id)?;
        state.skips += 1;
        state.last_skipped_at = Some(now);
        s.put_registration_state(&user.id, &state, None)
    }

    /// The decision for one user under `policy` at `now`.
    pub(crate) fn decide_with(
        &self,
        policy: &MfaRegistrationPolicy,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<(Decision, u32, RegistrationState), StoreError> {
        let s = self.store.as_ref();
        let methods = s.methods(&user.id)?.len() as u32;
        let state = s.registration_state(&user.id)?;
        self.decide_known(policy, user, methods, state, now)
    }

    /// As [`Core::decide_with`], with the user's method count and registration state already read.
    pub(crate) fn decide_known(
        &self,
        policy: &MfaRegistrationPolicy,
        user: &User,
        methods: u32,
        state: RegistrationState,
        now: OffsetDateTime,
    ) -> Result<(Decision, u32, RegistrationState), StoreError> {
        let groups = self.membership.read().map_err(super::index_poisoned)?.groups_of(&user.id);
        let facts = UserFacts {
            user_id: &user.id,
            emergency_access: user.emergency_access,
            groups: &groups,
            methods,
            state: &state,
        };
        Ok((policy::evaluate(policy, &facts, now), methods, state))
    }

    /// Whether removing the user's last method must be refused.
    pub(crate) fn requires_a_method(&self, user: &User, now: OffsetDateTime) -> Result<bool, StoreError> {
        let s = self.store.as_ref();
        let current = s.policy()?;
        if current.policy.enforcement != Enforcement::On {
            return Ok(false);
        }
        let (decision, _, _) = self.decide_with(&current.policy, user, now)?;
        Ok(!matches!(decision, Decision::NotInScope(_)))
    }

    /// Non-blocking warnings about a (draft or saved) policy.
    fn warnings(
        &self,
        p: &MfaRegistrationPolicy,
        me: &User,
        now: OffsetDateTime,
        imp: &Impact,
    ) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        if imp.emergency_accounts == 0 {
            out.push(
                "No emergency-access account exists. Create one (or two) before enforcing, so a lockout can be undone."
                    .into(),
            );
        }
        if p.enforcement == Enforcement::On {
            let (d, _, _) = self.decide_with(p, me, now)?;
            if matches!(d, Decision::Prompt { .. } | Decision::Required { .. }) {
                out.push(
                    "You are in scope and have no sign-in method: you will be interrupted at your next sign-in.".into(),
                );
            }
            if imp.forced > 0 {
                out.push(format!("{} users must register at their next sign-in (no skip).", imp.forced));
            }
        }
        Ok(out)
    }

    /// Evaluates `p` for every user, streaming the directory: users are decoded one at a
    /// time and not kept (at 100k users, holding them all cost ~40 MB per report).
    pub(super) fn each_decision(
        &self,
        p: &MfaRegistrationPolicy,
        now: OffsetDateTime,
        mut f: impl FnMut(&User, &Decision, &RegistrationState, u32),
    ) -> Result<(), StoreError> {
        let s = self.store.as_ref();
        let methods = s.method_counts()?;
        let states = s.all_registration_states()?;
        let empty = RegistrationState::default();
        let index = self.membership.read().map_err(super::index_poisoned)?;
        // Group scope from direct groups only: the policy's groups are expanded downward once.
        let scope = policy::BulkScope::new(&index, p.assignments());
        s.for_each_user(&mut |u| {
            let groups = scope.memberships(&index, &u.id);
            let methods = methods.get(&u.id).copied().unwrap_or(0);
            let state = states.get(&u.id).unwrap_or(&empty);
            let facts =
                UserFacts { user_id: &u.id, emergency_access: u.emergency_access, groups: &groups, methods, state };
            let d = policy::evaluate(p, &facts, now);
            f(&u, &d, state, methods);
        })
    }

    /// The impact of `p` (a draft or the saved policy) on every user, at `now`.
    pub(crate) fn impact(&self, p: &MfaRegistrationPolicy, now: OffsetDateTime) -> Result<Impact, StoreError> {
        let mut imp = Impact { forced_per_day: vec![0; 30], ..Default::default() };
        self.each_decision(p, now, |u, d, _, _| {
            imp.users += 1;
            imp.emergency_accounts += u64::from(u.emergency_access && u.enabled);
            match d.status() {
                "not_in_scope" => imp.not_included += 1,
                "excluded" => imp.excluded += 1,
                "registered" => imp.registered += 1,
                "not_yet_prompted" => imp.not_yet_prompted += 1,
                "in_grace" => imp.in_grace += 1,
                _ => imp.forced += 1,
            }
            if !matches!(d, Decision::NotInScope(_)) {
                imp.in_scope += 1;
            }
            if let Decision::Prompt { deadline, starts_clock: false, .. } = d {
                let day = ((*deadline - now).whole_seconds() / 86_400) as usize;
                if let Some(slot) = imp.forced_per_day.get_mut(day) {
                    *slot += 1;
                }
            }
        })?;
        Ok(imp)
    }
}
