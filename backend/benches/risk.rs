//! What risk costs (issue 28), in one run:
//! - the risk work a password sign-in adds (GeoIP lookup, the profile decoded and the sign-in
//!   learnt, the detections, the spray watch, the breached-password filter, the device hash)
//!   against one Argon2id verification with the production parameters — target: at most 0.05;
//! - the sign-in risk backtest over 1,000,000 sign-in rows on the embedded store — target: under 5 s.
//!
//! Run: `cargo bench -p proofup --bench risk`. Prints the ratio and the backtest's time.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use proofup::domain::records::{AuditRecord, SignInRecord};
use proofup::domain::risk::{self, Observed, OrgFamiliar, Profile, SprayWatch};
use proofup::service::risk::{Breached, Locate};
use proofup::service::{Caller, Core, CoreOptions};
use proofup::store::sled::SledStore;
use proofup::store::{AuditDraft, Durability, SignInLog, Store, UserStore};
use proofup_shared::api::{PolicyOutcome, RiskEffect, Role, SignInResult};
use proofup_shared::policy::SignInRiskPolicy;
use proofup_shared::risk::{Place, RiskLevel};
use time::{Duration, OffsetDateTime};

#[derive(serde::Serialize)]
struct Loc {
    latitude: f64,
    longitude: f64,
    accuracy_radius: u16,
}

#[derive(serde::Serialize)]
struct Rec {
    country: BTreeMap<String, String>,
    city: BTreeMap<String, BTreeMap<String, String>>,
    location: Loc,
    autonomous_system_number: u32,
    autonomous_system_organization: String,
}

/// A GeoIP database of 4,096 /20 networks (each its own country and network).
fn mmdb(dir: &std::path::Path) -> std::path::PathBuf {
    let mut w = mmdb_writer::Writer::new("Bench-City-ASN");
    for i in 0..4096u32 {
        let net = format!("{}.{}.{}.0/20", 11 + (i >> 8), (i & 0xff), 0);
        let rec = Rec {
            country: [("iso_code".to_owned(), format!("C{}", i % 200))].into(),
            city: [("names".to_owned(), [("en".to_owned(), format!("City {i}"))].into())].into(),
            location: Loc {
                latitude: f64::from(i % 170) - 85.0,
                longitude: f64::from(i % 350) - 175.0,
                accuracy_radius: 20,
            },
            autonomous_system_number: 64_000 + i,
            autonomous_system_organization: format!("Net {i}"),
        };
        if let Ok(n) = net.parse::<ipnet::IpNet>() {
            let _ = w.insert(n, &rec);
        }
    }
    let path = dir.join("bench.mmdb");
    std::fs::write(&path, w.to_bytes().expect("mmdb")).expect("write mmdb");
    path
}

fn breached(dir: &std::path::Path) -> proofup::adapters::breached::BreachedSet {
    let list = dir.join("list.txt");
    let text: String = (0..1_000_000).map(|i| format!("leaked password {i}\n")).collect();
    std::fs::write(&list, text).expect("list");
    let out = dir.join("breached.set");
    proofup::adapters::breached::BreachedSet::build(&list, &out, "bench", 1).expect("build");
    proofup::adapters::breached::BreachedSet::open(&out).expect("open")
}

fn mature_profile(now: OffsetDateTime, place: &Place) -> Profile {
    let mut p = Profile::new("u1", now - Duration::days(30));
    for i in 0..60 {
        p.learn(&Observed {
            at: now - Duration::hours(60 - i),
            place,
            device: Some("device-hash-0123456789"),
            trusted: false,
        });
    }
    p
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let geo = proofup::adapters::geoip::MmdbLocator::open(&[mmdb(dir.path())]).expect("geo");
    let set = breached(dir.path());
    let now = OffsetDateTime::now_utc();
    let ip: IpAddr = "12.34.5.6".parse().expect("ip");
    let home = geo.locate(ip);
    assert!(home.located(), "the bench database places its addresses");
    let profile = mature_profile(now, &home);
    let stored = serde_json::to_vec(&profile).expect("profile json");
    let mut spray = SprayWatch::default();
    for i in 0..5_000u32 {
        let src: IpAddr = format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff).parse().expect("ip");
        spray.failure(src, &format!("user{i}"), "Winter2026!", false, now);
    }
    let org = OrgFamiliar::default();

    // One Argon2id verification with the production parameters (what every password sign-in costs).
    let phc = {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"bench-salt-16byt").expect("salt");
        proofup::hashing::argon2().hash_password(b"correct horse battery staple", &salt).expect("hash").to_string()
    };
    let mut worker = proofup::hashing::Worker::default();
    let mut group = c.benchmark_group("risk");
    group.sample_size(20);
    group.bench_function("argon2id_verify", |b| {
        b.iter(|| black_box(worker.verify(black_box(b"correct horse battery staple"), &phc)))
    });
    // The risk work a password sign-in adds, as the service does it.
    let risk_work = || {
        let place = geo.locate(black_box(ip));
        let p: Profile = serde_json::from_slice(&stored).expect("decode");
        let device = proofup::http::session::device_hash("browser-device-cookie-value-0123456789");
        let o = Observed { at: now, place: &place, device: Some(&device), trusted: false };
        let mut found = risk::assess(Some(&p), &o, false, &org);
        if let Some(e) = spray.verdict(ip, now) {
            found.push(risk::Found {
                kind: proofup_shared::risk::DetectionKind::PasswordSpray,
                level: RiskLevel::High,
                evidence: e,
            });
        }
        let leaked = set.contains(risk::breach_key("correct horse battery staple"));
        let level = risk::sign_in_level(found.iter().map(|f| &f.level));
        // At completion: the profile learnt and written back.
        let mut p = p;
        p.learn(&o);
        let out = serde_json::to_vec(&p).expect("encode");
        black_box((level, leaked, out.len()))
    };
    group.bench_function("risk_work_per_password_sign_in", |b| b.iter(risk_work));
    group.finish();

    // The ratio, measured here in the same run.
    let time = |f: &mut dyn FnMut(), n: u32| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_secs_f64() / f64::from(n)
    };
    let hash = time(
        &mut || {
            black_box(worker.verify(b"correct horse battery staple", &phc));
        },
        30,
    );
    let work = time(
        &mut || {
            risk_work();
        },
        3_000,
    );
    println!(
        "risk work per password sign-in: {:.1} µs; one Argon2id verification: {:.1} ms; ratio {:.4} (target ≤ 0.05)",
        work * 1e6,
        hash * 1e3,
        work / hash
    );

    backtest();
    let _ = profile;
}

