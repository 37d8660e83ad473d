//! Mail through the real API, the real outbox and the real SMTP adapter, against a real SMTP
//! server on loopback (Debian's python3-aiosmtpd, writing a Maildir the test reads): the Mail
//! settings and test message, retries while the server is down (the Overview shows it), nothing
//! sent twice, STARTTLS required and used, and `proofup mail test` from the binary.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use proofup::adapters::smtp::SmtpSender;
use proofup::config::{HttpConfig, SmtpConfig, SmtpSecurity};
use proofup::service::notify::Transport;
use serde_json::json;
use time::Duration;

const FROM: &str = "Contoso sign-in <no-reply@contoso.test>";

/// A free loopback port (bound, then released for the server about to use it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// aiosmtpd on `port`, delivering into a Maildir; with a certificate it requires STARTTLS.
struct SmtpServer {
    child: Child,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(dir: &Path, port: u16, tls: Option<(&Path, &Path)>) -> Self {
        let maildir = dir.join(format!("maildir-{port}"));
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"]);
        if let Some((cert, key)) = tls {
            cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
        }
        cmd.arg(&maildir).stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().expect("python3-aiosmtpd (make setup-test installs it)");
        let server = SmtpServer { child, maildir };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("aiosmtpd did not start on {port}");
    }

