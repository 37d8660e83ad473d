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

/// The row a sign-in log entry is counted in, when it is one of many alike: a refused attempt
/// (failed, throttled, blocked) that names no known user, which anyone can send at any rate. Such
/// entries share one row per source address, outcome, reason and UTC minute (the key), with a
/// count; `None` for every entry that is kept on its own (anything about a real user).
pub fn aggregate_key(e: &proofup_shared::api::SignInLogEntry) -> Option<String> {
    if e.user_id.is_some() || e.result == proofup_shared::api::SignInResult::Success {
        return None;
    }
    let minute = e.at.unix_timestamp().div_euclid(60);
    // The minute first, zero-padded: keys sort by time, so old ones are removed by range.
    Some(format!("{minute:012}|{}|{:?}|{}|{}", e.ip, e.result, e.reason, e.application.as_deref().unwrap_or("")))
}

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

    #[test]
    fn refused_attempts_without_a_user_share_a_row_per_source_outcome_and_minute() {
        use proofup_shared::api::{SignInLogEntry, SignInResult};
        use time::macros::datetime;
        let e = |at, user: Option<&str>, result, ip: &str, reason: &str| SignInLogEntry {
            id: String::new(),
            at,
            username: "nobody".into(),
            user_id: user.map(str::to_owned),
            result,
            reason: reason.into(),
            ip: ip.into(),
            user_agent: String::new(),
            interactive: true,
            application: None,
            count: 1,
        };
        let t = datetime!(2026-12-06 10:15:01 UTC);
        let base = aggregate_key(&e(t, None, SignInResult::Failure, "203.0.113.7", "Unknown user")).unwrap();
        // Same source, outcome and minute: one row, whatever the username.
        assert_eq!(
            aggregate_key(&e(
                t + time::Duration::seconds(58),
                None,
                SignInResult::Failure,
                "203.0.113.7",
                "Unknown user"
            )),
            Some(base.clone())
        );
        // Another minute, source, outcome or reason: another row.
        for other in [
            e(t + time::Duration::seconds(59), None, SignInResult::Failure, "203.0.113.7", "Unknown user"),
            e(t, None, SignInResult::Failure, "203.0.113.8", "Unknown user"),
            e(t, None, SignInResult::Throttled, "203.0.113.7", "Unknown user"),
            e(t, None, SignInResult::Failure, "203.0.113.7", "Too many attempts from this address"),
        ] {
            assert_ne!(aggregate_key(&other), Some(base.clone()), "{other:?}");
            assert!(aggregate_key(&other).is_some());
        }
        // Anything about a real user, and every success, is kept on its own.
        assert_eq!(aggregate_key(&e(t, Some("u1"), SignInResult::Failure, "203.0.113.7", "Wrong password")), None);
        assert_eq!(aggregate_key(&e(t, Some("u1"), SignInResult::Throttled, "203.0.113.7", "Throttled")), None);
        assert_eq!(aggregate_key(&e(t, None, SignInResult::Success, "203.0.113.7", "Client credentials")), None);
    }
}
