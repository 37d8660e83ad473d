//! Store-level tests on a real sled directory.
#![allow(clippy::unwrap_used)]

use proofup::store::sled::SledStore;
use proofup::store::sled::{OpenError, SCHEMA_VERSION};
use proofup::store::Durability;
use proofup::store::{AuditLog, SignInLog};

#[test]
fn refuses_a_newer_schema_and_reopens_its_own() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path(), 8 << 20).unwrap();
        s.force_schema_version(SCHEMA_VERSION + 1).unwrap();
    }
    match SledStore::open(dir.path(), 8 << 20) {
        Err(OpenError::NewerSchema { found }) => assert_eq!(found, SCHEMA_VERSION + 1),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("opened a newer schema"),
    }
    let msg = SledStore::open(dir.path(), 8 << 20).err().unwrap().to_string();
    assert!(msg.contains("newer Proofup"), "{msg}");

    let other = tempfile::tempdir().unwrap();
    drop(SledStore::open(other.path(), 8 << 20).unwrap());
    SledStore::open(other.path(), 8 << 20).unwrap().ping().unwrap();
}

#[test]
fn seed_writes_a_nested_directory_that_the_index_rebuilds() {
    use proofup::store::{GroupStore, UserStore};
    let dir = tempfile::tempdir().unwrap();
    let args = proofup::config::SeedArgs {
        data_dir: dir.path().to_owned(),
        users: 200,
        groups: 40,
        depth: 4,
        sign_ins: 500,
        audit: 300,
        totp_sessions: 5,
        sessions_out: Some(dir.path().join("sessions.txt")),
        oidc_grants: 3,
        grants_out: Some(dir.path().join("grants.txt")),
        access_token_minutes: 60,
    };
    let msg = proofup::cli::seed::seed(&args).unwrap();
    assert!(msg.starts_with("seeded 200 users, 40 groups"), "{msg}");
    let s = SledStore::open(dir.path(), 8 << 20).unwrap();
    assert_eq!(s.count_users().unwrap(), 200);
    assert_eq!(s.count_groups().unwrap(), 40);
    assert_eq!(s.count_sign_ins().unwrap(), 500);
    // The token benchmark's sign-ins: an application, then a waiting code and refresh token each.
    {
        use proofup::store::{ApplicationStore, GrantStore};
        let grants = std::fs::read_to_string(dir.path().join("grants.txt")).unwrap();
        let lines: Vec<&str> = grants.lines().collect();
        assert_eq!(lines.len(), 4, "{grants}");
        let (client, secret) = lines[0].split_once(' ').unwrap();
        let app = s.application(client).unwrap().unwrap();
        assert!(app.secret_matches(secret, time::OffsetDateTime::now_utc()));
        for l in &lines[1..] {
            let (code, refresh) = l.split_once(' ').unwrap();
            assert!(s.code(&proofup::service::session_key(code)).unwrap().is_some_and(|c| !c.spent));
            assert!(s.refresh_token(&proofup::service::session_key(refresh)).unwrap().is_some_and(|r| !r.spent));
        }
    }
    assert_eq!(s.count_audit().unwrap(), 300 + 1, "the seeded rows, and the benchmark application's creation");
    assert!(s.user_by_username("seed-user-000199").unwrap().is_some());
    let index = proofup::store::GroupStore::membership_index(&s).unwrap();
    // Each user is directly in up to three groups of the lower levels, and reaches the top through nesting.
    let groups = index.groups_of("seed-u7");
    assert!(!groups.is_empty() && groups.iter().any(|m| m.path.len() > 1), "{groups:?}");
    // Benchmark sessions: five users with an authenticator app whose listed secret opens, each
    // with a session waiting for its code.
    use proofup::store::{MethodStore, SessionStore};
    let lines = std::fs::read_to_string(dir.path().join("sessions.txt")).unwrap();
    assert_eq!(lines.lines().count(), 5);
    let key: [u8; 32] = std::fs::read(dir.path().join("secret.key")).unwrap().try_into().unwrap();
    let sb = proofup::domain::secretbox::SecretBox::new(&key);
    for (i, line) in lines.lines().enumerate() {
        let (token, secret) = line.split_once(' ').unwrap();
        // A sign-in waiting for its code: a login flow that proved the password, not a session.
        assert!(s.session(&proofup::service::session_key(token)).unwrap().is_none());
        let flow = s.login(&proofup::service::session_key(token)).unwrap().unwrap();
        assert_eq!(flow.proved, proofup::domain::access::Factors::of(&[proofup::domain::access::Factor::Password]));
        assert_eq!(flow.user_id, format!("seed-u{i}"));
        let m = s.methods(&flow.user_id).unwrap();
        assert_eq!(m.len(), 1);
        let plain =
            sb.open(&m[0].sealed_secret, &proofup::domain::model::Method::seal_context(&m[0].user_id, &m[0].id));
        assert_eq!(plain.unwrap(), proofup::domain::totp::decode_base32(secret).unwrap());
    }
}

