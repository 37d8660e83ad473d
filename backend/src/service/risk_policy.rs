//! The two risk policies as administrators shape them: saved as versions of the policies, run
//! over the sign-in log (backtest), over the directory (impact) and for one user (what-if).

use std::collections::{HashMap, HashSet};

use proofup_shared::policy::{Enforcement, RiskImpact, RiskImpactResponse, RiskWhatIf};
use proofup_shared::risk::RiskLevel;
use time::OffsetDateTime;

use super::{Core, ServiceError};
use crate::domain::{policy, risk};
use crate::store::StoreError;

impl Core {
    /// Saves one of the risk policies as a new version of the policies (the others unchanged),
    /// audited, with what changed.
    pub fn save_risk_policy(
        &self,
        by: &super::Manager<'_>,
        based_on_version: u64,
        edit: RiskPolicyEdit,
    ) -> Result<proofup_shared::policy::PolicyVersion, ServiceError> {
        let s = self.store.as_ref();
        let (assignments, mut problems) = match &edit {
            RiskPolicyEdit::SignIn(p) => (p.assignments(), p.problems()),
            RiskPolicyEdit::User(p) => (p.assignments(), p.assignments().problems()),
        };
        problems.extend(self.unknown_refs(assignments));
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let current = s.policy()?;
        if current.version != based_on_version {
            return Err(ServiceError::Conflict(
                "Someone saved the policy after you opened it. Reload to see their version.".into(),
            ));
        }
        let now = self.clock.now();
        let mut next = crate::domain::records::PolicyRecord {
            version: current.version + 1,
            saved_at: Some(now),
            saved_by: Some(by.actor().user.username.clone()),
            ..current.clone()
        };
        let (action, name) = match edit {
            RiskPolicyEdit::SignIn(p) => {
                next.changes = sign_in_risk_changes(&current.sign_in_risk, &p);
                next.sign_in_risk = p;
                ("policy.sign_in_risk_saved", "Sign-in risk policy")
            }
            RiskPolicyEdit::User(p) => {
                next.changes = user_risk_changes(&current.user_risk, &p);
                next.user_risk = p;
                ("policy.user_risk_saved", "User risk policy")
            }
        };
        let mut entry = super::audit(now, Some(by.actor().user), action, None, next.changes.clone(), by.actor().client);
        entry.0.target = format!("{name} v{}", next.version);
        s.save_policy(&next, based_on_version, entry)?;
        Ok(next.into())
    }
}

/// Which risk policy an administrator saves.
pub enum RiskPolicyEdit {
    SignIn(proofup_shared::policy::SignInRiskPolicy),
    User(proofup_shared::policy::UserRiskPolicy),
}

fn assignment_changes(
    prefix: &str,
    before: proofup_shared::policy::Assignments<'_>,
    after: proofup_shared::policy::Assignments<'_>,
    out: &mut Vec<proofup_shared::api::FieldChange>,
) {
    let mut field = |name: &str, a: String, b: String| {
        if a != b {
            out.push(super::change(&format!("{prefix}.{name}"), Some(&a), Some(&b)));
        }
    };
    field("include_all", before.include_all.to_string(), after.include_all.to_string());
    for (name, a, b) in [
        ("include_users", before.include_users, after.include_users),
        ("include_groups", before.include_groups, after.include_groups),
        ("exclude_users", before.exclude_users, after.exclude_users),
        ("exclude_groups", before.exclude_groups, after.exclude_groups),
    ] {
        field(name, a.join(", "), b.join(", "));
    }
}

fn user_risk_changes(
    before: &proofup_shared::policy::UserRiskPolicy,
    after: &proofup_shared::policy::UserRiskPolicy,
) -> Vec<proofup_shared::api::FieldChange> {
    let mut out = Vec::new();
    let mut field = |name: &str, a: &str, b: &str| {
        if a != b {
            out.push(super::change(name, Some(a), Some(b)));
        }
    };
    field("user_risk.enforcement", before.enforcement.label(), after.enforcement.label());
    field("user_risk.level", before.level.label(), after.level.label());
    field("user_risk.remedy", before.remedy.label(), after.remedy.label());
    assignment_changes("user_risk", before.assignments(), after.assignments(), &mut out);
    out
}

