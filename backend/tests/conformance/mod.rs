//! The store conformance suite: what every engine behind `proofup::store::Store` must do.
//!
//! Each function takes an [`Engine`] and checks one aggregate through the port alone, so it runs
//! unchanged against sled today and against every later engine. An engine's test file calls
//! `conformance_tests!(its_engine_constructor)`, which makes one `#[test]` per function.
#![allow(dead_code, clippy::unwrap_used)]

use proofup::domain::records::{AlertRecord, AuditRecord, PolicyRecord, SignInRecord};
use std::collections::HashSet;
use std::sync::Arc;

use proofup::domain::model::{Group, Method, RecoveryCodeSet, Session, User};
use proofup::domain::notify::{Channel, EventKind, Message};
use proofup::domain::policy::RegistrationState;
use proofup::domain::session::SessionLimits;
use proofup::domain::setup::SetupTokenRecord;
use proofup::domain::tap::TapRecord;
use proofup::domain::throttle::ThrottleDecision;
use proofup::store::Conflict;
use proofup::store::{AuditDraft, AuditFilter, SignInFilter, Store, StoreError, UserFilter};
use proofup_shared::api::{Role, SignInResult};
use proofup_shared::directory::MemberKind;
use proofup_shared::mfa::MethodKind;
use proofup_shared::policy::Enforcement;
use time::{Duration, OffsetDateTime};

/// Every case as (name, function), for engines that run them one after another (on one server).
#[macro_export]
macro_rules! conformance_cases {
    (; $($name:ident),*) => {
        vec![$((stringify!($name), $crate::conformance::$name as fn(&mut dyn $crate::conformance::Engine))),*]
    };
}

/// A store under test, and how to get the same data back after closing it.
pub trait Engine {
    fn store(&self) -> Arc<dyn Store>;
    /// Closes the store (dropping every handle this engine holds) and opens it again.
    fn reopen(&mut self);
}

/// Calls `$then!(args; case, case, ...)` with every case of the suite: the one list of them.
#[macro_export]
macro_rules! with_conformance_cases {
    ($then:ident!($($args:tt)*)) => {
        $crate::$then! {$($args)*;
            users_are_created_read_updated_and_deleted,
            usernames_and_group_names_are_unique,
            users_page_with_cursors_and_filters,
            sessions_belong_to_users_and_are_swept,
            login_flows_are_not_sessions_and_end_with_them,
            ceremonies_are_taken_once_and_swept,
            passes_are_single_use,
            setup_completes_once,
            throttle_reservations_count_every_concurrent_attempt,
            groups_nest_and_forget_their_edges,
            groups_page_by_name,
            a_totp_step_is_spent_exactly_once,
            a_code_step_reads_ahead_and_writes_behind_its_spent_step,
            methods_and_recovery_codes,
            logs_are_newest_first_filtered_windowed_and_paged,
            logs_are_pruned_by_age_and_rows,
            counted_sign_ins_lose_no_attempt_under_concurrency,
            policy_versions_refuse_a_stale_save,
            alerts_and_webhook_outbox,
            risk_profiles_and_detections,
            applications_and_the_signing_key_set,
            grants_end_with_their_tokens_and_refresh_tokens_are_spent_once,
            acknowledged_writes_survive_reopening
        }
    };
}

/// One `#[test]` per case, each on a new engine from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::with_conformance_cases!(conformance_tests!(@each $make));
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                let mut engine = $make;
                $crate::conformance::$name(&mut engine);
            }
        )*
    };
}

fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-01 09:00 UTC)
}

fn user(id: &str, username: &str, role: Role) -> User {
    User {
        id: id.into(),
        username: username.into(),
        display_name: format!("{username} display"),
        email: None,
        email_verified: false,
        admin_notices: false,
        role,
        enabled: true,
        emergency_access: false,
        password_hash: String::new(),
        created_at: t0(),
        updated_at: t0(),
        last_sign_in_at: None,
    }
}

fn group(id: &str, name: &str) -> Group {
    Group { id: id.into(), name: name.into(), description: String::new(), created_at: t0(), updated_at: t0() }
}

fn session(user_id: &str, at: OffsetDateTime) -> Session {
    Session::begun(user_id, at, "127.0.0.1", "conformance")
}

fn totp(user_id: &str, id: &str) -> Method {
    Method {
        id: id.into(),
        user_id: user_id.into(),
        kind: MethodKind::AuthenticatorApp,
        name: "Phone".into(),
        sealed_secret: "sealed".into(),
        credential_id: None,
        passkey: None,
        last_step: None,
        created_at: t0(),
        last_used_at: None,
    }
}

fn audit(action: &str, target: &str, at: OffsetDateTime) -> AuditDraft {
    AuditDraft(AuditRecord {
        id: String::new(),
        at,
        actor_id: Some("admin-id".into()),
        actor: "Admin".into(),
        action: action.into(),
        target_id: None,
        target: target.into(),
        changes: vec![],
        ip: "127.0.0.1".into(),
    })
}

fn a(action: &str) -> AuditDraft {
    audit(action, "", t0())
}

fn sign_in(username: &str, result: SignInResult, at: OffsetDateTime) -> SignInRecord {
    SignInRecord {
        id: String::new(),
        at,
        username: username.into(),
        user_id: None,
        result,
        reason: "conformance".into(),
        ip: "127.0.0.1".into(),
        user_agent: "conformance".into(),
        interactive: true,
        application: None,
        count: 1,
        outcomes: Vec::new(),
        place: None,
    }
}

fn key(n: u8) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[0] = n;
    k
}

pub fn users_are_created_read_updated_and_deleted(e: &mut dyn Engine) {
    let s = e.store();
    assert_eq!(s.count_users().unwrap(), 0);
    let mut u = user("u1", "alice", Role::User);
    s.create_user(&u, a("user.created")).unwrap();
    assert_eq!(s.user("u1").unwrap().unwrap(), u);
    assert_eq!(s.user_by_username("alice").unwrap().unwrap().id, "u1");
    assert!(s.user("nobody").unwrap().is_none());
    assert!(s.user_by_username("nobody").unwrap().is_none());
    u.display_name = "Alice Liddell".into();
    u.email = Some("alice@example.org".into());
    s.update_user(&u, a("user.updated")).unwrap();
    assert_eq!(s.user("u1").unwrap().unwrap().display_name, "Alice Liddell");
    let at = t0() + Duration::hours(1);
    s.set_last_sign_in("u1", at).unwrap();
    assert_eq!(s.user("u1").unwrap().unwrap().last_sign_in_at, Some(at));

    s.create_user(&user("u2", "bob", Role::GlobalAdministrator), a("user.created")).unwrap();
    let mut off = user("u3", "carol", Role::GlobalAdministrator);
    off.enabled = false;
    s.create_user(&off, a("user.created")).unwrap();
    assert_eq!(s.count_users().unwrap(), 3);
    assert_eq!(s.count_enabled_global_admins().unwrap(), 1);
    let mut seen = Vec::new();
    s.for_each_user(&mut |u| seen.push(u.id)).unwrap();
    seen.sort();
    assert_eq!(seen, ["u1", "u2", "u3"]);

    // Deleting a user takes their sessions and pass with them; log entries stay.
    s.create_session(&key(1), &session("u1", t0())).unwrap();
    s.put_pass("u1", &TapRecord::new("ABCD-EFGH-JKLM-NPQR", t0(), Duration::hours(1)), a("pass.issued")).unwrap();
    let audit_before = s.count_audit().unwrap();
    s.delete_user("u1", a("user.deleted")).unwrap();
    assert!(s.user("u1").unwrap().is_none());
    assert!(s.user_by_username("alice").unwrap().is_none());
    assert!(s.session(&key(1)).unwrap().is_none());
    assert!(s.user_sessions("u1").unwrap().is_empty());
    assert!(!s.take_pass("u1", &|_| true).unwrap());
    assert_eq!(s.count_audit().unwrap(), audit_before + 1);
    assert!(matches!(s.delete_user("u1", a("user.deleted")), Err(StoreError::NotFound)));
    // The username is free again.
    s.create_user(&user("u4", "alice", Role::User), a("user.created")).unwrap();
}