/// Many threads creating sessions and each waiting for `durable()` at once: every wait
/// ends (one committer thread syncs for all; concurrent sled flushes could deadlock), and every
/// acknowledged write is there after reopening.
#[test]
fn concurrent_durable_waits_all_finish_and_their_writes_survive_reopening() {
    use proofup::domain::model::Session;
    use proofup::store::SessionStore;
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let now = time::OffsetDateTime::now_utc();
    for t in 0..16u8 {
        let (store, done_tx) = (store.clone(), done_tx.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            for i in 0..100u8 {
                let mut key = [0u8; 32];
                (key[0], key[1]) = (t, i);
                let s = Session::begun(&format!("u{t}"), now, "127.0.0.1", "test");
                store.create_session(&key, &s).unwrap();
                rt.block_on(store.durable()).unwrap();
            }
            done_tx.send(t).unwrap();
        });
    }
    for _ in 0..16 {
        done_rx.recv_timeout(std::time::Duration::from_secs(120)).expect("a durable() wait never ended");
    }
    drop(store);
    let reopened = SledStore::open(dir.path(), 8 << 20).unwrap();
    assert_eq!(reopened.count_sessions().unwrap(), 1600);
}

/// A TOTP step is spent once: of many threads using the same step at the same moment exactly
/// one succeeds; an earlier step is refused after it, a later one accepted; the step survives
/// reopening. (The store uses compare-and-swap here, not a transaction.)
#[test]
fn a_totp_step_is_spent_exactly_once_under_concurrent_use() {
    use proofup::domain::model::Method;
    use proofup::store::MethodStore;
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
    let now = time::OffsetDateTime::now_utc();
    let m = |id: &str| Method {
        id: id.into(),
        user_id: "u1".into(),
        kind: proofup_shared::mfa::MethodKind::AuthenticatorApp,
        name: "Phone".into(),
        sealed_secret: "x".into(),
        credential_id: None,
        passkey: None,
        last_step: None,
        created_at: now,
        last_used_at: None,
    };
    store.seed_methods(&[m("m1"), m("m2")]).unwrap();
    for round in 0..20u64 {
        let step = 1_000 + round;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let wins: usize = (0..8)
            .map(|_| {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    store.record_totp_use("u1", "m1", step, now).unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum();
        assert_eq!(wins, 1, "step {step} accepted {wins} times");
    }
    assert!(!store.record_totp_use("u1", "m1", 1_010, now).unwrap(), "an earlier step after a later one");
    assert!(store.record_totp_use("u1", "m2", 1_010, now).unwrap(), "each method has its own steps");
    assert!(!store.record_totp_use("u1", "gone", 5_000, now).unwrap(), "no such method");
    store.flush().unwrap();
    drop(store);
    let reopened = SledStore::open(dir.path(), 8 << 20).unwrap();
    assert!(!reopened.record_totp_use("u1", "m1", 1_019, now).unwrap(), "the spent step survived reopening");
    assert!(reopened.record_totp_use("u1", "m1", 1_020, now).unwrap());
    assert_eq!(reopened.methods("u1").unwrap().iter().find(|m| m.id == "m1").unwrap().last_step, Some(1_020));
}

fn session_of(user: &str, at: time::OffsetDateTime) -> proofup::domain::model::Session {
    proofup::domain::model::Session::begun(user, at, "127.0.0.1", "test")
}

#[test]
fn a_users_sessions_are_found_after_reopening_and_ended_together() {
    use proofup::store::SessionStore;
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    {
        // A store written before the user → sessions index moved into memory had it as a tree.
        let db = sled::open(dir.path()).unwrap();
        db.open_tree("user_sessions").unwrap().insert(b"old\0xxxx", &[][..]).unwrap();
        db.flush().unwrap();
    }
    {
        let s = SledStore::open(dir.path(), 8 << 20).unwrap();
        s.create_session(&[1; 32], &session_of("alice", now)).unwrap();
        s.create_session(&[2; 32], &session_of("alice", now)).unwrap();
        s.create_session(&[3; 32], &session_of("bob", now)).unwrap();
        s.create_session(&[4; 32], &session_of("alice", now)).unwrap();
        s.delete_session(&[4; 32]).unwrap();
        assert_eq!(s.user_sessions("alice").unwrap().len(), 2);
        s.flush().unwrap();
    }
    let s = SledStore::open(dir.path(), 8 << 20).unwrap();
    assert!(!s.trees_for_backup().unwrap().iter().any(|(n, _)| n == b"user_sessions"), "the old tree is dropped");
    assert_eq!(s.user_sessions("alice").unwrap().len(), 2, "rebuilt from the sessions at open");
    assert_eq!(s.user_sessions("bob").unwrap().len(), 1);
    assert!(s.user_sessions("carol").unwrap().is_empty());
    assert_eq!(s.delete_user_sessions("alice").unwrap(), 2);
    assert!(s.session(&[1; 32]).unwrap().is_none() && s.session(&[2; 32]).unwrap().is_none());
    assert!(s.session(&[3; 32]).unwrap().is_some(), "another user's session stays");
    assert_eq!(s.delete_user_sessions("alice").unwrap(), 0);
    assert_eq!(s.count_sessions().unwrap(), 1);
}

#[test]
fn ending_every_session_of_a_user_misses_none_created_meanwhile() {
    use proofup::store::SessionStore;
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
    let now = time::OffsetDateTime::now_utc();
    let creators: Vec<_> = (0..4u8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..500u16 {
                    let mut key = [t; 32];
                    key[1..3].copy_from_slice(&i.to_be_bytes());
                    store.create_session(&key, &session_of("alice", now)).unwrap();
                }
            })
        })
        .collect();
    let mut ended = 0;
    while !creators.iter().all(|h| h.is_finished()) {
        ended += store.delete_user_sessions("alice").unwrap();
    }
    for h in creators {
        h.join().unwrap();
    }
    // Whatever was created after the last sweep is listed, and one more sweep ends all of it.
    let left = store.user_sessions("alice").unwrap().len() as u64;
    assert_eq!(store.count_sessions().unwrap(), left, "every stored session is in the index");
    ended += store.delete_user_sessions("alice").unwrap();
    assert_eq!(ended, 2000);
    assert_eq!(store.count_sessions().unwrap(), 0);
}