fn sign_in_risk_changes(
    before: &proofup_shared::policy::SignInRiskPolicy,
    after: &proofup_shared::policy::SignInRiskPolicy,
) -> Vec<proofup_shared::api::FieldChange> {
    let mut out = Vec::new();
    let mut field = |name: &str, a: String, b: String| {
        if a != b {
            out.push(super::change(name, Some(&a), Some(&b)));
        }
    };
    field("sign_in_risk.enforcement", before.enforcement.label().into(), after.enforcement.label().into());
    field("sign_in_risk.level", before.level.label().into(), after.level.label().into());
    field(
        "sign_in_risk.passkey_only_at_high",
        before.passkey_only_at_high.to_string(),
        after.passkey_only_at_high.to_string(),
    );
    let block = |b: Option<RiskLevel>| b.map_or_else(|| "Never".to_owned(), |l| l.label().to_owned());
    field("sign_in_risk.block_at", block(before.block_at), block(after.block_at));
    assignment_changes("sign_in_risk", before.assignments(), after.assignments(), &mut out);
    out
}

impl Core {
    /// Runs a (draft) sign-in risk policy over the last 30 days of the sign-in log: how many
    /// sign-ins and users it would have stepped up or blocked. Scope is today's directory; "no
    /// method" is today's methods.
    pub fn backtest_sign_in_risk(
        &self,
        _: &super::Reader<'_>,
        p: &proofup_shared::policy::SignInRiskPolicy,
    ) -> Result<proofup_shared::policy::RiskBacktest, ServiceError> {
        use risk::WouldHave;
        use std::collections::{HashMap, HashSet};
        const DAYS: u32 = 30;
        let s = self.store.as_ref();
        let from = self.clock.now() - time::Duration::days(DAYS.into());
        let mut out = proofup_shared::policy::RiskBacktest { days: DAYS, ..Default::default() };
        // One pass; only the risky rows are kept (user, level).
        let mut risky: Vec<(String, RiskLevel)> = Vec::new();
        s.for_each_sign_in(from, &mut |e| {
            if !e.interactive || e.outcomes.is_empty() {
                return;
            }
            out.sign_ins += 1;
            if let (Some(level), Some(user)) = (e.risk(), e.user_id) {
                risky.push((user, level));
            }
        })?;
        out.risky_sign_ins = risky.len() as u64;
        let index = self.membership.read().map_err(super::index_poisoned)?;
        let counts = s.method_counts()?;
        let mut scope: HashMap<String, bool> = HashMap::new();
        let (mut stepped, mut blocked) = (HashSet::new(), HashSet::new());
        for (user_id, level) in risky {
            let in_scope = match scope.get(&user_id) {
                Some(v) => *v,
                None => {
                    let v = match s.user(&user_id)? {
                        Some(u) => crate::domain::policy::risk_scope(
                            p.assignments(),
                            &u.id,
                            u.emergency_access,
                            &index.groups_of(&u.id),
                        )
                        .is_ok(),
                        None => false,
                    };
                    scope.insert(user_id.clone(), v);
                    v
                }
            };
            match risk::would_have(p, in_scope, level) {
                WouldHave::Nothing => {}
                WouldHave::Blocked => {
                    out.blocked += 1;
                    blocked.insert(user_id);
                }
                WouldHave::SteppedUp => {
                    out.stepped_up += 1;
                    if counts.get(&user_id).copied().unwrap_or(0) == 0 {
                        out.stepped_up_without_method += 1;
                    }
                    stepped.insert(user_id);
                }
            }
        }
        out.users_stepped_up = stepped.len() as u64;
        out.users_blocked = blocked.len() as u64;
        Ok(out)
    }
}

/// What an administrator asks a risk policy about one user.
pub enum RiskQuestion {
    /// A sign-in of theirs at `level`, under the saved sign-in risk policy or a draft.
    SignIn { level: RiskLevel, draft: Option<proofup_shared::policy::SignInRiskPolicy> },
    /// Their next sign-in at their risk now, under the saved user risk policy or a draft.
    User { draft: Option<proofup_shared::policy::UserRiskPolicy> },
}

impl Core {
    /// Each user's risk now (the highest of their open detections; low ones age out), in one
    /// pass over the detections kept, each of which `also` sees.
    pub(super) fn user_risk_levels(
        &self,
        also: &mut dyn FnMut(&crate::domain::records::DetectionRecord),
    ) -> Result<HashMap<String, RiskLevel>, StoreError> {
        let now = self.clock.now();
        let mut open: HashMap<String, Vec<(RiskLevel, OffsetDateTime)>> = HashMap::new();
        self.for_each_detection(&mut |d| {
            also(&d);
            if d.state.open() {
                open.entry(d.user_id).or_default().push((d.level, d.at));
            }
            true
        })?;
        Ok(open
            .into_iter()
            .filter_map(|(user, levels)| Some((user, risk::user_level(levels.iter().map(|(l, at)| (l, *at)), now)?)))
            .collect())
    }