pub fn usernames_and_group_names_are_unique(e: &mut dyn Engine) {
    let s = e.store();
    s.create_user(&user("u1", "alice", Role::User), a("user.created")).unwrap();
    let audit = s.count_audit().unwrap();
    assert!(matches!(
        s.create_user(&user("u2", "alice", Role::User), a("user.created")),
        Err(StoreError::Conflict(Conflict::UsernameTaken(n))) if n == "alice"
    ));
    assert!(s.user("u2").unwrap().is_none());
    assert_eq!(s.count_audit().unwrap(), audit, "a refused change writes no audit entry");

    s.create_group(&group("g1", "Staff"), a("group.created")).unwrap();
    assert!(matches!(
        s.create_group(&group("g2", "STAFF"), a("group.created")),
        Err(StoreError::Conflict(Conflict::GroupNameTaken(_)))
    ));
    assert_eq!(s.group_by_name("staff").unwrap().unwrap().id, "g1");
    s.create_group(&group("g2", "Sales"), a("group.created")).unwrap();
    // A rename onto a taken name is refused and changes nothing; a free one moves the name.
    assert!(matches!(
        s.update_group(&group("g2", "staff"), a("group.updated")),
        Err(StoreError::Conflict(Conflict::GroupNameTaken(_)))
    ));
    assert_eq!(s.group("g2").unwrap().unwrap().name, "Sales");
    s.update_group(&group("g2", "Marketing"), a("group.updated")).unwrap();
    assert!(s.group_by_name("sales").unwrap().is_none());
    assert_eq!(s.group_by_name("marketing").unwrap().unwrap().id, "g2");
}

pub fn users_page_with_cursors_and_filters(e: &mut dyn Engine) {
    let s = e.store();
    for i in 0..25 {
        let role = if i % 5 == 0 { Role::GlobalAdministrator } else { Role::User };
        let mut u = user(&format!("id{i}"), &format!("user{i:02}"), role);
        u.emergency_access = i == 7;
        s.create_user(&u, a("user.created")).unwrap();
    }
    s.create_user(&user("other", "zed", Role::User), a("user.created")).unwrap();
    let filter = UserFilter { prefix: "user".into(), ..Default::default() };
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_users(&filter, after.as_deref(), 10).unwrap();
        assert!(page.items.len() <= 10);
        names.extend(page.items.iter().map(|u| u.username.clone()));
        match page.next_after {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let want: Vec<String> = (0..25).map(|i| format!("user{i:02}")).collect();
    assert_eq!(names, want, "every user once, in username order");

    let admins = UserFilter { role: Some(Role::GlobalAdministrator), ..Default::default() };
    let got: Vec<String> = s.list_users(&admins, None, 100).unwrap().items.into_iter().map(|u| u.id).collect();
    assert_eq!(got, ["id0", "id5", "id10", "id15", "id20"], "in username order");
    let ea = UserFilter { emergency_access: Some(true), ..Default::default() };
    assert_eq!(s.list_users(&ea, None, 100).unwrap().items.len(), 1);
    let none = UserFilter { prefix: "nobody".into(), ..Default::default() };
    let page = s.list_users(&none, None, 10).unwrap();
    assert!(page.items.is_empty() && page.next_after.is_none());

    // Names sort by their bytes in every engine, whatever a database's locale: "é" after "z".
    for (id, name) in [("e1", "émile"), ("e2", "eve"), ("e3", "ezra"), ("e4", "e\u{10FFFF}x")] {
        let mut u = user(id, name, Role::User);
        u.enabled = id != "e3";
        u.display_name = format!("{name} Smith-Jones");
        s.create_user(&u, a("user.created")).unwrap();
    }
    let names = |f: &UserFilter, limit: usize| -> Vec<String> {
        s.list_users(f, None, limit).unwrap().items.into_iter().map(|u| u.username).collect()
    };
    let e = UserFilter { prefix: "e".into(), ..Default::default() };
    assert_eq!(names(&e, 10), ["eve", "ezra", "e\u{10FFFF}x"]);
    let all: Vec<String> = names(&UserFilter::default(), 100);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "byte order");
    assert_eq!(all.last().map(String::as_str), Some("émile"));
    // Flags, and a display-name word (tested on rows fetched in batches), with a cursor.
    let disabled = UserFilter { enabled: Some(false), ..Default::default() };
    assert_eq!(names(&disabled, 10), ["ezra"]);
    let jones = UserFilter { name_word: "jon".into(), ..Default::default() };
    let first = s.list_users(&jones, None, 2).unwrap();
    assert_eq!(first.items.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["eve", "ezra"]);
    let rest = s.list_users(&jones, first.next_after.as_deref(), 2).unwrap();
    assert_eq!(rest.items.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["e\u{10FFFF}x", "émile"]);
    assert!(s.list_users(&jones, None, 0).unwrap().items.is_empty());
}

pub fn sessions_belong_to_users_and_are_swept(e: &mut dyn Engine) {
    let s = e.store();
    let now = t0();
    s.create_session(&key(1), &session("u1", now - Duration::minutes(10))).unwrap();
    s.create_session(&key(2), &session("u1", now)).unwrap();
    s.create_session(&key(3), &session("u2", now)).unwrap();
    assert_eq!(s.count_sessions().unwrap(), 3);
    let mine: HashSet<[u8; 32]> = s.user_sessions("u1").unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(mine, HashSet::from([key(1), key(2)]));
    s.touch_session(&key(1), now).unwrap();
    assert_eq!(s.session(&key(1)).unwrap().unwrap().last_seen_at, now);
    s.delete_session(&key(2)).unwrap();
    assert!(s.session(&key(2)).unwrap().is_none());
    assert_eq!(s.delete_user_sessions("u1").unwrap(), 1);
    assert!(s.user_sessions("u1").unwrap().is_empty());
    assert_eq!(s.count_sessions().unwrap(), 1);

    // The sweep removes idle and too-old sessions and keeps live ones.
    let limits = SessionLimits::default();
    let mut idle = session("u3", now - Duration::hours(2));
    idle.last_seen_at = now - limits.idle - Duration::seconds(1);
    s.create_session(&key(4), &idle).unwrap();
    s.create_session(&key(5), &session("u3", now - limits.absolute - Duration::seconds(1))).unwrap();
    assert_eq!(s.sweep_sessions(now, limits).unwrap(), 2);
    assert!(s.session(&key(3)).unwrap().is_some());
    assert!(s.user_sessions("u3").unwrap().is_empty());
}

