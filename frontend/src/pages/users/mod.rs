//! Users: the list with search and filters (and CSV import/export), creating a user (the pass
//! is shown once), and a user's page with their details and security actions.

mod detail;
mod list;
mod new;
mod profile;
mod security;

pub use detail::UserDetailPage;
pub use list::UsersPage;
pub use new::NewUserPage;

use proofup_shared::api::Role;

use crate::session::SessionCtx;

pub(super) const ROLES: [Role; 5] =
    [Role::User, Role::SecurityReader, Role::SecurityOperator, Role::SecurityAdministrator, Role::GlobalAdministrator];

pub(super) fn role_value(r: Role) -> String {
    serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub(super) fn role_from(v: &str) -> Option<Role> {
    ROLES.into_iter().find(|r| role_value(*r) == v)
}

pub(super) fn my_role() -> Option<Role> {
    SessionCtx::get().role()
}
