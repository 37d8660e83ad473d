//! Sign-in details beside the access decision (`domain::access`): the second step's options,
//! and which log entries are counted rather than kept one by one. Pure.

/// The row a sign-in log entry is counted in, when it is one of many alike; `None` for an entry
/// kept on its own. Counted, one row per UTC minute (the key), with the number of attempts:
/// - a refused attempt (failed, throttled, blocked) that names no known user, which anyone can
///   send at any rate: per source address, outcome, reason and application;
/// - a successful non-interactive grant (a refresh, client credentials): machine traffic, as
///   often as an application likes; per user (or client), application, address and reason. The
///   log still says who, to what, from where and how often, without growing with every token.
///
/// Everything else — any interactive sign-in, any refusal about a real user (a reused refresh
/// token among them) — is kept on its own row.
pub fn aggregate_key(e: &crate::domain::records::SignInRecord) -> Option<String> {
    use proofup_shared::api::SignInResult::Success;
    let who = match (e.result, e.interactive, e.user_id.as_deref()) {
        (Success, false, user) => user.unwrap_or(&e.username),
        (Success, true, _) | (_, _, Some(_)) => return None,
        (_, _, None) => "",
    };
    let minute = e.at.unix_timestamp().div_euclid(60);
    // The minute first, zero-padded: keys sort by time, so old ones are removed by range.
    Some(format!("{minute:012}|{}|{:?}|{}|{}|{who}", e.ip, e.result, e.reason, e.application.as_deref().unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proofup_shared::mfa::{second_factor_options, MethodKind, SecondFactorOption};

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
    fn refused_attempts_without_a_user_and_machine_grants_share_a_row_per_minute() {
        use crate::domain::records::SignInRecord;
        use proofup_shared::api::SignInResult;
        use time::macros::datetime;
        let e = |at, user: Option<&str>, result, ip: &str, reason: &str| SignInRecord {
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
            outcomes: Vec::new(),
            place: None,
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
        // Anything about a real user, and every interactive success, is kept on its own.
        assert_eq!(aggregate_key(&e(t, Some("u1"), SignInResult::Failure, "203.0.113.7", "Wrong password")), None);
        assert_eq!(aggregate_key(&e(t, Some("u1"), SignInResult::Throttled, "203.0.113.7", "Throttled")), None);
        assert_eq!(aggregate_key(&e(t, Some("u1"), SignInResult::Success, "203.0.113.7", "Password")), None);
        let machine = |user: Option<&str>, f: &dyn Fn(&mut SignInRecord)| {
            let mut m = e(t, user, SignInResult::Success, "203.0.113.7", "Token refreshed");
            m.interactive = false;
            m.application = Some("Wiki".into());
            f(&mut m);
            m
        };
        assert_eq!(
            aggregate_key(&machine(Some("u1"), &|_| ())),
            Some("000029942535|203.0.113.7|Success|Token refreshed|Wiki|u1".into()),
            "the minute first: old rows go by range"
        );
        let refresh = aggregate_key(&machine(Some("u1"), &|_| ())).unwrap();
        // A non-interactive success: one row per user or client, application, address, reason and minute.
        assert_eq!(
            aggregate_key(&machine(Some("u1"), &|m| m.at += time::Duration::seconds(58))),
            Some(refresh.clone())
        );
        for other in [
            machine(Some("u2"), &|_| ()),
            machine(Some("u1"), &|m| m.application = Some("Chat".into())),
            machine(Some("u1"), &|m| m.ip = "203.0.113.8".into()),
            machine(Some("u1"), &|m| m.at += time::Duration::seconds(59)),
            machine(None, &|m| m.username = "app:wiki".into()),
        ] {
            let k = aggregate_key(&other).unwrap();
            assert_ne!(k, refresh, "{other:?}");
        }
        let cc = |app: &str| aggregate_key(&machine(None, &|m| m.username = format!("app:{app}"))).unwrap();
        assert_ne!(cc("wiki"), cc("chat"), "client credentials: one row per client");
    }
}
