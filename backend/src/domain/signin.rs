//! What a sign-in must do next, once the first factor is verified. Pure.

use super::model::SessionStage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstFactor {
    Password,
    /// An administrator-issued one-time pass: strong enough to stand in for the
    /// second factor (like Entra's Temporary Access Pass), but the user must
    /// choose a password first.
    TemporaryAccessPass,
}

/// The stage of the new session after the first factor.
///
/// `interrupt` is whether the MFA registration policy interrupts this user now
/// (only asked when the user has no method).
pub fn after_first_factor(first: FirstFactor, methods: u32, interrupt: impl FnOnce() -> bool) -> SessionStage {
    match first {
        FirstFactor::TemporaryAccessPass => SessionStage::MustSetPassword,
        FirstFactor::Password if methods > 0 => SessionStage::SecondFactor,
        FirstFactor::Password if interrupt() => SessionStage::RegisterMfa,
        FirstFactor::Password => SessionStage::Full,
    }
}

/// After a temporary-access-pass session chose its password: the pass counted
/// as strong authentication, so only the registration policy may still interrupt.
pub fn after_password_chosen(methods: u32, interrupt: impl FnOnce() -> bool) -> SessionStage {
    if methods == 0 && interrupt() {
        SessionStage::RegisterMfa
    } else {
        SessionStage::Full
    }
}

/// The ways to finish the second step (shared with the portal).
pub use proofup_shared::mfa::second_factor_options;

#[cfg(test)]
mod tests {
    use super::*;
    use proofup_shared::mfa::{MethodKind, SecondFactorOption};

    #[test]
    fn options_most_secure_first() {
        use MethodKind::*;
        use SecondFactorOption as O;
        assert_eq!(
            second_factor_options([AuthenticatorApp, Passkey, AuthenticatorApp], 3),
            vec![O::Passkey, O::AuthenticatorApp, O::RecoveryCode]
        );
        assert_eq!(second_factor_options([AuthenticatorApp], 0), vec![O::AuthenticatorApp]);
        assert_eq!(second_factor_options([], 10), vec![], "recovery codes alone are not a method");
    }

    #[test]
    fn next_steps() {
        use FirstFactor::*;
        assert_eq!(after_first_factor(TemporaryAccessPass, 2, || true), SessionStage::MustSetPassword);
        assert_eq!(after_first_factor(Password, 1, || panic!("not asked")), SessionStage::SecondFactor);
        assert_eq!(after_first_factor(Password, 0, || true), SessionStage::RegisterMfa);
        assert_eq!(after_first_factor(Password, 0, || false), SessionStage::Full);
        assert_eq!(after_password_chosen(0, || true), SessionStage::RegisterMfa);
        assert_eq!(after_password_chosen(1, || true), SessionStage::Full);
        assert_eq!(after_password_chosen(0, || false), SessionStage::Full);
    }
}
