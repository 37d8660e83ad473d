//! Request and response bodies of the JSON API.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Administrative roles, from most to least privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    GlobalAdministrator,
    SecurityAdministrator,
    SecurityOperator,
    SecurityReader,
    User,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::GlobalAdministrator => "Global administrator",
            Role::SecurityAdministrator => "Security administrator",
            Role::SecurityOperator => "Security operator",
            Role::SecurityReader => "Security reader",
            Role::User => "User",
        }
    }

    /// May read the portal's administrative pages (directory, logs, policy).
    pub fn can_read_admin(self) -> bool {
        !matches!(self, Role::User)
    }

    /// May change users' security state (unlock, reset).
    pub fn can_manage_security(self) -> bool {
        matches!(self, Role::GlobalAdministrator | Role::SecurityAdministrator)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInResponse {
    pub me: Me,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupStatus {
    /// True until the first Global administrator exists.
    pub needs_setup: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    pub token: String,
    pub username: String,
    pub display_name: String,
    pub password: String,
}

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignInResult {
    Success,
    /// Wrong password, or no such user (the log says which; the caller is never told).
    Failure,
    /// Refused before checking the password: per-account or per-IP throttle.
    Throttled,
    /// Refused: the account is locked or disabled.
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInLogEntry {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The username as typed (normalised); kept even when no such user exists.
    pub username: String,
    pub user_id: Option<String>,
    pub result: SignInResult,
    /// Why, in words an admin understands ("Wrong password", "Unknown user"...).
    pub reason: String,
    pub ip: String,
    pub user_agent: String,
    pub interactive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who did it: a user id, or `system` / `setup`.
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A page of a list, in key order. Pass `next_after` back as `after` for the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
}
