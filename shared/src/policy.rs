//! The MFA registration policy: its settings, versions, decisions and reports.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::common::FieldChange;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    /// Not evaluated at sign-in.
    #[default]
    Off,
    /// Evaluated and logged at sign-in; never interrupts, starts no grace clock.
    ReportOnly,
    /// Interrupts in-scope users who have no method.
    On,
}

impl Enforcement {
    pub fn label(self) -> &'static str {
        match self {
            Enforcement::Off => "Off",
            Enforcement::ReportOnly => "Report-only",
            Enforcement::On => "On",
        }
    }
}

pub const DEFAULT_GRACE_DAYS: u32 = 14;
pub const MAX_GRACE_DAYS: u32 = 90;

/// The policy as an administrator edits it. Users and groups are referenced by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MfaRegistrationPolicy {
    pub enforcement: Enforcement,
    /// Include: All users (true) or the selected users and groups (false).
    pub include_all: bool,
    #[serde(default)]
    pub include_users: Vec<String>,
    #[serde(default)]
    pub include_groups: Vec<String>,
    /// Exclusion always wins. Emergency-access accounts are always excluded.
    #[serde(default)]
    pub exclude_users: Vec<String>,
    #[serde(default)]
    pub exclude_groups: Vec<String>,
    /// Control: Require MFA registration.
    pub require_registration: bool,
    /// Days a user may skip, counted from their first interactive sign-in while in scope and unregistered.
    pub grace_days: u32,
    /// Where a user without MFA may register a method (at the interrupt or in My security info):
    /// these networks (CIDR, or single addresses). Empty: anywhere. Elsewhere they need a
    /// temporary access pass from an administrator: whoever holds only a password cannot bind
    /// their own authenticator to the account from outside.
    #[serde(default)]
    pub registration_networks: Vec<String>,
}

impl Default for MfaRegistrationPolicy {
    fn default() -> Self {
        Self {
            enforcement: Enforcement::Off,
            include_all: true,
            include_users: Vec::new(),
            include_groups: Vec::new(),
            exclude_users: Vec::new(),
            exclude_groups: Vec::new(),
            require_registration: true,
            grace_days: DEFAULT_GRACE_DAYS,
            registration_networks: Vec::new(),
        }
    }
}

/// The sign-in risk policy: at or above `level`, a sign-in must prove a fresh second factor
/// (including single sign-on to an application, where `prompt=none` answers
/// `interaction_required`); at high, optionally a passkey only; optionally blocked at a level.
/// Assignments as the registration policy's; emergency-access accounts are always excluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignInRiskPolicy {
    pub enforcement: Enforcement,
    pub include_all: bool,
    #[serde(default)]
    pub include_users: Vec<String>,
    #[serde(default)]
    pub include_groups: Vec<String>,
    #[serde(default)]
    pub exclude_users: Vec<String>,
    #[serde(default)]
    pub exclude_groups: Vec<String>,
    /// Step up at or above this level.
    pub level: crate::risk::RiskLevel,
    /// At high risk only a passkey counts (phishing-resistant: no app code, no recovery code).
    #[serde(default)]
    pub passkey_only_at_high: bool,
    /// Refuse the sign-in at or above this level (none: never).
    #[serde(default)]
    pub block_at: Option<crate::risk::RiskLevel>,
}

impl Default for SignInRiskPolicy {
    fn default() -> Self {
        Self {
            enforcement: Enforcement::Off,
            include_all: true,
            include_users: Vec::new(),
            include_groups: Vec::new(),
            exclude_users: Vec::new(),
            exclude_groups: Vec::new(),
            level: crate::risk::RiskLevel::Medium,
            passkey_only_at_high: false,
            block_at: None,
        }
    }
}

