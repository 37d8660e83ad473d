//! What the store keeps of the logs, the policy's versions and the alerts: records of their own,
//! apart from the wire types the API answers with (`proofup_shared`). Their serde shape is the
//! stored format (both engines keep them as JSON), so a change to an API body does not change
//! what is on disk, and a new stored field does not appear in the API until the service maps it.
//! Today each maps field for field onto its wire type ([`From`] below, used by the service when
//! it answers).
//!
//! The values inside them (`FieldChange`, `PolicyOutcome`, `SignInResult`, the policy itself) are
//! the vocabulary the domain and the portal share, and stay in `proofup_shared`.

use proofup_shared::api::{AuditEntry, EmergencyAlert, FieldChange, PolicyOutcome, SignInLogEntry, SignInResult};
use proofup_shared::policy::{MfaRegistrationPolicy, PolicyVersion};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One row of the sign-in log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRecord {
    /// Assigned by the store.
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The username as typed (normalised); kept even when no such user exists.
    pub username: String,
    pub user_id: Option<String>,
    pub result: SignInResult,
    /// Why, in words: `how` followed by the outcomes rendered.
    pub reason: String,
    pub ip: String,
    pub user_agent: String,
    pub interactive: bool,
    /// The application's name then, when the sign-in was for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// How many attempts the row stands for (aggregated refusals; 1 otherwise).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u32,
    /// What the access decision and its policies did, as data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<PolicyOutcome>,
    /// Where it came from (rounded coordinates, country, network), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<proofup_shared::risk::Place>,
}

impl SignInRecord {
    /// Its real-time risk (the sign-in risk outcome's level).
    pub fn risk(&self) -> Option<proofup_shared::risk::RiskLevel> {
        self.outcomes.iter().find_map(|o| match o {
            PolicyOutcome::SignInRisk { level, .. } => Some(*level),
            _ => None,
        })
    }
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Assigned by the store.
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who did it: a user id, or none for `system` / `setup`.
    pub actor_id: Option<String>,
    pub actor: String,
    /// Dotted action name, e.g. `user.created`.
    pub action: String,
    pub target_id: Option<String>,
    pub target: String,
    /// Changed fields, before and after. Never holds secrets.
    #[serde(default)]
    pub changes: Vec<FieldChange>,
    pub ip: String,
}

/// An emergency-access account signed in: open until an administrator acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub id: String,
    #[serde(default)]
    pub kind: proofup_shared::overview::AlertKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub user_id: String,
    pub username: String,
    pub ip: String,
    #[serde(default)]
    pub acknowledged_by: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
}

/// One saved version of the registration policy (version 0: the default never saved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub version: u64,
    pub policy: MfaRegistrationPolicy,
    #[serde(default)]
    pub sign_in_risk: proofup_shared::policy::SignInRiskPolicy,
    #[serde(default)]
    pub user_risk: proofup_shared::policy::UserRiskPolicy,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub saved_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub saved_by: Option<String>,
    #[serde(default)]
    pub changes: Vec<FieldChange>,
}

impl PolicyRecord {
    /// Version 0: the built-in default, before any save.
    pub fn never_saved() -> Self {
        Self {
            version: 0,
            policy: Default::default(),
            sign_in_risk: Default::default(),
            user_risk: Default::default(),
            saved_at: None,
            saved_by: None,
            changes: Vec::new(),
        }
    }
}

/// A page of records as the API shows it.
pub fn page<R, W: From<R>>(p: proofup_shared::api::Page<R>) -> proofup_shared::api::Page<W> {
    proofup_shared::api::Page { items: p.items.into_iter().map(W::from).collect(), next_after: p.next_after }
}

impl From<SignInRecord> for SignInLogEntry {
    fn from(r: SignInRecord) -> Self {
        let SignInRecord {
            id,
            at,
            username,
            user_id,
            result,
            reason,
            ip,
            user_agent,
            interactive,
            application,
            count,
            outcomes,
            place,
        } = r;
        SignInLogEntry {
            id,
            at,
            username,
            user_id,
            result,
            reason,
            ip,
            user_agent,
            interactive,
            application,
            count,
            outcomes,
            place,
        }
    }
}

