//! "Forgot your password?": a self-service password reset in progress, and its rules. The user
//! proves the methods they registered instead of the password they lost — one for a user, two
//! different ones for any administrator role (as Entra's self-service password reset requires) —
//! and then chooses a new password. A code mailed to a confirmed address counts as one of an
//! administrator's two, never alone: at least one registered method is always proved (whoever
//! reads the mailbox alone cannot take the account). Pure: what counts, how many are needed,
//! when it ends.

use proofup_shared::common::{MethodKind, Role};
use proofup_shared::reset::ResetMethod;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::mail::AddressCheck;

/// How long a reset may take from the username to the new password.
pub const RESET_LIFETIME: Duration = Duration::minutes(15);

/// How many different methods `role` must prove: two for every administrator role.
pub fn methods_needed(role: Role) -> u8 {
    if role.can_read_admin() {
        2
    } else {
        1
    }
}

fn of_kind(kind: MethodKind) -> ResetMethod {
    match kind {
        MethodKind::AuthenticatorApp => ResetMethod::AuthenticatorApp,
        MethodKind::Passkey => ResetMethod::Passkey,
    }
}

/// Why a reset cannot begin; the user is told to ask an administrator, in the same words
/// whichever it is (no enumeration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoSuchUser,
    Disabled,
    /// No registered method, or fewer methods than the role needs.
    NotEnoughMethods,
}

/// A reset in progress: who, what they proved, what they need, where the sign-in they began
/// from resumes. Stored sealed, server-side, keyed by a cookie of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetFlow {
    pub user_id: String,
    /// Different methods to prove before a new password may be set.
    pub needed: u8,
    /// The methods the user can prove (registered ones, and the mailed code).
    pub kinds: Vec<ResetMethod>,
    #[serde(default)]
    pub proved: Vec<ResetMethod>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
    /// The application sign-in (its flow id) the user came from, to go back to once signed in.
    #[serde(default)]
    pub flow: Option<String>,
    /// The code mailed for this reset, hashed, while it waits.
    #[serde(default)]
    pub email_code: Option<AddressCheck>,
}

impl ResetFlow {
    /// Begins a reset for a user with `role`, `enabled`, these registered method kinds, and
    /// whether their address is confirmed (and mail is on).
    pub fn begin(
        user_id: &str,
        role: Role,
        enabled: bool,
        registered: &[MethodKind],
        mailable: bool,
        flow: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Self, Refusal> {
        if !enabled {
            return Err(Refusal::Disabled);
        }
        let mut kinds: Vec<ResetMethod> = Vec::new();
        for k in [MethodKind::AuthenticatorApp, MethodKind::Passkey] {
            if registered.contains(&k) {
                kinds.push(of_kind(k));
            }
        }
        if kinds.is_empty() {
            return Err(Refusal::NotEnoughMethods);
        }
        let needed = methods_needed(role);
        // The code is a second method beside a registered one: offered where two are needed.
        if mailable && needed > 1 {
            kinds.push(ResetMethod::EmailCode);
        }
        if (kinds.len() as u8) < needed {
            return Err(Refusal::NotEnoughMethods);
        }
        Ok(ResetFlow {
            user_id: user_id.to_owned(),
            needed,
            kinds,
            proved: Vec::new(),
            expires: now + RESET_LIFETIME,
            flow,
            email_code: None,
        })
    }

    /// Records that `method` was proved; `false` when it is not one this reset accepts now.
    pub fn prove(&mut self, method: ResetMethod) -> bool {
        if !self.remaining_kinds().contains(&method) {
            return false;
        }
        self.proved.push(method);
        true
    }

    fn registered_proved(&self) -> bool {
        self.proved.iter().any(|m| m.registered())
    }

    /// How many more different methods must be proved (a registered one among them).
    pub fn still_needed(&self) -> u8 {
        let n = self.needed.saturating_sub(self.proved.len() as u8);
        if n == 0 && !self.registered_proved() {
            1
        } else {
            n
        }
    }

    /// The methods still to choose from: not yet proved, and only registered ones when the last
    /// one needed must be registered.
    pub fn remaining_kinds(&self) -> Vec<ResetMethod> {
        let must_be_registered = !self.registered_proved() && self.still_needed() == 1;
        self.kinds
            .iter()
            .copied()
            .filter(|k| !self.proved.contains(k))
            .filter(|k| !must_be_registered || k.registered())
            .collect()
    }

    pub fn may_set_password(&self, now: OffsetDateTime) -> bool {
        self.live(now) && self.still_needed() == 0
    }

    pub fn live(&self, now: OffsetDateTime) -> bool {
        now < self.expires
    }
}

/// `ann@contoso.test` as `a•••@contoso.test`: enough for the user to recognise, little for
/// anyone else.
pub fn hint(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-12-07 09:00 UTC);
    use MethodKind::{AuthenticatorApp as App, Passkey};
    use ResetMethod as R;