    /// What a (draft) risk policy would do to the directory now: who is in scope, who could not
    /// answer a step-up (no method; no passkey where only a passkey counts), and — for the user
    /// risk policy — who must remediate at their next sign-in. One pass over the users.
    pub fn risk_impact(
        &self,
        _: &super::Reader<'_>,
        draft: &RiskPolicyEdit,
    ) -> Result<RiskImpactResponse, ServiceError> {
        let s = self.store.as_ref();
        let (assignments, enforcement) = match draft {
            RiskPolicyEdit::SignIn(p) => (p.assignments(), p.enforcement),
            RiskPolicyEdit::User(p) => (p.assignments(), p.enforcement),
        };
        let passkey_only = matches!(draft, RiskPolicyEdit::SignIn(p) if p.passkey_only_at_high);
        let counts = s.method_counts()?;
        let passkeys = if passkey_only { s.passkey_users()? } else { HashSet::new() };
        let levels = match draft {
            RiskPolicyEdit::User(_) => self.user_risk_levels(&mut |_| {})?,
            RiskPolicyEdit::SignIn(_) => HashMap::new(),
        };
        let remediate_at = match draft {
            RiskPolicyEdit::User(p) => Some(p.level),
            RiskPolicyEdit::SignIn(_) => None,
        };
        let mut imp = RiskImpact::default();
        {
            let index = self.membership.read().map_err(super::index_poisoned)?;
            let scope = policy::BulkScope::new(&index, assignments);
            s.for_each_user(&mut |u| {
                if !u.enabled {
                    return;
                }
                imp.users += 1;
                imp.emergency_accounts += u64::from(u.emergency_access);
                let groups = scope.memberships(&index, &u.id);
                match policy::risk_scope(assignments, &u.id, u.emergency_access, &groups) {
                    Err(policy::OutOfScope::NotIncluded) => imp.not_included += 1,
                    Err(_) => imp.excluded += 1,
                    Ok(_) => {
                        imp.in_scope += 1;
                        let methods = counts.get(&u.id).copied().unwrap_or(0);
                        if methods == 0 {
                            imp.without_method += 1;
                        } else if passkey_only && !passkeys.contains(&u.id) {
                            imp.without_passkey += 1;
                        }
                        if remediate_at.is_some_and(|at| levels.get(&u.id).is_some_and(|l| *l >= at)) {
                            imp.must_remediate += 1;
                            imp.must_remediate_without_method += u64::from(methods == 0);
                        }
                    }
                }
            })?;
        }
        let mut warnings = Vec::new();
        if imp.emergency_accounts == 0 {
            warnings.push(
                "No emergency-access account exists. Create one (or two) before enforcing, so a lockout can be undone."
                    .to_owned(),
            );
        }
        if enforcement == Enforcement::On {
            let users = |n: u64| if n == 1 { "1 user".to_owned() } else { format!("{n} users") };
            match draft {
                RiskPolicyEdit::SignIn(_) => {
                    if imp.without_method > 0 {
                        warnings.push(format!(
                            "{} in scope have no sign-in method: a sign-in this policy steps up is refused until an administrator gives them a temporary access pass. The MFA registration policy gets them registered first.",
                            users(imp.without_method)
                        ));
                    }
                    if imp.without_passkey > 0 {
                        warnings.push(format!(
                            "{} in scope have no passkey: with \"passkey only at high risk\", a high-risk sign-in of theirs is refused.",
                            users(imp.without_passkey)
                        ));
                    }
                }
                RiskPolicyEdit::User(p) if imp.must_remediate > 0 => {
                    let what = match p.remedy {
                        proofup_shared::policy::UserRiskRemedy::SecurePasswordChange => {
                            "prove a second factor and change their password"
                        }
                        proofup_shared::policy::UserRiskRemedy::RevokeAndReauthenticate => {
                            "lose every session and sign in again with a second factor"
                        }
                    };
                    warnings.push(format!(
                        "{} at {} risk or above now must {what} at their next sign-in{}.",
                        users(imp.must_remediate),
                        p.level.label().to_lowercase(),
                        match imp.must_remediate_without_method {
                            0 => String::new(),
                            n => format!(
                                "; {} of them have no method and are refused until given a temporary access pass",
                                n
                            ),
                        }
                    ));
                }
                RiskPolicyEdit::User(_) => {}
            }
        }
        Ok(RiskImpactResponse { impact: imp, warnings })
    }