impl SignInRiskPolicy {
    pub fn problems(&self) -> Vec<crate::FieldError> {
        let mut out = self.assignments().problems();
        if self.block_at.is_some_and(|b| b < self.level) {
            out.push(crate::FieldError {
                field: "block_at".into(),
                message: "Block at the step-up level or above: a lower level would block what it should step up."
                    .into(),
            });
        }
        out
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SaveSignInRiskPolicyRequest {
    pub policy: SignInRiskPolicy,
    /// The version the edit started from; a newer saved version answers 409.
    pub based_on_version: u64,
}

/// A sign-in risk policy run over the sign-in log's last 30 days, before saving it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskBacktest {
    pub days: u32,
    /// Password sign-ins in the window (the ones a risk policy sees).
    pub sign_ins: u64,
    /// Of those, with real-time risk.
    pub risky_sign_ins: u64,
    /// Would have had to prove a second factor (or a passkey).
    pub stepped_up: u64,
    /// Of those stepped up, by users with no method today: they would have been blocked.
    pub stepped_up_without_method: u64,
    /// Would have been blocked by the policy's Block setting.
    pub blocked: u64,
    pub users_stepped_up: u64,
    pub users_blocked: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RiskBacktestRequest {
    pub policy: SignInRiskPolicy,
}

/// What a (draft) risk policy would do to the directory as it is now, before saving it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskImpact {
    /// Enabled users.
    pub users: u64,
    pub in_scope: u64,
    /// Taken out by the exclude lists.
    pub excluded: u64,
    pub not_included: u64,
    /// Enabled emergency-access accounts (always excluded).
    pub emergency_accounts: u64,
    /// In scope with no sign-in method: a sign-in the policy steps up is refused until an
    /// administrator gives them a temporary access pass.
    pub without_method: u64,
    /// Sign-in risk with "passkey only at high": in scope with methods but no passkey, so a
    /// high-risk sign-in of theirs is refused.
    pub without_passkey: u64,
    /// User risk: in scope, whose risk now reaches the policy's level (they remediate at their
    /// next sign-in; report-only just logs it).
    pub must_remediate: u64,
    /// Of those, with no method: refused until a temporary access pass.
    pub must_remediate_without_method: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskImpactResponse {
    pub impact: RiskImpact,
    /// Worth reading before saving (no emergency-access account, users who would be refused).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserRiskImpactRequest {
    pub policy: UserRiskPolicy,
}

/// How the sign-in risk policy (saved, or a draft) treats one user's sign-in at `level`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignInRiskWhatIfRequest {
    pub user_id: String,
    /// The sign-in's risk to try.
    pub level: crate::risk::RiskLevel,
    #[serde(default)]
    pub policy: Option<SignInRiskPolicy>,
}

/// How the user risk policy (saved, or a draft) treats one user at their risk now.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserRiskWhatIfRequest {
    pub user_id: String,
    #[serde(default)]
    pub policy: Option<UserRiskPolicy>,
}

/// A risk policy's answer for one user, from the same access decision a sign-in runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskWhatIf {
    pub user_id: String,
    pub username: String,
    pub in_scope: bool,
    /// The user's risk (user risk policy), or the sign-in's level tried (sign-in risk policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<crate::risk::RiskLevel>,
    /// What the policy does; absent when it does nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<crate::risk::RiskEffect>,
    /// The steps of the evaluation and what the user sees next, in order.
    pub explanation: Vec<String>,
}

/// What the user risk policy asks of a risky user at their next sign-in, after a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserRiskRemedy {
    /// A new password (not in the breached set); every other session and grant ends.
    #[default]
    SecurePasswordChange,
    /// For risks a new password does not fix (a stolen token): every session and grant ends,
    /// and the sign-in must prove a second factor (a passkey if the user has one).
    RevokeAndReauthenticate,
}

impl UserRiskRemedy {
    pub fn label(self) -> &'static str {
        match self {
            UserRiskRemedy::SecurePasswordChange => "Require a secure password change",
            UserRiskRemedy::RevokeAndReauthenticate => "Revoke sessions and require a fresh strong sign-in",
        }
    }
}

/// The user risk policy: a user whose open detections reach `level` must remediate at their
/// next sign-in. Assignments as the other policies'; emergency-access accounts always excluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserRiskPolicy {
    pub enforcement: Enforcement,
    pub include_all: bool,
    #[serde(default)]
    pub include_users: Vec<String>,
    #[serde(default)]
    pub include_groups: Vec<String>,
    #[serde(default)]
    pub exclude_users: Vec<String>,
    #[serde(default)]
    pub exclude_groups: Vec<String>,
    pub level: crate::risk::RiskLevel,
    #[serde(default)]
    pub remedy: UserRiskRemedy,
}

