//! The sign-in flow object (service::signin) on a real store: it completes through one door,
//! hands back the session's continuation and refuses steps that do not belong to the stage.
#![allow(clippy::unwrap_used)]

use proofup::domain::records::AuditRecord;
use std::sync::Arc;

use proofup::domain::access::{Factor, Factors};
use proofup::domain::clock::{Clock, SystemClock};
use proofup::domain::login::LoginFlow;
use proofup::domain::model::{ClientInfo, Continuation, Session, User};
use proofup::service::signin::{Progress, SignIn};
use proofup::service::{session_key, Core, CoreOptions, ServiceError};
use proofup::store::sled::SledStore;
use proofup::store::{AuditDraft, Store};
use proofup_shared::api::Role;

/// The runtime over a temporary store, and the store (the runtime keeps its own private).
fn core() -> (Core, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(SledStore::temporary().unwrap());
    let options = CoreOptions {
        public_url: "http://localhost:8080".into(),
        limits: Default::default(),
        sign_in_per_ip_per_minute: 100,
        organisation: "Proofup".into(),
        mail: None,
        risk: Default::default(),
    };
    (Core::new(store.clone(), Arc::new(SystemClock), proofup::domain::secretbox::SecretBox::random(), &options), store)
}

fn alice(store: &Arc<dyn Store>) -> User {
    let now = SystemClock.now();
    let u = User {
        id: "u-alice".into(),
        username: "alice".into(),
        display_name: "Alice".into(),
        email: None,
        email_verified: false,
        admin_notices: false,
        role: Role::User,
        enabled: true,
        emergency_access: false,
        password_hash: String::new(),
        created_at: now,
        updated_at: now,
        last_sign_in_at: None,
    };
    let audit = AuditRecord {
        id: String::new(),
        at: now,
        actor_id: None,
        actor: "test".into(),
        action: "user.created".into(),
        target_id: None,
        target: "alice".into(),
        changes: vec![],
        ip: "127.0.0.1".into(),
    };
    store.create_user(&u, AuditDraft(audit)).unwrap();
    u
}

/// A sign-in in progress for `user` that proved `proved`, resuming `continuation`.
fn signing(
    store: &Arc<dyn Store>,
    user: &User,
    proved: &[Factor],
    continuation: Option<Continuation>,
) -> ([u8; 32], Progress) {
    let now = SystemClock.now();
    let flow = LoginFlow {
        proved: Factors::of(proved),
        continuation,
        ..LoginFlow::begun(&user.id, proved[0], now, "127.0.0.1", "test")
    };
    let key = session_key(&format!("token-{proved:?}"));
    store.put_login(&key, &flow).unwrap();
    (key, Progress::Signing(flow))
}

/// A complete session for `user`.
fn complete(store: &Arc<dyn Store>, user: &User) -> ([u8; 32], Progress) {
    let s = Session::begun(&user.id, SystemClock.now(), "127.0.0.1", "test");
    let key = session_key("token-complete");
    store.create_session(&key, &s).unwrap();
    (key, Progress::Complete(s))
}

fn client() -> ClientInfo {
    ClientInfo::new("127.0.0.1".into(), "test")
}

#[actix_web::test]
async fn completing_writes_the_first_session_and_hands_back_the_continuation() {
    let (core, store) = core();
    let user = alice(&store);
    let resume = Continuation::Authorize { request: "req-1".into() };
    let (key, p) = signing(&store, &user, &[Factor::Password], Some(resume.clone()));
    assert!(store.session(&key).unwrap().is_none(), "signing in is not a session");
    assert_eq!(store.count_sessions().unwrap(), 0);
    let flow = SignIn::new(&core, key, p, user.clone(), client());
    let done = flow.second_step_done("Authenticator app \"Phone\"", Factor::AuthenticatorApp).await.unwrap();
    assert_eq!(done.continuation, Some(resume.clone()), "what to resume comes back to the caller");
    assert!(store.login(&key).unwrap().is_none(), "the sign-in in progress is gone");
    let fresh = store.session(&session_key(&done.token)).unwrap().unwrap();
    assert!(fresh.complete() && fresh.mfa_at.is_some());
    assert_eq!(fresh.amr, ["pwd", "otp", "mfa"], "what was proved, for the ID tokens");
    assert_eq!(fresh.continuation, Some(resume), "kept until the application's flow ends");
    assert_eq!(done.me.continue_to, None, "no such flow waits: nowhere to continue to");
    assert_eq!(done.me.next_step, proofup_shared::mfa::NextStep::Done);
    let log = store.list_sign_ins(None, 10).unwrap().items;
    assert_eq!(log.len(), 1);
    assert!(log[0].reason.contains("Authenticator app"), "{:?}", log[0].reason);
}

#[actix_web::test]
async fn steps_that_do_not_belong_to_the_sign_in_are_refused() {
    let (core, store) = core();
    let user = alice(&store);
    // Began with a pass: only a password may be chosen.
    let (key, p) = signing(&store, &user, &[Factor::TemporaryAccessPass], None);
    let flow = SignIn::new(&core, key, p, user.clone(), client());
    assert!(matches!(flow.may_prove(), Err(ServiceError::WrongStage(_))));
    assert!(matches!(flow.may_register(), Err(ServiceError::WrongStage(_))));
    assert!(matches!(flow.skip().await, Err(ServiceError::WrongStage(_))));
    assert!(store.login(&key).unwrap().is_some(), "a refused step changes nothing");
    assert_eq!(store.count_sessions().unwrap(), 0);

    let (key, p) = complete(&store, &user);
    let flow = SignIn::new(&core, key, p, user, client());
    assert!(flow.may_prove().is_ok() && flow.may_register().is_ok(), "a complete session may re-prove and add");
    assert!(matches!(flow.must_be_proving(), Err(ServiceError::WrongStage(_))));
    assert!(matches!(flow.skip().await, Err(ServiceError::WrongStage(_))));
    // A failed re-authentication of a complete session is not a sign-in: nothing is logged.
    flow.second_step_failed("Second factor: wrong or reused code").await;
    assert!(store.list_sign_ins(None, 10).unwrap().items.is_empty());
}

#[actix_web::test]
async fn ending_a_users_sessions_ends_their_sign_ins_in_progress() {
    let (_core, store) = core();
    let user = alice(&store);
    let (key, _) = signing(&store, &user, &[Factor::Password], None);
    let (session_key_, _) = complete(&store, &user);
    assert_eq!(store.delete_user_sessions(&user.id).unwrap(), 1, "one session");
    assert!(store.login(&key).unwrap().is_none(), "and the sign-in in progress with it");
    assert!(store.session(&session_key_).unwrap().is_none());
}