    /// How a risk policy (saved, or a draft) treats one user, from the very access decision a
    /// password sign-in at the portal runs, with each step in words. The other risk policy is
    /// left out, so the answer is this policy's alone.
    pub fn risk_what_if(
        &self,
        _: &super::Reader<'_>,
        user_id: &str,
        q: RiskQuestion,
    ) -> Result<RiskWhatIf, ServiceError> {
        use crate::domain::access::{Channel, Factor, Factors, Moment, Next};
        use proofup_shared::api::{PolicyOutcome, RiskEffect};
        let s = self.store.as_ref();
        let user = s.user(user_id)?.ok_or(ServiceError::NotFound("The user"))?;
        let mut record = s.policy()?;
        let mut explanation = Vec::new();
        let (enforcement, level) = match q {
            RiskQuestion::SignIn { level, draft } => {
                if let Some(p) = draft {
                    record.sign_in_risk = p;
                }
                record.user_risk.enforcement = Enforcement::Off;
                (record.sign_in_risk.enforcement, Some(level))
            }
            RiskQuestion::User { draft } => {
                if let Some(p) = draft {
                    record.user_risk = p;
                }
                record.sign_in_risk.enforcement = Enforcement::Off;
                (record.user_risk.enforcement, self.user_risk_level(&user.id)?)
            }
        };
        let sign_in = record.user_risk.enforcement == Enforcement::Off;
        let assignments = if sign_in { record.sign_in_risk.assignments() } else { record.user_risk.assignments() };
        explanation.push(format!("Enforcement: {}.", enforcement.label()));
        let groups = self.membership.read().map_err(super::index_poisoned)?.groups_of(&user.id);
        let name = |id: &str| self.group_name(id);
        let in_scope = match policy::risk_scope(assignments, &user.id, user.emergency_access, &groups) {
            Ok(via) => {
                explanation.push(policy::describe_in(&via, &name));
                explanation.push("Not excluded.".into());
                true
            }
            Err(why) => {
                explanation.push(policy::describe_out(&why, &name));
                false
            }
        };
        if sign_in {
            let p = &record.sign_in_risk;
            explanation.push(format!(
                "A sign-in at {} risk; the policy steps up at {} or above{}{}.",
                level.map_or("no", |l| l.label()).to_lowercase(),
                p.level.label().to_lowercase(),
                if p.passkey_only_at_high { ", with a passkey only at high" } else { "" },
                p.block_at
                    .map_or_else(String::new, |b| format!(", and blocks at {} or above", b.label().to_lowercase())),
            ));
        } else {
            let p = &record.user_risk;
            explanation.push(match level {
                Some(l) => format!(
                    "The user's risk now: {} (from their open detections); the policy acts at {} or above.",
                    l.label(),
                    p.level.label().to_lowercase()
                ),
                None => "The user has no open risk detections: the user risk policy has nothing to act on.".into(),
            });
        }
        let decided = self.decide_access_with(
            &record,
            super::access::AccessAsk {
                user: &user,
                proved: Factors::of(&[Factor::Password]),
                moment: Moment::SigningIn,
                channel: Channel::Portal,
                ip: "",
                risk_level: if sign_in { level } else { None },
                known: None,
            },
        )?;
        let effect = decided.decision.outcomes.iter().find_map(|o| match o {
            PolicyOutcome::SignInRisk { effect, .. } if sign_in => Some(*effect),
            PolicyOutcome::UserRisk { effect, .. } if !sign_in => Some(*effect),
            _ => None,
        });
        let effect = effect.filter(|e| *e != RiskEffect::Noted);
        match effect {
            Some(e) => explanation.push(format!("The policy: {}.", e.words())),
            None => explanation.push("The policy asks nothing of this sign-in.".into()),
        }
        explanation.push(match &decided.decision.next {
            Next::Allow => "Next: the password alone completes the sign-in.".into(),
            Next::SetPassword => "Next: the user sets a new password.".into(),
            Next::ProveFactor { options } => {
                let list = options.iter().map(|o| o.label()).collect::<Vec<_>>().join(", or ");
                match effect {
                    Some(_) => format!("Next: {list} (no skip, no registration)."),
                    None => format!("Next: {list}."),
                }
            }
            Next::Register { .. } => "Next: \"More information required\" (the MFA registration policy).".into(),
            Next::SignInAgain(a) => format!("Next: {}", a.describe()),
            Next::Deny(d) => format!("Refused: {}", d.describe()),
        });
        match effect {
            Some(RiskEffect::PasswordChangeRequired) => explanation.push(
                "Then a new password that is not in the breached set; every other session and grant ends.".into(),
            ),
            Some(RiskEffect::ReauthenticationRequired) => {
                explanation.push("Then every other session and grant ends.".into())
            }
            _ => {}
        }
        Ok(RiskWhatIf { user_id: user.id, username: user.username, in_scope, level, effect, explanation })
    }
}