/// 1,000,000 sign-in rows over 30 days (1 % risky), then the backtest once.
fn backtest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SledStore::open(dir.path(), 64 << 20).expect("store"));
    let now = OffsetDateTime::now_utc();
    let audit = || {
        AuditDraft(AuditRecord {
            id: String::new(),
            at: now,
            actor_id: None,
            actor: "bench".into(),
            action: "bench".into(),
            target_id: None,
            target: String::new(),
            changes: vec![],
            ip: "127.0.0.1".into(),
        })
    };
    let user = |i: usize, role: Role| proofup::domain::model::User {
        id: format!("u{i}"),
        username: format!("user{i}"),
        display_name: format!("User {i}"),
        email: None,
        email_verified: false,
        admin_notices: false,
        role,
        enabled: true,
        emergency_access: false,
        password_hash: String::new(),
        created_at: now,
        updated_at: now,
        last_sign_in_at: None,
    };
    for i in 0..1_000 {
        store.create_user(&user(i, Role::User), audit()).expect("user");
    }
    let t = Instant::now();
    for i in 0..1_000_000usize {
        let risky = i % 100 == 0;
        let outcomes = if risky {
            vec![PolicyOutcome::SignInRisk {
                level: if i % 300 == 0 { RiskLevel::High } else { RiskLevel::Medium },
                effect: RiskEffect::Noted,
            }]
        } else {
            vec![PolicyOutcome::SecondFactorPending]
        };
        store
            .append_sign_in(SignInRecord {
                id: String::new(),
                at: now - Duration::seconds(2_500_000) + Duration::seconds((i as i64) * 5 / 2),
                username: format!("user{}", i % 1_000),
                user_id: Some(format!("u{}", i % 1_000)),
                result: SignInResult::Success,
                reason: "Password".into(),
                ip: "198.51.100.7".into(),
                user_agent: "Mozilla/5.0".into(),
                interactive: true,
                application: None,
                count: 1,
                outcomes,
                place: Some(Place {
                    country: Some("FR".into()),
                    asn: Some(64500),
                    lat_e1: Some(489),
                    lon_e1: Some(24),
                    ..Place::default()
                }),
            })
            .expect("row");
    }
    store.flush().expect("flush");
    println!("wrote 1,000,000 sign-in rows in {:.1} s", t.elapsed().as_secs_f64());
    let s: Arc<dyn Store> = store;
    let options = CoreOptions {
        public_url: "http://localhost:8080".into(),
        limits: Default::default(),
        sign_in_per_ip_per_minute: 20,
        organisation: "Bench".into(),
        mail: None,
        risk: Default::default(),
    };
    let core = Core::new(
        s,
        Arc::new(proofup::domain::clock::SystemClock),
        proofup::domain::secretbox::SecretBox::random(),
        &options,
    );
    let caller = Caller {
        user: user(0, Role::GlobalAdministrator),
        session: proofup::domain::model::Session::begun("u0", now, "127.0.0.1", "bench"),
        key: [0; 32],
        client: proofup::domain::model::ClientInfo::new("127.0.0.1".into(), "bench"),
    };
    let reader = caller.reader().expect("reader");
    let policy = SignInRiskPolicy { enforcement: proofup_shared::policy::Enforcement::On, ..Default::default() };
    for run in 0..3 {
        let t = Instant::now();
        let out = core.backtest_sign_in_risk(&reader, &policy).expect("backtest");
        println!(
            "backtest run {run}: {:.2} s over {} sign-ins ({} risky, {} stepped up) — target under 5 s",
            t.elapsed().as_secs_f64(),
            out.sign_ins,
            out.risky_sign_ins,
            out.stepped_up
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