impl Default for UserRiskPolicy {
    fn default() -> Self {
        Self {
            enforcement: Enforcement::Off,
            include_all: true,
            include_users: Vec::new(),
            include_groups: Vec::new(),
            exclude_users: Vec::new(),
            exclude_groups: Vec::new(),
            level: crate::risk::RiskLevel::High,
            remedy: UserRiskRemedy::SecurePasswordChange,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SaveUserRiskPolicyRequest {
    pub policy: UserRiskPolicy,
    pub based_on_version: u64,
}

/// The assignments every policy shares, as one view (the server checks scope with it).
#[derive(Debug, Clone, Copy)]
pub struct Assignments<'a> {
    pub include_all: bool,
    pub include_users: &'a [String],
    pub include_groups: &'a [String],
    pub exclude_users: &'a [String],
    pub exclude_groups: &'a [String],
}

impl SignInRiskPolicy {
    pub fn assignments(&self) -> Assignments<'_> {
        Assignments {
            include_all: self.include_all,
            include_users: &self.include_users,
            include_groups: &self.include_groups,
            exclude_users: &self.exclude_users,
            exclude_groups: &self.exclude_groups,
        }
    }
}

impl UserRiskPolicy {
    pub fn assignments(&self) -> Assignments<'_> {
        Assignments {
            include_all: self.include_all,
            include_users: &self.include_users,
            include_groups: &self.include_groups,
            exclude_users: &self.exclude_users,
            exclude_groups: &self.exclude_groups,
        }
    }
}

impl Assignments<'_> {
    /// Shape rules every policy shares (include something; lists of at most 500).
    pub fn problems(&self) -> Vec<crate::FieldError> {
        let mut out = Vec::new();
        if !self.include_all && self.include_users.is_empty() && self.include_groups.is_empty() {
            out.push(crate::FieldError {
                field: "include".into(),
                message: "Select the users or groups the policy applies to, or choose All users.".into(),
            });
        }
        for (field, list) in [
            ("include_users", self.include_users),
            ("include_groups", self.include_groups),
            ("exclude_users", self.exclude_users),
            ("exclude_groups", self.exclude_groups),
        ] {
            if list.len() > MAX_POLICY_REFS {
                out.push(crate::FieldError {
                    field: field.into(),
                    message: "At most 500 entries; use a group instead.".into(),
                });
            }
        }
        out
    }
}

/// Most users or groups one list of the policy may name.
pub const MAX_POLICY_REFS: usize = 500;

impl MfaRegistrationPolicy {
    /// Shape rules (ids are checked against the directory by the server).
    pub fn problems(&self) -> Vec<crate::FieldError> {
        let mut out = Vec::new();
        let mut add = |field: &str, message: &str| {
            out.push(crate::FieldError { field: field.into(), message: message.into() });
        };
        if self.enforcement != Enforcement::Off && !self.require_registration {
            add(
                "require_registration",
                "Select \"Require MFA registration\": a policy that is not Off needs its control.",
            );
        }
        if self.grace_days > MAX_GRACE_DAYS {
            add("grace_days", "The grace period is 0 to 90 days.");
        }
        if self.registration_networks.iter().filter(|n| !n.trim().is_empty()).count() > MAX_NETWORKS {
            add("registration_networks", "At most 50 networks.");
        }
        #[cfg(feature = "networks")]
        self.network_problems(&mut add);
        out.extend(self.assignments().problems());
        out
    }

    pub fn assignments(&self) -> Assignments<'_> {
        Assignments {
            include_all: self.include_all,
            include_users: &self.include_users,
            include_groups: &self.include_groups,
            exclude_users: &self.exclude_users,
            exclude_groups: &self.exclude_groups,
        }
    }

    #[cfg(feature = "networks")]
    fn network_problems(&self, add: &mut impl FnMut(&str, &str)) {
        // Blank lines are dropped when saved.
        let listed = self.registration_networks.iter().filter(|n| !n.trim().is_empty());
        if let Some(bad) = listed.clone().find(|n| parse_network(n).is_none()) {
            add(
                "registration_networks",
                &format!("\"{bad}\" is not a network: write it as 10.0.0.0/8, 2001:db8::/32 or a single address."),
            );
        }
    }

    /// Whether a user without MFA may register a method from `ip` (empty list: anywhere).
    #[cfg(feature = "networks")]
    pub fn registration_allowed_from(&self, ip: &str) -> bool {
        if self.registration_networks.is_empty() {
            return true;
        }
        let Ok(ip) = ip.parse::<std::net::IpAddr>() else { return false };
        self.registration_networks.iter().filter_map(|n| parse_network(n)).any(|n| n.contains(&ip))
    }
}

/// Most trusted networks the policy may list.
pub const MAX_NETWORKS: usize = 50;