#[test]
fn method_counts_come_from_the_key_tree_which_older_stores_get_built() {
    use proofup::store::{AuditDraft, MethodStore};
    let dir = tempfile::tempdir().unwrap();
    {
        // A store from before `method_keys`: methods only.
        let db = sled::open(dir.path()).unwrap();
        let methods = db.open_tree("methods").unwrap();
        for k in [&b"u1\0m1"[..], b"u1\0m2", b"u2\0m1"] {
            methods.insert(k, &b"{}"[..]).unwrap();
        }
        db.flush().unwrap();
    }
    let s = SledStore::open(dir.path(), 8 << 20).unwrap();
    let counts = s.method_counts().unwrap();
    assert_eq!((counts.len(), counts["u1"], counts["u2"]), (2, 2, 1), "{counts:?}");
    let audit = || {
        AuditDraft(proofup::domain::records::AuditRecord {
            id: String::new(),
            at: time::OffsetDateTime::now_utc(),
            actor_id: None,
            actor: "system".into(),
            action: "mfa.reset".into(),
            target_id: Some("u1".into()),
            target: "u1".into(),
            changes: vec![],
            ip: String::new(),
        })
    };
    assert_eq!(s.delete_all_methods("u1", audit()).unwrap(), 2);
    assert_eq!(s.method_counts().unwrap().into_iter().collect::<Vec<_>>(), vec![("u2".to_string(), 1)]);
    drop(s);
    // Built once: reopening keeps the counts as they are now.
    let s = SledStore::open(dir.path(), 8 << 20).unwrap();
    assert_eq!(s.method_counts().unwrap().len(), 1);
}

