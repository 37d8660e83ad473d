//! "Forgot your password?": a self-service password reset in progress, and its rules. The user
//! proves the methods they registered instead of the password they lost — one for a user, two
//! different ones for any administrator role (as Entra's self-service password reset requires) —
//! and then chooses a new password. Pure: what counts, how many are needed, when it ends.

use proofup_shared::common::{MethodKind, Role};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::access::{Factor, Factors};

/// How long a reset may take from the username to the new password.
pub const RESET_LIFETIME: Duration = Duration::minutes(15);

/// The methods that can stand in for a lost password: the registered authenticator apps and
/// passkeys. Recovery codes are not among them (they are the way back when a method is lost, not
/// when the password is; both lost is an administrator's case).
pub const RESET_KINDS: [MethodKind; 2] = [MethodKind::AuthenticatorApp, MethodKind::Passkey];

/// How many different methods `role` must prove: two for every administrator role.
pub fn methods_needed(role: Role) -> u8 {
    if role.can_read_admin() {
        2
    } else {
        1
    }
}

fn factor_of(kind: MethodKind) -> Factor {
    match kind {
        MethodKind::AuthenticatorApp => Factor::AuthenticatorApp,
        MethodKind::Passkey => Factor::Passkey,
    }
}

/// Why a reset cannot begin; the user is told to ask an administrator, in the same words
/// whichever it is (no enumeration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoSuchUser,
    Disabled,
    /// Fewer usable methods than the role needs.
    NotEnoughMethods,
}

/// A reset in progress: who, what they proved, what they need, where the sign-in they began
/// from resumes. Stored sealed, server-side, keyed by a cookie of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetFlow {
    pub user_id: String,
    /// Different methods to prove before a new password may be set.
    pub needed: u8,
    /// The kinds the user can prove (registered, usable for a reset).
    pub kinds: Vec<MethodKind>,
    pub proved: Factors,
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
    /// The application sign-in (its flow id) the user came from, to go back to once signed in.
    #[serde(default)]
    pub flow: Option<String>,
}

impl ResetFlow {
    /// Begins a reset for a user with `role`, `enabled`, and these registered method kinds.
    pub fn begin(
        user_id: &str,
        role: Role,
        enabled: bool,
        registered: &[MethodKind],
        flow: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Self, Refusal> {
        if !enabled {
            return Err(Refusal::Disabled);
        }
        let kinds: Vec<MethodKind> = RESET_KINDS.iter().copied().filter(|k| registered.contains(k)).collect();
        let needed = methods_needed(role);
        if (kinds.len() as u8) < needed {
            return Err(Refusal::NotEnoughMethods);
        }
        Ok(ResetFlow {
            user_id: user_id.to_owned(),
            needed,
            kinds,
            proved: Factors::default(),
            expires: now + RESET_LIFETIME,
            flow,
        })
    }

    /// Records that `kind` was proved; `false` when it is not one this reset accepts.
    pub fn proved(&mut self, kind: MethodKind) -> bool {
        if !self.kinds.contains(&kind) {
            return false;
        }
        self.proved = self.proved.with(factor_of(kind));
        true
    }

    /// The kinds still to choose from (registered, not yet proved).
    pub fn remaining_kinds(&self) -> Vec<MethodKind> {
        self.kinds.iter().copied().filter(|k| !self.proved.has(factor_of(*k))).collect()
    }

    /// How many more different methods must be proved.
    pub fn still_needed(&self) -> u8 {
        let done = self.kinds.iter().filter(|k| self.proved.has(factor_of(**k))).count() as u8;
        self.needed.saturating_sub(done)
    }

    pub fn may_set_password(&self, now: OffsetDateTime) -> bool {
        self.live(now) && self.still_needed() == 0
    }

    pub fn live(&self, now: OffsetDateTime) -> bool {
        now < self.expires
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-12-07 09:00 UTC);
    use MethodKind::{AuthenticatorApp as App, Passkey};

    #[test]
    fn who_may_reset_with_what() {
        // (role, registered, outcome: Ok(needed) or the refusal)
        let rows: [(Role, &[MethodKind], Result<u8, Refusal>); 8] = [
            (Role::User, &[App], Ok(1)),
            (Role::User, &[Passkey], Ok(1)),
            (Role::User, &[App, App], Ok(1)),
            (Role::User, &[], Err(Refusal::NotEnoughMethods)),
            (Role::SecurityReader, &[App], Err(Refusal::NotEnoughMethods)),
            (Role::SecurityReader, &[App, Passkey], Ok(2)),
            (Role::GlobalAdministrator, &[App, App], Err(Refusal::NotEnoughMethods)),
            (Role::GlobalAdministrator, &[Passkey, App, Passkey], Ok(2)),
        ];
        for (role, registered, want) in rows {
            let got = ResetFlow::begin("u1", role, true, registered, None, T).map(|f| f.needed);
            assert_eq!(got, want, "{role:?} with {registered:?}");
        }
        assert_eq!(ResetFlow::begin("u1", Role::User, false, &[App], None, T), Err(Refusal::Disabled));
    }

    #[test]
    fn an_administrator_proves_two_different_methods_in_time() {
        let mut f = ResetFlow::begin("u1", Role::SecurityAdministrator, true, &[App, Passkey], None, T).unwrap();
        assert_eq!((f.still_needed(), f.remaining_kinds()), (2, vec![App, Passkey]));
        assert!(f.proved(App));
        assert!(f.proved(App), "the same kind twice");
        assert_eq!((f.still_needed(), f.remaining_kinds()), (1, vec![Passkey]));
        assert!(!f.may_set_password(T));
        assert!(f.proved(Passkey));
        assert!(f.may_set_password(T + Duration::minutes(14)));
        assert!(!f.may_set_password(T + RESET_LIFETIME), "expired");
    }

    #[test]
    fn a_user_proves_one() {
        let mut f = ResetFlow::begin("u1", Role::User, true, &[Passkey], Some("flow1".into()), T).unwrap();
        assert!(!f.proved(App), "not registered");
        assert!(!f.may_set_password(T));
        assert!(f.proved(Passkey));
        assert!(f.may_set_password(T));
        assert_eq!(f.flow.as_deref(), Some("flow1"));
    }
}
