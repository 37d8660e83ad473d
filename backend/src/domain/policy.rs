//! Evaluation of the MFA registration policy for one user: pure, no I/O.
//!
//! Order of the rules: emergency-access accounts are always excluded; then
//! exclusions (users, then groups, transitively) win over inclusions; then a
//! user with any method is registered; otherwise the grace period decides
//! between a prompt the user may skip and required registration.

use proofup_shared::policy::{DecisionView, Enforcement, MfaRegistrationPolicy};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::membership::Membership;

/// Per-user state of the policy, kept across sign-ins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationState {
    /// First interactive sign-in while in scope and unregistered (under enforcement On).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub first_prompted_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub skips: u32,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_skipped_at: Option<OffsetDateTime>,
    /// Set by an administrator: extends (or ends, when in the past) the grace period.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deadline_override: Option<OffsetDateTime>,
}

/// What the evaluation needs to know about a user.
pub struct UserFacts<'a> {
    pub user_id: &'a str,
    pub emergency_access: bool,
    /// Transitive groups, each with its path (ids).
    pub groups: &'a [Membership],
    pub methods: u32,
    pub state: &'a RegistrationState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inclusion {
    AllUsers,
    User,
    Group { group: String, path: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutOfScope {
    EmergencyAccess,
    ExcludedUser,
    ExcludedGroup { group: String, path: Vec<String> },
    NotIncluded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    NotInScope(OutOfScope),
    Registered {
        methods: u32,
        via: Inclusion,
    },
    /// In scope, unregistered, grace running. `starts_clock`: this is the first prompt.
    Prompt {
        deadline: OffsetDateTime,
        starts_clock: bool,
        via: Inclusion,
    },
    /// In scope, unregistered, deadline passed (or grace 0).
    Required {
        deadline: OffsetDateTime,
        via: Inclusion,
    },
}

impl Decision {
    /// The one name of this decision's registration status, shared by the Overview, the impact
    /// estimate and the registration report: `not_in_scope` (not included), `excluded`,
    /// `registered`, `not_yet_prompted` (no clock started yet), `in_grace`, `required`.
    pub fn status(&self) -> &'static str {
        match self {
            Decision::NotInScope(OutOfScope::NotIncluded) => "not_in_scope",
            Decision::NotInScope(_) => "excluded",
            Decision::Registered { .. } => "registered",
            Decision::Prompt { starts_clock: true, .. } => "not_yet_prompted",
            Decision::Prompt { .. } => "in_grace",
            Decision::Required { .. } => "required",
        }
    }
}

fn group_match(groups: &[Membership], wanted: &[String]) -> Option<Membership> {
    groups.iter().find(|m| wanted.contains(&m.group)).cloned()
}

/// The deadline for a user who is (or would now be) prompted.
pub fn deadline(policy: &MfaRegistrationPolicy, state: &RegistrationState, now: OffsetDateTime) -> OffsetDateTime {
    if let Some(d) = state.deadline_override {
        return d;
    }
    let first = state.first_prompted_at.unwrap_or(now);
    first + Duration::days(policy.grace_days.into())
}

/// Evaluates the policy's assignments and control for one user at `now`,
/// whatever its enforcement (so drafts and report-only can be explained too).
pub fn evaluate(policy: &MfaRegistrationPolicy, user: &UserFacts<'_>, now: OffsetDateTime) -> Decision {
    if user.emergency_access {
        return Decision::NotInScope(OutOfScope::EmergencyAccess);
    }
    if policy.exclude_users.iter().any(|u| u == user.user_id) {
        return Decision::NotInScope(OutOfScope::ExcludedUser);
    }
    if let Some(m) = group_match(user.groups, &policy.exclude_groups) {
        return Decision::NotInScope(OutOfScope::ExcludedGroup { group: m.group, path: m.path });
    }
    let via = if policy.include_all {
        Inclusion::AllUsers
    } else if policy.include_users.iter().any(|u| u == user.user_id) {
        Inclusion::User
    } else if let Some(m) = group_match(user.groups, &policy.include_groups) {
        Inclusion::Group { group: m.group, path: m.path }
    } else {
        return Decision::NotInScope(OutOfScope::NotIncluded);
    };
    if user.methods > 0 {
        return Decision::Registered { methods: user.methods, via };
    }
    let deadline = deadline(policy, user.state, now);
    if now < deadline {
        Decision::Prompt { deadline, starts_clock: user.state.first_prompted_at.is_none(), via }
    } else {
        Decision::Required { deadline, via }
    }
}

