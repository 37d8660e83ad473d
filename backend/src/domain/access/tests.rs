//! The access decision as a table: each row is facts → next step (and, where they matter, the
//! outcomes the sign-in log stores). The rows cover the README's interrupt matrix (enforcement
//! Off / Report-only / On, in scope or not, registered or not, grace or not, temporary access
//! pass, trusted networks) and every application case.

use super::*;
use proofup_shared::api::PolicyOutcome as O;
use proofup_shared::api::RegistrationEffect as E;
use time::macros::datetime;

const DEADLINE: OffsetDateTime = datetime!(2026-12-20 12:00 UTC);
const PAST: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

fn base() -> SignInFacts {
    SignInFacts {
        account: Account {
            enabled: true,
            role: Role::User,
            emergency_access: false,
            methods: Vec::new(),
            recovery_codes_left: 0,
        },
        proved: Factors::of(&[Factor::Password]),
        moment: Moment::SigningIn,
        channel: Channel::Portal,
        network: Network { trusted_for_registration: true },
        registration: Registration::Off,
        risk: Risk::NONE,
    }
}

fn app(f: impl Fn(&mut AppFacts)) -> Channel {
    let mut a = AppFacts {
        name: "Wiki".into(),
        require_mfa: false,
        mfa_requested: false,
        assigned: true,
        fresh_sign_in: false,
    };
    f(&mut a);
    Channel::Application(a)
}

fn prompt(mode: Mode) -> Registration {
    Registration::Prompt { deadline: DEADLINE, days_left: 14, mode }
}

fn required(mode: Mode) -> Registration {
    Registration::Required { deadline: PAST, mode }
}

fn with_app_method(f: &mut SignInFacts) {
    f.account.methods = vec![MethodKind::AuthenticatorApp];
}

const SKIP: Next = Next::Register { skip: Some((DEADLINE, 14)), deadline: Some(DEADLINE), network_blocked: false };
const NO_SKIP: Next = Next::Register { skip: None, deadline: Some(PAST), network_blocked: false };
const NO_SKIP_NO_DEADLINE: Next = Next::Register { skip: None, deadline: None, network_blocked: false };

fn prove(options: &[SecondFactorOption]) -> Next {
    Next::ProveFactor { options: options.to_vec() }
}

