//! What one TOTP second step costs the store, operation by operation, at benchmark scale
//! (100,000 sessions, 100,000 authenticator apps, 100,000 sign-in rows in a sled store on disk).
//! Run: `cargo bench -p proofup --bench store`.
//!
//! A step must make three changes durable before it answers: the spent time step (replay
//! protection), the sign-in log row, and the session's new id (old one removed, new one
//! written); it also reads the session, the user, the throttle and the user's methods.
//! `step writes` times exactly those writes, one thread, no HTTP: the store's floor for a step.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use proofup::domain::model::{Method, Session};
use proofup::domain::records::SignInRecord;
use proofup::store::sled::SledStore;
use proofup::store::Durability;
use proofup::store::{MethodStore, SessionStore, SignInLog};
use proofup_shared::api::SignInResult;
use time::OffsetDateTime;

const N: u32 = 100_000;

fn session(user: u32, at: OffsetDateTime) -> Session {
    Session::begun(&format!("seed-u{user}"), at, "127.0.0.1", "Mozilla/5.0 (X11; Linux x86_64) bench")
}

fn key(i: u64) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(i.to_be_bytes()).into()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = SledStore::open(dir.path(), 64 << 20).expect("store");
    let now = OffsetDateTime::now_utc();
    let methods: Vec<Method> = (0..N)
        .map(|u| Method {
            id: format!("m{u}"),
            user_id: format!("seed-u{u}"),
            kind: proofup_shared::mfa::MethodKind::AuthenticatorApp,
            name: "Phone".into(),
            sealed_secret: "x".repeat(120),
            credential_id: None,
            passkey: None,
            last_step: None,
            created_at: now,
            last_used_at: None,
        })
        .collect();
    s.seed_methods(&methods).expect("methods");
    for u in 0..N {
        s.create_session(&key(u as u64), &session(u, now)).expect("session");
    }
    let row = |u: u32| SignInRecord {
        id: String::new(),
        at: now,
        username: format!("seed-user-{u:06}"),
        user_id: Some(format!("seed-u{u}")),
        result: SignInResult::Success,
        reason: "Authenticator app \"Phone\"".into(),
        ip: "127.0.0.1".into(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64) bench".into(),
        interactive: true,
        application: None,
        count: 1,
        outcomes: Vec::new(),
        place: None,
    };
    for u in 0..N {
        s.append_sign_in(row(u)).expect("row");
    }
    s.flush().expect("flush");

    let mut next = N as u64; // the next unused session key; sessions key(next - N)..key(next) exist
    let mut step = 1u64;
    let mut u = 0u32;
    c.bench_function("step reads (session, user's methods)", |b| {
        b.iter(|| {
            u = (u + 7919) % N;
            black_box(s.session(&key(u as u64)).expect("read"));
            black_box(s.methods(&format!("seed-u{u}")).expect("read"));
        })
    });
    c.bench_function("step writes (spend the time step, log row, session new id)", |b| {
        b.iter(|| {
            u = (u + 7919) % N;
            if u == 0 {
                step += 1;
            }
            s.record_totp_use(&format!("seed-u{u}"), &format!("m{u}"), step + 1_000, now).expect("cas");
            s.append_sign_in(row(u)).expect("row");
            s.delete_session(&key(next - N as u64)).expect("delete"); // the oldest session
            s.create_session(&key(next), &session(u, now)).expect("create");
            next += 1;
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
