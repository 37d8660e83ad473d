//! What every part of the API speaks: roles, method kinds, pages, field changes, audit entries.
//! Imports no other module of this crate.

use serde::{Deserialize, Serialize};

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

    /// May see and test the server-wide settings (mail).
    pub fn can_manage_server(self) -> bool {
        matches!(self, Role::GlobalAdministrator)
    }

    /// May act on one user's registration (extend or end grace, require re-registration).
    pub fn can_operate(self) -> bool {
        matches!(self, Role::GlobalAdministrator | Role::SecurityAdministrator | Role::SecurityOperator)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    AuthenticatorApp,
    Passkey,
}

impl MethodKind {
    pub fn label(self) -> &'static str {
        match self {
            MethodKind::AuthenticatorApp => "Authenticator app",
            MethodKind::Passkey => "Passkey",
        }
    }
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

/// One entry of the audit log (the Overview lists some; the audit API pages them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
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
