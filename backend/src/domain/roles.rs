//! Who may change whom. The server checks these on every route; the UI only hides.

use proofup_shared::api::Role;

/// May create, edit, disable, reset or delete a user who currently has `target`.
pub fn may_manage_user(actor: Role, target: Role) -> bool {
    match actor {
        Role::GlobalAdministrator => true,
        Role::SecurityAdministrator => target == Role::User,
        _ => false,
    }
}

/// May act on a user's sign-in security (unlock, extend or end their grace period, require
/// re-registration): whoever may manage them, and Security operators on plain users. Nobody
/// below Global administrator acts on a Global administrator.
pub fn may_act_on_security(actor: Role, target: Role) -> bool {
    may_manage_user(actor, target) || (actor == Role::SecurityOperator && target == Role::User)
}

/// May give someone the role `new`.
pub fn may_assign_role(actor: Role, new: Role) -> bool {
    match actor {
        Role::GlobalAdministrator => true,
        Role::SecurityAdministrator => new == Role::User,
        _ => false,
    }
}

/// Only Global administrators mark emergency-access (break-glass) accounts.
pub fn may_set_emergency_access(actor: Role) -> bool {
    actor == Role::GlobalAdministrator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_administrators_cannot_touch_administrators() {
        assert!(may_manage_user(Role::SecurityAdministrator, Role::User));
        assert!(!may_manage_user(Role::SecurityAdministrator, Role::SecurityReader));
        assert!(!may_assign_role(Role::SecurityAdministrator, Role::GlobalAdministrator));
        assert!(may_assign_role(Role::GlobalAdministrator, Role::SecurityAdministrator));
        for r in [Role::SecurityOperator, Role::SecurityReader, Role::User] {
            assert!(!may_manage_user(r, Role::User));
            assert!(!may_assign_role(r, Role::User));
            assert!(!may_set_emergency_access(r));
        }
        assert!(!may_set_emergency_access(Role::SecurityAdministrator));
    }
}
