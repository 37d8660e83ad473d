//! The registration-reminder job (`Core::send_reminders`) over 100,000 users (5,000 nested groups),
//! the policy On for everyone, 10,000 of them unregistered with their grace running and a
//! reminder due. Target (issue 29): under 1 s of work per run. Measured: the steady run (every
//! due reminder already marked, as each hourly run after the first) and, once, the first run
//! that marks and queues them all.
//! Run: `cargo bench -p proofup --bench reminders`.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use proofup::domain::policy::RegistrationState;
use proofup::domain::records::{AuditRecord, PolicyRecord};
use proofup::service::{Core, CoreOptions};
use proofup::store::sled::SledStore;
use proofup::store::{AuditDraft, PolicyStore, Store, UserStore};
use time::OffsetDateTime;

const USERS: usize = 100_000;
const DUE: usize = 10_000;

fn audit() -> AuditDraft {
    AuditDraft(AuditRecord {
        id: String::new(),
        at: OffsetDateTime::now_utc(),
        actor_id: None,
        actor: "bench".into(),
        action: "bench".into(),
        target_id: None,
        target: String::new(),
        changes: vec![],
        ip: "127.0.0.1".into(),
    })
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = proofup::config::SeedArgs {
        data_dir: dir.path().to_owned(),
        users: USERS,
        groups: 5_000,
        depth: 8,
        sign_ins: 0,
        audit: 0,
        totp_sessions: 0,
        sessions_out: None,
        oidc_grants: 0,
        grants_out: None,
        access_token_minutes: 60,
    };
    proofup::cli::seed::seed(&args).expect("seed");
    let store = Arc::new(SledStore::open(dir.path(), 64 << 20).expect("store"));
    let now = OffsetDateTime::now_utc();
    let mut policy = store.policy().expect("policy");
    policy.policy.enforcement = proofup_shared::policy::Enforcement::On;
    policy.policy.grace_days = 14;
    let next = PolicyRecord { version: policy.version + 1, ..policy.clone() };
    store.save_policy(&next, policy.version, audit()).expect("policy");
    // A tenth of the users: prompted 10 days ago (4 days of grace left), an address on file.
    let mut ids = Vec::new();
    store.for_each_user(&mut |u| ids.push(u.id.clone())).expect("users");
    for id in ids.iter().take(DUE) {
        let state = RegistrationState { first_prompted_at: Some(now - time::Duration::days(10)), ..Default::default() };
        store.put_registration_state(id, &state, None).expect("state");
        let mut u = store.user(id).expect("user").expect("user");
        u.email = Some(format!("{}@example.test", u.username));
        store.update_user(&u, audit()).expect("user");
    }
    let mut config = proofup::config::HttpConfig::for_tests();
    config.mail = Some(proofup::domain::mail::MailSetup {
        server: "127.0.0.1:25".into(),
        security: "none".into(),
        username: None,
        from: "Proofup <no-reply@example.test>".into(),
    });
    let core = Core::new(
        store.clone() as Arc<dyn Store>,
        Arc::new(proofup::domain::clock::SystemClock),
        proofup::domain::secretbox::SecretBox::random(),
        &CoreOptions::from_config(&config),
    );
    let first = std::time::Instant::now();
    let queued = core.send_reminders().expect("reminders");
    let first = first.elapsed();
    assert_eq!(queued as usize, DUE);
    println!("first run: {DUE} reminders marked and queued in {first:.2?}");

    let mut group = c.benchmark_group("registration reminders");
    group.sample_size(10);
    group.bench_function("steady run (100k users, 10k due, all already sent)", |b| {
        b.iter(|| assert_eq!(core.send_reminders().expect("reminders"), 0))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
