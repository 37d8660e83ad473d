//! The PostgreSQL engine against a real server started by the test (issue 18, in progress): the
//! schema migrates once however many nodes start together, a newer schema is refused, and the
//! engine's connections answer from inside the tokio runtime actix runs its handlers on.
#![allow(clippy::unwrap_used)]

mod common;
#[macro_use]
mod conformance;

use std::sync::Arc;

use common::pg::PgServer;
use proofup::store::postgres::{PgOptions, PgStore, SCHEMA_VERSION};

#[test]
fn nodes_starting_together_migrate_once_and_a_newer_schema_is_refused() {
    let pg = PgServer::start();
    let url = pg.database("proofup");
    // Four nodes open the same empty database at the same moment.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                PgStore::open(&url, PgOptions { pool_size: 2, ..Default::default() }).map(|s| s.schema_version())
            })
        })
        .collect();
    for t in opened {
        assert_eq!(t.join().unwrap().unwrap().unwrap(), SCHEMA_VERSION);
    }
    let applied = pg.sql("proofup", "SELECT count(*) FROM proofup_schema");
    assert_eq!(applied, [SCHEMA_VERSION.to_string()], "each migration applied exactly once");
    // Reopening changes nothing.
    PgStore::open(&url, PgOptions::default()).unwrap();
    assert_eq!(pg.sql("proofup", "SELECT count(*) FROM proofup_schema"), applied);

    // A node of a newer release migrated this database: this one refuses it, and says why.
    pg.sql("proofup", &format!("INSERT INTO proofup_schema (version) VALUES ({})", SCHEMA_VERSION + 1));
    let err = PgStore::open(&url, PgOptions::default()).err().expect("refused");
    let msg = err.to_string();
    assert!(msg.contains("newer than this proofup understands") && msg.contains("upgrade proofup"), "{msg}");

    // A database that cannot be reached is a clear error, not a hang.
    let err = PgStore::open("postgres://postgres@127.0.0.1:1/none", PgOptions::default()).err().expect("refused");
    assert!(err.to_string().contains("could not connect to PostgreSQL"), "{err}");
}

#[actix_web::test]
async fn the_engine_answers_from_inside_the_runtime_and_cancels_slow_statements() {
    let pg = PgServer::start();
    let url = pg.database("proofup");
    let store = PgStore::open(&url, PgOptions { pool_size: 3, statement_timeout_ms: 300 }).unwrap();
    // Inside actix's runtime (where handlers call the store), many calls at once.
    store.ping().unwrap();
    let handles: Vec<_> = (0..12)
        .map(|_| {
            let s = store.clone();
            std::thread::spawn(move || s.ping())
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    // statement_timeout applies to every connection.
    let slow = store.run(|c| c.simple_query("SELECT pg_sleep(2)").map(|_| ()).map_err(proofup::store::postgres::pg));
    let err = slow.unwrap_err().to_string();
    assert!(err.contains("57014") && err.contains("statement timeout"), "cancelled by the server: {err}");
    store.ping().unwrap();
    // A connection the server ends is replaced on its next use.
    let killed = pg.sql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'proofup' AND pid <> pg_backend_pid()",
    );
    assert_eq!(killed.len(), 3, "the pool's three connections");
    // pg_terminate_backend only signals; wait until the three sessions have ended (each sends
    // its FATAL 57P01 to the client before it leaves pg_stat_activity).
    let ended = (0..500).any(|_| {
        let left = pg.sql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = 'proofup'");
        left == ["0"] || {
            std::thread::sleep(std::time::Duration::from_millis(10));
            false
        }
    });
    assert!(ended, "the server ended the pool's sessions");
    // Let the connections count as idle (they are asked before use only then).
    std::thread::sleep(proofup::store::postgres::IDLE_CHECK + std::time::Duration::from_millis(100));
    // Before a call on a connection idle that long the engine asks the server, so a session
    // ended while idle is replaced before a call runs on it: not one call fails, on any of the
    // three.
    // Three calls that wait for each other inside the pool run on its three connections.
    let all_three = Arc::new(std::sync::Barrier::new(3));
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let (s, all_three) = (store.clone(), all_three.clone());
            std::thread::spawn(move || {
                s.run(move |c| {
                    all_three.wait();
                    c.simple_query("SELECT 1").map(|_| ()).map_err(proofup::store::postgres::pg)
                })
            })
        })
        .collect();
    let mut failed: Vec<String> =
        calls.into_iter().filter_map(|h| h.join().unwrap().err().map(|e| e.to_string())).collect();
    failed.extend((0..6).filter_map(|_| store.ping().err().map(|e| e.to_string())));
    assert!(failed.is_empty(), "no call fails after the sessions were ended while idle: {failed:?}");
    let reconnected = pg.sql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = 'proofup'");
    assert!(reconnected != ["0"], "the engine connected again");
    // Which errors end a connection: a cancelled statement keeps it (and its prepared
    // statements); the server ending this very session marks it at once, before any later call.
    let kept = store.run(|c| {
        let timed_out = c.simple_query("SELECT pg_sleep(2)").is_err();
        let missing = c.simple_query("SELECT * FROM no_such_table").is_err();
        Ok((timed_out && missing, c.is_closed()))
    });
    assert_eq!(kept.unwrap(), (true, false), "a statement error does not end the connection");
    let ended = store.run(|c| {
        let err = c.simple_query("SELECT pg_terminate_backend(pg_backend_pid())").err().map(|e| e.to_string());
        Ok((err, c.is_closed()))
    });
    let (err, closed) = ended.unwrap();
    assert!(err.is_some() && closed, "a session the server ended is marked for replacement ({err:?})");
    store.ping().unwrap();
}