impl From<AuditRecord> for AuditEntry {
    fn from(r: AuditRecord) -> Self {
        let AuditRecord { id, at, actor_id, actor, action, target_id, target, changes, ip } = r;
        AuditEntry { id, at, actor_id, actor, action, target_id, target, changes, ip }
    }
}

impl From<AlertRecord> for EmergencyAlert {
    fn from(r: AlertRecord) -> Self {
        let AlertRecord { id, kind, detail, at, user_id, username, ip, acknowledged_by, acknowledged_at } = r;
        EmergencyAlert { id, kind, detail, at, user_id, username, ip, acknowledged_by, acknowledged_at }
    }
}

impl From<PolicyRecord> for PolicyVersion {
    fn from(r: PolicyRecord) -> Self {
        let PolicyRecord { version, policy, sign_in_risk, user_risk, saved_at, saved_by, changes } = r;
        PolicyVersion { version, policy, sign_in_risk, user_risk, saved_at, saved_by, changes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record stored before the split (written from the wire type) reads back, and what a
    /// record writes is what the wire type wrote: the stored format did not change.
    #[test]
    fn records_keep_the_stored_format() {
        let at = time::macros::datetime!(2026-12-07 08:00 UTC);
        let wire = SignInLogEntry {
            id: "7".into(),
            at,
            username: "ada".into(),
            user_id: Some("u1".into()),
            result: SignInResult::Success,
            reason: "Password".into(),
            ip: "192.0.2.1".into(),
            user_agent: "test".into(),
            interactive: true,
            application: None,
            count: 1,
            outcomes: vec![PolicyOutcome::SecondFactorPending],
            place: None,
        };
        let stored = serde_json::to_vec(&wire).unwrap();
        let record: SignInRecord = serde_json::from_slice(&stored).unwrap();
        assert_eq!(serde_json::to_vec(&record).unwrap(), stored);
        assert_eq!(SignInLogEntry::from(record), wire);

        let wire = PolicyVersion {
            version: 3,
            policy: MfaRegistrationPolicy::default(),
            sign_in_risk: Default::default(),
            user_risk: Default::default(),
            saved_at: Some(at),
            saved_by: Some("ada".into()),
            changes: vec![FieldChange {
                field: "enforcement".into(),
                before: Some("off".into()),
                after: Some("on".into()),
            }],
        };
        let stored = serde_json::to_vec(&wire).unwrap();
        let record: PolicyRecord = serde_json::from_slice(&stored).unwrap();
        assert_eq!(serde_json::to_vec(&record).unwrap(), stored);
        assert_eq!(PolicyVersion::from(record), wire);
    }
}

/// A risk detection about a user (and, for a real-time one, the sign-in it was found in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectionRecord {
    /// Assigned by the store; sorts by time.
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub user_id: String,
    pub username: String,
    pub kind: proofup_shared::risk::DetectionKind,
    pub level: proofup_shared::risk::RiskLevel,
    #[serde(default)]
    pub state: proofup_shared::risk::RiskState,
    /// Why the state changed (`passed_mfa_by_risk_policy`, `secure_password_change`, an
    /// administrator's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    /// The sign-in it was found in (one id for all that sign-in's detections), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<String>,
    pub ip: String,
    #[serde(default)]
    pub place: proofup_shared::risk::Place,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    pub evidence: proofup_shared::risk::Evidence,
}

impl From<DetectionRecord> for proofup_shared::risk::DetectionView {
    fn from(r: DetectionRecord) -> Self {
        let explanation = r.evidence.describe();
        let DetectionRecord {
            id,
            at,
            user_id,
            username,
            kind,
            level,
            state,
            detail,
            changed_at,
            changed_by,
            sign_in,
            ip,
            place,
            application,
            evidence,
        } = r;
        Self {
            id,
            at,
            user_id,
            username,
            kind,
            level,
            state,
            detail,
            changed_at,
            changed_by,
            sign_in,
            ip,
            place,
            application,
            evidence,
            explanation,
        }
    }
}