/// Whether the sign-in risk policy's assignments take in a user (emergency-access accounts never;
/// an exclusion always wins), whatever its enforcement.
pub fn risk_scope(
    p: proofup_shared::policy::Assignments<'_>,
    user_id: &str,
    emergency_access: bool,
    groups: &[Membership],
) -> Result<Inclusion, OutOfScope> {
    if emergency_access {
        return Err(OutOfScope::EmergencyAccess);
    }
    if p.exclude_users.iter().any(|u| u == user_id) {
        return Err(OutOfScope::ExcludedUser);
    }
    if let Some(m) = group_match(groups, p.exclude_groups) {
        return Err(OutOfScope::ExcludedGroup { group: m.group, path: m.path });
    }
    if p.include_all {
        Ok(Inclusion::AllUsers)
    } else if p.include_users.iter().any(|u| u == user_id) {
        Ok(Inclusion::User)
    } else if let Some(m) = group_match(groups, p.include_groups) {
        Ok(Inclusion::Group { group: m.group, path: m.path })
    } else {
        Err(OutOfScope::NotIncluded)
    }
}

/// Decides group scope for many users at once: the policy's include and exclude
/// groups expanded downward once, so each user needs only their direct groups.
/// The membership it yields names the matched policy group with a two-step
/// path (direct group, policy group); use `groups_of` when the full path matters.
pub struct BulkScope {
    contained_in: std::collections::HashMap<String, Vec<String>>,
}

impl BulkScope {
    pub fn new(index: &super::membership::MembershipIndex, policy: proofup_shared::policy::Assignments<'_>) -> Self {
        let roots: Vec<String> = policy.include_groups.iter().chain(policy.exclude_groups).cloned().collect();
        Self { contained_in: index.contained_in(&roots) }
    }

    /// The policy groups this user is in (directly or through nesting).
    pub fn memberships(&self, index: &super::membership::MembershipIndex, user: &str) -> Vec<Membership> {
        let mut out: Vec<Membership> = Vec::new();
        for d in index.direct_groups_unsorted(user) {
            for root in self.contained_in.get(d).into_iter().flatten() {
                if !out.iter().any(|m| m.group == *root) {
                    let path = if d == root { vec![root.clone()] } else { vec![d.to_owned(), root.clone()] };
                    out.push(Membership { group: root.clone(), path });
                }
            }
        }
        if out.len() > 1 {
            out.sort_unstable_by(|a, b| a.path.cmp(&b.path)); // deterministic, as `direct_groups` is
        }
        out
    }
}

/// Whether this decision interrupts an interactive sign-in.
pub fn interrupts(policy: &MfaRegistrationPolicy, decision: &Decision) -> bool {
    policy.enforcement == Enforcement::On
        && policy.require_registration
        && matches!(decision, Decision::Prompt { .. } | Decision::Required { .. })
}

/// Whole days left until `deadline`, rounded up.
/// Registration reminders go out this many days before a user's deadline, once each.
pub const REMINDER_LEADS: [i64; 2] = [7, 1];

/// The reminder due for a decision at `now`: the user's deadline and the lead (days before it)
/// whose window `now` is in — the nearest one, so a user first prompted a day before their
/// deadline gets the one-day reminder only. `None` unless the grace is running (the clock started,
/// the deadline ahead), so it agrees with the report's deadline.
pub fn reminder_due(d: &Decision, now: OffsetDateTime) -> Option<(OffsetDateTime, i64)> {
    let Decision::Prompt { deadline, starts_clock: false, .. } = d else { return None };
    if now >= *deadline {
        return None;
    }
    let left = *deadline - now;
    REMINDER_LEADS.iter().rev().find(|lead| left <= time::Duration::days(**lead)).map(|lead| (*deadline, *lead))
}