/// The PostgreSQL engine for the conformance suite: one database per case.
struct Pg {
    url: String,
    store: Option<Arc<PgStore>>,
}

impl conformance::Engine for Pg {
    fn store(&self) -> Arc<dyn proofup::store::Store> {
        self.store.clone().unwrap()
    }

    fn reopen(&mut self) {
        drop(self.store.take());
        self.store = Some(PgStore::open(&self.url, PgOptions { pool_size: 4, ..Default::default() }).unwrap());
    }
}

/// Every case of the store conformance suite (tests/conformance), unchanged, on one server and a
/// new database each; the failures are listed by name.
#[test]
fn the_store_conformance_suite_passes_on_postgresql() {
    let pg = PgServer::start();
    let mut failed = Vec::new();
    let cases = with_conformance_cases!(conformance_cases!());
    let total = cases.len();
    for (i, (name, case)) in cases.into_iter().enumerate() {
        // A database whose locale does not sort by bytes (ICU en-US): the engine must not
        // depend on the database's collation.
        let db = format!("case{i}");
        pg.sql(
            "postgres",
            &format!("CREATE DATABASE {db} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"),
        );
        let url = pg.url(&db);
        let store = PgStore::open(&url, PgOptions { pool_size: 4, ..Default::default() }).unwrap();
        let mut engine = Pg { url, store: Some(store) };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&mut engine))).is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "{} of {total} cases failed on PostgreSQL: {failed:?}", failed.len());
    assert!(total >= 18, "the whole suite ran ({total} cases)");
    println!("{total} conformance cases passed on PostgreSQL");
}

