//! Starts the real `proofup` binary: readiness, the setup link, logs free of secrets, graceful stop.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::server::*;

#[test]
fn binary_serves_sets_up_keeps_secrets_out_of_logs_and_stops_gracefully() {
    let server = Server::start(&["--log-format", "json"]);
    let (s, body) = http(server.port, "GET", "/healthz", &[], "").unwrap();
    assert_eq!(s, 200, "{body}");

    // The setup link is in the log once, and `proofup setup-url` prints the same one while the server runs.
    let log = server.log();
    let url = log
        .split(|c: char| c.is_whitespace() || c == '"')
        .find(|w| w.contains("/setup?token="))
        .expect("setup link in the log")
        .to_owned();
    assert!(url.starts_with(&format!("http://localhost:{}/setup?token=", server.port)), "{url}");
    let printed = Command::new(env!("CARGO_BIN_EXE_proofup"))
        .args(["setup-url", "--listen", &format!("127.0.0.1:{}", server.port), "--data-dir"])
        .arg(server.dir.path())
        .output()
        .unwrap();
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), url);
    let token = url.split("token=").nth(1).unwrap().to_owned();

    // Every log line is JSON.
    for line in log.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }

    let password = "canary-7f3a9c-correct-horse";
    let body =
        format!(r#"{{"token":"{token}","username":"root.admin","display_name":"Root","password":"{password}"}}"#);
    let (s, resp) = server.json_post("/api/setup", &body, None);
    assert_eq!(s, 201, "{resp}");
    let (s, _) =
        server.json_post("/api/auth/sign-in", r#"{"username":"root.admin","password":"canary-wrong-5b1e"}"#, None);
    assert_eq!(s, 401);
    let (s, resp) =
        server.json_post("/api/auth/sign-in", &format!(r#"{{"username":"root.admin","password":"{password}"}}"#), None);
    assert_eq!(s, 200, "{resp}");
    let cookie = resp
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie: proofup_session="))
        .unwrap()
        .split(": ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session_value = cookie.split('=').nth(1).unwrap().to_owned();
    let (s, _) = http(server.port, "GET", "/api/overview", &[("Cookie", &cookie)], "").unwrap();
    assert_eq!(s, 200);
    let (s, _) = server.json_post("/api/auth/sign-out", "{}", Some(&cookie));
    assert_eq!(s, 204);

    let (status, log, data_dir) = server.stop();
    assert!(status.success(), "exit status {status}\n{log}");
    assert!(log.contains("store flushed"), "{log}");
    for secret in [password, "canary-wrong-5b1e", &session_value] {
        assert!(!log.contains(secret), "a secret reached the log: {secret}");
    }
    // The token appears once (the startup line), never again (requests are logged without query strings).
    assert_eq!(log.matches(&token).count(), 1, "{log}");
    // Nothing secret in the store files either.
    for entry in common::walk(data_dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [password, "canary-wrong-5b1e", &session_value] {
            assert!(!text.contains(secret), "{secret} found in {}", entry.display());
        }
    }
    // The acknowledged admin survives the restart.
    let again = Server::start_in(data_dir);
    let (s, body) = http(again.port, "GET", "/api/setup/status", &[], "").unwrap();
    assert_eq!(s, 200);
    assert!(body.contains("\"needs_setup\":false"), "{body}");
    let (s, _) =
        again.json_post("/api/auth/sign-in", &format!(r#"{{"username":"root.admin","password":"{password}"}}"#), None);
    assert_eq!(s, 200);
    let (status, _) = again.terminate();
    assert!(status.success());
}

#[test]
fn refuses_to_start_on_a_data_dir_in_use() {
    let server = Server::start(&[]);
    let second = Command::new(env!("CARGO_BIN_EXE_proofup"))
        .args(["--listen", &format!("127.0.0.1:{}", free_port()), "--data-dir"])
        .arg(server.dir.path())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("in use by another Proofup process"), "{err}");
    let (status, _) = server.terminate();
    assert!(status.success());
}

#[test]
fn help_documents_every_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_proofup")).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--listen",
        "--data-dir",
        "--public-url",
        "--secure-cookies",
        "--trusted-proxies",
        "--session-idle-minutes",
        "--session-absolute-hours",
        "--log-format",
        "PROOFUP_LISTEN",
        "PROOFUP_DATA_DIR",
    ] {
        assert!(help.contains(opt), "{opt} missing from --help:\n{help}");
    }
}

/// Under the usual umask 022, on a data directory someone made world-readable: the server makes
/// it 0700 and every file 0600 (and says so), backups are 0600, and once setup is done
/// `proofup setup-url` says so and fails at once (the saved link is gone).
#[test]
fn the_store_is_private_whatever_the_umask_and_a_spent_setup_link_is_gone() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(data.join("notes.txt"), b"left by an operator").unwrap();
    std::fs::set_permissions(data.join("notes.txt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let port = free_port();
    let log_path = root.path().join("server.log");
    let under_umask_022 = |args: &[&str]| {
        let mut c = Command::new("sh");
        c.arg("-c").arg(r#"umask 022; exec "$0" "$@""#).arg(env!("CARGO_BIN_EXE_proofup")).args(args);
        c
    };
    let listen = format!("127.0.0.1:{port}");
    let data_s = data.to_str().unwrap().to_owned();
    let mut child = under_umask_022(&["serve", "--listen", &listen, "--data-dir", &data_s])
        .stdout(std::fs::File::create(&log_path).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !matches!(http(port, "GET", "/readyz", &[], ""), Ok((200, _))) {
        assert!(std::time::Instant::now() < deadline, "not ready");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mode = |p: &std::path::Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let files = common::walk(&data);
    assert!(files.iter().any(|f| f.ends_with("db")), "{files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("readable by others") && log.contains("notes.txt"), "{log}");

    // The link works once; right after, setup-url says setup is done and fails.
    let setup_url = || under_umask_022(&["setup-url", "--listen", &listen, "--data-dir", &data_s]).output().unwrap();
    let out = setup_url();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let token = url.split("token=").nth(1).unwrap();
    let body = format!(
        r#"{{"token":"{token}","username":"root.admin","display_name":"Root","password":"canary-correct-horse-2"}}"#
    );
    let (s, resp) = http(port, "POST", "/api/setup", &[("Content-Type", "application/json")], &body).unwrap();
    assert_eq!(s, 201, "{resp}");
    assert!(!data.join("setup-url.json").exists(), "the spent link is removed at once");
    let out = setup_url();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already set up"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "no link printed");

    // A backup through the running server is 0600, even over an existing wider file.
    let backup = root.path().join("store.bak");
    std::fs::write(&backup, b"old").unwrap();
    std::fs::set_permissions(&backup, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = under_umask_022(&["backup", "--data-dir", &data_s, "--to", backup.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&backup), 0o600);

    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
    for f in common::walk(&data) {
        assert_eq!(mode(&f), 0o600, "after running: {}", f.display());
    }
}

/// The key IDs the server publishes (`GET /oauth2/jwks`).
fn published_kids(port: u16) -> Vec<String> {
    let (status, resp) = http(port, "GET", "/oauth2/jwks", &[], "").unwrap();
    assert_eq!(status, 200, "{resp}");
    let jwks = body_of(&resp);
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn signing_keys_are_made_once_and_rotated_by_the_running_server_or_offline() {
    let server = Server::start(&[]);
    let first = published_kids(server.port);
    assert_eq!(first.len(), 4, "RS256 and ES256, active and next: {first:?}");
    let data = server.dir.path().to_str().unwrap().to_owned();

    // Through the running server's control socket.
    let out =
        Command::new(env!("CARGO_BIN_EXE_proofup")).args(["keys", "rotate", "--data-dir", &data]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said} {}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("rotated by the running server; signing now: RS256 "), "{said}");
    let second = published_kids(server.port);
    assert_eq!(second.len(), 6);
    assert!(first.iter().all(|k| second.contains(k)), "a key vanished at rotation: {first:?} → {second:?}");
    // The key signing now was published before the rotation.
    let signing_rs = said.split("RS256 ").nth(1).unwrap().split(',').next().unwrap().trim().to_owned();
    assert!(first.contains(&signing_rs), "{signing_rs} was not published before it signed");

    // Stopped: directly in the store, with the same key file; a restart serves the result and
    // makes no new keys.
    let (status, _, dir) = server.stop();
    assert!(status.success());
    let out =
        Command::new(env!("CARGO_BIN_EXE_proofup")).args(["keys", "rotate", "--data-dir", &data]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said} {}", String::from_utf8_lossy(&out.stderr));
    assert!(said.starts_with("signing keys rotated; signing now: "), "{said}");
    let server = Server::start_in(dir);
    let third = published_kids(server.port);
    assert_eq!(third.len(), 8, "{third:?}");
    assert!(second.iter().all(|k| third.contains(k)));
    // Without the key file it refuses rather than seal keys the server cannot open.
    let (_, _, dir) = server.stop();
    std::fs::remove_file(dir.path().join("secret.key")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_proofup"))
        .args(["keys", "rotate", "--data-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("secret key file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 26 item 7 on the embedded store: opened with another secret key (or with the key file
/// gone), the server refuses to start and names the file, and nothing it sealed is touched; with
/// the right key it serves again.
#[test]
fn the_embedded_store_refuses_a_secret_key_it_was_not_sealed_with() {
    let server = Server::start(&[]);
    let (_, _, dir) = server.stop();
    let key_file = dir.path().join("secret.key");
    let key = std::fs::read(&key_file).unwrap();
    std::fs::write(&key_file, [7u8; 32]).unwrap();
    let out = start_refused(dir.path(), &[]);
    assert!(out.contains("is not the key this store's secrets are sealed with"), "{out}");
    assert!(out.contains(key_file.to_str().unwrap()), "names the file: {out}");
    std::fs::remove_file(&key_file).unwrap();
    let out = start_refused(dir.path(), &[]);
    assert!(out.contains("does not exist") && out.contains("backup"), "{out}");
    assert!(!key_file.exists(), "no new key was made for a store that has secrets");
    std::fs::write(&key_file, &key).unwrap();
    let back = Server::start_in(dir);
    let (s, _) = http(back.port, "GET", "/readyz", &[], "").unwrap();
    assert_eq!(s, 200);
}

/// Issue 26 item 3 on the wire: HEAD answers GET's status and headers with no body at all, and a
/// wrong method is 405 with `Allow`, from the real server.
#[test]
fn head_is_get_without_a_body_on_the_wire() {
    use std::io::{Read, Write};
    let server = Server::start(&[]);
    let raw = |request: &str| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let host = format!("Host: localhost:{}", server.port);
    for path in ["/.well-known/openid-configuration", "/oauth2/jwks", "/healthz"] {
        let get = raw(&format!("GET {path} HTTP/1.1\r\n{host}\r\nConnection: close\r\n\r\n"));
        let head = raw(&format!("HEAD {path} HTTP/1.1\r\n{host}\r\nConnection: close\r\n\r\n"));
        let (get_head, get_body) = get.split_once("\r\n\r\n").unwrap();
        let (head_head, head_body) = head.split_once("\r\n\r\n").unwrap();
        assert!(!get_body.is_empty(), "{path}");
        assert_eq!(head_body, "", "HEAD {path} sends no body: {head}");
        let pick = |h: &str, name: &str| {
            h.lines().find(|l| l.to_ascii_lowercase().starts_with(name)).map(str::to_owned).unwrap_or_default()
        };
        assert_eq!(head_head.lines().next(), get_head.lines().next(), "{path}");
        for name in ["content-type:", "cache-control:", "content-length:"] {
            assert_eq!(pick(head_head, name), pick(get_head, name), "HEAD {path}: {name}");
        }
        assert!(pick(head_head, "content-type:").contains("json"), "{head_head}");
    }
    let wrong = raw(&format!("GET /oauth2/token HTTP/1.1\r\n{host}\r\nConnection: close\r\n\r\n"));
    assert!(wrong.starts_with("HTTP/1.1 405"), "{wrong}");
    assert!(wrong.to_ascii_lowercase().contains("\r\nallow: post, options\r\n"), "{wrong}");
}