pub fn days_left(deadline: OffsetDateTime, now: OffsetDateTime) -> u32 {
    if deadline <= now {
        return 0;
    }
    let secs = (deadline - now).whole_seconds();
    (secs.div_euclid(86_400) + i64::from(secs.rem_euclid(86_400) > 0)).clamp(0, i64::from(u32::MAX)) as u32
}

/// The API shape, with names for groups supplied by `name_of`.
pub fn view(decision: &Decision, now: OffsetDateTime, name_of: &dyn Fn(&str) -> String) -> DecisionView {
    match decision {
        Decision::NotInScope(why) => DecisionView::NotInScope {
            excluded: !matches!(why, OutOfScope::NotIncluded),
            reason: describe_out(why, name_of),
        },
        Decision::Registered { methods, .. } => DecisionView::Registered { methods: *methods },
        Decision::Prompt { deadline, starts_clock, .. } => DecisionView::Prompt {
            deadline: *deadline,
            days_left: days_left(*deadline, now),
            not_yet_prompted: *starts_clock,
        },
        Decision::Required { deadline, .. } => DecisionView::Required { deadline: *deadline },
    }
}

fn path_text(path: &[String], name_of: &dyn Fn(&str) -> String) -> String {
    path.iter().map(|g| name_of(g)).collect::<Vec<_>>().join(" → ")
}

pub fn describe_out(why: &OutOfScope, name_of: &dyn Fn(&str) -> String) -> String {
    match why {
        OutOfScope::EmergencyAccess => "Emergency-access account: always excluded.".into(),
        OutOfScope::ExcludedUser => "Excluded: the user is on the exclude list.".into(),
        OutOfScope::ExcludedGroup { group, path } if path.len() > 1 => {
            format!("Excluded: member of {} via {}.", name_of(group), path_text(path, name_of))
        }
        OutOfScope::ExcludedGroup { group, .. } => format!("Excluded: member of {}.", name_of(group)),
        OutOfScope::NotIncluded => "Not included: neither the user nor any of their groups is selected.".into(),
    }
}