#[test]
fn outbox_messages_are_claimed_by_one_sender_at_a_time_and_one_node_sweeps() {
    use proofup::domain::notify::{Channel, EventKind, Message};
    use proofup::store::OutboxStore;
    let pg = PgServer::start();
    let url = pg.database("proofup");
    let store = PgStore::open(&url, PgOptions::default()).unwrap();
    let t0 = time::macros::datetime!(2026-12-01 12:00 UTC);
    for i in 0..40 {
        store
            .enqueue_message(&Message::event(
                Channel::Webhook,
                EventKind::Test,
                serde_json::json!({"n": i}),
                format!("d{i:03}"),
                t0,
            ))
            .unwrap();
    }
    // Two nodes' senders claim at the same moment: every delivery goes to exactly one of them.
    let lease = time::Duration::minutes(1);
    let (a, b) = std::thread::scope(|t| {
        let ha = t.spawn(|| store.claim_due_messages(Channel::Webhook, t0, lease, 25).unwrap());
        let hb = t.spawn(|| store.claim_due_messages(Channel::Webhook, t0, lease, 25).unwrap());
        (ha.join().unwrap(), hb.join().unwrap())
    });
    let mut ids: Vec<String> = a.iter().chain(b.iter()).map(|d| d.id.clone()).collect();
    let claimed = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((claimed, ids.len()), (40, 40), "each delivery claimed once: {} + {}", a.len(), b.len());
    // Within the lease nothing is handed out again; after it (the sender died), everything is.
    assert!(store
        .claim_due_messages(Channel::Webhook, t0 + time::Duration::seconds(30), lease, 50)
        .unwrap()
        .is_empty());
    assert_eq!(
        store.claim_due_messages(Channel::Webhook, t0 + time::Duration::seconds(61), lease, 50).unwrap().len(),
        40
    );

    // One session sweeper: while another node holds the sweep lock (its sweep is running), this
    // node's sweep removes nothing; once it is released, the expired sessions go.
    use proofup::domain::model::Session;
    use proofup::domain::session::SessionLimits;
    use proofup::store::{Durability, SessionStore};
    let limits = SessionLimits::default();
    let old = t0 - limits.absolute - time::Duration::minutes(1);
    for i in 0..3u8 {
        let s = Session::begun("u1", old, "127.0.0.1", "test");
        store.create_session(&[i; 32], &s).unwrap();
    }
    let (held_tx, held) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let other = {
        let url = url.clone();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.execute("SELECT pg_advisory_lock($1)", &[&proofup::store::postgres::SWEEP_LOCK]).unwrap();
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            c.execute("SELECT pg_advisory_unlock($1)", &[&proofup::store::postgres::SWEEP_LOCK]).unwrap();
        })
    };
    held.recv().unwrap();
    assert_eq!(store.sweep_sessions(t0, limits).unwrap(), 0, "another node is sweeping");
    assert_eq!(store.count_sessions().unwrap(), 3);
    release.send(()).unwrap();
    other.join().unwrap();
    assert_eq!(store.sweep_sessions(t0, limits).unwrap(), 3);
    assert_eq!(store.count_sessions().unwrap(), 0);
}