pub fn login_flows_are_not_sessions_and_end_with_them(e: &mut dyn Engine) {
    use proofup::domain::access::Factor;
    use proofup::domain::login::{LoginFlow, LOGIN_LIFETIME};
    let s = e.store();
    let now = t0();
    let flow =
        |user: &str, at: OffsetDateTime| LoginFlow::begun(user, Factor::Password, at, "127.0.0.1", "conformance");
    s.put_login(&key(11), &flow("u1", now)).unwrap();
    assert_eq!(s.login(&key(11)).unwrap(), Some(flow("u1", now)));
    assert!(s.session(&key(11)).unwrap().is_none(), "a sign-in in progress is not a session");
    assert_eq!(s.count_sessions().unwrap(), 0);
    assert!(s.user_sessions("u1").unwrap().is_empty());
    // Ending the user's sessions ends it (a sign-in begun before cannot finish after).
    s.create_session(&key(12), &session("u1", now)).unwrap();
    s.put_login(&key(13), &flow("u2", now)).unwrap();
    assert_eq!(s.delete_user_sessions("u1").unwrap(), 1, "sessions are what is counted");
    assert!(s.login(&key(11)).unwrap().is_none());
    assert!(s.login(&key(13)).unwrap().is_some(), "another user's stays");
    // So does removing all of the user's methods (a composite that ends sessions).
    s.put_login(&key(14), &flow("u2", now)).unwrap();
    s.delete_all_methods("u2", a("mfa.reregistration_required")).unwrap();
    assert!(s.login(&key(13)).unwrap().is_none() && s.login(&key(14)).unwrap().is_none());
    // Abandoned: removed by key; expired: swept, a live one kept.
    s.put_login(&key(15), &flow("u3", now)).unwrap();
    s.delete_login(&key(15)).unwrap();
    assert!(s.login(&key(15)).unwrap().is_none());
    s.put_login(&key(16), &flow("u3", now - LOGIN_LIFETIME - Duration::seconds(1))).unwrap();
    s.put_login(&key(17), &flow("u3", now)).unwrap();
    s.sweep_sessions(now, SessionLimits::default()).unwrap();
    assert!(s.login(&key(16)).unwrap().is_none(), "expired: swept");
    assert!(s.login(&key(17)).unwrap().is_some());
    // Completed: the flow becomes a session, once; the second completion writes nothing.
    assert!(s.promote_login(&key(17), &key(18), &session("u3", now)).unwrap());
    assert!(s.login(&key(17)).unwrap().is_none());
    assert_eq!(s.session(&key(18)).unwrap().map(|x| x.user_id), Some("u3".to_owned()));
    assert!(!s.promote_login(&key(17), &key(19), &session("u3", now)).unwrap(), "at most one session");
    assert!(s.session(&key(19)).unwrap().is_none());
    assert_eq!(s.user_sessions("u3").unwrap().len(), 1, "the new session is the user's");
    assert_eq!(s.delete_user_sessions("u3").unwrap(), 1);
    // Read with the user in one call; a user gone reads as none.
    s.create_user(&user("u9", "ivy", Role::User), a("user.created")).unwrap();
    s.put_login(&key(20), &flow("u9", now)).unwrap();
    let (f, u) = s.login_with_user(&key(20)).unwrap().unwrap();
    assert_eq!((f, u.map(|u| u.username)), (flow("u9", now), Some("ivy".to_owned())));
    assert!(s.promote_login(&key(20), &key(21), &session("u9", now)).unwrap());
    let (sess, u) = s.session_with_user(&key(21)).unwrap().unwrap();
    assert_eq!((sess.user_id.as_str(), u.map(|u| u.username)), ("u9", Some("ivy".to_owned())));
    s.create_session(&key(22), &session("gone", now)).unwrap();
    assert_eq!(s.session_with_user(&key(22)).unwrap().map(|(_, u)| u), Some(None), "its user is gone");
    assert!(s.session_with_user(&key(23)).unwrap().is_none() && s.login_with_user(&key(23)).unwrap().is_none());
    // A password step's writes, together: the throttle cleared, the flow (or session), the last
    // sign-in, the log row.
    use proofup::store::{StepProgress, StepWrites};
    assert_eq!(s.reserve_attempt("ivy", now).unwrap(), ThrottleDecision::Allow);
    let rows = s.count_sign_ins().unwrap();
    let later = now + Duration::seconds(5);
    let step = |progress, k: u8| StepWrites {
        throttle_key: "ivy".into(),
        key: key(k),
        progress,
        user_id: "u9".into(),
        at: later,
        log: sign_in("ivy", SignInResult::Success, later),
    };
    s.write_password_step(&step(StepProgress::Login(flow("u9", now)), 24)).unwrap();
    assert_eq!(s.throttle("ivy").unwrap().consecutive_failures, 0, "cleared");
    assert_eq!(s.login(&key(24)).unwrap(), Some(flow("u9", now)));
    assert_eq!(s.user("u9").unwrap().unwrap().last_sign_in_at, Some(later));
    assert_eq!(s.count_sign_ins().unwrap(), rows + 1);
    s.write_password_step(&step(StepProgress::Session(session("u9", now)), 25)).unwrap();
    assert_eq!(s.session(&key(25)).unwrap().map(|x| x.user_id), Some("u9".to_owned()));
    assert!(s.login(&key(25)).unwrap().is_none(), "a session, not a sign-in in progress");
    assert_eq!(s.count_sign_ins().unwrap(), rows + 2);
    // What a password step reads, together.
    let facts = s.password_step_facts("ivy").unwrap();
    assert_eq!(facts.user.map(|u| u.id), Some("u9".to_owned()));
    assert!(facts.profile.is_none() && facts.methods.is_empty() && facts.codes.is_none());
    assert_eq!(facts.registration, RegistrationState::default());
    assert_eq!(facts.policies, s.policy().unwrap());
    let nobody = s.password_step_facts("nobody").unwrap();
    assert!(nobody.user.is_none() && nobody.methods.is_empty());
    assert_eq!(nobody.policies, s.policy().unwrap(), "the policies, whoever asks");
}

pub fn ceremonies_are_taken_once_and_swept(e: &mut dyn Engine) {
    use proofup::domain::model::Ceremony;
    let s = e.store();
    let c = |user: &str, mins: i64| Ceremony {
        user_id: user.into(),
        sealed: "sealed".into(),
        expires_at: t0() + Duration::minutes(mins),
    };
    assert_eq!(s.ceremony("totp:aa").unwrap(), None);
    s.put_ceremony("totp:aa", &c("u1", 10)).unwrap();
    s.put_ceremony("totp:aa", &c("u2", 10)).unwrap();
    assert_eq!(s.ceremony("totp:aa").unwrap(), Some(c("u2", 10)), "replaced");
    // Eight finishing at once: one gets it.
    let winners: usize = std::thread::scope(|t| {
        let hs: Vec<_> = (0..8).map(|_| t.spawn(|| s.take_ceremony("totp:aa").unwrap().is_some())).collect();
        hs.into_iter().map(|h| usize::from(h.join().unwrap())).sum()
    });
    assert_eq!(winners, 1);
    assert_eq!(s.ceremony("totp:aa").unwrap(), None);
    // Added only if absent: of eight adding the same mark at once, one adds it (a reminder sent
    // once across nodes); the mark stays as first written.
    let added: usize = std::thread::scope(|t| {
        let hs: Vec<_> = (0..8)
            .map(|i| {
                let s = &s;
                t.spawn(move || s.add_ceremony("reminder:u1:7", &c(&format!("u{i}"), 10)).unwrap())
            })
            .collect();
        hs.into_iter().map(|h| usize::from(h.join().unwrap())).sum()
    });
    assert_eq!(added, 1);
    assert!(!s.add_ceremony("reminder:u1:7", &c("u9", 10)).unwrap());
    assert!(s.ceremony("reminder:u1:7").unwrap().is_some_and(|m| m.user_id != "u9"));
    // Expired ones go with the session sweep.
    s.put_ceremony("totp:old", &c("u1", 1)).unwrap();
    s.put_ceremony("totp:new", &c("u1", 60)).unwrap();
    let limits = SessionLimits { idle: Duration::minutes(30), absolute: Duration::hours(12) };
    s.sweep_sessions(t0() + Duration::minutes(5), limits).unwrap();
    assert_eq!(s.ceremony("totp:old").unwrap(), None);
    assert!(s.ceremony("totp:new").unwrap().is_some());
}

pub fn passes_are_single_use(e: &mut dyn Engine) {
    let s = e.store();
    let pass = TapRecord::new("ABCD-EFGH-JKLM-NPQR", t0(), Duration::hours(1));
    s.put_pass("u1", &pass, a("pass.issued")).unwrap();
    assert!(!s.take_pass("u1", &|_| false).unwrap(), "a refused check keeps the pass");
    assert!(s.take_pass("u1", &|p| p.matches("ABCD-EFGH-JKLM-NPQR", t0())).unwrap());
    assert!(!s.take_pass("u1", &|_| true).unwrap(), "burnt after one use");
    // A new pass replaces an old one.
    s.put_pass("u1", &TapRecord::new("AAAA-AAAA-AAAA-AAAA", t0(), Duration::hours(1)), a("pass.issued")).unwrap();
    s.put_pass("u1", &TapRecord::new("BBBB-BBBB-BBBB-BBBB", t0(), Duration::hours(1)), a("pass.issued")).unwrap();
    assert!(!s.take_pass("u1", &|p| p.matches("AAAA-AAAA-AAAA-AAAA", t0())).unwrap());
    assert!(s.take_pass("u1", &|p| p.matches("BBBB-BBBB-BBBB-BBBB", t0())).unwrap());
}

