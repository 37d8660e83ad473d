//! Two real `proofup` nodes on one PostgreSQL database (started by the test): any request may
//! reach either node. A sign-in begun on one finishes on the other, and so does an authenticator
//! app's set-up; a TOTP code raced to both
//! is accepted exactly once; a policy saved on one governs the other's next sign-in; a group
//! change on one reaches the other's decisions within a second.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::pg::PgServer;
use common::server::{body_of, cookie_of, Server};

const ADMIN_PW: &str = "violet otter lamp forty-two";
const PW: &str = "lantern harbor quiet seven";

/// The code `offset` steps from the step of `t0` (one reference time for the whole test, so
/// that the three codes are three consecutive steps).
fn code_near(secret: &[u8], t0: i64, offset: i64) -> String {
    proofup::domain::totp::code_at(secret, (t0 + offset * 30) as u64)
}

/// A reference time at least 8 s before the next 30-second step, so the test's codes stay
/// within the verifier's window of one step either side while it runs.
fn steady_now() -> i64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if now % 30 > 22 {
        std::thread::sleep(Duration::from_secs((31 - now % 30) as u64));
    }
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A throw-away PostgreSQL server with an empty database, its URL, and a folder for the key file.
fn database_and_key_dir() -> (PgServer, String, tempfile::TempDir) {
    let pg = PgServer::start();
    let url = pg.database("proofup");
    (pg, url, tempfile::tempdir().unwrap())
}