#[test]
fn an_embedded_store_migrates_whole_into_postgresql() {
    use proofup::store::sled::SledStore;
    use proofup::store::{
        ApplicationStore, AuditLog, GroupStore, MethodStore, PolicyStore, SessionStore, SetupStore, SignInLog,
        UserStore,
    };
    let dir = tempfile::tempdir().unwrap();
    // A directory: users, nested groups, authenticator apps, logs (the benchmark seeder), plus a
    // saved policy and an application.
    let args = proofup::config::SeedArgs {
        data_dir: dir.path().to_owned(),
        users: 300,
        groups: 30,
        depth: 4,
        sign_ins: 700,
        audit: 200,
        totp_sessions: 40,
        sessions_out: Some(dir.path().join("sessions.txt")),
        oidc_grants: 2,
        grants_out: Some(dir.path().join("grants.txt")),
        access_token_minutes: 60,
    };
    proofup::cli::seed::seed(&args).unwrap();
    {
        let s = SledStore::open(dir.path(), 8 << 20).unwrap();
        let p = proofup_shared::policy::MfaRegistrationPolicy {
            enforcement: proofup_shared::policy::Enforcement::On,
            grace_days: 7,
            ..Default::default()
        };
        let v = proofup::domain::records::PolicyRecord {
            version: 1,
            policy: p,
            sign_in_risk: Default::default(),
            user_risk: Default::default(),
            saved_at: None,
            saved_by: Some("ada".into()),
            changes: vec![],
        };
        let audit = proofup::store::AuditDraft(proofup::domain::records::AuditRecord {
            id: String::new(),
            at: time::OffsetDateTime::now_utc(),
            actor_id: None,
            actor: "ada".into(),
            action: "policy.saved".into(),
            target_id: None,
            target: "MFA registration policy".into(),
            changes: vec![],
            ip: String::new(),
        });
        s.save_policy(&v, 0, audit).unwrap();
        proofup::store::Durability::flush(&s).unwrap();
    }
    let pg = PgServer::start();
    let url = pg.database("proofup");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proofup"))
        .args(["migrate", "--from-data-dir"])
        .arg(dir.path())
        .args(["--to", &url])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("300 users, 30 groups"), "{said}");

    // Every aggregate reads back the same through the port.
    let from = SledStore::open(dir.path(), 8 << 20).unwrap();
    let to = PgStore::open(&url, PgOptions::default()).unwrap();
    assert_eq!(to.count_users().unwrap(), from.count_users().unwrap());
    let mut users = Vec::new();
    from.for_each_user(&mut |u| users.push(u)).unwrap();
    for u in &users {
        assert_eq!(to.user(&u.id).unwrap().as_ref(), Some(u));
        assert_eq!(to.methods(&u.id).unwrap(), from.methods(&u.id).unwrap(), "{}", u.username);
        assert_eq!(to.registration_state(&u.id).unwrap(), from.registration_state(&u.id).unwrap());
    }
    assert_eq!(to.method_counts().unwrap(), from.method_counts().unwrap());
    assert_eq!(to.list_groups("", None, 100).unwrap().items, from.list_groups("", None, 100).unwrap().items);
    let edges = |s: &dyn GroupStore| {
        let mut v = Vec::new();
        s.for_each_edge(&mut |g, k, m| v.push(format!("{g} {k:?} {m}"))).unwrap();
        v.sort();
        v
    };
    assert_eq!(edges(to.as_ref()), edges(&from));
    assert_eq!(to.policy().unwrap(), from.policy().unwrap());
    assert_eq!(to.count_sign_ins().unwrap(), from.count_sign_ins().unwrap());
    assert_eq!(to.count_audit().unwrap(), from.count_audit().unwrap());
    let strip = |p: proofup_shared::api::Page<proofup::domain::records::AuditRecord>| {
        p.items
            .into_iter()
            .map(|mut e| {
                e.id.clear();
                e
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip(to.list_audit(None, 50).unwrap()),
        strip(from.list_audit(None, 50).unwrap()),
        "newest first, alike"
    );
    let mut apps_to = to.applications().unwrap();
    let mut apps_from = from.applications().unwrap();
    apps_to.sort_by(|a, b| a.id.cmp(&b.id));
    apps_from.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(apps_to, apps_from);
    assert_eq!(to.setup_done().unwrap(), from.setup_done().unwrap());
    assert_eq!(to.count_sessions().unwrap(), from.count_sessions().unwrap(), "nobody signed out");
    for u in users.iter().take(50) {
        assert_eq!(to.user_sessions(&u.id).unwrap(), from.user_sessions(&u.id).unwrap());
    }
    // The 40 sign-ins waiting for a code go on there too.
    let waiting = std::fs::read_to_string(dir.path().join("sessions.txt")).unwrap();
    let keys: Vec<[u8; 32]> =
        waiting.lines().map(|l| proofup::service::session_key(l.split(' ').next().unwrap())).collect();
    assert_eq!(keys.len(), 40);
    for k in &keys {
        let flow = from.login(k).unwrap();
        assert!(flow.is_some());
        assert_eq!(to.login(k).unwrap(), flow, "a sign-in in progress is kept");
    }
    drop((to, from));

    // Into a database that already holds a directory: refused, and nothing changes.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proofup"))
        .args(["migrate", "--from-data-dir"])
        .arg(dir.path())
        .args(["--to", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already holds a directory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The real App over the PostgreSQL engine: a sign-in with password and code, counting the
/// engine's calls per step (what a sign-in costs in round trips to the database).
#[actix_web::test]
async fn the_api_signs_in_over_postgresql_and_each_step_costs_a_few_round_trips() {
    use actix_web::test::{call_service, init_service, read_body_json, TestRequest};
    let pg = PgServer::start();
    let url = pg.database("proofup");
    // One connection, so that a warm-up sign-in prepares every statement the measured one sends.
    let store = PgStore::open(&url, PgOptions { pool_size: 1, ..Default::default() }).unwrap();
    let clock = std::sync::Arc::new(proofup::domain::clock::SystemClock);
    let mut config = proofup::config::HttpConfig::for_tests();
    let metrics_token = "a metrics token of more than thirty-two characters";
    config.metrics_token = Some(proofup::domain::setup::sha256(metrics_token));
    let core = proofup::service::Core::new(
        store.clone(),
        clock,
        proofup::domain::secretbox::SecretBox::random(),
        &proofup::service::CoreOptions::from_config(&config),
    );
    let token = proofup::service::setup::Bootstrap::new(store.as_ref(), &proofup::domain::clock::SystemClock)
        .issue_setup_token()
        .unwrap();
    let app = init_service(proofup::http::app(proofup::http::AppState::new(std::sync::Arc::new(core), config))).await;
    let post = |path: &str, body: serde_json::Value, cookie: Option<&str>| {
        let mut r = TestRequest::post().uri(path).insert_header(("content-type", "application/json")).set_json(body);
        if let Some(c) = cookie {
            r = r.insert_header(("cookie", c.to_owned()));
        }
        r.peer_addr("192.0.2.40:4000".parse().unwrap()).to_request()
    };
    fn cookie_of<B>(resp: &actix_web::dev::ServiceResponse<B>) -> Option<String> {
        resp.headers()
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("proofup_session="))
            .map(|c| c.split(';').next().unwrap().to_owned())
    }
    let pw = "violet otter lamp forty-two";
    let resp = call_service(
        &app,
        post(
            "/api/setup",
            serde_json::json!({"token": token, "username": "ada", "display_name": "Ada", "password": pw}),
            None,
        ),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let resp =
        call_service(&app, post("/api/auth/sign-in", serde_json::json!({"username": "ada", "password": pw}), None))
            .await;
    assert_eq!(resp.status(), 200);
    let full = cookie_of(&resp).unwrap();
    // The browser's device cookie, sent back as a browser does.
    let device = resp
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("proofup_device="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .unwrap();
    let resp = call_service(&app, post("/api/me/methods/totp", serde_json::json!({}), Some(&full))).await;
    let setup: serde_json::Value = read_body_json(resp).await;
    let b32 =
        setup["otpauth_uri"].as_str().unwrap().split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let secret = proofup::domain::totp::decode_base32(&b32).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    let code = proofup::domain::totp::code_at(&secret, now - 30);
    let resp = call_service(
        &app,
        post("/api/me/methods/totp/confirm", serde_json::json!({"name": "Phone", "code": code}), Some(&full)),
    )
    .await;
    assert_eq!(resp.status(), 201);

    // A warm-up sign-in (its statements prepared on the connection), then the password step and
    // the code step, each counted.
    let resp = call_service(
        &app,
        post("/api/auth/sign-in", serde_json::json!({"username": "ada", "password": pw}), Some(&device)),
    )
    .await;
    let warm = format!("{}; {device}", cookie_of(&resp).unwrap());
    let code = proofup::domain::totp::code_at(&secret, now);
    let resp =
        call_service(&app, post("/api/auth/second-factor", serde_json::json!({"code": code}), Some(&warm))).await;
    assert_eq!(resp.status(), 200);
    let (before, trips) = (store.calls(), store.round_trips());
    let resp = call_service(
        &app,
        post("/api/auth/sign-in", serde_json::json!({"username": "ada", "password": pw}), Some(&device)),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let (password_step, password_trips) = (store.calls() - before, store.round_trips() - trips);
    let half = format!("{}; {device}", cookie_of(&resp).unwrap());
    let (before, trips) = (store.calls(), store.round_trips());
    // The next time step (codes one step ahead are accepted, for clock skew).
    let code = proofup::domain::totp::code_at(&secret, now + 30);
    let resp =
        call_service(&app, post("/api/auth/second-factor", serde_json::json!({"code": code}), Some(&half))).await;
    assert_eq!(resp.status(), 200);
    let (code_step, code_trips) = (store.calls() - before, store.round_trips() - trips);
    let done = cookie_of(&resp).unwrap();
    let resp =
        call_service(&app, TestRequest::get().uri("/api/auth/me").insert_header(("cookie", done)).to_request()).await;
    assert_eq!(resp.status(), 200, "signed in, on PostgreSQL");
    println!(
        "database calls: password step {password_step}, TOTP step {code_step}; round trips: {password_trips}, {code_trips}"
    );
    // Today's counts as bounds, so that a change that adds a round trip fails here (issue 31 aims
    // lower: one pipelined transaction per step). Risk (issue 28) added one call to each: the
    // profile read at the password, the profile learnt (read and written in one call) at the end;
    // a sign-in the same as the profile's latest learns nothing (no call), and the login flow
    // becomes the session in one statement (one call, not two), and the decision reads the
    // methods and recovery codes in one: the password step went 10 -> 9, the code step 10 -> 8.
    assert!(password_step <= 3 && code_step <= 2, "password {password_step}, code {code_step}");
    // Round trips, counted by the connection (statements, BEGIN, COMMIT; prepared statements
    // warm): 12 and 11 before the throttle's reservation became one insert for an account with
    // no failures (it was a four-message transaction) and a sign-in in progress (like every
    // session) was read with its user in one statement; the password step's writes (throttle
    // cleared, flow or session, last sign-in, log row) are one statement, and what it reads (the
    // account, its profile, methods, codes, registration state, the policies) one more: the
    // password step is read, reserve, write. The code step is read (the sign-in in progress with
    // its user and methods, the attempt reserved by the same statement) and one write gated on
    // the spent time step (throttle cleared, log row, the flow become the session): 7 -> 2.
    // Issue 31's targets, 3 and 2, met.
    assert!(password_trips <= 3 && code_trips <= 2, "round trips: password {password_trips}, code {code_trips}");

    // /metrics times every PostgreSQL call.
    let resp = call_service(
        &app,
        TestRequest::get()
            .uri("/metrics")
            .insert_header(("authorization", format!("Bearer {metrics_token}")))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let text = String::from_utf8(actix_web::test::read_body(resp).await.to_vec()).unwrap();
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix("proofup_store_call_duration_seconds_count{engine=\"postgres\"} "))
        .map(|v| v.parse::<f64>().unwrap())
        .unwrap_or(0.0);
    assert!(count >= (password_step + code_step) as f64, "{text}");
}

/// The CLI opens the engine the configuration names (`store::open`): `keys rotate
/// --database-url` rotates in the nodes' database with their shared key file (and refuses
/// another key), and `backup --database-url` refuses with the way to back PostgreSQL up.
#[test]
fn the_cli_rotates_keys_in_the_nodes_database_and_says_how_to_back_it_up() {
    use proofup::store::ApplicationStore;
    let pg = PgServer::start();
    let url = pg.database("proofup");
    let dir = tempfile::tempdir().unwrap();
    let key: [u8; 32] = rand::random();
    let key_file = dir.path().join("nodes.key");
    std::fs::write(&key_file, key).unwrap();
    let before = {
        let store = PgStore::open(&url, PgOptions::default()).unwrap();
        let options = proofup::service::CoreOptions::from_config(&proofup::config::HttpConfig::for_tests());
        let clock = Arc::new(proofup::domain::clock::SystemClock);
        let core = proofup::service::Core::new(
            store.clone(),
            clock,
            proofup::domain::secretbox::SecretBox::new(&key),
            &options,
        );
        core.ensure_signing_keys().unwrap();
        core.record_key_check().unwrap();
        store.signing_keys().unwrap()
    };
    let active = |keys: &[proofup::domain::oidc::SigningKey]| {
        let mut k: Vec<String> =
            keys.iter().filter(|k| k.state == proofup::domain::oidc::KeyState::Active).map(|k| k.kid.clone()).collect();
        k.sort();
        k
    };
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_proofup")).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    // Another key file: refused, nothing rotated.
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, [7u8; 32]).unwrap();
    let rotate = |key: &std::path::Path| {
        run(&["keys", "rotate", "--database-url", &url, "--data-dir", data, "--secret-key-file", key.to_str().unwrap()])
    };
    let (ok, said) = rotate(&wrong);
    assert!(!ok && said.contains("not the key") && said.contains("nodes' key file"), "{said}");
    let store = PgStore::open(&url, PgOptions::default()).unwrap();
    assert_eq!(active(&store.signing_keys().unwrap()), active(&before));
    // The nodes' key: rotated in the database.
    let (ok, said) = rotate(&key_file);
    assert!(ok && said.starts_with("signing keys rotated; signing now: "), "{said}");
    let after = store.signing_keys().unwrap();
    assert_ne!(active(&after), active(&before), "a new key signs");
    assert!(!said.contains(&url), "the database URL is not echoed: {said}");
    // Backup: the embedded store's command, with the way for PostgreSQL.
    let (ok, said) = run(&["backup", "--database-url", &url, "--data-dir", data, "--to", "/tmp/never.bak"]);
    assert!(!ok && said.contains("pg_dump"), "{said}");
    assert!(!std::path::Path::new("/tmp/never.bak").exists());
}