/// The grant sweep removes expired records in batches (a million in one batch held ~4 GiB):
/// across several batches every expired one goes, and every live one stays.
#[test]
fn the_grant_sweep_removes_every_expired_token_across_batches_and_keeps_the_live_ones() {
    use proofup::domain::oidc::grant::AccessGrant;
    use proofup::store::GrantStore;
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path(), 8 << 20).unwrap();
    let now = time::macros::datetime!(2026-12-07 04:00 UTC);
    let token = |i: u32, expires_at| {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_be_bytes());
        let g = AccessGrant {
            client_id: "app".into(),
            user_id: String::new(),
            scopes: vec![],
            expires_at,
            grant: String::new(),
        };
        (k, g)
    };
    // 2,600 expired (two full batches of 1,024 and a part), 300 live, interleaved.
    for i in 0..2_900u32 {
        let expires = if i % 29 < 26 { now - time::Duration::minutes(1) } else { now + time::Duration::minutes(5) };
        let (k, g) = token(i, expires);
        s.put_access_token(&k, &g).unwrap();
    }
    assert_eq!(s.sweep_grants(now).unwrap(), 2_600);
    let left: Vec<u32> = (0..2_900u32).filter(|i| s.access_token(&token(*i, now).0).unwrap().is_some()).collect();
    assert_eq!(left.len(), 300);
    assert!(left.iter().all(|i| i % 29 >= 26), "only live tokens are left");
    assert_eq!(s.sweep_grants(now).unwrap(), 0);
    // The sweep reads an index by expiry: a record written again with a later expiry stays until
    // then, and one removed before its time leaves nothing behind.
    let (k, g) = token(5_000, now + time::Duration::minutes(1));
    s.put_access_token(&k, &g).unwrap();
    s.put_access_token(&k, &token(5_000, now + time::Duration::minutes(10)).1).unwrap();
    s.revoke_access_tokens(&[token(26, now).0]).unwrap();
    assert_eq!(s.sweep_grants(now + time::Duration::minutes(6)).unwrap(), 299, "the live ones, once expired");
    assert!(s.access_token(&k).unwrap().is_some(), "written again: kept until its new expiry");
    assert_eq!(s.sweep_grants(now + time::Duration::minutes(11)).unwrap(), 1);
    assert!(s.access_token(&k).unwrap().is_none());
    drop(s);

    // A store written before the index (records only): the index is built when it opens.
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        let tree = db.open_tree("access_tokens").unwrap();
        for i in 0..10u32 {
            let (k, g) = token(i, now + time::Duration::minutes(if i % 2 == 0 { 1 } else { -1 }));
            tree.insert(k, serde_json::to_vec(&g).unwrap()).unwrap();
        }
        db.flush().unwrap();
    }
    let s = SledStore::open(dir.path(), 8 << 20).unwrap();
    assert_eq!(s.sweep_grants(now).unwrap(), 5, "the expired ones of the older store");
    assert_eq!(s.sweep_grants(now).unwrap(), 0, "each swept once");
    assert_eq!(s.sweep_grants(now + time::Duration::minutes(1)).unwrap(), 5);
}