#[test]
fn two_nodes_on_one_database_serve_the_same_directory_and_sign_ins() {
    let (_pg, url, keys) = database_and_key_dir();
    let key_file = keys.path().join("secret.key");
    let key_file = key_file.to_str().unwrap();
    // (Behind a load balancer both would have the same --public-url; here each answers on its own.)
    let args = ["--database-url", &url, "--secret-key-file", key_file];
    let a = Server::start(&args);
    let admin = a.set_up_admin("ada", ADMIN_PW);
    // The second node starts on the same database and key file (setup is done: no new link).
    let b = Server::start(&args);
    assert!(b.log().contains("store: PostgreSQL"), "{}", b.log());
    assert!(!b.log().contains(":s3cret") && !b.log().contains("setup?token"), "{}", b.log());

    // bob is created on A, and signs in with his pass on B, choosing a password there.
    let (s, resp) = a.json_post("/api/users", r#"{"username":"bob","display_name":"Bob"}"#, Some(&admin));
    assert_eq!(s, 201, "{resp}");
    let pass = body_of(&resp)["temporary_access_pass"]["code"].as_str().unwrap().to_owned();
    let (s, resp) = b.json_post("/api/auth/sign-in", &format!(r#"{{"username":"bob","password":"{pass}"}}"#), None);
    assert_eq!(s, 200, "{resp}");
    let bob = cookie_of(&resp).unwrap();
    let (s, resp) = a.json_post("/api/auth/password", &format!(r#"{{"new_password":"{PW}"}}"#), Some(&bob));
    assert_eq!(s, 200, "the session begun on B continues on A: {resp}");
    let bob = cookie_of(&resp).unwrap();

    // He adds an authenticator app: the set-up begins on A and is confirmed on B (the ceremony
    // is in the database, sealed). Then he signs in with the password on A and finishes the
    // second step on B.
    let (s, resp) = a.json_post("/api/me/methods/totp", "{}", Some(&bob));
    assert_eq!(s, 200, "{resp}");
    let uri = body_of(&resp)["otpauth_uri"].as_str().unwrap().to_owned();
    let b32 = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let secret = proofup::domain::totp::decode_base32(&b32).unwrap();
    let t0 = steady_now();
    let (s, resp) = b.json_post(
        "/api/me/methods/totp/confirm",
        &format!(r#"{{"name":"Phone","code":"{}"}}"#, code_near(&secret, t0, -1)),
        Some(&bob),
    );
    assert_eq!(s, 201, "{resp}");
    let (s, resp) = a.json_post("/api/auth/sign-in", &format!(r#"{{"username":"bob","password":"{PW}"}}"#), None);
    assert_eq!(s, 200);
    assert_eq!(body_of(&resp)["me"]["next_step"]["step"], "second_factor", "{resp}");
    let half = cookie_of(&resp).unwrap();
    let (s, resp) =
        b.json_post("/api/auth/second-factor", &format!(r#"{{"code":"{}"}}"#, code_near(&secret, t0, 0)), Some(&half));
    assert_eq!(s, 200, "the password step on A, the code on B: {resp}");

    // One code raced to both nodes from two sessions waiting for it: accepted exactly once.
    let waiting: Vec<String> = (0..2)
        .map(|_| {
            let (_, resp) =
                a.json_post("/api/auth/sign-in", &format!(r#"{{"username":"bob","password":"{PW}"}}"#), None);
            cookie_of(&resp).unwrap()
        })
        .collect();
    let code = code_near(&secret, t0, 1);
    let body = format!(r#"{{"code":"{code}"}}"#);
    let (pa, pb) = (a.port, b.port);
    let raced: Vec<u16> = std::thread::scope(|t| {
        let ha = t.spawn(|| {
            common::server::http(
                pa,
                "POST",
                "/api/auth/second-factor",
                &[("Content-Type", "application/json"), ("Cookie", &waiting[0])],
                &body,
            )
            .unwrap()
            .0
        });
        let hb = t.spawn(|| {
            common::server::http(
                pb,
                "POST",
                "/api/auth/second-factor",
                &[("Content-Type", "application/json"), ("Cookie", &waiting[1])],
                &body,
            )
            .unwrap()
            .0
        });
        vec![ha.join().unwrap(), hb.join().unwrap()]
    });
    assert_eq!(raced.iter().filter(|s| **s == 200).count(), 1, "exactly one node accepts the code: {raced:?}");

    // A policy saved on A governs the next sign-in on B: carol (no method) is interrupted there.
    let (s, resp) = a.json_post("/api/users", r#"{"username":"carol","display_name":"Carol"}"#, Some(&admin));
    assert_eq!(s, 201, "{resp}");
    let carol_pass = body_of(&resp)["temporary_access_pass"]["code"].as_str().unwrap().to_owned();
    let (_, resp) =
        b.json_post("/api/auth/sign-in", &format!(r#"{{"username":"carol","password":"{carol_pass}"}}"#), None);
    let c = cookie_of(&resp).unwrap();
    let (s, _) = b.json_post("/api/auth/password", &format!(r#"{{"new_password":"{PW}"}}"#), Some(&c));
    assert_eq!(s, 200);
    let (s, resp) = a.json_post("/api/groups", r#"{"name":"Staff","description":""}"#, Some(&admin));
    assert_eq!(s, 201, "{resp}");
    let staff = body_of(&resp)["id"].as_str().unwrap().to_owned();
    let (_, cur) = a.get("/api/policy", &admin);
    let version = body_of(&cur)["version"].as_u64().unwrap();
    let policy = format!(
        r#"{{"policy":{{"enforcement":"on","include_all":false,"include_users":[],"include_groups":["{staff}"],"exclude_users":[],"exclude_groups":[],"require_registration":true,"grace_days":14}},"based_on_version":{version}}}"#
    );
    let (s, resp) = a.send("PUT", "/api/policy", &policy, &admin).unwrap();
    assert_eq!(s, 200, "{resp}");
    let sign_in_carol = |n: &Server| {
        let (s, resp) = n.json_post("/api/auth/sign-in", &format!(r#"{{"username":"carol","password":"{PW}"}}"#), None);
        assert_eq!(s, 200, "{resp}");
        body_of(&resp)["me"]["next_step"]["step"].as_str().unwrap().to_owned()
    };
    assert_eq!(sign_in_carol(&b), "done", "carol is not in Staff yet");

    // carol joins Staff on B; A's next decisions see it within a second (its index follows the
    // database's change log), and so does its next sign-in.
    let (_, carol_view) = a.get("/api/users?q=carol", &admin);
    let carol_id = body_of(&carol_view)["items"][0]["id"].as_str().unwrap().to_owned();
    let (s, resp) = b.json_post(
        &format!("/api/groups/{staff}/members"),
        &format!(r#"{{"kind":"user","id":"{carol_id}"}}"#),
        Some(&admin),
    );
    assert!(s == 200 || s == 201, "{resp}");
    let changed = Instant::now();
    let seen = loop {
        let (_, resp) = a.json_post("/api/policy/what-if", &format!(r#"{{"user_id":"{carol_id}"}}"#), Some(&admin));
        if body_of(&resp)["interrupts"] == true {
            break changed.elapsed();
        }
        assert!(changed.elapsed() < Duration::from_secs(3), "A never saw the change: {resp}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(seen < Duration::from_millis(1500), "seen after {seen:?}");
    println!("a membership change on B reached A's decisions after {seen:?}");
    assert_eq!(sign_in_carol(&a), "register_mfa", "A's next sign-in interrupts her");
}

#[test]
fn a_node_killed_under_writes_loses_nothing_acknowledged_and_the_other_keeps_serving() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let pg = PgServer::start();
    let url = pg.database("proofup");
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("secret.key");
    let args = ["--database-url", &url, "--secret-key-file", key_file.to_str().unwrap()];
    let a = Server::start(&args);
    let admin = a.set_up_admin("ada", ADMIN_PW);
    let b = Server::start(&args);

    // Writes stream into A (users, each with a group membership) until A dies.
    let (s, resp) = a.json_post("/api/groups", r#"{"name":"Staff","description":""}"#, Some(&admin));
    assert_eq!(s, 201, "{resp}");
    let staff = body_of(&resp)["id"].as_str().unwrap().to_owned();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop, admin, staff, port) = (acked.clone(), stop.clone(), admin.clone(), staff.clone(), a.port);
        std::thread::spawn(move || {
            let h = [("Content-Type", "application/json"), ("Cookie", admin.as_str())];
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let body = format!(r#"{{"username":"w{i}","display_name":"W {i}"}}"#);
                let Ok((201, resp)) = common::server::http(port, "POST", "/api/users", &h, &body) else { return };
                let id = body_of(&resp)["user"]["id"].as_str().unwrap().to_owned();
                let m = format!(r#"{{"kind":"user","id":"{id}"}}"#);
                match common::server::http(port, "POST", &format!("/api/groups/{staff}/members"), &h, &m) {
                    Ok((s, _)) if s == 200 || s == 201 => acked.lock().unwrap().push(id),
                    _ => return,
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    let _ = a.kill9();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 10, "only {} writes before the kill", acked.len());

    // B has every acknowledged user and membership, and goes on taking writes.
    let (_, resp) = b.get(&format!("/api/groups/{staff}"), &admin);
    let members: Vec<String> =
        body_of(&resp)["members"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    for id in &acked {
        let (s, _) = b.get(&format!("/api/users/{id}"), &admin);
        assert_eq!(s, 200, "acknowledged user {id} lost");
        assert!(members.contains(id), "acknowledged membership of {id} lost");
    }
    let (s, resp) = b.json_post("/api/users", r#"{"username":"after","display_name":"After"}"#, Some(&admin));
    assert_eq!(s, 201, "the other node keeps serving: {resp}");
    println!("{} acknowledged writes on the killed node, all on the other", acked.len());
}

/// Issue 26 items 7 and 8: a node whose secret key is not the one the database's secrets are
/// sealed with refuses to start and says which file to use (also one with no key file at all: it
/// never makes one silently for a database that has secrets); and while setup is pending, a node
/// that starts leaves the live setup link alone, and `proofup setup-url --database-url` issues a
/// fresh one.
#[test]
fn nodes_share_one_secret_key_and_do_not_replace_a_live_setup_link() {
    let (_pg, url, keys) = database_and_key_dir();
    let key_file = keys.path().join("secret.key");
    let key_file = key_file.to_str().unwrap();
    let args = ["--database-url", &url, "--secret-key-file", key_file];
    // The first node on a new database makes the key, and says every node needs it.
    let a = Server::start(&args);
    assert!(a.log().contains("created the secret key for this new database"), "{}", a.log());
    let setup_url = |port: u16, dir: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_proofup"))
            .args(["setup-url", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let link_a = setup_url(a.port, a.dir.path());
    let token_a = link_a.split("token=").nth(1).unwrap_or_else(|| panic!("{link_a}")).to_owned();
    assert!(a.log().contains(&token_a), "A logged the link it saved");

    // A second node with the same key starts and leaves A's link alone.
    let b = Server::start(&args);
    assert!(b.log().contains("Another node issued the setup link"), "{}", b.log());
    assert!(!b.log().contains("setup?token="), "{}", b.log());
    let setup = |token: &str, password: &str| {
        format!(r#"{{"token":"{token}","username":"ada","display_name":"Ada","password":"{password}"}}"#)
    };
    let (s, resp) = b.json_post("/api/setup", &setup(&token_a, "short"), None);
    assert_eq!(s, 422, "A's link still works (only the password is refused): {resp}");

    // A node without the key file, and one with another key, refuse to start and say why.
    let c = tempfile::tempdir().unwrap();
    let out = common::server::start_refused(c.path(), &["--database-url", &url]);
    assert!(out.contains("--secret-key-file") && out.contains("does not exist"), "{out}");
    assert!(!c.path().join("secret.key").exists(), "no key was made for it");
    let other = keys.path().join("other.key");
    std::fs::write(&other, [9u8; 32]).unwrap();
    let out = common::server::start_refused(
        c.path(),
        &["--database-url", &url, "--secret-key-file", other.to_str().unwrap()],
    );
    assert!(out.contains("is not the key this store's secrets are sealed with"), "{out}");
    assert!(out.contains(other.to_str().unwrap()), "names the file: {out}");

    // An operator asks the database for a fresh link from anywhere: it works, A's is replaced.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proofup"))
        .args(["setup-url", "--database-url", &url, "--listen", &format!("127.0.0.1:{}", b.port)])
        .output()
        .unwrap();
    let fresh = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let fresh_token = fresh
        .split("token=")
        .nth(1)
        .unwrap_or_else(|| panic!("{fresh}{}", String::from_utf8_lossy(&out.stderr)))
        .to_owned();
    let (s, resp) = a.json_post("/api/setup", &setup(&token_a, ADMIN_PW), None);
    assert_ne!(s, 201, "{resp}");
    assert!(resp.contains("setup_token_invalid"), "{resp}");
    let (s, resp) = a.json_post("/api/setup", &setup(&fresh_token, ADMIN_PW), None);
    assert_eq!(s, 201, "{resp}");
}