pub fn setup_completes_once(e: &mut dyn Engine) {
    let s = e.store();
    assert!(!s.setup_done().unwrap());
    assert!(s.setup_token().unwrap().is_none());
    let token = SetupTokenRecord::for_token("first", t0());
    s.put_setup_token(&token).unwrap();
    assert_eq!(s.setup_token().unwrap().unwrap(), token);
    // A token that is no longer the stored one cannot complete setup.
    let stale = SetupTokenRecord::for_token("stale", t0());
    assert!(s.complete_setup(&stale, &user("a1", "admin", Role::GlobalAdministrator), a("setup")).is_err());
    assert!(!s.setup_done().unwrap());
    s.complete_setup(&token, &user("a1", "admin", Role::GlobalAdministrator), a("setup")).unwrap();
    assert!(s.setup_done().unwrap());
    assert!(s.user_by_username("admin").unwrap().is_some());
    assert!(s.complete_setup(&token, &user("a2", "admin2", Role::GlobalAdministrator), a("setup")).is_err());
    assert!(s.user("a2").unwrap().is_none());
}

pub fn throttle_reservations_count_every_concurrent_attempt(e: &mut dyn Engine) {
    let s = e.store();
    let now = t0();
    let allowed: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let s = s.clone();
                scope.spawn(move || s.reserve_attempt("alice", now).unwrap() == ThrottleDecision::Allow)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap() as usize).sum()
    });
    assert_eq!(allowed, proofup::domain::throttle::FREE_FAILURES as usize, "the free failures, then a delay");
    assert_eq!(s.throttle("alice").unwrap().consecutive_failures, allowed as u32);
    assert!(matches!(s.reserve_attempt("alice", now).unwrap(), ThrottleDecision::Wait(_)));
    s.attempt_succeeded("alice").unwrap();
    assert_eq!(s.throttle("alice").unwrap().consecutive_failures, 0);
    assert_eq!(s.reserve_attempt("alice", now).unwrap(), ThrottleDecision::Allow);
    s.clear_throttle("alice", a("user.unlocked")).unwrap();
    assert_eq!(s.throttle("alice").unwrap().consecutive_failures, 0);
    assert_eq!(s.throttle("someone-else").unwrap().consecutive_failures, 0);

    // Sign-ins of one account racing, each reserving and then succeeding (which ends the row):
    // never more than four in flight, so every one is allowed and none fails, whichever order
    // the reservations, deletions and clocks meet in. Each thread's clock is a few milliseconds
    // apart, as requests that read the time before waiting for the store are.
    let refused: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4i64)
            .map(|i| {
                let s = s.clone();
                scope.spawn(move || {
                    let mut refused = Vec::new();
                    for n in 0..60i64 {
                        let at = now + time::Duration::milliseconds((n * 4 + (3 - i)) % 17);
                        match s.reserve_attempt("bob", at) {
                            Ok(ThrottleDecision::Allow) => {}
                            other => refused.push(format!("{other:?}")),
                        }
                        s.attempt_succeeded("bob").unwrap();
                    }
                    refused
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(refused.is_empty(), "racing successful sign-ins were refused: {refused:?}");
    assert_eq!(s.throttle("bob").unwrap().consecutive_failures, 0);
}

pub fn groups_nest_and_forget_their_edges(e: &mut dyn Engine) {
    let s = e.store();
    s.create_group(&group("g1", "Staff"), a("group.created")).unwrap();
    s.create_group(&group("g2", "Engineering"), a("group.created")).unwrap();
    assert!(s.add_member("g1", MemberKind::Group, "g2", a("group.member_added")).unwrap());
    assert!(s.add_member("g2", MemberKind::User, "u1", a("group.member_added")).unwrap());
    assert!(!s.add_member("g2", MemberKind::User, "u1", a("group.member_added")).unwrap(), "already a member");
    assert!(s.add_member("g1", MemberKind::User, "u2", a("group.member_added")).unwrap());
    let m: HashSet<(MemberKind, String)> = s.members("g1").unwrap().into_iter().collect();
    assert_eq!(m, HashSet::from([(MemberKind::User, "u2".to_owned()), (MemberKind::Group, "g2".to_owned())]));
    assert_eq!(s.direct_parents(MemberKind::User, "u1").unwrap(), ["g2"]);
    assert_eq!(s.direct_parents(MemberKind::Group, "g2").unwrap(), ["g1"]);
    let mut edges = Vec::new();
    s.for_each_edge(&mut |g, k, m| edges.push((g.to_owned(), k, m.to_owned()))).unwrap();
    assert_eq!(edges.len(), 3);

    assert!(matches!(
        s.remove_member("g1", MemberKind::User, "u9", a("group.member_removed")),
        Err(StoreError::NotFound)
    ));
    s.remove_member("g1", MemberKind::User, "u2", a("group.member_removed")).unwrap();
    assert!(s.direct_parents(MemberKind::User, "u2").unwrap().is_empty());
    // Deleting a group removes its member list and its place in every parent.
    s.delete_group("g2", a("group.deleted")).unwrap();
    assert!(s.group("g2").unwrap().is_none());
    assert!(s.members("g1").unwrap().is_empty());
    assert!(s.direct_parents(MemberKind::User, "u1").unwrap().is_empty());
    let mut n = 0;
    s.for_each_edge(&mut |_, _, _| n += 1).unwrap();
    assert_eq!(n, 0);
    assert_eq!(s.count_groups().unwrap(), 1);
}

pub fn groups_page_by_name(e: &mut dyn Engine) {
    let s = e.store();
    for i in 0..12 {
        s.create_group(&group(&format!("g{i}"), &format!("Team {i:02}")), a("group.created")).unwrap();
    }
    s.create_group(&group("x", "Other"), a("group.created")).unwrap();
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_groups("team", after.as_deref(), 5).unwrap();
        names.extend(page.items.iter().map(|g| g.name.clone()));
        match page.next_after {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(names, (0..12).map(|i| format!("Team {i:02}")).collect::<Vec<_>>());
}

pub fn a_totp_step_is_spent_exactly_once(e: &mut dyn Engine) {
    let s = e.store();
    s.create_user(&user("u1", "alice", Role::User), a("user.created")).unwrap();
    s.add_method(&totp("u1", "m1"), a("method.added")).unwrap();
    let at = t0();
    let wins: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let s = s.clone();
                scope.spawn(move || s.record_totp_use("u1", "m1", 1000, at).unwrap() as usize)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(wins, 1, "one of the concurrent uses of a step wins");
    assert!(!s.record_totp_use("u1", "m1", 999, at).unwrap(), "an earlier step is a replay");
    assert!(s.record_totp_use("u1", "m1", 1001, at).unwrap());
    let m = s.method("u1", "m1").unwrap().unwrap();
    assert_eq!((m.last_step, m.last_used_at), (Some(1001), Some(at)));
}

pub fn a_code_step_reads_ahead_and_writes_behind_its_spent_step(e: &mut dyn Engine) {
    use proofup::domain::access::Factor;
    use proofup::domain::login::{LoginFlow, LOGIN_LIFETIME};
    use proofup::store::{CodeStepWrites, CodeStepWritten};
    let s = e.store();
    let now = t0();
    let flow = |at: OffsetDateTime| LoginFlow::begun("u1", Factor::Password, at, "127.0.0.1", "conformance");
    s.create_user(&user("u1", "alice", Role::User), a("user.created")).unwrap();
    s.add_method(&totp("u1", "m1"), a("method.added")).unwrap();
    assert!(s.code_step_facts(&key(1), now).unwrap().is_none(), "no sign-in in progress");
    // Read with the user and methods, the attempt reserved (counted until it succeeds).
    s.put_login(&key(1), &flow(now)).unwrap();
    let facts = s.code_step_facts(&key(1), now).unwrap().unwrap();
    assert_eq!(facts.flow, flow(now));
    assert_eq!(facts.user.map(|u| u.username), Some("alice".to_owned()));
    assert_eq!(facts.methods.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["m1"]);
    assert_eq!(facts.attempt, Some(ThrottleDecision::Allow));
    assert_eq!(s.throttle("alice").unwrap().consecutive_failures, 1, "reserved");
    // With failures counted, the usual reservation: each read counts one, then a delay.
    let mut decisions = vec![facts.attempt.unwrap()];
    for _ in 0..proofup::domain::throttle::FREE_FAILURES {
        decisions.push(s.code_step_facts(&key(1), now).unwrap().unwrap().attempt.unwrap());
    }
    assert!(matches!(decisions.last(), Some(ThrottleDecision::Wait(_))), "{decisions:?}");
    assert_eq!(
        s.throttle("alice").unwrap().consecutive_failures,
        proofup::domain::throttle::FREE_FAILURES,
        "a refused attempt counts nothing"
    );
    s.attempt_succeeded("alice").unwrap();
    // An expired flow, or a disabled user: read, nothing reserved.
    s.put_login(&key(2), &flow(now - LOGIN_LIFETIME - Duration::seconds(1))).unwrap();
    let expired = s.code_step_facts(&key(2), now).unwrap().unwrap();
    assert!(expired.attempt.is_none() && expired.methods.is_empty());
    assert_eq!(s.throttle("alice").unwrap().consecutive_failures, 0);
    // The writes, gated on the spent step.
    let rows = s.count_sign_ins().unwrap();
    assert_eq!(s.code_step_facts(&key(1), now).unwrap().unwrap().attempt, Some(ThrottleDecision::Allow));
    let write = |from: u8, to: u8, step: u64| CodeStepWrites {
        user_id: "u1".into(),
        method_id: "m1".into(),
        step,
        throttle_key: "alice".into(),
        from: key(from),
        to: key(to),
        session: session("u1", now),
        log: sign_in("alice", SignInResult::Success, now),
    };
    assert_eq!(s.write_code_step(&write(1, 3, 1000)).unwrap(), CodeStepWritten::Session);
    assert!(s.login(&key(1)).unwrap().is_none(), "the flow became the session");
    assert_eq!(s.session(&key(3)).unwrap().map(|x| x.user_id), Some("u1".to_owned()));
    assert_eq!(s.throttle("alice").unwrap().consecutive_failures, 0, "cleared");
    assert_eq!(s.count_sign_ins().unwrap(), rows + 1);
    assert_eq!(s.method("u1", "m1").unwrap().unwrap().last_step, Some(1000));
    // The same step again (a replay), on another sign-in: nothing at all is written.
    s.put_login(&key(4), &flow(now)).unwrap();
    s.reserve_attempt("alice", now).unwrap();
    assert_eq!(s.write_code_step(&write(4, 5, 1000)).unwrap(), CodeStepWritten::Replayed);
    assert!(s.login(&key(4)).unwrap().is_some() && s.session(&key(5)).unwrap().is_none());
    assert_eq!(s.throttle("alice").unwrap().consecutive_failures, 1, "the reserved failure stays");
    assert_eq!(s.count_sign_ins().unwrap(), rows + 1);
    // A later step on a sign-in that ended meanwhile: the step is spent and logged, no session.
    assert_eq!(s.write_code_step(&write(9, 6, 1001)).unwrap(), CodeStepWritten::FlowGone);
    assert!(s.session(&key(6)).unwrap().is_none());
    assert_eq!(s.count_sign_ins().unwrap(), rows + 2);
    // Sixteen uses of one code at once: one session.
    for k in 10..26u8 {
        s.put_login(&key(k), &flow(now)).unwrap();
    }
    let sessions: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (10..26u8)
            .map(|k| {
                let s = s.clone();
                let w = write(k, k + 100, 1002);
                scope.spawn(move || usize::from(s.write_code_step(&w).unwrap() == CodeStepWritten::Session))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(sessions, 1, "one of the concurrent uses of a code signs in");
    // A disabled user's sign-in reserves nothing.
    let mut off = user("u1", "alice", Role::User);
    off.enabled = false;
    s.update_user(&off, a("user.disabled")).unwrap();
    s.attempt_succeeded("alice").unwrap();
    s.put_login(&key(7), &flow(now)).unwrap();
    assert!(s.code_step_facts(&key(7), now).unwrap().unwrap().attempt.is_none());
    assert_eq!(s.throttle("alice").unwrap().consecutive_failures, 0);
}

pub fn methods_and_recovery_codes(e: &mut dyn Engine) {
    let s = e.store();
    s.create_user(&user("u1", "alice", Role::User), a("user.created")).unwrap();
    s.create_user(&user("u2", "bob", Role::User), a("user.created")).unwrap();
    assert!(
        matches!(s.add_method(&totp("ghost", "m9"), a("method.added")), Err(StoreError::NotFound)),
        "a method needs its user"
    );
    s.add_method(&totp("u1", "m1"), a("method.added")).unwrap();
    let mut pk = totp("u1", "m2");
    pk.kind = MethodKind::Passkey;
    pk.credential_id = Some("cred-1".into());
    pk.passkey = Some("{}".into());
    s.add_method(&pk, a("method.added")).unwrap();
    s.add_method(&totp("u2", "m3"), a("method.added")).unwrap();
    assert!(s.credential_taken("cred-1").unwrap());
    assert!(!s.credential_taken("cred-2").unwrap());
    assert_eq!(s.methods("u1").unwrap().len(), 2);
    let counts = s.method_counts().unwrap();
    assert_eq!((counts.get("u1"), counts.get("u2"), counts.get("u3")), (Some(&2), Some(&1), None));
    assert_eq!(
        s.passkey_users().unwrap().into_iter().collect::<Vec<_>>(),
        vec!["u1".to_string()],
        "only u1 has a passkey"
    );
    s.rename_method("u1", "m1", "Work phone", a("method.renamed")).unwrap();
    assert_eq!(s.method("u1", "m1").unwrap().unwrap().name, "Work phone");
    s.record_passkey_use("u1", "m2", Some("{\"counter\":1}"), t0()).unwrap();
    assert_eq!(s.method("u1", "m2").unwrap().unwrap().passkey.as_deref(), Some("{\"counter\":1}"));
    s.delete_method("u1", "m2", a("method.removed")).unwrap();
    assert!(!s.credential_taken("cred-1").unwrap(), "the credential id is free again");
    assert!(s.passkey_users().unwrap().is_empty(), "the passkey is gone");

    let codes = RecoveryCodeSet { hashes: vec![Some("h1".into()), Some("h2".into())], created_at: t0() };
    assert_eq!(s.methods_and_codes("u1").unwrap(), (s.methods("u1").unwrap(), None));
    s.set_recovery_codes("u1", &codes, a("recovery.generated")).unwrap();
    let (methods, read) = s.methods_and_codes("u1").unwrap();
    assert_eq!((methods.len(), read.as_ref()), (1, Some(&codes)), "read together");
    let facts = s.password_step_facts("alice").unwrap();
    assert_eq!((facts.methods, facts.codes), (methods, Some(codes.clone())), "and with the account");
    assert_eq!(s.methods_and_codes("nobody").unwrap(), (vec![], None));
    assert_eq!(s.use_recovery_code("u1", "h1", a("recovery.used")).unwrap(), Some(1));
    assert_eq!(s.use_recovery_code("u1", "h1", a("recovery.used")).unwrap(), None, "single use");
    assert_eq!(s.use_recovery_code("u1", "nope", a("recovery.used")).unwrap(), None);
    assert_eq!(s.recovery_codes("u1").unwrap().unwrap().remaining(), 1);

    // Removing every method ends the user's sessions and drops their recovery codes.
    s.create_session(&key(1), &session("u1", t0())).unwrap();
    assert_eq!(s.delete_all_methods("u1", a("method.all_removed")).unwrap(), 1);
    assert!(s.methods("u1").unwrap().is_empty());
    assert!(s.session(&key(1)).unwrap().is_none());
    assert!(s.recovery_codes("u1").unwrap().is_none_or(|c| c.remaining() == 0));
    assert_eq!(s.methods("u2").unwrap().len(), 1);
}

pub fn logs_are_newest_first_filtered_windowed_and_paged(e: &mut dyn Engine) {
    let s = e.store();
    for i in 0..30i64 {
        let at = t0() + Duration::minutes(i);
        let result = if i % 3 == 0 { SignInResult::Failure } else { SignInResult::Success };
        s.append_sign_in(sign_in(if i % 2 == 0 { "alice" } else { "bob" }, result, at)).unwrap();
        s.append_audit(audit(if i % 2 == 0 { "user.created" } else { "policy.saved" }, &format!("Target {i}"), at))
            .unwrap();
    }
    assert_eq!(s.count_sign_ins().unwrap(), 30);
    // Newest first, pages joined end to end without gaps or repeats.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_sign_ins(after.as_deref(), 7).unwrap();
        seen.extend(page.items.iter().map(|e| e.at));
        match page.next_after {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");
    let ids: HashSet<String> = s.list_sign_ins(None, 100).unwrap().items.into_iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 30, "every entry has its own id");

    let f = SignInFilter { user: Some("alice".into()), result: Some(SignInResult::Failure), ..Default::default() };
    let got = s.search_sign_ins(&f, None, 100).unwrap().items;
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|e| e.username == "alice" && e.result == SignInResult::Failure));
    let window = SignInFilter {
        from: Some(t0() + Duration::minutes(10)),
        to: Some(t0() + Duration::minutes(14)),
        ..Default::default()
    };
    assert_eq!(s.search_sign_ins(&window, None, 100).unwrap().items.len(), 5, "inclusive bounds");

    let f = AuditFilter { action: Some("policy.".into()), target: Some("target 2".into()), ..Default::default() };
    let got: Vec<String> = s.search_audit(&f, None, 100).unwrap().items.into_iter().map(|e| e.target).collect();
    assert_eq!(got, ["Target 29", "Target 27", "Target 25", "Target 23", "Target 21"]);
    let f = AuditFilter { actor: Some("admin".into()), ..Default::default() };
    assert_eq!(s.search_audit(&f, None, 100).unwrap().items.len(), 30);
    let f = AuditFilter { actor: Some("adm".into()), ..Default::default() };
    assert!(s.search_audit(&f, None, 100).unwrap().items.is_empty(), "the actor matches whole");

    for bad in ["zz", "00", "not a cursor", ""] {
        assert!(
            matches!(s.list_audit(Some(bad), 10), Err(StoreError::BadCursor)),
            "{bad:?} is not a cursor this store made"
        );
    }
}

pub fn logs_are_pruned_by_age_and_rows(e: &mut dyn Engine) {
    let s = e.store();
    for i in 0..10i64 {
        s.append_sign_in(sign_in("alice", SignInResult::Success, t0() + Duration::days(i))).unwrap();
    }
    assert_eq!(s.prune_sign_ins(t0() + Duration::days(3), 1_000).unwrap(), 3);
    assert_eq!(s.count_sign_ins().unwrap(), 7);
    assert_eq!(s.prune_sign_ins(t0(), 4).unwrap(), 3, "the oldest beyond the cap");
    let left: Vec<OffsetDateTime> = s.list_sign_ins(None, 100).unwrap().items.into_iter().map(|e| e.at).collect();
    assert_eq!(left, (6..10).rev().map(|i| t0() + Duration::days(i)).collect::<Vec<_>>());
    for i in 0..5i64 {
        s.append_audit(audit("user.created", "x", t0() + Duration::days(i))).unwrap();
    }
    assert_eq!(s.prune_audit(t0() + Duration::days(2), 1_000).unwrap(), 2);
    assert_eq!(s.count_audit().unwrap(), 3);
}

/// Many requests counted in one row at once (a client's grants in one minute): one row, and
/// every attempt in its count; another key gets its own row.
pub fn counted_sign_ins_lose_no_attempt_under_concurrency(e: &mut dyn Engine) {
    let s = e.store();
    let (threads, each) = (4, 50);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let s = s.clone();
            scope.spawn(move || {
                for i in 0..each {
                    let mut entry = sign_in(&format!("app:t{t}-{i}"), SignInResult::Success, t0());
                    entry.interactive = false;
                    s.count_sign_in("000000000001|127.0.0.1|Success|conformance||app", entry).unwrap();
                }
            });
        }
    });
    let mut other = sign_in("app:b", SignInResult::Success, t0());
    other.ip = "127.0.0.2".into();
    s.count_sign_in("000000000001|127.0.0.2|Success|conformance||app", other).unwrap();
    let rows = s.list_sign_ins(None, 100).unwrap().items;
    let counts: Vec<(String, u32)> = rows.iter().map(|r| (r.ip.clone(), r.count)).collect();
    assert_eq!(rows.len(), 2, "{counts:?}");
    assert!(counts.contains(&("127.0.0.1".into(), threads * each)), "{counts:?}");
    assert!(counts.contains(&("127.0.0.2".into(), 1)), "{counts:?}");
}

pub fn policy_versions_refuse_a_stale_save(e: &mut dyn Engine) {
    let s = e.store();
    let v0 = s.policy().unwrap();
    assert_eq!(v0.version, 0);
    let mut v1: PolicyRecord = v0.clone();
    v1.version = 1;
    v1.policy.enforcement = Enforcement::On;
    s.save_policy(&v1, 0, a("policy.saved")).unwrap();
    assert_eq!(s.policy().unwrap().version, 1);
    assert_eq!(s.policy().unwrap().policy.enforcement, Enforcement::On);
    let mut stale = v0.clone();
    stale.version = 1;
    assert!(matches!(s.save_policy(&stale, 0, a("policy.saved")), Err(StoreError::Conflict(Conflict::StalePolicy))));
    assert_eq!(s.policy().unwrap().policy.enforcement, Enforcement::On, "the stale save changed nothing");
    let mut v2 = v1.clone();
    v2.version = 2;
    s.save_policy(&v2, 1, a("policy.saved")).unwrap();
    let versions: Vec<u64> = s.policy_versions(10).unwrap().into_iter().map(|v| v.version).collect();
    assert_eq!(versions, [2, 1]);

    s.create_user(&user("u1", "alice", Role::User), a("user.created")).unwrap();
    s.create_user(&user("u2", "bob", Role::User), a("user.created")).unwrap();
    assert_eq!(s.registration_state("u1").unwrap(), RegistrationState::default());
    let st = RegistrationState { first_prompted_at: Some(t0()), skips: 2, ..Default::default() };
    s.put_registration_state("u1", &st, None).unwrap();
    s.put_registration_state("u2", &RegistrationState { skips: 1, ..Default::default() }, Some(a("grace.set")))
        .unwrap();
    assert_eq!(s.registration_state("u1").unwrap(), st);
    assert_eq!(s.all_registration_states().unwrap().len(), 2);
}

pub fn applications_and_the_signing_key_set(e: &mut dyn Engine) {
    use proofup::domain::oidc::{Application, KeyAlg, KeyState, SigningKey};
    let s = e.store();
    let req: proofup_shared::apps::ApplicationRequest = serde_json::from_value(serde_json::json!({
        "name": "Grafana", "redirect_uris": ["https://grafana.example.com/cb"]
    }))
    .unwrap();
    let app = Application::new("c1".into(), &req, Some("secret"), t0());
    assert!(s.applications().unwrap().is_empty());
    s.create_application(&app, a("application.created")).unwrap();
    assert!(matches!(
        s.create_application(&app, a("application.created")),
        Err(StoreError::Conflict(Conflict::ApplicationExists))
    ));
    assert_eq!(s.application("c1").unwrap(), Some(app.clone()));
    let mut renamed = app.clone();
    renamed.name = "Grafana (prod)".into();
    s.update_application(&renamed, a("application.updated")).unwrap();
    assert_eq!(s.application("c1").unwrap().unwrap().name, "Grafana (prod)");
    let mut ghost = app.clone();
    ghost.id = "nope".into();
    assert!(matches!(s.update_application(&ghost, a("application.updated")), Err(StoreError::NotFound)));
    assert!(matches!(s.delete_application("nope", a("application.deleted")), Err(StoreError::NotFound)));
    let audits_before = s.list_audit(None, 100).unwrap().items.len();
    s.delete_application("c1", a("application.deleted")).unwrap();
    assert_eq!(s.application("c1").unwrap(), None);
    assert_eq!(s.list_audit(None, 100).unwrap().items.len(), audits_before + 1, "the delete is audited");

    // The key set is replaced whole, and only from the set the writer read.
    let k = |kid: &str, state| SigningKey {
        kid: kid.into(),
        alg: KeyAlg::RS256,
        state,
        private_sealed: "sealed".into(),
        public_jwk: serde_json::json!({"kid": kid}),
        created_at: t0(),
        activated_at: None,
        retired_at: None,
    };
    assert!(s.signing_keys().unwrap().is_empty());
    let first = vec![k("a", KeyState::Active), k("b", KeyState::Next)];
    s.replace_signing_keys(&[], &first, None).unwrap();
    assert!(matches!(
        s.replace_signing_keys(&[], &[k("x", KeyState::Active)], None),
        Err(StoreError::Conflict(Conflict::SigningKeysChanged))
    ));
    assert_eq!(s.signing_keys().unwrap(), first, "the losing writer changed nothing");
    let second = vec![k("a", KeyState::Retired), k("b", KeyState::Active), k("c", KeyState::Next)];
    s.replace_signing_keys(&first, &second, Some(a("signing_keys.rotated"))).unwrap();
    assert_eq!(s.signing_keys().unwrap(), second);
}

pub fn grants_end_with_their_tokens_and_refresh_tokens_are_spent_once(e: &mut dyn Engine) {
    use proofup::domain::oidc::grant::{Grant, RefreshGrant};
    let s = e.store();
    let g = |id: &str, user: &str, sid: &str| Grant {
        id: id.into(),
        client_id: "c1".into(),
        user_id: user.into(),
        sid: sid.into(),
        scopes: vec!["openid".into()],
        auth_time: t0(),
        amr: vec!["pwd".into()],
        expires_at: t0() + Duration::days(1),
        origin: None,
    };
    for grant in [g("g1", "u1", "s1"), g("g2", "u1", "s2"), g("g3", "u1", "s2"), g("g4", "u2", "s1")] {
        s.put_grant(&grant).unwrap();
    }
    assert_eq!(s.grant("u1", "g1").unwrap(), Some(g("g1", "u1", "s1")));
    assert_eq!(s.grant("u2", "g1").unwrap(), None, "a grant is found under its own user");
    // One session's grants (not an offline one), then one grant, then the rest of the user's;
    // u2 keeps theirs.
    let offline = Grant { scopes: vec!["openid".into(), "offline_access".into()], ..g("g8", "u1", "s2") };
    s.put_grant(&offline).unwrap();
    assert_eq!(s.end_user_grants("u1", Some("s2")).unwrap(), 2);
    assert!(s.grant("u1", "g8").unwrap().is_some(), "offline access outlives the sign-out");
    assert!(s.grant("u1", "g1").unwrap().is_some());
    assert!(s.end_grant("u1", "g1").unwrap());
    assert!(!s.end_grant("u1", "g1").unwrap());
    s.put_grant(&g("g5", "u1", "s3")).unwrap();
    assert_eq!(s.end_user_grants("u1", None).unwrap(), 2, "g5 and the offline g8");
    assert!(s.grant("u2", "g4").unwrap().is_some());
    // Ending a user's sessions ends their grants too.
    s.delete_user_sessions("u2").unwrap();
    assert_eq!(s.grant("u2", "g4").unwrap(), None);

    let key = [7u8; 32];
    let r = RefreshGrant {
        grant: "g6".into(),
        client_id: "c1".into(),
        user_id: "u1".into(),
        scopes: vec!["openid".into()],
        expires_at: t0() + Duration::days(1),
        spent: false,
    };
    assert_eq!(s.spend_refresh_token(&key).unwrap(), None);
    s.put_refresh_token(&key, &r).unwrap();
    // Eight refreshes at once with the same token: exactly one finds it unspent.
    let winners: usize = std::thread::scope(|t| {
        let hs: Vec<_> =
            (0..8).map(|_| t.spawn(|| s.spend_refresh_token(&key).unwrap().is_some_and(|b| !b.spent))).collect();
        hs.into_iter().map(|h| usize::from(h.join().unwrap())).sum()
    });
    assert_eq!(winners, 1);
    assert!(s.refresh_token(&key).unwrap().unwrap().spent);
    // Expired grants and tokens are swept.
    s.put_grant(&g("g7", "u3", "s1")).unwrap();
    assert!(s.sweep_grants(t0() + Duration::days(2)).unwrap() >= 2);
    assert_eq!(s.grant("u3", "g7").unwrap(), None);
    assert_eq!(s.refresh_token(&key).unwrap(), None);
}

pub fn alerts_and_webhook_outbox(e: &mut dyn Engine) {
    let s = e.store();
    for i in 0..3i64 {
        s.add_alert(AlertRecord {
            id: format!("al{i}"),
            kind: if i == 2 {
                proofup_shared::overview::AlertKind::UserReported
            } else {
                proofup_shared::overview::AlertKind::EmergencySignIn
            },
            detail: (i == 2).then(|| "a sign-in method added".to_owned()),
            at: t0() + Duration::minutes(i),
            user_id: "u1".into(),
            username: "breakglass".into(),
            ip: "127.0.0.1".into(),
            acknowledged_by: None,
            acknowledged_at: None,
        })
        .unwrap();
    }
    // The store names each alert; newest first.
    let open = s.open_alerts(10).unwrap();
    let times: Vec<OffsetDateTime> = open.iter().map(|a| a.at).collect();
    assert_eq!(times, (0..3).rev().map(|i| t0() + Duration::minutes(i)).collect::<Vec<_>>());
    assert_eq!(open.iter().map(|a| &a.id).collect::<HashSet<_>>().len(), 3);
    // A report's kind and detail come back as stored.
    assert_eq!(open[0].kind, proofup_shared::overview::AlertKind::UserReported);
    assert_eq!(open[0].detail.as_deref(), Some("a sign-in method added"));
    let middle = open[1].id.clone();
    s.acknowledge_alert(&middle, "Admin", t0(), a("alert.acknowledged")).unwrap();
    assert_eq!(s.alert(&middle).unwrap().unwrap().acknowledged_by.as_deref(), Some("Admin"));
    assert_eq!(s.open_alerts(10).unwrap().len(), 2);
    assert!(matches!(s.acknowledge_alert("nope", "Admin", t0(), a("alert.acknowledged")), Err(StoreError::NotFound)));

    assert!(s.webhook_url().unwrap().is_none());
    s.set_webhook_url(Some("https://hooks.example.org/x?token=secret"), a("webhook.saved")).unwrap();
    assert_eq!(s.webhook_url().unwrap().as_deref(), Some("https://hooks.example.org/x?token=secret"));
    let d = |id: &str, at: OffsetDateTime| {
        Message::event(Channel::Webhook, EventKind::Test, serde_json::json!({}), id.into(), at)
    };
    s.enqueue_message(&d("d1", t0())).unwrap();
    s.enqueue_message(&d("d2", t0() + Duration::minutes(5))).unwrap();
    let due: Vec<String> =
        s.due_messages(Channel::Webhook, t0() + Duration::minutes(1), 10).unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(due, ["d1"]);
    // A message written before channels existed (no `channel`) is the webhook's.
    let legacy: Message = serde_json::from_value(serde_json::json!({
        "id": "d0", "event": {"type": "test"}, "created_at": "2026-01-01T00:00:00Z", "attempts": 0,
        "next_at": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    assert_eq!(legacy.channel, Channel::Webhook);
    let mut failed = d("d1", t0());
    failed.failed("connection refused".into(), t0());
    s.message_failed(&failed, t0()).unwrap();
    let st = s.outbox_counts(Channel::Webhook).unwrap();
    assert_eq!((st.pending, st.failing, st.given_up), (2, 1, 0));
    assert_eq!(st.last_error.map(|(m, _)| m).as_deref(), Some("connection refused"));
    s.message_sent(&d("d2", t0()), t0() + Duration::minutes(6)).unwrap();
    let st = s.outbox_counts(Channel::Webhook).unwrap();
    assert_eq!(st.pending, 1);
    assert_eq!(st.last_sent_at, Some(t0() + Duration::minutes(6)));
    // Given up, then the webhook saved again: its given-up messages go, and its last error.
    let mut dead = d("d1", t0());
    for _ in 0..proofup::domain::notify::MAX_ATTEMPTS {
        dead.failed("HTTP 500".into(), t0());
    }
    s.message_failed(&dead, t0()).unwrap();
    assert_eq!(s.outbox_counts(Channel::Webhook).unwrap().given_up, 1);
    assert!(s.due_messages(Channel::Webhook, t0() + Duration::days(1), 10).unwrap().is_empty(), "given up: never due");
    s.set_webhook_url(Some("https://hooks.example.org/y"), a("webhook.saved")).unwrap();
    let st = s.outbox_counts(Channel::Webhook).unwrap();
    assert_eq!((st.pending, st.given_up, st.last_error), (0, 0, None));

    // Mail is a channel of its own: its message (recipient, rendered bodies) comes back whole,
    // its failures and sends are counted apart from the webhook's.
    let mail = proofup::domain::mail::Mail {
        to: "ann@example.org".into(),
        subject: "Test".into(),
        text: "Hello".into(),
        html: "<p>Hello</p>".into(),
    };
    let m = Message::mail("mail.test", mail.clone(), "m1".into(), t0());
    s.enqueue_message(&m).unwrap();
    assert!(s.due_messages(Channel::Webhook, t0() + Duration::minutes(1), 10).unwrap().is_empty());
    let claimed = s.claim_due_messages(Channel::Mail, t0(), Duration::minutes(1), 10).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].mail.as_ref(), Some(&mail));
    let mut failed = claimed[0].clone();
    failed.failed("connection refused".into(), t0());
    s.message_failed(&failed, t0()).unwrap();
    let st = s.outbox_counts(Channel::Mail).unwrap();
    assert_eq!((st.pending, st.failing), (1, 1));
    assert_eq!(st.last_error.map(|(m, _)| m).as_deref(), Some("connection refused"));
    assert_eq!(s.outbox_counts(Channel::Webhook).unwrap().last_error, None, "the webhook's status is its own");
    s.message_sent(&failed, t0() + Duration::minutes(2)).unwrap();
    let st = s.outbox_counts(Channel::Mail).unwrap();
    assert_eq!((st.pending, st.last_sent_at), (0, Some(t0() + Duration::minutes(2))));
}

pub fn acknowledged_writes_survive_reopening(e: &mut dyn Engine) {
    {
        let s = e.store();
        s.create_user(&user("u1", "alice", Role::User), a("user.created")).unwrap();
        s.create_session(&key(1), &session("u1", t0())).unwrap();
        s.create_group(&group("g1", "Staff"), a("group.created")).unwrap();
        s.add_member("g1", MemberKind::User, "u1", a("group.member_added")).unwrap();
        s.add_method(&totp("u1", "m1"), a("method.added")).unwrap();
        assert!(s.record_totp_use("u1", "m1", 42, t0()).unwrap());
        s.append_sign_in(sign_in("alice", SignInResult::Success, t0())).unwrap();
        s.flush().unwrap();
    }
    e.reopen();
    let s = e.store();
    s.ping().unwrap();
    assert_eq!(s.user_by_username("alice").unwrap().unwrap().id, "u1");
    assert_eq!(s.user_sessions("u1").unwrap().len(), 1, "whose sessions are whose is rebuilt");
    assert_eq!(s.members("g1").unwrap(), [(MemberKind::User, "u1".to_owned())]);
    assert!(!s.record_totp_use("u1", "m1", 42, t0()).unwrap(), "a spent step stays spent");
    assert_eq!(s.count_sign_ins().unwrap(), 1);
    assert!(s.count_audit().unwrap() >= 4);
}

pub fn risk_profiles_and_detections(e: &mut dyn Engine) {
    use proofup::domain::records::DetectionRecord;
    use proofup::domain::risk::{Observed, Profile, StateChange};
    use proofup_shared::risk::{DetectionKind, Evidence, Place, RiskLevel, RiskState};
    let s = e.store();
    // A profile is one document per user, replaced whole.
    assert_eq!(s.risk_profile("u1").unwrap(), None);
    let place =
        Place { country: Some("FR".into()), asn: Some(64500), lat_e1: Some(489), lon_e1: Some(24), ..Place::default() };
    let mut p = Profile::new("u1", t0());
    p.learn(&Observed { at: t0(), place: &place, device: Some("d1"), trusted: false });
    s.put_risk_profile(&p).unwrap();
    p.learn(&Observed { at: t0() + Duration::hours(1), place: &place, device: Some("d2"), trusted: false });
    s.put_risk_profile(&p).unwrap();
    assert_eq!(s.risk_profile("u1").unwrap(), Some(p.clone()));
    s.put_risk_profile(&Profile::new("u2", t0())).unwrap();
    let mut all = Vec::new();
    s.for_each_risk_profile(&mut |p| all.push(p.user_id)).unwrap();
    all.sort();
    assert_eq!(all, ["u1", "u2"]);
    // Detections: ids assigned, newest first, per user, paged.
    let det = |user: &str, minutes: i64, kind: DetectionKind, level: RiskLevel| DetectionRecord {
        id: String::new(),
        at: t0() + Duration::minutes(minutes),
        user_id: user.into(),
        username: format!("{user}-name"),
        kind,
        level,
        state: RiskState::AtRisk,
        detail: None,
        changed_at: None,
        changed_by: None,
        sign_in: Some(format!("s{minutes}")),
        ip: "198.51.100.7".into(),
        place: place.clone(),
        application: None,
        evidence: Evidence::Anonymous { listed: true, flagged_by_database: false },
    };
    s.add_detections(&[
        det("u1", 1, DetectionKind::AnonymousIp, RiskLevel::Medium),
        det("u1", 1, DetectionKind::UnfamiliarFeatures, RiskLevel::Low),
    ])
    .unwrap();
    s.add_detections(&[det("u2", 2, DetectionKind::LeakedCredentials, RiskLevel::High)]).unwrap();
    s.add_detections(&[det("u1", 3, DetectionKind::PasswordSpray, RiskLevel::High)]).unwrap();
    let mine = s.user_detections("u1").unwrap();
    assert_eq!(mine.iter().map(|d| d.kind).collect::<Vec<_>>()[0], DetectionKind::PasswordSpray);
    assert_eq!(mine.len(), 3);
    assert_eq!(mine.iter().map(|d| &d.id).collect::<HashSet<_>>().len(), 3, "each has its own id");
    assert_eq!(mine[1].place, place, "the place comes back as stored");
    let first = s.list_detections(None, 2).unwrap();
    assert_eq!(
        first.items.iter().map(|d| d.at).collect::<Vec<_>>(),
        [t0() + Duration::minutes(3), t0() + Duration::minutes(2)]
    );
    let rest = s.list_detections(first.next_after.as_deref(), 10).unwrap();
    assert_eq!(rest.items.len(), 2);
    assert!(rest.next_after.is_none());
    assert!(matches!(s.list_detections(Some("nonsense"), 10), Err(StoreError::BadCursor)));
    // State changes are data, applied in one transaction with their audit entry.
    let remediate = StateChange {
        ids: Some(vec![mine[0].id.clone()]),
        only_open: true,
        to: RiskState::Remediated,
        detail: "passed_mfa_by_risk_policy".into(),
        by: None,
        at: t0() + Duration::minutes(5),
    };
    let before = s.count_audit().unwrap();
    assert_eq!(s.update_detections("u1", &remediate, Some(a("risk.remediated"))).unwrap(), 1);
    assert_eq!(s.count_audit().unwrap(), before + 1);
    assert_eq!(s.update_detections("u1", &remediate, Some(a("risk.remediated"))).unwrap(), 0, "already done");
    assert_eq!(s.count_audit().unwrap(), before + 1, "nothing changed, nothing audited");
    let dismiss = StateChange {
        ids: None,
        only_open: true,
        to: RiskState::Dismissed,
        detail: "pen test".into(),
        by: Some("Admin".into()),
        ..remediate
    };
    assert_eq!(s.update_detections("u1", &dismiss, None).unwrap(), 2, "the two still open");
    let states: Vec<RiskState> = s.user_detections("u1").unwrap().iter().map(|d| d.state).collect();
    assert_eq!(states, [RiskState::Remediated, RiskState::Dismissed, RiskState::Dismissed]);
    assert_eq!(s.user_detections("u2").unwrap()[0].state, RiskState::AtRisk, "another user's are untouched");
    // A dismissal is final.
    let reopen = StateChange { to: RiskState::ConfirmedCompromised, only_open: false, ..dismiss };
    assert_eq!(s.update_detections("u1", &reopen, None).unwrap(), 1, "only the remediated one");
    // Retention.
    assert_eq!(s.prune_detections(t0() + Duration::minutes(2)).unwrap(), 2);
    assert_eq!(s.user_detections("u1").unwrap().len(), 1);
    drop(s);
    e.reopen();
    let s = e.store();
    assert_eq!(s.user_detections("u2").unwrap().len(), 1);
    assert_eq!(s.risk_profile("u1").unwrap(), Some(p));
}