/// A network in CIDR form, or a single address (a /32 or /128).
#[cfg(feature = "networks")]
pub fn parse_network(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>().ok().or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyVersion {
    /// 0 for the built-in default that was never saved.
    pub version: u64,
    pub policy: MfaRegistrationPolicy,
    /// The sign-in risk policy, versioned with the registration policy (one history).
    #[serde(default)]
    pub sign_in_risk: SignInRiskPolicy,
    /// The user risk policy, in the same history.
    #[serde(default)]
    pub user_risk: UserRiskPolicy,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub saved_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub saved_by: Option<String>,
    #[serde(default)]
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SavePolicyRequest {
    pub policy: MfaRegistrationPolicy,
    /// The version the edit started from; a newer saved version answers 409.
    pub based_on_version: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavePolicyResponse {
    pub saved: PolicyVersion,
    /// Things worth knowing that did not block the save.
    pub warnings: Vec<String>,
}

/// Why the policy does (or does not) apply to one user, in words and structure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DecisionView {
    NotInScope {
        reason: String,
        /// Left out by an exclusion (or as an emergency-access account), not merely not included:
        /// "Excluded" in every view, as in the report and the Overview.
        #[serde(default)]
        excluded: bool,
    },
    Registered {
        methods: u32,
    },
    /// Will be (or is being) prompted; may skip until the deadline.
    Prompt {
        #[serde(with = "time::serde::rfc3339")]
        deadline: OffsetDateTime,
        days_left: u32,
        /// Not prompted yet: the grace period starts at the next interactive sign-in.
        not_yet_prompted: bool,
    },
    /// Registration is required at the next sign-in; no skip.
    Required {
        #[serde(with = "time::serde::rfc3339")]
        deadline: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhatIf {
    pub user_id: String,
    pub username: String,
    pub decision: DecisionView,
    /// The steps of the evaluation, in order ("Included: member of Staff via Engineering → Staff").
    pub explanation: Vec<String>,
    /// Whether this decision interrupts sign-in under the policy's enforcement.
    pub interrupts: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Impact {
    pub users: u64,
    pub in_scope: u64,
    pub registered: u64,
    /// In scope, unregistered, prompted, grace still running.
    pub in_grace: u64,
    /// In scope, unregistered, never prompted: the grace clock starts at their next interactive
    /// sign-in under enforcement On (Off and Report-only start no clock).
    #[serde(default)]
    pub not_yet_prompted: u64,
    /// In scope, unregistered, deadline passed: forced at their next sign-in.
    pub forced: u64,
    pub excluded: u64,
    pub not_included: u64,
    /// Users whose grace ends on day 1..=30 from now (index 0 = within 24 h).
    pub forced_per_day: Vec<u64>,
    /// Enabled emergency-access accounts (always excluded).
    #[serde(default)]
    pub emergency_accounts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationRow {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub in_scope: bool,
    pub registered: bool,
    pub methods: u32,
    /// "not_in_scope" (not included), "excluded", "registered", "not_yet_prompted", "in_grace", "required".
    pub status: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub first_prompted_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    pub days_left: Option<u32>,
    pub skips: u32,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_sign_in_at: Option<OffsetDateTime>,
}

/// One page of the registration report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationReportPage {
    pub items: Vec<RegistrationRow>,
    /// Pass back as `after` for the next page; `None` on the last.
    pub next_after: Option<String>,
    /// Rows with the chosen status in the whole report (all pages).
    pub total: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GraceRequest {
    /// Extend the user's deadline by this many days from now (1–90), or…
    #[serde(default)]
    pub extend_days: Option<u32>,
    /// …end the grace period now (registration required at the next sign-in).
    #[serde(default)]
    pub end_now: bool,
    /// Why (kept in the audit log).
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImpactRequest {
    /// The draft being edited (not saved).
    pub policy: MfaRegistrationPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactResponse {
    pub impact: Impact,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WhatIfRequest {
    pub user_id: String,
    /// A draft to try; the saved policy when absent.
    #[serde(default)]
    pub policy: Option<MfaRegistrationPolicy>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "networks")]
    fn trusted_networks_are_cidrs_or_addresses() {
        let mut p = MfaRegistrationPolicy::default();
        assert!(p.registration_allowed_from("203.0.113.9"), "no list: anywhere");
        p.registration_networks = vec!["10.0.0.0/8".into(), "2001:db8::/32".into(), "192.0.2.15".into()];
        assert!(p.problems().is_empty(), "{:?}", p.problems());
        for (ip, ok) in [
            ("10.1.2.3", true),
            ("11.0.0.1", false),
            ("192.0.2.15", true),
            ("192.0.2.16", false),
            ("2001:db8::1", true),
            ("2001:db9::1", false),
            ("not an ip", false),
        ] {
            assert_eq!(p.registration_allowed_from(ip), ok, "{ip}");
        }
        p.registration_networks.push("10.0.0.0/33".into());
        assert_eq!(p.problems()[0].field, "registration_networks");
    }
}
