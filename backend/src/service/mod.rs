//! Use cases: orchestrate domain rules and the storage traits. No actix, no sled.

pub mod alerts;
pub mod auth;
pub mod directory_csv;
pub mod groups;
pub mod mfa;
pub mod passkeys;
pub mod policy;
pub mod recovery;
pub mod sessions;
pub mod setup;
pub mod users;
pub mod webhook;

use proofup_shared::api::{AuditEntry, FieldChange};
use time::OffsetDateTime;

use crate::domain::model::{ClientInfo, User};
use crate::store::AuditDraft;

/// Builds an audit entry; the store assigns its id.
pub fn audit(
    at: OffsetDateTime,
    actor: Option<&User>,
    action: &str,
    target: Option<&User>,
    changes: Vec<FieldChange>,
    client: &ClientInfo,
) -> AuditDraft {
    AuditDraft(AuditEntry {
        id: String::new(),
        at,
        actor_id: actor.map(|u| u.id.clone()),
        actor: actor.map_or_else(|| "setup".to_owned(), |u| u.username.clone()),
        action: action.to_owned(),
        target_id: target.map(|u| u.id.clone()),
        target: target.map_or_else(String::new, |u| u.username.clone()),
        changes,
        ip: client.ip.clone(),
    })
}

pub fn change(field: &str, before: Option<&str>, after: Option<&str>) -> FieldChange {
    FieldChange { field: field.into(), before: before.map(Into::into), after: after.map(Into::into) }
}