type Row = (&'static str, fn(&mut SignInFacts), Next);

fn risky(level: RiskLevel, policy: RiskPolicy) -> Risk {
    Risk { level: Some(level), policy, ..Risk::NONE }
}

fn risky_user(level: RiskLevel, remedy: proofup_shared::policy::UserRiskRemedy) -> Risk {
    Risk {
        user_level: Some(level),
        user_policy: UserRiskPolicy::Applies { mode: Mode::Enforced, level: RiskLevel::High, remedy },
        ..Risk::NONE
    }
}

fn on() -> RiskPolicy {
    RiskPolicy::Applies { mode: Mode::Enforced, level: RiskLevel::Medium, passkey_only_at_high: false, block_at: None }
}

fn passkey_only() -> RiskPolicy {
    RiskPolicy::Applies { mode: Mode::Enforced, level: RiskLevel::Medium, passkey_only_at_high: true, block_at: None }
}

#[test]
fn the_access_decision_as_a_table() {
    use SecondFactorOption as S;
    let rows: Vec<Row> = vec![
        // The registration policy at an interactive password sign-in (the README's matrix).
        ("off: nothing", |_| {}, Next::Allow),
        (
            "on, not included",
            |f| f.registration = Registration::NotApplied { excluded: false, reason: "Not included.".into() },
            Next::Allow,
        ),
        (
            "on, excluded (emergency access is always)",
            |f| {
                f.account.emergency_access = true;
                f.registration = Registration::NotApplied {
                    excluded: true,
                    reason: "Emergency-access account: always excluded.".into(),
                };
            },
            Next::Allow,
        ),
        ("on, in grace: skip offered", |f| f.registration = prompt(Mode::Enforced), SKIP),
        ("on, grace over: no skip", |f| f.registration = required(Mode::Enforced), NO_SKIP),
        ("report-only prompt: never interrupts", |f| f.registration = prompt(Mode::ReportOnly), Next::Allow),
        ("report-only required: never interrupts", |f| f.registration = required(Mode::ReportOnly), Next::Allow),
        ("on without the control: nothing", |f| f.registration = prompt(Mode::NoControl), Next::Allow),
        (
            "registered: prove the method",
            |f| {
                with_app_method(f);
                f.registration = Registration::Registered;
            },
            prove(&[S::AuthenticatorApp]),
        ),
        ("registered, policy off: prove it all the same", with_app_method, prove(&[S::AuthenticatorApp])),
        (
            "options most secure first, recovery codes last",
            |f| {
                f.account.methods = vec![MethodKind::AuthenticatorApp, MethodKind::Passkey];
                f.account.recovery_codes_left = 3;
            },
            prove(&[S::Passkey, S::AuthenticatorApp, S::RecoveryCode]),
        ),
        (
            "second factor proved: done",
            |f| {
                with_app_method(f);
                f.proved = f.proved.with(Factor::AuthenticatorApp);
            },
            Next::Allow,
        ),
        (
            "a method registered at the interrupt finishes it",
            |f| {
                with_app_method(f);
                f.registration = prompt(Mode::Enforced);
                f.proved = f.proved.with(Factor::NewMethod);
            },
            Next::Allow,
        ),
        // Trusted networks for registration.
        (
            "in grace from outside the trusted networks: registering needs a pass",
            |f| {
                f.registration = prompt(Mode::Enforced);
                f.network.trusted_for_registration = false;
            },
            Next::Register { skip: Some((DEADLINE, 14)), deadline: Some(DEADLINE), network_blocked: true },
        ),
        // Temporary access pass.
        (
            "pass: choose a password first",
            |f| {
                f.proved = Factors::of(&[Factor::TemporaryAccessPass]);
                f.registration = required(Mode::Enforced);
                with_app_method(f);
            },
            Next::SetPassword,
        ),
        (
            "pass, password chosen, a method: the pass stands in for it",
            |f| {
                f.proved = Factors::of(&[Factor::TemporaryAccessPass, Factor::PasswordChosen]);
                with_app_method(f);
            },
            Next::Allow,
        ),
        (
            "pass, password chosen, no method, policy interrupts: register from anywhere",
            |f| {
                f.proved = Factors::of(&[Factor::TemporaryAccessPass, Factor::PasswordChosen]);
                f.registration = prompt(Mode::Enforced);
                f.network.trusted_for_registration = false;
            },
            SKIP,
        ),
        (
            "pass, password chosen, no method, policy off",
            |f| {
                f.proved = Factors::of(&[Factor::TemporaryAccessPass, Factor::PasswordChosen]);
            },
            Next::Allow,
        ),
        // Disabled.
        (
            "disabled: denied",
            |f| {
                f.account.enabled = false;
                f.registration = prompt(Mode::Enforced);
            },
            Next::Deny(Denied::Disabled),
        ),
        // Signing in to an application.
        ("application, nothing required", |f| f.channel = app(|_| {}), Next::Allow),
        (
            "application in grace: skip as in the portal",
            |f| {
                f.channel = app(|_| {});
                f.registration = prompt(Mode::Enforced);
            },
            SKIP,
        ),
        (
            "application requires MFA, no method, policy off: register now, no skip",
            |f| {
                f.channel = app(|a| a.require_mfa = true);
            },
            NO_SKIP_NO_DEADLINE,
        ),
        (
            "application requires MFA, no method, in grace: no skip",
            |f| {
                f.channel = app(|a| a.require_mfa = true);
                f.registration = prompt(Mode::Enforced);
            },
            NO_SKIP_NO_DEADLINE,
        ),
        (
            "acr_values asks for MFA, no method, in grace: the same as require MFA",
            |f| {
                f.channel = app(|a| a.mfa_requested = true);
                f.registration = prompt(Mode::Enforced);
            },
            NO_SKIP_NO_DEADLINE,
        ),
        (
            "application requires MFA, a method: prove it",
            |f| {
                f.channel = app(|a| a.require_mfa = true);
                with_app_method(f);
            },
            prove(&[S::AuthenticatorApp]),
        ),
        (
            "application requires MFA, pass, no method: register after the password",
            |f| {
                f.channel = app(|a| a.require_mfa = true);
                f.proved = Factors::of(&[Factor::TemporaryAccessPass, Factor::PasswordChosen]);
                f.network.trusted_for_registration = false;
            },
            NO_SKIP_NO_DEADLINE,
        ),
        (
            "not assigned: the factors first, then denied",
            |f| {
                f.channel = app(|a| a.assigned = false);
                with_app_method(f);
            },
            prove(&[S::AuthenticatorApp]),
        ),
        (
            "not assigned, signed in: denied",
            |f| {
                f.channel = app(|a| a.assigned = false);
                f.moment = Moment::Completed;
            },
            Next::Deny(Denied::NotAssigned),
        ),
        (
            "completed: the steps are not asked again (a skip stands)",
            |f| {
                f.channel = app(|_| {});
                f.registration = prompt(Mode::Enforced);
                f.moment = Moment::Completed;
            },
            Next::Allow,
        ),
        (
            "completed, requires MFA, a method registered in this sign-in",
            |f| {
                f.channel = app(|a| a.require_mfa = true);
                with_app_method(f);
                f.proved = f.proved.with(Factor::NewMethod);
                f.moment = Moment::Completed;
            },
            Next::Allow,
        ),
        (
            "completed, requires MFA, a pass for a user with methods: denied",
            |f| {
                f.channel = app(|a| a.require_mfa = true);
                with_app_method(f);
                f.proved = Factors::of(&[Factor::TemporaryAccessPass, Factor::PasswordChosen]);
                f.moment = Moment::Completed;
            },
            Next::Deny(Denied::MfaRequired),
        ),
        (
            "completed, disabled meanwhile: denied",
            |f| {
                f.channel = app(|_| {});
                f.account.enabled = false;
                f.moment = Moment::Completed;
            },
            Next::Deny(Denied::Disabled),
        ),
        // Single sign-on with an existing session.
        (
            "sso: reused",
            |f| {
                f.channel = app(|_| {});
                f.moment = Moment::ExistingSession;
            },
            Next::Allow,
        ),
        (
            "sso, prompt=login or max_age: sign in again",
            |f| {
                f.channel = app(|a| a.fresh_sign_in = true);
                f.moment = Moment::ExistingSession;
            },
            Next::SignInAgain(Again::Requested),
        ),
        (
            "sso, requires MFA, session without it",
            |f| {
                f.channel = app(|a| a.require_mfa = true);
                with_app_method(f);
                f.moment = Moment::ExistingSession;
            },
            Next::SignInAgain(Again::MfaRequired { application: "Wiki".into() }),
        ),
        (
            "sso, acr_values MFA, session without it",
            |f| {
                f.channel = app(|a| a.mfa_requested = true);
                f.moment = Moment::ExistingSession;
            },
            Next::SignInAgain(Again::MfaRequired { application: "Wiki".into() }),
        ),
        (
            "sso, requires MFA, session used it",
            |f| {
                f.channel = app(|a| a.require_mfa = true);
                with_app_method(f);
                f.proved = f.proved.with(Factor::Passkey);
                f.moment = Moment::ExistingSession;
            },
            Next::Allow,
        ),
        (
            "sso, registration required now: sign in again",
            |f| {
                f.channel = app(|_| {});
                f.registration = required(Mode::Enforced);
                f.moment = Moment::ExistingSession;
            },
            Next::SignInAgain(Again::RegistrationRequired),
        ),
        (
            "sso, report-only required: reused",
            |f| {
                f.channel = app(|_| {});
                f.registration = required(Mode::ReportOnly);
                f.moment = Moment::ExistingSession;
            },
            Next::Allow,
        ),
        (
            "sso in grace: reused, registration deferred",
            |f| {
                f.channel = app(|_| {});
                f.registration = prompt(Mode::Enforced);
                f.moment = Moment::ExistingSession;
            },
            Next::Allow,
        ),
        (
            "sso, not assigned: denied",
            |f| {
                f.channel = app(|a| a.assigned = false);
                f.moment = Moment::ExistingSession;
            },
            Next::Deny(Denied::NotAssigned),
        ),
        // The sign-in risk policy (issue 28): steps up, never offers a skip or registration to a
        // risky password-only sign-in, blocks only when told to.
        ("risk, policy off: noted only", |f| f.risk = risky(RiskLevel::High, RiskPolicy::Off), Next::Allow),
        ("risk below the policy's level: allowed", |f| f.risk = risky(RiskLevel::Low, on()), Next::Allow),
        (
            "risk at the level, no method: blocked (a pass is the way out)",
            |f| f.risk = risky(RiskLevel::Medium, on()),
            Next::Deny(Denied::RiskNoMethod { passkey: false }),
        ),
        (
            "risk, no method, in grace: no skip, no registration: blocked",
            |f| {
                f.risk = risky(RiskLevel::Medium, on());
                f.registration = prompt(Mode::Enforced);
            },
            Next::Deny(Denied::RiskNoMethod { passkey: false }),
        ),
        (
            "risk, temporary access pass, password chosen, no method: registers without a skip",
            |f| {
                f.risk = risky(RiskLevel::Medium, on());
                f.registration = prompt(Mode::Enforced);
                f.proved = Factors::of(&[Factor::TemporaryAccessPass, Factor::PasswordChosen]);
            },
            Next::Register { skip: None, deadline: Some(DEADLINE), network_blocked: false },
        ),
        (
            "risk, an app method: prove it",
            |f| {
                with_app_method(f);
                f.risk = risky(RiskLevel::Medium, on());
            },
            prove(&[S::AuthenticatorApp]),
        ),
        (
            "high risk, passkey only, app code proved: a passkey is still asked",
            |f| {
                f.account.methods = vec![MethodKind::AuthenticatorApp, MethodKind::Passkey];
                f.account.recovery_codes_left = 5;
                f.proved = f.proved.with(Factor::AuthenticatorApp);
                f.risk = risky(RiskLevel::High, passkey_only());
            },
            prove(&[S::Passkey]),
        ),
        (
            "high risk, passkey only, TOTP only: blocked with a clear reason (AT-9)",
            |f| {
                with_app_method(f);
                f.risk = risky(RiskLevel::High, passkey_only());
            },
            Next::Deny(Denied::RiskNoMethod { passkey: true }),
        ),
        (
            "medium risk, passkey only at high: the app code counts",
            |f| {
                with_app_method(f);
                f.risk = risky(RiskLevel::Medium, passkey_only());
            },
            prove(&[S::AuthenticatorApp]),
        ),
        (
            "high risk, passkey proved: allowed",
            |f| {
                f.account.methods = vec![MethodKind::Passkey];
                f.proved = f.proved.with(Factor::Passkey);
                f.risk = risky(RiskLevel::High, passkey_only());
            },
            Next::Allow,
        ),
        (
            "blocked at high",
            |f| {
                with_app_method(f);
                f.risk = risky(
                    RiskLevel::High,
                    RiskPolicy::Applies {
                        mode: Mode::Enforced,
                        level: RiskLevel::Medium,
                        passkey_only_at_high: false,
                        block_at: Some(RiskLevel::High),
                    },
                );
            },
            Next::Deny(Denied::Risky),
        ),
        (
            "report-only: never interrupts (AT-8)",
            |f| {
                f.risk = risky(
                    RiskLevel::High,
                    RiskPolicy::Applies {
                        mode: Mode::ReportOnly,
                        level: RiskLevel::Medium,
                        passkey_only_at_high: true,
                        block_at: Some(RiskLevel::High),
                    },
                )
            },
            Next::Allow,
        ),
        (
            "sso with a risky request: sign in again (prompt=none: interaction_required)",
            |f| {
                f.moment = Moment::ExistingSession;
                f.channel = app(|_| {});
                f.risk = risky(RiskLevel::Medium, on());
            },
            Next::SignInAgain(Again::Risky),
        ),
        (
            "user risk high, secure password change: a second factor first",
            |f| {
                with_app_method(f);
                f.risk = risky_user(RiskLevel::High, proofup_shared::policy::UserRiskRemedy::SecurePasswordChange);
            },
            prove(&[S::AuthenticatorApp]),
        ),
        (
            "user risk high, second factor proved: then a new password (AT-11)",
            |f| {
                with_app_method(f);
                f.proved = f.proved.with(Factor::AuthenticatorApp);
                f.risk = risky_user(RiskLevel::High, proofup_shared::policy::UserRiskRemedy::SecurePasswordChange);
            },
            Next::SetPassword,
        ),
        (
            "user risk high, password changed: allowed",
            |f| {
                with_app_method(f);
                f.proved = f.proved.with(Factor::AuthenticatorApp).with(Factor::PasswordChosen);
                f.risk = risky_user(RiskLevel::High, proofup_shared::policy::UserRiskRemedy::SecurePasswordChange);
            },
            Next::Allow,
        ),
        (
            "user risk high, revoke: allowed after the second factor (the service revokes)",
            |f| {
                with_app_method(f);
                f.proved = f.proved.with(Factor::AuthenticatorApp);
                f.risk = risky_user(RiskLevel::High, proofup_shared::policy::UserRiskRemedy::RevokeAndReauthenticate);
            },
            Next::Allow,
        ),
        (
            "user risk high, revoke, a passkey among the methods: the passkey",
            |f| {
                f.account.methods = vec![MethodKind::AuthenticatorApp, MethodKind::Passkey];
                f.risk = risky_user(RiskLevel::High, proofup_shared::policy::UserRiskRemedy::RevokeAndReauthenticate);
            },
            prove(&[S::Passkey]),
        ),
        (
            "user risk high, revoke, an app only: its code",
            |f| {
                with_app_method(f);
                f.risk = risky_user(RiskLevel::High, proofup_shared::policy::UserRiskRemedy::RevokeAndReauthenticate);
            },
            prove(&[S::AuthenticatorApp]),
        ),
        (
            "user risk medium under a policy at high: nothing",
            |f| f.risk = risky_user(RiskLevel::Medium, proofup_shared::policy::UserRiskRemedy::SecurePasswordChange),
            Next::Allow,
        ),
        (
            "user risk high, no method: blocked (a pass is the way out)",
            |f| f.risk = risky_user(RiskLevel::High, proofup_shared::policy::UserRiskRemedy::SecurePasswordChange),
            Next::Deny(Denied::RiskNoMethod { passkey: false }),
        ),
        (
            "user risk high, single sign-on: sign in again",
            |f| {
                f.moment = Moment::ExistingSession;
                f.channel = app(|_| {});
                f.proved = f.proved.with(Factor::AuthenticatorApp);
                f.risk = risky_user(RiskLevel::High, proofup_shared::policy::UserRiskRemedy::SecurePasswordChange);
            },
            Next::SignInAgain(Again::Risky),
        ),
        (
            "sso, risky, the session proved a second factor: reused",
            |f| {
                f.moment = Moment::ExistingSession;
                f.channel = app(|_| {});
                f.proved = f.proved.with(Factor::AuthenticatorApp);
                f.risk = risky(RiskLevel::Medium, on());
            },
            Next::Allow,
        ),
    ];
    let mut failures = Vec::new();
    for (name, edit, want) in &rows {
        let mut f = base();
        edit(&mut f);
        let got = decide(&f).next;
        if got != *want {
            failures.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows:\n{}", failures.len(), rows.len(), failures.join("\n"));
}

#[test]
fn the_outcomes_say_what_each_policy_did_in_the_logs_order() {
    let mut f = base();
    f.registration = prompt(Mode::Enforced);
    assert_eq!(decide(&f).outcomes, vec![O::Registration { effect: E::Prompted { days_left: 14 } }]);
    f.registration = prompt(Mode::ReportOnly);
    assert_eq!(decide(&f).outcomes, vec![O::Registration { effect: E::WouldPrompt { days_left: 14 } }]);
    with_app_method(&mut f);
    f.registration = Registration::Registered;
    assert_eq!(
        decide(&f).outcomes,
        vec![O::SecondFactorPending, O::Registration { effect: E::Registered }],
        "the pending second factor first, then the policy"
    );
    let mut f = base();
    f.channel = app(|a| a.require_mfa = true);
    assert_eq!(
        decide(&f).outcomes,
        vec![O::Registration { effect: E::Off }, O::ApplicationRequiresMfa { application: "Wiki".into() }]
    );
    let mut f = base();
    f.channel = app(|_| {});
    f.registration = prompt(Mode::Enforced);
    f.moment = Moment::ExistingSession;
    assert_eq!(decide(&f).outcomes, vec![O::RegistrationDeferred { days_left: 14 }]);
    // A pass asks for the password before anything is evaluated.
    let mut f = base();
    f.proved = Factors::of(&[Factor::TemporaryAccessPass]);
    f.registration = prompt(Mode::Enforced);
    assert_eq!(decide(&f).outcomes, vec![]);
    // The rendered sentence is the log's reason.
    assert_eq!(
        proofup_shared::api::describe_outcomes(
            "Password",
            &[O::SecondFactorPending, O::Registration { effect: E::Registered }]
        ),
        "Password; second factor pending; MFA registration policy: registered"
    );
}

#[test]
fn what_a_stored_session_proved_and_what_a_session_says() {
    let t = datetime!(2026-12-06 10:00 UTC);
    let s = |amr: &[&str], via_pass: bool, mfa_at| Session {
        amr: amr.iter().map(|m| (*m).to_owned()).collect(),
        via_pass,
        mfa_at,
        ..Session::begun("u", t, "127.0.0.1", "ua")
    };
    let f = Factors::of_session(&s(&["pwd", "otp", "mfa"], false, Some(t)), t);
    assert!(f.has(Factor::Password) && f.has(Factor::AuthenticatorApp) && !f.has(Factor::NewMethod));
    let f = Factors::of_session(&s(&["pwd", "hwk", "user", "mfa"], false, Some(t)), t);
    assert!(f.has(Factor::Passkey) && f.second_factor());
    let f = Factors::of_session(&s(&["pwd", "mfa"], false, Some(t)), t);
    assert!(f.has(Factor::RecoveryCode), "a recovery code says only mfa");
    // A method registered at the interrupt: mfa_at set, amr without a second factor.
    let registered = s(&[], false, Some(t));
    assert!(Factors::of_session(&registered, t).has(Factor::NewMethod));
    assert!(!Factors::of_session(&registered, t + time::Duration::seconds(1)).has(Factor::NewMethod), "before since");
    assert!(!Factors::of_session(&registered, t).second_factor(), "not MFA");
    let f = Factors::of_session(&s(&[], true, None), t);
    assert!(f.has(Factor::TemporaryAccessPass) && f.has(Factor::PasswordChosen) && !f.has(Factor::Password));
    assert!(may_register(f, Network { trusted_for_registration: false }), "a pass registers from anywhere");
    let pwd = Factors::of(&[Factor::Password]);
    assert!(!may_register(pwd, Network { trusted_for_registration: false }));
    assert!(may_register(pwd, Network { trusted_for_registration: true }));
    // What a complete session says (RFC 8176), from what its sign-in proved; round trip of the set.
    assert_eq!(pwd.amr(), ["pwd"]);
    assert_eq!(pwd.with(Factor::AuthenticatorApp).amr(), ["pwd", "otp", "mfa"]);
    assert_eq!(pwd.with(Factor::Passkey).amr(), ["pwd", "hwk", "user", "mfa"]);
    assert_eq!(pwd.with(Factor::RecoveryCode).amr(), ["pwd", "mfa"]);
    assert_eq!(pwd.with(Factor::NewMethod).amr(), ["pwd"], "a method registered is not MFA");
    for amr in [pwd.with(Factor::AuthenticatorApp).amr(), pwd.with(Factor::Passkey).amr()] {
        assert_eq!(
            Factors::of_session(&s(&amr.iter().map(String::as_str).collect::<Vec<_>>(), false, Some(t)), t).amr(),
            amr
        );
    }
    let stored = serde_json::to_string(&pwd.with(Factor::NewMethod)).unwrap();
    assert_eq!(stored, r#"["password","new_method"]"#);
    assert_eq!(serde_json::from_str::<Factors>(&stored).unwrap(), pwd.with(Factor::NewMethod));
}

#[test]
fn a_session_left_part_way_by_an_older_version_is_not_signed_in() {
    let old = |stage: &str| -> Session {
        serde_json::from_value(serde_json::json!({
            "user_id": "u", "created_at": "2026-12-06T10:00:00Z", "last_seen_at": "2026-12-06T10:00:00Z",
            "ip": "127.0.0.1", "user_agent": "ua", "stage": stage
        }))
        .unwrap()
    };
    assert!(old("full").complete());
    for stage in ["second_factor", "register_mfa", "must_set_password"] {
        assert!(!old(stage).complete(), "{stage}");
    }
    let now = Session::begun("u", datetime!(2026-12-06 10:00 UTC), "127.0.0.1", "ua");
    assert!(now.complete());
    assert!(!serde_json::to_string(&now).unwrap().contains("stage"), "never written");
}

#[test]
fn the_risk_policy_says_what_it_did_in_the_log() {
    use proofup_shared::api::RiskEffect as R;
    let mut f = base();
    f.risk = risky(
        RiskLevel::High,
        RiskPolicy::Applies {
            mode: Mode::ReportOnly,
            level: RiskLevel::Medium,
            passkey_only_at_high: true,
            block_at: None,
        },
    );
    assert_eq!(decide(&f).outcomes[0], O::SignInRisk { level: RiskLevel::High, effect: R::WouldRequirePasskey });
    f.risk = risky(RiskLevel::Medium, on());
    assert_eq!(decide(&f).outcomes[0], O::SignInRisk { level: RiskLevel::Medium, effect: R::NoMethod });
    f.risk = risky(RiskLevel::Low, on());
    assert_eq!(decide(&f).outcomes[0], O::SignInRisk { level: RiskLevel::Low, effect: R::Noted });
    f.risk = Risk::NONE;
    assert!(decide(&f).outcomes.iter().all(|o| !matches!(o, O::SignInRisk { .. })), "no risk, no outcome");
}
