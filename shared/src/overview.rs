//! The Overview page: counts, the policy's reach, alerts and the webhook, in one answer.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::auth::Me;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreCounts {
    pub users: u64,
    pub active_sessions: u64,
    pub audit_entries: u64,
    pub sign_in_entries: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    pub me: Me,
    pub version: String,
    pub counts: StoreCounts,
    /// The saved MFA registration policy's enforcement.
    #[serde(default)]
    pub enforcement: crate::policy::Enforcement,
    /// Registration status of every user under the saved policy.
    #[serde(default)]
    pub registration: crate::policy::Impact,
    /// Emergency-access sign-ins not yet acknowledged, newest first.
    #[serde(default)]
    pub alerts: Vec<EmergencyAlert>,
    /// Emergency-access accounts (enabled).
    #[serde(default)]
    pub emergency_accounts: u64,
    /// The webhook's deliveries (failures are shown on the Overview).
    #[serde(default)]
    pub webhook: crate::webhook::ChannelStatus,
    /// Mail's deliveries (`configured` false: mail is off).
    #[serde(default)]
    pub mail: crate::webhook::ChannelStatus,
    /// Methods registered at the registration interrupt in the last 30 days, newest first (at
    /// most 10): each was bound by a sign-in with only a password behind it, so an
    /// administrator may want to check it was the user.
    #[serde(default)]
    pub registered_at_interrupt: Vec<crate::common::AuditEntry>,
    /// Risk: users at risk, recent detections, the two policies, what the detections read.
    #[serde(default)]
    pub risk: RiskOverview,
}

/// The Overview's risk card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskOverview {
    pub users_high: u64,
    pub users_medium: u64,
    pub users_low: u64,
    /// Detections in the last 24 hours.
    pub detections_24h: u64,
    pub sign_in_policy: crate::policy::Enforcement,
    pub user_policy: crate::policy::Enforcement,
    /// The GeoIP databases in use, in words; none: locations are unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geoip: Option<String>,
    /// A GeoIP database is more than 60 days old.
    #[serde(default)]
    pub geoip_stale: bool,
    /// The breached-password set in use (name, entries); none: leaked passwords are not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breached_set: Option<String>,
}

/// What an alert on the Overview is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// An emergency-access (break-glass) account signed in.
    #[default]
    EmergencySignIn,
    /// A user followed "This wasn't me" in a security notice.
    UserReported,
}

/// A critical alert for administrators to acknowledge: an emergency-access (break-glass) account
/// signed in, or a user reported a change they did not make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmergencyAlert {
    pub id: String,
    #[serde(default)]
    pub kind: AlertKind,
    /// For a report: what the user said they did not do.
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
