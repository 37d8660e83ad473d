//! What a token request costs, against its bound: one RS256 signature (aws-lc-rs through
//! jsonwebtoken, an ID token's claims) plus one durable write of the store. A refresh grant does
//! exactly one signature, and its writes (the spent token, the new access and refresh tokens, the
//! sign-in log row) share one durable sync; everything else it does (client secret, reads,
//! checks) is the overhead measured here. Target: a refresh within 3x (signature + durable write).
//! Run: `cargo bench -p proofup --bench tokens`.
//!
//! ID tokens are signed with the key parsed once (`keys::Signer`); the rows "one RS256 signature"
//! and "the active signing key opened" are what every token paid before it.

use proofup::domain::records::AuditRecord;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use proofup::domain::model::{ClientInfo, User};
use proofup::domain::oidc::grant::{Grant, RefreshGrant};
use proofup::domain::oidc::{Application, KeyAlg};
use proofup::service::oidc::token::ClientAuth;
use proofup::service::{Core, CoreOptions};
use proofup::store::sled::SledStore;
use proofup::store::{ApplicationStore, AuditDraft, Durability, GrantStore, Store, UserStore};

use time::OffsetDateTime;

fn audit(action: &str) -> AuditDraft {
    AuditDraft(AuditRecord {
        id: String::new(),
        at: OffsetDateTime::now_utc(),
        actor_id: None,
        actor: "bench".into(),
        action: action.into(),
        target_id: None,
        target: String::new(),
        changes: vec![],
        ip: "127.0.0.1".into(),
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SledStore::open(dir.path(), 64 << 20).expect("store"));
    let options = CoreOptions::from_config(&proofup::config::HttpConfig::for_tests());
    let core = Core::new(
        store.clone() as Arc<dyn Store>,
        Arc::new(proofup::domain::clock::SystemClock),
        proofup::domain::secretbox::SecretBox::random(),
        &options,
    );
    core.ensure_signing_keys().expect("keys");
    let now = OffsetDateTime::now_utc();
    let user = User {
        id: "u1".into(),
        username: "bob".into(),
        display_name: "Bob".into(),
        email: None,
        email_verified: false,
        admin_notices: false,
        role: proofup_shared::api::Role::User,
        enabled: true,
        emergency_access: false,
        password_hash: String::new(),
        created_at: now,
        updated_at: now,
        last_sign_in_at: None,
    };
    store.create_user(&user, audit("user.created")).expect("user");
    let req: proofup_shared::apps::ApplicationRequest = serde_json::from_value(serde_json::json!({
        "name": "Bench", "redirect_uris": ["https://app.example.com/cb"], "scopes": ["openid", "profile"],
        "refresh_tokens": true, "refresh_token_days": 30
    }))
    .expect("request");
    let secret = "bench-secret-bench-secret-bench-secret-0";
    store.create_application(&Application::new("bench".into(), &req, Some(secret), now), audit("app")).expect("app");
    let grant = Grant {
        id: "g1".into(),
        client_id: "bench".into(),
        user_id: "u1".into(),
        sid: "sid".into(),
        scopes: vec!["openid".into(), "profile".into()],
        auth_time: now,
        amr: vec!["pwd".into()],
        expires_at: now + time::Duration::days(30),
        origin: None,
    };
    store.put_grant(&grant).expect("grant");
    let client = ClientInfo::new("127.0.0.1".into(), "bench");
    let mut n = 0u64;
    let mut fresh_token = || {
        n += 1;
        let token = format!("bench-refresh-token-{n:020}");
        let r = RefreshGrant {
            grant: "g1".into(),
            client_id: "bench".into(),
            user_id: "u1".into(),
            scopes: grant.scopes.clone(),
            expires_at: grant.expires_at,
            spent: false,
        };
        store.put_refresh_token(&proofup::service::session_key(&token), &r).expect("token");
        token
    };

    let mut g = c.benchmark_group("tokens");
    let (kid, key) = core.active_signing_key(KeyAlg::RS256).expect("key");
    let claims = serde_json::json!({"iss": "http://localhost:8080", "sub": "u1", "aud": "bench", "exp": 0, "iat": 0,
        "auth_time": 0, "sid": "sid", "acr": "urn:proofup:acr:1fa", "amr": ["pwd"], "at_hash": "x".repeat(22),
        "name": "Bob", "preferred_username": "bob", "updated_at": 0});
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid);
    g.bench_function("one RS256 signature (ID token)", |b| {
        b.iter(|| jsonwebtoken::encode(&header, &claims, &key).expect("sign"))
    });
    // What an ID token costs now: the key parsed once (`keys::Signer`), against the two rows
    // above and below that every token paid before (open the key, then sign through jsonwebtoken,
    // which parses it again).
    core.sign_id_token(&claims).expect("sign");
    g.bench_function("one RS256 signature with the parsed key (keys::Signer, an ID token)", |b| {
        b.iter(|| core.sign_id_token(&claims).expect("sign"))
    });
    g.bench_function("one durable write (a token put, then durable())", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&i.to_be_bytes());
            store
                .put_access_token(
                    &k,
                    &proofup::domain::oidc::grant::AccessGrant {
                        client_id: "bench".into(),
                        user_id: "u1".into(),
                        scopes: vec![],
                        expires_at: now,
                        grant: "g1".into(),
                    },
                )
                .expect("put");
            rt.block_on(store.durable()).expect("durable");
        })
    });
    g.bench_function("the active signing key opened (read, unseal, parse)", |b| {
        b.iter(|| core.active_signing_key(KeyAlg::RS256).expect("key"))
    });
    g.bench_function("refresh grant (Core::refresh: client secret, checks, signature, durable)", |b| {
        b.iter_batched(
            &mut fresh_token,
            |t| {
                rt.block_on(core.refresh(
                    ClientAuth { client_id: "bench", secret: Some(secret) },
                    Some(&t),
                    None,
                    &client,
                ))
                .map_err(|_| "refused")
                .expect("refreshed")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
    let _ = store.flush();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