pub fn describe_in(via: &Inclusion, name_of: &dyn Fn(&str) -> String) -> String {
    match via {
        Inclusion::AllUsers => "Included: All users.".into(),
        Inclusion::User => "Included: the user is selected.".into(),
        Inclusion::Group { group, path } if path.len() > 1 => {
            format!("Included: member of {} via {}.", name_of(group), path_text(path, name_of))
        }
        Inclusion::Group { group, .. } => format!("Included: member of {}.", name_of(group)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

    #[test]
    fn reminders_fall_seven_days_and_one_day_before_the_deadline() {
        let prompt = |deadline, starts_clock| Decision::Prompt { deadline, starts_clock, via: Inclusion::AllUsers };
        let dl = NOW + Duration::days(10);
        // (decision, now) → (deadline, lead)
        let rows = [
            (prompt(dl, false), NOW, None),
            (prompt(dl, false), dl - Duration::days(7) - Duration::seconds(1), None),
            (prompt(dl, false), dl - Duration::days(7), Some((dl, 7))),
            (prompt(dl, false), dl - Duration::days(2), Some((dl, 7))),
            (prompt(dl, false), dl - Duration::days(1), Some((dl, 1))),
            (prompt(dl, false), dl - Duration::seconds(1), Some((dl, 1))),
            (prompt(dl, false), dl, None),
            // Not prompted yet: no deadline is known; past it: required, not reminded.
            (prompt(dl, true), dl - Duration::days(1), None),
            (Decision::Required { deadline: dl, via: Inclusion::AllUsers }, dl + Duration::days(1), None),
            (Decision::Registered { methods: 1, via: Inclusion::AllUsers }, dl - Duration::days(1), None),
        ];
        for (d, now, want) in rows {
            assert_eq!(reminder_due(&d, now), want, "{d:?} at {now}");
        }
    }

    fn m(group: &str, path: &[&str]) -> Membership {
        Membership { group: group.into(), path: path.iter().map(|s| (*s).into()).collect() }
    }

    fn policy() -> MfaRegistrationPolicy {
        MfaRegistrationPolicy { enforcement: Enforcement::On, ..Default::default() }
    }

    struct Case {
        name: &'static str,
        policy: MfaRegistrationPolicy,
        emergency: bool,
        groups: Vec<Membership>,
        methods: u32,
        state: RegistrationState,
        now: OffsetDateTime,
        expect: Decision,
        interrupts: bool,
    }

    fn case(name: &'static str, expect: Decision) -> Case {
        Case {
            name,
            policy: policy(),
            emergency: false,
            groups: vec![],
            methods: 0,
            state: RegistrationState::default(),
            now: NOW,
            interrupts: matches!(expect, Decision::Prompt { .. } | Decision::Required { .. }),
            expect,
        }
    }

    fn prompted(at: OffsetDateTime) -> RegistrationState {
        RegistrationState { first_prompted_at: Some(at), ..Default::default() }
    }

    #[test]
    fn every_branch_and_edge() {
        let eng_staff = m("staff", &["eng", "staff"]);
        let cases = vec![
            Case {
                emergency: true,
                ..case("emergency access always excluded", Decision::NotInScope(OutOfScope::EmergencyAccess))
            },
            Case {
                emergency: true,
                policy: MfaRegistrationPolicy { include_all: false, include_users: vec!["u1".into()], ..policy() },
                ..case(
                    "emergency access wins over an explicit include",
                    Decision::NotInScope(OutOfScope::EmergencyAccess),
                )
            },
            Case {
                policy: MfaRegistrationPolicy { exclude_users: vec!["u1".into()], ..policy() },
                ..case("excluded user", Decision::NotInScope(OutOfScope::ExcludedUser))
            },
            Case {
                policy: MfaRegistrationPolicy {
                    include_all: false,
                    include_users: vec!["u1".into()],
                    exclude_groups: vec!["staff".into()],
                    ..policy()
                },
                groups: vec![m("eng", &["eng"]), eng_staff.clone()],
                ..case(
                    "exclusion through a nested group wins over a direct include",
                    Decision::NotInScope(OutOfScope::ExcludedGroup {
                        group: "staff".into(),
                        path: vec!["eng".into(), "staff".into()],
                    }),
                )
            },
            Case {
                policy: MfaRegistrationPolicy { include_all: false, include_groups: vec!["other".into()], ..policy() },
                groups: vec![m("eng", &["eng"])],
                ..case("not included", Decision::NotInScope(OutOfScope::NotIncluded))
            },
            Case {
                policy: MfaRegistrationPolicy { include_all: false, include_groups: vec!["staff".into()], ..policy() },
                groups: vec![m("eng", &["eng"]), eng_staff.clone()],
                ..case(
                    "included through nesting, first prompt starts the clock",
                    Decision::Prompt {
                        deadline: NOW + Duration::days(14),
                        starts_clock: true,
                        via: Inclusion::Group { group: "staff".into(), path: vec!["eng".into(), "staff".into()] },
                    },
                )
            },
            Case {
                policy: MfaRegistrationPolicy { include_all: false, include_users: vec!["u1".into()], ..policy() },
                ..case(
                    "included by name",
                    Decision::Prompt { deadline: NOW + Duration::days(14), starts_clock: true, via: Inclusion::User },
                )
            },
            Case {
                methods: 1,
                ..case("already registered", Decision::Registered { methods: 1, via: Inclusion::AllUsers })
            },
            Case {
                state: prompted(NOW - Duration::days(14) + Duration::seconds(1)),
                ..case(
                    "one second before the deadline: skip still allowed",
                    Decision::Prompt {
                        deadline: NOW + Duration::seconds(1),
                        starts_clock: false,
                        via: Inclusion::AllUsers,
                    },
                )
            },
            Case {
                state: prompted(NOW - Duration::days(14)),
                ..case(
                    "at the deadline instant: required",
                    Decision::Required { deadline: NOW, via: Inclusion::AllUsers },
                )
            },
            Case {
                policy: MfaRegistrationPolicy { grace_days: 0, ..policy() },
                ..case(
                    "grace 0: required at the first prompt",
                    Decision::Required { deadline: NOW, via: Inclusion::AllUsers },
                )
            },
            Case {
                policy: MfaRegistrationPolicy { grace_days: 30, ..policy() },
                state: prompted(NOW - Duration::days(20)),
                ..case(
                    "grace raised after the first prompt counts from the first prompt",
                    Decision::Prompt {
                        deadline: NOW + Duration::days(10),
                        starts_clock: false,
                        via: Inclusion::AllUsers,
                    },
                )
            },
            Case {
                policy: MfaRegistrationPolicy { grace_days: 7, ..policy() },
                state: prompted(NOW - Duration::days(10)),
                ..case(
                    "grace lowered after the first prompt: deadline already passed",
                    Decision::Required { deadline: NOW - Duration::days(3), via: Inclusion::AllUsers },
                )
            },
            Case {
                state: RegistrationState {
                    first_prompted_at: Some(NOW - Duration::days(30)),
                    deadline_override: Some(NOW + Duration::days(5)),
                    ..Default::default()
                },
                ..case(
                    "an administrator's extension",
                    Decision::Prompt {
                        deadline: NOW + Duration::days(5),
                        starts_clock: false,
                        via: Inclusion::AllUsers,
                    },
                )
            },
            Case {
                state: RegistrationState {
                    first_prompted_at: Some(NOW - Duration::days(1)),
                    deadline_override: Some(NOW - Duration::seconds(1)),
                    ..Default::default()
                },
                ..case(
                    "grace ended by an administrator",
                    Decision::Required { deadline: NOW - Duration::seconds(1), via: Inclusion::AllUsers },
                )
            },
            Case {
                state: prompted(NOW - Duration::days(200)),
                ..case(
                    "methods removed long after registering: required at once",
                    Decision::Required { deadline: NOW - Duration::days(186), via: Inclusion::AllUsers },
                )
            },
            Case {
                policy: MfaRegistrationPolicy { include_all: false, include_groups: vec!["eng".into()], ..policy() },
                state: prompted(NOW - Duration::days(30)),
                ..case("moved out of scope after the first prompt", Decision::NotInScope(OutOfScope::NotIncluded))
            },
            Case {
                policy: MfaRegistrationPolicy { enforcement: Enforcement::ReportOnly, ..policy() },
                interrupts: false,
                ..case(
                    "report-only evaluates but never interrupts",
                    Decision::Prompt {
                        deadline: NOW + Duration::days(14),
                        starts_clock: true,
                        via: Inclusion::AllUsers,
                    },
                )
            },
            Case {
                policy: MfaRegistrationPolicy { enforcement: Enforcement::Off, ..policy() },
                interrupts: false,
                state: prompted(NOW - Duration::days(90)),
                ..case(
                    "off never interrupts",
                    Decision::Required { deadline: NOW - Duration::days(76), via: Inclusion::AllUsers },
                )
            },
        ];
        for c in cases {
            let facts = UserFacts {
                user_id: "u1",
                emergency_access: c.emergency,
                groups: &c.groups,
                methods: c.methods,
                state: &c.state,
            };
            let got = evaluate(&c.policy, &facts, c.now);
            assert_eq!(got, c.expect, "{}", c.name);
            assert_eq!(interrupts(&c.policy, &got), c.interrupts, "{}: interrupts", c.name);
        }
    }

    /// The outcome kind, ignoring paths (which differ between the two ways of computing groups).
    fn kind(d: &Decision) -> String {
        match d {
            Decision::NotInScope(OutOfScope::ExcludedGroup { group, .. }) => format!("excluded by {group}"),
            Decision::NotInScope(o) => format!("{o:?}"),
            Decision::Registered { .. } => "registered".into(),
            Decision::Prompt { .. } => "prompt".into(),
            Decision::Required { .. } => "required".into(),
        }
    }

    proptest::proptest! {
        /// Bulk scoping (reports, impact) agrees with evaluating each user's full transitive groups,
        /// and both agree with a naive recursive membership model on who is in scope.
        #[test]
        fn bulk_scope_agrees_with_per_user_evaluation(
            users in proptest::collection::vec((0..10usize, 0..6usize), 0..30),
            nest in proptest::collection::vec((0..10usize, 0..10usize), 0..25),
            include in proptest::collection::vec(0..10usize, 0..3),
            exclude in proptest::collection::vec(0..10usize, 0..2),
            include_all in proptest::bool::ANY,
            methods in proptest::collection::vec(0..2u32, 6),
        ) {
            let mut idx = super::super::membership::MembershipIndex::default();
            for (g, u) in &users { idx.add_user(&format!("g{g}"), &format!("u{u}")); }
            let mut edges = Vec::new();
            for (p, c) in &nest { if idx.add_group(&format!("g{p}"), &format!("g{c}")).is_ok() { edges.push((*p, *c)); } }
            let p = MfaRegistrationPolicy {
                include_all,
                include_groups: include.iter().map(|g| format!("g{g}")).collect(),
                exclude_groups: exclude.iter().map(|g| format!("g{g}")).collect(),
                ..policy()
            };
            let bulk = BulkScope::new(&idx, p.assignments());
            let st = RegistrationState::default();
            for (u, &user_methods) in methods.iter().enumerate() {
                let id = format!("u{u}");
                let full = idx.groups_of(&id);
                let fast = bulk.memberships(&idx, &id);
                let f = |groups: &[Membership]| evaluate(&p, &UserFacts { user_id: &id, emergency_access: false, groups, methods: user_methods, state: &st }, NOW);
                let (a, b) = (f(&full), f(&fast));
                proptest::prop_assert_eq!(kind(&a), kind(&b));
                // Naive: in group g iff listed directly, or listed in a group nested (recursively) in g.
                let in_group = |g: usize| naive_in(&users, &edges, u, g, 0);
                let excluded = exclude.iter().any(|g| in_group(*g));
                let included = include_all || include.iter().any(|g| in_group(*g));
                proptest::prop_assert_eq!(!matches!(a, Decision::NotInScope(_)), included && !excluded);
            }
        }
    }

    fn naive_in(users: &[(usize, usize)], edges: &[(usize, usize)], u: usize, g: usize, depth: usize) -> bool {
        depth < 32
            && (users.iter().any(|&(gg, uu)| gg == g && uu == u)
                || edges.iter().any(|&(p, c)| p == g && naive_in(users, edges, u, c, depth + 1)))
    }

    #[test]
    fn days_left_rounds_up() {
        assert_eq!(days_left(NOW + Duration::days(14), NOW), 14);
        assert_eq!(days_left(NOW + Duration::days(13) + Duration::seconds(1), NOW), 14);
        assert_eq!(days_left(NOW + Duration::seconds(1), NOW), 1);
        assert_eq!(days_left(NOW, NOW), 0);
        assert_eq!(days_left(NOW - Duration::days(1), NOW), 0);
    }

    #[test]
    fn explanations_name_the_path() {
        let names = |id: &str| id.to_uppercase();
        let why = OutOfScope::ExcludedGroup { group: "staff".into(), path: vec!["eng".into(), "staff".into()] };
        assert_eq!(describe_out(&why, &names), "Excluded: member of STAFF via ENG → STAFF.");
        assert_eq!(
            describe_in(&Inclusion::Group { group: "eng".into(), path: vec!["eng".into()] }, &names),
            "Included: member of ENG."
        );
    }
}
