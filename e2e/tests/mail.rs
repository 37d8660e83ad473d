//! Mail from the real binary to a real SMTP server (aiosmtpd on loopback), in Chromium: the Mail
//! settings and a test message, confirming an address with the mailed code on My security info,
//! a security notice when a method is added, and its "This wasn't me" link locking the account.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use proofup_e2e::{free_port, oathtool, Browser, Portal};

const ADMIN_PASSWORD: &str = "maple tundra orbit 2048";

struct Smtp(Child, std::path::PathBuf);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Smtp {
    /// Waits (up to 15 s) for the `n`-th message and returns it, quoted-printable undone.
    fn message(&self, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut all: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(self.1.join("new"))
                .map(|d| {
                    d.filter_map(Result::ok)
                        .map(|e| {
                            (e.metadata().unwrap().modified().unwrap(), std::fs::read_to_string(e.path()).unwrap())
                        })
                        .collect()
                })
                .unwrap_or_default();
            all.sort();
            if all.len() >= n {
                return decoded(&all[n - 1].1);
            }
            assert!(Instant::now() < deadline, "message {n} did not arrive");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A message's text with quoted-printable undone (soft line breaks, `=XX` escapes).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_confirms_an_address_and_a_notice_lets_the_user_lock_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let maildir = dir.path().join("mail");
    let child = Command::new("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3-aiosmtpd");
    let smtp = Smtp(child, maildir);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let portal = Portal::start_with(&[
        "--smtp-url".into(),
        format!("smtp://127.0.0.1:{port}?tls=none"),
        "--mail-from".into(),
        "Contoso sign-in <no-reply@contoso.test>".into(),
        "--organisation".into(),
        "Contoso".into(),
    ]);
    let admin = Browser::start(1280, 1000).await;
    admin.set_up_admin(&portal, "admin", ADMIN_PASSWORD).await;

    // Mail settings: the settings in force, and a test message that arrives.
    admin.driver.goto(&portal.url("/policy/mfa-registration")).await.unwrap();
    admin.wait_text("[data-testid=mail-status]", &format!("127.0.0.1:{port}")).await;
    admin.fill("mail-test-to", "it@contoso.test").await;
    admin.click_button("Send test message").await;
    admin.wait_text(".alert-info", "A test message to it@contoso.test is queued").await;
    assert!(smtp.message(1).contains("Test message from Contoso sign-in"));
    let card = admin.wait_text("[data-testid=mail-settings] h2", "Mail").await;
    admin.click(&card).await;
    admin.shot("80-mail-settings").await;

    // The administrator's own address, confirmed with the mailed code.
    admin
        .driver
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch('/api/auth/me').then(r => r.json()).then(me =>\
               fetch('/api/users/' + me.id, {method: 'PATCH', headers: {'content-type': 'application/json'},\
                 body: JSON.stringify({email: 'admin@contoso.test'})})).then(r => done(r.status));",
            vec![],
        )
        .await
        .unwrap();
    admin.click_text("nav a", "My security info").await;
    admin.wait_text("[data-testid=email-unverified]", "Not confirmed").await;
    admin.click_button("Send a code").await;
    admin.wait_text(".alert-info", "A code is on its way to admin@contoso.test").await;
    let m = smtp.message(2);
    let at = m.find("Your code is ").unwrap() + "Your code is ".len();
    let code = m[at..at + 6].to_owned();
    admin.fill("email-code", &code).await;
    admin.shot("81-email-code").await;
    admin.click_button("Confirm").await;
    admin.wait_text("[data-testid=email-verified]", "Confirmed").await;
    admin.shot("82-email-confirmed").await;

    // An authenticator app added: a security notice with "This wasn't me".
    admin.click_button("Add authenticator app").await;
    admin.click_button("Enter the key by hand").await;
    let key = admin.wait_text("[data-testid=totp-key]", " ").await.text().await.unwrap();
    admin.fill("totp-code", &oathtool(&key, "now")).await;
    admin.fill("method-name", "Phone").await;
    admin.click_button("Verify and finish").await;
    admin.wait_text(".alert-info", "\"Phone\" is registered.").await;
    let notice = smtp.message(3);
    assert!(notice.contains("A sign-in method was added to your account"), "{notice}");
    let prefix = portal.url("/report#t=");
    let at = notice.find(&prefix).unwrap_or_else(|| panic!("no link to {prefix} in {notice}")) + prefix.len();
    let token: String =
        notice[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    assert_eq!(token.len(), 43, "{token}");
    let link = format!("{prefix}{token}");

    // Following it, in another browser: the page explains, then one click locks the account down.
    let victim = Browser::start(1280, 900).await;
    victim.driver.goto(&link).await.unwrap();
    victim.wait_text("h1", "This wasn't me").await;
    victim.shot("83-this-wasnt-me").await;
    victim.click_button("Report: this wasn't me").await;
    victim.wait_text("[data-testid=report-done]", "your password no longer works").await;
    let at = victim.driver.current_url().await.unwrap().to_string();
    assert!(!at.contains("#t="), "the token left the address bar: {at}");
    victim.shot("84-reported").await;
    victim.assert_no_csp_violations().await;
    // The administrator's own session ended with it.
    admin.driver.goto(&portal.url("/security-info")).await.unwrap();
    admin.wait_text("h1", "Sign in").await;
}