    /// Every message received, raw.
    fn received(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else { return Vec::new() };
        let mut out: Vec<String> = entries.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
        out.sort();
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp(port: u16, host: &str, security: SmtpSecurity, ca_pem: Option<Vec<u8>>) -> SmtpConfig {
    SmtpConfig { host: host.into(), port, security, username: None, password: None, ca_pem, from: FROM.into() }
}

/// The harness with mail on, sending to `port` in clear (a loopback relay).
fn harness_with_mail(port: u16) -> (Harness, SmtpSender) {
    let c = smtp(port, "127.0.0.1", SmtpSecurity::None, None);
    let config =
        HttpConfig { mail: Some(SmtpSender::setup(&c)), organisation: "Contoso".into(), ..HttpConfig::for_tests() };
    (Harness::with_config(config), SmtpSender::new(&c).unwrap())
}

/// A harness with mail on, its SMTP server, the app and the first administrator's session.
macro_rules! mail_app {
    ($port:ident, $h:ident, $sender:ident, $server:ident, $app:ident, $admin:ident) => {
        let $port = free_port();
        let ($h, $sender) = harness_with_mail($port);
        let $server = SmtpServer::start($h.dir.path(), $port, None);
        let $app = init_service(proofup::http::app($h.state.clone())).await;
        let $admin = setup!($h, $app);
    };
}

fn deliver_at(h: &Harness, sender: &dyn Transport, at: time::OffsetDateTime) -> u32 {
    h.clock.set(at);
    h.state.core.deliver_due(&[sender]).unwrap()
}

fn now(h: &Harness) -> time::OffsetDateTime {
    proofup::domain::clock::Clock::now(h.clock.as_ref())
}

/// A message's text with quoted-printable undone (soft line breaks, `=XX` escapes), as a mail
/// reader shows it.
fn decoded(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let b = joined.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'=' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A header's value in a raw message.
fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[actix_web::test]
async fn the_test_message_goes_out_once_through_a_real_smtp_server() {
    mail_app!(port, h, sender, server, app, admin);

    // The settings in force, never a password.
    let (s, _, body, _) = call!(app, with(&admin, get("/api/settings/mail")));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], true);
    assert_eq!(body["server"], format!("127.0.0.1:{port}"));
    assert_eq!(body["security"], "none (loopback server)");
    assert_eq!(body["from"], FROM);
    assert_eq!(body["organisation"], "Contoso");

    // A bad address is a field error; the administrator has no address of their own yet.
    let (s, _, body, _) = call!(app, with(&admin, post("/api/settings/mail/test", json!({"to": "not an address"}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "to");
    let (s, _, body, _) = call!(app, with(&admin, post("/api/settings/mail/test", json!({}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"][0]["message"].as_str().unwrap().contains("no e-mail address"), "{body}");

    let (s, _, body, _) = call!(app, with(&admin, post("/api/settings/mail/test", json!({"to": "ann@contoso.test"}))));
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["to"], "ann@contoso.test");
    // Queued, not sent on the request: nothing has arrived yet.
    assert!(server.received().is_empty());
    let audit = h.store.list_audit(None, 5).unwrap().items;
    assert!(audit.iter().any(|e| e.action == "mail.test_queued" && e.actor == ADMIN), "{audit:?}");

    // The job sends it; running again sends nothing more.
    assert_eq!(deliver_at(&h, &sender, now(&h)), 1);
    assert_eq!(deliver_at(&h, &sender, now(&h) + Duration::minutes(5)), 0);
    let got = server.received();
    assert_eq!(got.len(), 1, "exactly one message");
    let m = &got[0];
    assert_eq!(header(m, "To"), Some("ann@contoso.test"));
    assert!(header(m, "From").unwrap().contains("no-reply@contoso.test"), "{m}");
    assert_eq!(header(m, "Subject"), Some("Test message from Contoso sign-in"));
    assert_eq!(header(m, "Auto-Submitted"), Some("auto-generated"));
    let id = header(m, "Message-ID").unwrap();
    assert!(id.starts_with('<') && id.ends_with("@contoso.test>"), "{id}");
    assert!(m.contains("multipart/alternative"), "{m}");
    assert!(m.contains("text/plain") && m.contains("text/html"), "{m}");
    assert!(m.contains("ada asked Proofup to send this test message to ann@contoso.test"), "{m}");
    for remote in ["<img", "src=", "<link", "<script"] {
        assert!(!m.contains(remote), "{remote} in the message");
    }

    let (_, _, ov, _) = call!(app, with(&admin, get("/api/overview")));
    assert_eq!(ov["mail"]["configured"], true, "{ov}");
    assert_eq!(ov["mail"]["pending"], 0);
    assert!(ov["mail"]["last_delivered_at"].is_string(), "{ov}");
}

#[actix_web::test]
async fn a_server_that_is_down_is_retried_and_nothing_goes_twice_after_a_restart() {
    let port = free_port();
    let (h, sender) = harness_with_mail(port);
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (s, _, body, _) = call!(app, with(&admin, post("/api/settings/mail/test", json!({"to": "ann@contoso.test"}))));
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");

    // Nobody listens: the try fails, the Overview says so, the message waits.
    let t0 = now(&h);
    assert_eq!(deliver_at(&h, &sender, t0), 0);
    let (_, _, ov, _) = call!(app, with(&admin, get("/api/overview")));
    assert_eq!(ov["mail"]["failing"], 1, "{ov}");
    assert!(!ov["mail"]["last_error"].as_str().unwrap_or_default().is_empty(), "{ov}");
    let (_, _, ms, _) = call!(app, with(&admin, get("/api/settings/mail")));
    assert_eq!(ms["status"]["failing"], 1, "{ms}");

    // The server comes up; the retry waits for its backoff (10 s), then goes.
    let server = SmtpServer::start(h.dir.path(), port, None);
    assert_eq!(deliver_at(&h, &sender, t0 + Duration::seconds(9)), 0);
    assert!(server.received().is_empty(), "not retried before its backoff");
    assert_eq!(deliver_at(&h, &sender, t0 + Duration::seconds(10)), 1);
    let (_, _, ov, _) = call!(app, with(&admin, get("/api/overview")));
    assert_eq!((ov["mail"]["pending"].as_u64(), ov["mail"]["failing"].as_u64()), (Some(0), Some(0)), "{ov}");

    // A restart: a new runtime over the same store finds nothing left to send.
    let restarted = state(h.store.clone(), h.clock.clone(), h.state.config.clone());
    h.clock.set(t0 + Duration::hours(2));
    assert_eq!(restarted.core.deliver_due(&[&sender]).unwrap(), 0);
    assert_eq!(server.received().len(), 1, "sent exactly once");
}

#[actix_web::test]
async fn without_smtp_mail_is_off_and_said_so() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (s, _, body, _) = call!(app, with(&admin, get("/api/settings/mail")));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], false);
    assert_eq!(body["status"]["configured"], false);
    let (s, _, body, _) = call!(app, with(&admin, post("/api/settings/mail/test", json!({"to": "ann@contoso.test"}))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("--smtp-url"), "{body}");
    // Nothing was queued.
    let (_, _, ov, _) = call!(app, with(&admin, get("/api/overview")));
    assert_eq!(ov["mail"]["pending"], 0, "{ov}");
}

/// A self-signed certificate for `localhost` (openssl), written into `dir`.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("smtp.crt"), dir.join("smtp.key"));
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl req");
    (cert, key)
}

#[test]
fn starttls_is_required_and_a_server_without_it_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let ca = std::fs::read(&cert).unwrap();
    let mail = proofup::domain::mail::render(
        &proofup::domain::mail::Notice::Test { requested_by: "ada".into() },
        &proofup::domain::mail::Brand { organisation: "Contoso".into(), portal: "http://localhost:8080".into() },
        "ann@contoso.test",
    );

    // A server that requires STARTTLS, with a certificate from a private CA the operator names.
    let port = free_port();
    let tls_server = SmtpServer::start(dir.path(), port, Some((&cert, &key)));
    let sender = SmtpSender::new(&smtp(port, "localhost", SmtpSecurity::StartTls, Some(ca.clone()))).unwrap();
    sender.send_mail(&mail, "m1").unwrap();
    assert_eq!(tls_server.received().len(), 1);

    // Without that CA the certificate is refused: nothing is sent.
    let untrusting = SmtpSender::new(&smtp(port, "localhost", SmtpSecurity::StartTls, None)).unwrap();
    assert!(untrusting.send_mail(&mail, "m2").is_err());
    assert_eq!(tls_server.received().len(), 1);

    // A server that offers no STARTTLS: smtp:// refuses to send in clear (no downgrade).
    let plain_port = free_port();
    let plain = SmtpServer::start(dir.path(), plain_port, None);
    let strict = SmtpSender::new(&smtp(plain_port, "localhost", SmtpSecurity::StartTls, Some(ca))).unwrap();
    let err = strict.send_mail(&mail, "m3").unwrap_err();
    assert!(!err.is_empty());
    assert!(plain.received().is_empty(), "nothing sent in clear");
}

#[test]
fn the_binary_sends_a_test_message_and_refuses_a_password_in_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = SmtpServer::start(dir.path(), port, None);
    let out = Command::new(env!("CARGO_BIN_EXE_proofup"))
        .args(["mail", "test", "--to", "ann@contoso.test", "--mail-from", FROM, "--organisation", "Contoso"])
        .args(["--smtp-url", &format!("smtp://127.0.0.1:{port}?tls=none")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("test message sent to ann@contoso.test"));
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("proofup mail test asked Proofup"), "{}", got[0]);

    let out = Command::new(env!("CARGO_BIN_EXE_proofup"))
        .args(["mail", "test", "--to", "ann@contoso.test", "--mail-from", FROM])
        .args(["--smtp-url", "smtp://proofup:hunter2@mail.example.com"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--smtp-password-file"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

/// The 6-digit code in a received message.
fn code_in(raw: &str) -> String {
    let at = raw.find("Your code is ").expect("a code in the message") + "Your code is ".len();
    raw[at..at + 6].to_owned()
}

#[actix_web::test]
async fn an_address_is_confirmed_with_a_mailed_code() {
    mail_app!(port, h, sender, server, app, admin);
    let (_, _, me, _) = call!(app, with(&admin, get("/api/auth/me")));
    let id = me["id"].as_str().unwrap().to_owned();

    // No address yet: nothing to confirm.
    let (s, _, body, _) = call!(app, with(&admin, post("/api/me/email/code", json!({}))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _, _, _) =
        call!(app, with(&admin, patch(&format!("/api/users/{id}"), json!({"email": "ada@contoso.test"}))));
    assert_eq!(s, StatusCode::OK);
    let (_, _, st, _) = call!(app, with(&admin, get("/api/me/email")));
    assert_eq!(
        st,
        json!({"address": "ada@contoso.test", "verified": false, "mail_enabled": true, "code_expires_at": null, "admin_notices": false})
    );

    // A code is mailed; another only after a minute.
    let (s, _, st, _) = call!(app, with(&admin, post("/api/me/email/code", json!({}))));
    assert_eq!(s, StatusCode::OK, "{st}");
    assert!(st["code_expires_at"].is_string(), "{st}");
    let (s, hd, _, _) = call!(app, with(&admin, post("/api/me/email/code", json!({}))));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(hd.get("retry-after").is_some());
    assert_eq!(deliver_at(&h, &sender, now(&h)), 1);
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(header(&got[0], "To"), Some("ada@contoso.test"));
    let code = code_in(&got[0]);
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");

    // A wrong code is refused (and counted); the right one confirms the address, once.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, _, body, _) = call!(app, with(&admin, post("/api/me/email/verify", json!({"code": wrong}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _, st, _) = call!(app, with(&admin, post("/api/me/email/verify", json!({"code": code}))));
    assert_eq!(s, StatusCode::OK, "{st}");
    assert_eq!((st["verified"].as_bool(), st["code_expires_at"].is_null()), (Some(true), true), "{st}");
    let (s, _, _, _) = call!(app, with(&admin, post("/api/me/email/verify", json!({"code": code}))));
    assert_eq!(s, StatusCode::CONFLICT, "single use");
    let (_, _, u, _) = call!(app, with(&admin, get(&format!("/api/users/{id}"))));
    assert_eq!(u["email_verified"], true, "{u}");
    let audit = h.store.list_audit(None, 5).unwrap().items;
    assert!(audit.iter().any(|e| e.action == "user.email_verified"), "{audit:?}");

    // A new address must be confirmed again; five wrong tries spend a code.
    let (s, _, u, _) =
        call!(app, with(&admin, patch(&format!("/api/users/{id}"), json!({"email": "ada@fabrikam.test"}))));
    assert_eq!((s, u["email_verified"].as_bool()), (StatusCode::OK, Some(false)), "{u}");
    h.clock.advance(Duration::minutes(2));
    let (s, _, _, _) = call!(app, with(&admin, post("/api/me/email/code", json!({}))));
    assert_eq!(s, StatusCode::OK);
    for i in 0..5 {
        let (s, _, body, _) =
            call!(app, with(&admin, post("/api/me/email/verify", json!({"code": format!("99999{i}")}))));
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let last = i == 4;
        assert_eq!(body["message"].as_str().unwrap().contains("no longer works"), last, "{body}");
    }
    let (s, _, body, _) = call!(app, with(&admin, post("/api/me/email/verify", json!({"code": "123456"}))));
    assert_eq!(s, StatusCode::CONFLICT, "the code is spent: {body}");
}

/// Confirms `user_id`'s address as the mailed-code flow does (tested above).
fn confirmed(h: &Harness, user_id: &str, address: &str) {
    let mut u = h.store.user(user_id).unwrap().unwrap();
    u.email = Some(address.into());
    u.email_verified = true;
    let client = proofup::domain::model::ClientInfo::new("127.0.0.1".into(), "test");
    h.store
        .update_user(&u, proofup::service::audit(now(h), Some(&u), "user.email_verified", Some(&u), vec![], &client))
        .unwrap();
}

#[actix_web::test]
async fn security_notices_carry_a_link_that_locks_the_account_down() {
    mail_app!(port, h, sender, server, app, admin);
    let bob = user_with_password!(app, admin, "bob");
    let carol = user_with_password!(app, admin, "carol");
    confirmed(&h, &bob, "bob@contoso.test");
    // Carol's address is not confirmed: she is mailed nothing.
    let (s, _, _, _) =
        call!(app, with(&admin, patch(&format!("/api/users/{carol}"), json!({"email": "carol@contoso.test"}))));
    assert_eq!(s, StatusCode::OK);
    let (c, _) = sign_in!(app, "carol", PW);
    add_authenticator_app!(app, h, c);

    // Bob adds an authenticator app: he hears of it, with the link.
    let (b, _) = sign_in!(app, "bob", PW);
    let (b, secret) = add_authenticator_app!(app, h, b);
    assert_eq!(deliver_at(&h, &sender, now(&h)), 1, "one notice: bob's, not carol's");
    let got = server.received();
    assert_eq!(got.len(), 1);
    let m = &decoded(&got[0]);
    assert_eq!(header(m, "To"), Some("bob@contoso.test"));
    assert!(header(m, "Subject").unwrap().starts_with("A sign-in method was added to your account"), "{m}");
    assert!(m.contains("Authenticator app \"Phone\""), "{m}");
    assert!(m.contains("192.0.2.10"), "the address it came from: {m}");
    let at = m.find("/report#t=").expect("the link") + "/report#t=".len();
    let token: String = m[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    assert_eq!(token.len(), 43, "256 bits: {token}");
    assert!(m.contains(&format!("http://localhost:8080/report#t={token}")));

    // "This wasn't me": signed out everywhere, the password stops, administrators alerted.
    let (s, _, body, _) = call!(app, post("/api/auth/report", json!({"token": "not-a-token"})));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _, body, _) = call!(app, post("/api/auth/report", json!({"token": token})));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["username"], "bob");
    assert!(body["change"].as_str().unwrap().contains("sign-in method added"), "{body}");
    let (s, _, _, _) = call!(app, with(&b, get("/api/auth/me")));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "bob's session ended");
    let (s, _, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW})));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the password no longer works");
    let (s, _, _, _) = call!(app, post("/api/auth/report", json!({"token": token})));
    assert_eq!(s, StatusCode::CONFLICT, "the link works once");
    let (_, _, ov, _) = call!(app, with(&admin, get("/api/overview")));
    let alert = ov["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "user_reported").cloned();
    let alert = alert.unwrap_or_else(|| panic!("{ov}"));
    assert_eq!(alert["username"], "bob");
    let audit = h.store.list_audit(None, 10).unwrap().items;
    assert!(audit.iter().any(|e| e.action == "user.reported_not_me" && e.target == "bob"), "{audit:?}");
    // A user-reported detection: bob is at high risk until he changes his password securely.
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    let reported = page["items"].as_array().unwrap().iter().find(|d| d["kind"] == "user_reported").cloned().unwrap();
    assert_eq!((reported["level"].as_str(), reported["state"].as_str()), (Some("high"), Some("at_risk")));
    assert!(reported["explanation"].as_str().unwrap().contains("sign-in method added"), "{reported}");
    let (_, _, users, _) = call!(app, with(&admin, get("/api/risk/users")));
    let users = users["items"].clone();
    assert_eq!(users[0]["username"], "bob");

    // He chooses a new password with his app ("Forgot your password?") and hears of that too.
    let (_, hd, _, _) = call!(app, post("/api/auth/reset", json!({"username": "bob"})));
    let reset = reset_cookie(&hd).unwrap();
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/code", json!({"code": code(&secret, &h, 1)}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _, body, _) = call!(
        app,
        with(&reset, post("/api/auth/reset/password", json!({"new_password": "copper meadow window ninety"})))
    );
    assert_eq!(s, StatusCode::OK, "{body}");
    // His methods, then a new password: the report is remediated.
    let (_, _, page, _) = call!(app, with(&admin, get("/api/risk/detections")));
    let reported = page["items"].as_array().unwrap().iter().find(|d| d["kind"] == "user_reported").cloned().unwrap();
    assert_eq!(
        (reported["state"].as_str(), reported["detail"].as_str()),
        (Some("remediated"), Some("secure_password_reset"))
    );
    assert_eq!(deliver_at(&h, &sender, now(&h)), 1);
    let got = server.received();
    assert_eq!(got.len(), 2);
    assert!(
        got.iter().any(|m| header(m, "Subject").is_some_and(|s| s.starts_with("Your password was reset"))),
        "{got:?}"
    );
}

#[actix_web::test]
async fn registration_reminders_go_once_per_user_and_deadline_even_from_two_nodes() {
    mail_app!(port, h, sender, server, app, admin);
    let ann = user_with_password!(app, admin, "ann");
    let bob = user_with_password!(app, admin, "bob");
    user_with_password!(app, admin, "carol");
    let dave = user_with_password!(app, admin, "dave");
    for (id, address) in [(&ann, "ann@contoso.test"), (&bob, "bob@contoso.test"), (&dave, "dave@contoso.test")] {
        let (s, _, _, _) = call!(app, with(&admin, patch(&format!("/api/users/{id}"), json!({"email": address}))));
        assert_eq!(s, StatusCode::OK);
    }
    let (b, _) = sign_in!(app, "bob", PW);
    add_authenticator_app!(app, h, b);
    save_policy!(
        app,
        admin,
        json!({"enforcement": "on", "include_all": true, "include_users": [], "include_groups": [],
               "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 14})
    );
    // Ann and carol (no address) are prompted: their grace starts. Dave never signs in: no deadline yet.
    for who in ["ann", "carol"] {
        let (_, me) = sign_in!(app, who, PW);
        assert_eq!(me["me"]["next_step"]["step"], "register_mfa", "{me}");
    }
    let start = now(&h);
    let deadline = start + Duration::days(14);
    let node_b = state(h.store.clone(), h.clock.clone(), h.state.config.clone());
    let both_nodes = || {
        let (a, b) = (h.state.core.clone(), node_b.core.clone());
        let ta = std::thread::spawn(move || a.send_reminders().unwrap());
        let tb = std::thread::spawn(move || b.send_reminders().unwrap());
        ta.join().unwrap() + tb.join().unwrap()
    };

    // Before the week: nothing. A week before: ann once, whichever node runs it, however often.
    h.clock.set(deadline - Duration::days(7) - Duration::hours(1));
    assert_eq!(both_nodes(), 0);
    h.clock.set(deadline - Duration::days(7) + Duration::hours(1));
    assert_eq!(both_nodes(), 1, "one reminder for ann across both nodes");
    assert_eq!(both_nodes(), 0);
    h.clock.set(deadline - Duration::days(3));
    assert_eq!(both_nodes(), 0, "still the same week's reminder");
    // A day before: the last one. After the deadline: none.
    h.clock.set(deadline - Duration::hours(20));
    assert_eq!(both_nodes(), 1);
    assert_eq!(both_nodes(), 0);
    h.clock.set(deadline + Duration::hours(1));
    assert_eq!(both_nodes(), 0);

    assert_eq!(deliver_at(&h, &sender, now(&h)), 2);
    let got: Vec<String> = server.received().iter().map(|m| decoded(m)).collect();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|m| header(m, "To") == Some("ann@contoso.test")), "only ann: {got:?}");
    let day =
        deadline.format(time::macros::format_description!("[day padding:none] [month repr:long] [year]")).unwrap();
    assert!(got.iter().all(|m| m.contains(&format!("Set up a second sign-in method by {day}"))), "{got:?}");
    assert!(got.iter().any(|m| m.contains("in 7 days")) && got.iter().any(|m| m.contains("tomorrow")), "{got:?}");
    assert!(got.iter().all(|m| m.contains("http://localhost:8080/sign-in")));
}

#[actix_web::test]
async fn an_administrator_resets_with_an_app_and_a_code_mailed_to_the_confirmed_address() {
    mail_app!(port, h, sender, server, app, admin);
    let (_, _, me, _) = call!(app, with(&admin, get("/api/auth/me")));
    let id = me["id"].as_str().unwrap().to_owned();
    let (_, secret) = add_authenticator_app!(app, h, admin);
    // One method and no confirmed address: an administrator cannot reset alone.
    let (_, _, body, _) = call!(app, post("/api/auth/reset", json!({"username": ADMIN})));
    assert_eq!(body["step"], "ask_administrator", "{body}");
    confirmed(&h, &id, "ada@contoso.test");

    let (s, hd, body, _) = call!(app, post("/api/auth/reset", json!({"username": ADMIN})));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["methods"], json!(["authenticator_app", "email_code"]), "{body}");
    assert_eq!(body["email_hint"], "a•••@contoso.test");
    let reset = reset_cookie(&hd).unwrap();
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/email", json!({}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _, _, _) = call!(app, with(&reset, post("/api/auth/reset/email", json!({}))));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "one code a minute");
    assert_eq!(deliver_at(&h, &sender, now(&h)), 1);
    let m = decoded(&server.received()[0]);
    assert_eq!(header(&m, "To"), Some("ada@contoso.test"));
    let code = code_in(&m);
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/email/verify", json!({"code": code}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!((body["still_needed"].as_u64(), body["methods"].clone()), (Some(1), json!(["authenticator_app"])));
    let (s, _, _, _) = call!(app, with(&reset, post("/api/auth/reset/email/verify", json!({"code": code}))));
    assert_eq!(s, StatusCode::CONFLICT, "the code works once");
    let (s, _, body, _) = call!(app, with(&reset, post("/api/auth/reset/code", json!({"code": code_of(&secret, &h)}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["step"], "set_password");
    let (s, _, body, _) = call!(
        app,
        with(&reset, post("/api/auth/reset/password", json!({"new_password": "copper meadow window ninety"})))
    );
    assert_eq!(s, StatusCode::OK, "{body}");
    sign_in!(app, ADMIN, "copper meadow window ninety");
}

fn code_of(secret: &[u8], h: &Harness) -> String {
    code(secret, h, 1)
}

#[actix_web::test]
async fn administrators_who_ask_are_mailed_emergency_sign_ins_and_policy_changes() {
    mail_app!(port, h, sender, server, app, admin);
    let (_, _, me, _) = call!(app, with(&admin, get("/api/auth/me")));
    let id = me["id"].as_str().unwrap().to_owned();
    // Not before the address is confirmed; other administrators who did not ask hear nothing.
    let (s, _, body, _) = call!(app, with(&admin, put("/api/me/email/admin-notices", json!({"on": true}))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    confirmed(&h, &id, "ada@contoso.test");
    let (s, _, st, _) = call!(app, with(&admin, put("/api/me/email/admin-notices", json!({"on": true}))));
    assert_eq!((s, st["admin_notices"].as_bool()), (StatusCode::OK, Some(true)), "{st}");
    let other = user_with_password!(
        app,
        admin,
        "sam",
        json!({"username": "sam", "display_name": "Sam", "role": "security_administrator"})
    );
    confirmed(&h, &other, "sam@contoso.test");
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post("/api/users", json!({"username": "glass", "display_name": "Break glass", "emergency_access": true}))
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let pass = body["temporary_access_pass"]["code"].as_str().unwrap().to_owned();
    sign_in!(app, "glass", &pass);
    save_policy!(
        app,
        admin,
        json!({"enforcement": "report_only", "include_all": true, "include_users": [], "include_groups": [],
               "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 14})
    );
    assert_eq!(deliver_at(&h, &sender, now(&h)), 2);
    let got: Vec<String> = server.received().iter().map(|m| decoded(m)).collect();
    assert!(got.iter().all(|m| header(m, "To") == Some("ada@contoso.test")), "only the one who asked: {got:?}");
    assert!(got
        .iter()
        .any(|m| header(m, "Subject").is_some_and(|s| s.starts_with("Emergency-access account signed in: glass"))));
    assert!(got.iter().any(|m| m.contains("ada saved version 1 of the MFA registration policy")), "{got:?}");
    // Off again: nothing more.
    let (_, _, st, _) = call!(app, with(&admin, put("/api/me/email/admin-notices", json!({"on": false}))));
    assert_eq!(st["admin_notices"], false);
    save_policy!(
        app,
        admin,
        json!({"enforcement": "off", "include_all": true, "include_users": [], "include_groups": [],
               "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 14})
    );
    assert_eq!(deliver_at(&h, &sender, now(&h)), 0);
}

#[actix_web::test]
async fn an_invitation_mails_the_pass_instead_of_showing_it() {
    mail_app!(port, h, sender, server, app, admin);
    // No address: a field error; nothing is created.
    let (s, _, body, _) = call!(
        app,
        with(&admin, post("/api/users", json!({"username": "nia", "display_name": "Nia", "send_pass_by_mail": true})))
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "email");
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post(
                "/api/users",
                json!({"username": "nia", "display_name": "Nia", "email": "nia@contoso.test", "send_pass_by_mail": true})
            )
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // The administrator does not see the pass; the audit log says where it went.
    assert_eq!(body["temporary_access_pass"]["code"], "", "{body}");
    assert_eq!(body["temporary_access_pass"]["mailed_to"], "nia@contoso.test");
    let audit = h.store.list_audit(None, 5).unwrap().items;
    assert!(audit.iter().any(|e| e.changes.iter().any(|c| c.field == "sent_to")), "{audit:?}");
    assert_eq!(deliver_at(&h, &sender, now(&h)), 1);
    let m = decoded(&server.received()[0]);
    assert_eq!(header(&m, "To"), Some("nia@contoso.test"));
    assert!(m.contains("Your username is nia."), "{m}");
    let at = m.find("temporary access pass instead of a password: ").unwrap()
        + "temporary access pass instead of a password: ".len();
    let pass: String = m[at..].chars().take_while(|c| !c.is_whitespace() && *c != '<').collect();
    assert!(m.contains("http://localhost:8080/sign-in"));
    // The pass works once, as any pass.
    let (_, me) = sign_in!(app, "nia", &pass);
    assert!(me["me"]["must_set_password"].as_bool().unwrap(), "{me}");
    let (s, _, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "nia", "password": pass})));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "single use");
}