    #[test]
    fn who_may_reset_with_what() {
        // (role, registered, confirmed address, outcome: Ok(needed) or the refusal)
        type Row = (Role, &'static [MethodKind], bool, Result<u8, Refusal>);
        let rows: [Row; 11] = [
            (Role::User, &[App], false, Ok(1)),
            (Role::User, &[Passkey], false, Ok(1)),
            (Role::User, &[App, App], false, Ok(1)),
            (Role::User, &[], false, Err(Refusal::NotEnoughMethods)),
            (Role::User, &[], true, Err(Refusal::NotEnoughMethods)),
            (Role::SecurityReader, &[App], false, Err(Refusal::NotEnoughMethods)),
            (Role::SecurityReader, &[App], true, Ok(2)),
            (Role::SecurityReader, &[App, Passkey], false, Ok(2)),
            (Role::GlobalAdministrator, &[App, App], false, Err(Refusal::NotEnoughMethods)),
            (Role::GlobalAdministrator, &[], true, Err(Refusal::NotEnoughMethods)),
            (Role::GlobalAdministrator, &[Passkey, App, Passkey], true, Ok(2)),
        ];
        for (role, registered, mailable, want) in rows {
            let got = ResetFlow::begin("u1", role, true, registered, mailable, None, T).map(|f| f.needed);
            assert_eq!(got, want, "{role:?} with {registered:?}, mailable {mailable}");
        }
        assert_eq!(ResetFlow::begin("u1", Role::User, false, &[App], false, None, T), Err(Refusal::Disabled));
    }

    #[test]
    fn an_administrator_proves_two_different_methods_in_time() {
        let mut f = ResetFlow::begin("u1", Role::SecurityAdministrator, true, &[App, Passkey], false, None, T).unwrap();
        assert_eq!((f.still_needed(), f.remaining_kinds()), (2, vec![R::AuthenticatorApp, R::Passkey]));
        assert!(f.prove(R::AuthenticatorApp));
        assert!(!f.prove(R::AuthenticatorApp), "the same kind twice");
        assert_eq!((f.still_needed(), f.remaining_kinds()), (1, vec![R::Passkey]));
        assert!(!f.may_set_password(T));
        assert!(f.prove(R::Passkey));
        assert!(f.may_set_password(T + Duration::minutes(14)));
        assert!(!f.may_set_password(T + RESET_LIFETIME), "expired");
    }

    #[test]
    fn a_mailed_code_counts_only_beside_a_registered_method() {
        // An administrator with one app and a confirmed address: the code, then the app.
        let mut f = ResetFlow::begin("u1", Role::GlobalAdministrator, true, &[App], true, None, T).unwrap();
        assert_eq!(f.remaining_kinds(), vec![R::AuthenticatorApp, R::EmailCode]);
        assert!(f.prove(R::EmailCode));
        assert_eq!((f.still_needed(), f.remaining_kinds()), (1, vec![R::AuthenticatorApp]));
        assert!(f.prove(R::AuthenticatorApp));
        assert!(f.may_set_password(T));
        // Alone it is never enough: a user (one method) is not offered it.
        let f = ResetFlow::begin("u1", Role::User, true, &[Passkey], true, None, T).unwrap();
        assert_eq!(f.remaining_kinds(), vec![R::Passkey]);
        // Even if a flow listed it, it could not be the only method proved.
        let mut f = ResetFlow { needed: 1, kinds: vec![R::Passkey, R::EmailCode], ..f };
        assert_eq!(f.remaining_kinds(), vec![R::Passkey]);
        assert!(!f.prove(R::EmailCode));
        assert!(!f.may_set_password(T));
    }

    #[test]
    fn a_user_proves_one() {
        let mut f = ResetFlow::begin("u1", Role::User, true, &[Passkey], false, Some("flow1".into()), T).unwrap();
        assert!(!f.prove(R::AuthenticatorApp), "not registered");
        assert!(!f.prove(R::EmailCode), "no confirmed address");
        assert!(!f.may_set_password(T));
        assert!(f.prove(R::Passkey));
        assert!(f.may_set_password(T));
        assert_eq!(f.flow.as_deref(), Some("flow1"));
        assert_eq!(hint("ann@contoso.test"), "a•••@contoso.test");
    }
}
