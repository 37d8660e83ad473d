//! Sign-in methods in a real browser: a passkey made by Chromium's virtual
//! authenticator (WebAuthn through CDP), an authenticator app with codes from
//! `oathtool`, renaming, recovery codes, the second step with each of them, and
//! a passkey registered from the MFA registration interrupt.
#![allow(clippy::unwrap_used)]

use proofup_e2e::{oathtool, Browser, Portal};
use thirtyfour::prelude::*;

const ADMIN_PASSWORD: &str = "maple tundra orbit 2048";
const NEW_PASSWORD: &str = "harbor lantern seven quiet";
const CAROL_PASSWORD: &str = "harbor violet sixty lantern";
const DAN_PASSWORD: &str = "pebble orchard north quiet";
const CAROL_RESET: &str = "silver canyon morning eleven";
const CAROL_AGAIN: &str = "amber river ladder ninety";
// RFC 7636 Appendix B.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The app's code for the next step, once it differs from `used` (a code is good once).
async fn fresh_code(key: &str, used: &str) -> String {
    for _ in 0..40 {
        let c = oathtool(key, "+30 seconds");
        if c != used {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    panic!("no fresh code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_apps_and_recovery_codes_in_the_browser() {
    let portal = Portal::start();
    let admin = Browser::start(1280, 1000).await;
    admin.set_up_admin(&portal, "admin", ADMIN_PASSWORD).await;
    let pass = admin.create_user(&portal, "carol", "Carol Chen").await;

    // Carol chooses her password, then adds a passkey on "My security info".
    let carol = Browser::start(1280, 1000).await;
    carol.driver.goto(&portal.url("/sign-in")).await.unwrap();
    let device = carol.add_virtual_authenticator().await;
    carol.sign_in(&portal, "carol", &pass).await;
    carol.wait_text("h1", "Choose your password").await;
    carol.fill("new_password", CAROL_PASSWORD).await;
    carol.fill("confirm", CAROL_PASSWORD).await;
    carol.click_button("Set password").await;
    carol.wait_text("h1", "Your account").await;
    carol.click_text("nav a", "My security info").await;
    carol.wait_text("h1", "My security info").await;
    carol.wait_text(".empty", "No sign-in method yet").await;
    carol.wait_text("[data-testid=recovery-codes] p", "Add an authenticator app or a passkey first").await;
    carol.shot("50-security-info-empty").await;
    carol.click_button("Add passkey").await;
    carol.wait_text("h2", "Add a passkey").await;
    carol.fill("passkey-name", "Laptop").await;
    carol.shot("51-add-passkey").await;
    carol.click_button("Create passkey").await;
    carol.wait_text(".alert-info", "\"Laptop\" is registered.").await;
    carol.wait_text("td", "Passkey").await;
    assert_eq!(carol.authenticator_credentials(&device).await.len(), 1, "the device holds the new passkey");

    // An authenticator app beside it (within 10 minutes of proving the passkey, no re-prompt).
    carol.click_button("Add authenticator app").await;
    carol.click_button("Enter the key by hand").await;
    let key = carol.wait_text("[data-testid=totp-key]", " ").await.text().await.unwrap();
    carol.fill("totp-code", &oathtool(&key, "now")).await;
    carol.fill("method-name", "Phone").await;
    carol.click_button("Verify and finish").await;
    carol.wait_text(".alert-info", "\"Phone\" is registered.").await;

    // Rename the passkey.
    let row = carol.wait_text("tr", "Laptop").await;
    let rename = row.find(By::XPath(".//button[text()='Rename']")).await.unwrap();
    carol.click(&rename).await;
    carol.fill("rename-method", "Work laptop").await;
    carol.shot("52-rename").await;
    carol.click_button("Save").await;
    carol.wait_text(".alert-info", "Renamed to \"Work laptop\".").await;
    carol.wait_text("td", "Work laptop").await;

    // Recovery codes: shown once, then only a count.
    carol.click_button("Make recovery codes").await;
    carol.wait_text(".alert-warn", "They will not be shown again").await;
    let mut codes = Vec::new();
    for li in carol.driver.find_all(By::Css("[data-testid=recovery-list] code")).await.unwrap() {
        codes.push(li.text().await.unwrap());
    }
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(codes.iter().all(|c| c.len() == 19), "{codes:?}");
    carol.shot("53-recovery-codes").await;
    carol.assert_no_csp_violations().await;
    carol.click_button("I have saved them").await;
    carol.wait_text("[data-testid=recovery-status]", "10 of 10 codes unused").await;
    assert!(carol.driver.find_all(By::Css("[data-testid=recovery-list]")).await.unwrap().is_empty());
    carol.shot("54-security-info").await;
    carol.sign_out().await;

    // Second step: the passkey is offered first; the others are one click away.
    carol.sign_in(&portal, "carol", CAROL_PASSWORD).await;
    carol.wait_text("h1", "Use your passkey").await;
    carol.wait_text(".other-methods button", "Enter a code from your authenticator app").await;
    carol.wait_text(".other-methods button", "Use a recovery code").await;
    carol.shot("55-second-step-passkey").await;
    carol.click_button("Use passkey").await;
    carol.wait_text("h1", "Your account").await;
    carol.sign_out().await;

    // A recovery code, typed loosely; the page says how many are left.
    carol.sign_in(&portal, "carol", CAROL_PASSWORD).await;
    carol.wait_text("h1", "Use your passkey").await;
    carol.click_text(".other-methods button", "Use a recovery code").await;
    carol.wait_text("h1", "Use a recovery code").await;
    carol.fill("recovery-code", &codes[0].to_uppercase()).await;
    carol.shot("56-recovery-code").await;
    carol.click_button("Verify").await;
    carol.wait_text("h1", "Signed in with a recovery code").await;
    carol.wait_text("[data-testid=recovery-left]", "You have 9 recovery codes left.").await;
    carol.shot("57-recovery-code-used").await;
    carol.click_button("Continue").await;
    carol.wait_text("h1", "Your account").await;
    carol.sign_out().await;

    // The same code again is refused; an app code works.
    carol.sign_in(&portal, "carol", CAROL_PASSWORD).await;
    carol.wait_text("h1", "Use your passkey").await;
    carol.click_text(".other-methods button", "Use a recovery code").await;
    carol.fill("recovery-code", &codes[0]).await;
    carol.click_button("Verify").await;
    carol.wait_text(".alert-error", "already used").await;
    carol.click_text(".other-methods button", "Enter a code from your authenticator app").await;
    carol.wait_text("h1", "Enter code").await;
    carol.fill("code", &oathtool(&key, "+30 seconds")).await;
    carol.click_button("Verify").await;
    carol.wait_text("h1", "Your account").await;
    carol.click_text("nav a", "My security info").await;
    carol.wait_text("[data-testid=recovery-status]", "9 of 10 codes unused").await;
    let last_code = oathtool(&key, "+30 seconds");
    carol.sign_out().await;

    // She forgets her password: her passkey stands in for it, in the portal.
    carol.fill("username", "carol").await;
    carol.click_text("a", "Forgot your password?").await;
    carol.wait_text("h1", "Reset your password").await;
    carol.shot("61-reset-username").await;
    carol.click_button("Next").await;
    carol.wait_text("h1", "Enter a code from your authenticator app").await;
    carol.click_text(".other-methods button", "Passkey").await;
    carol.wait_text("h1", "Use your passkey").await;
    carol.shot("62-reset-verify").await;
    carol.click_button("Use passkey").await;
    carol.wait_text("h1", "Choose a new password").await;
    carol.fill("new_password", CAROL_RESET).await;
    carol.fill("confirm", CAROL_RESET).await;
    carol.shot("63-reset-new-password").await;
    carol.click_button("Set password").await;
    carol.wait_text("[data-testid=reset-done]", "Sign in with your new password").await;
    carol.shot("64-reset-done").await;
    carol.assert_no_csp_violations().await;
    carol.click_text("a", "Sign in").await;
    carol.wait_text("h1", "Sign in").await;
    carol.fill("password", CAROL_RESET).await;
    carol.click_button("Sign in").await;
    carol.wait_text("h1", "Use your passkey").await;
    carol.click_button("Use passkey").await;
    carol.wait_text("h1", "Your account").await;
    carol.sign_out().await;

    // The administrator sees her methods on her page (names, never secrets).
    admin.driver.goto(&portal.url("/users")).await.unwrap();
    admin.click_text("td a", "Carol Chen").await;
    admin.wait_text("td", "Work laptop").await;
    admin.wait_text("td", "Phone").await;

    // The policy On for all users: dan is interrupted and registers a passkey from the interrupt.
    let dan_pass = admin.create_user(&portal, "dan", "Dan Diaz").await;
    admin.driver.goto(&portal.url("/policy/mfa-registration")).await.unwrap();
    admin.wait_text("h1", "MFA registration policy").await;
    admin.click_text("label.segment", "On").await;
    // What saving would mean is said beside Save, not in the Impact card's small print.
    admin.wait_text(".sticky-actions [data-testid=save-warning]", "No emergency-access account exists").await;
    admin.shot("55a-save-warning").await;
    admin.click_button("Save").await;
    admin.wait_text(".alert-info", "Saved as version").await;
    let dan = Browser::start(1280, 900).await;
    dan.driver.goto(&portal.url("/sign-in")).await.unwrap();
    let dans_device = dan.add_virtual_authenticator().await;
    dan.sign_in(&portal, "dan", &dan_pass).await;
    dan.wait_text("h1", "Choose your password").await;
    dan.fill("new_password", DAN_PASSWORD).await;
    dan.fill("confirm", DAN_PASSWORD).await;
    dan.click_button("Set password").await;
    dan.wait_text("h1", "More information required").await;
    dan.click_button("Next").await;
    dan.wait_text("h1", "Choose a sign-in method").await;
    dan.shot("58-interrupt-choose-method").await;
    dan.click_text("button.method-choice", "Passkey").await;
    dan.wait_text("h1", "Create a passkey").await;
    dan.fill("passkey-name", "Dan's laptop").await;
    dan.click_button("Create passkey").await;
    dan.wait_text("h1", "You're all set").await;
    dan.wait_text(".alert-info", "Your passkey is registered").await;
    dan.shot("59-interrupt-passkey-registered").await;
    dan.assert_no_csp_violations().await;
    assert_eq!(dan.authenticator_credentials(&dans_device).await.len(), 1);
    dan.click_button("Continue").await;
    dan.wait_text("h1", "Your account").await;
    dan.sign_out().await;
    dan.sign_in(&portal, "dan", DAN_PASSWORD).await;
    dan.wait_text("h1", "Use your passkey").await;
    dan.click_button("Use passkey").await;
    dan.wait_text("h1", "Your account").await;

    // The webhook: the real binary's worker POSTs a test event to a receiver on loopback.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let _ = write!(stream, "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
            let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
        }
    });
    admin.driver.goto(&portal.url("/policy/mfa-registration")).await.unwrap();
    admin.wait_text("h2", "Webhook").await;
    admin.fill("webhook-url", "ftp://nope").await;
    admin.click_button("Save webhook").await;
    admin.wait_text(".field-error", "Enter an http:// or https:// URL.").await;
    admin.fill("webhook-url", &format!("http://127.0.0.1:{hook_port}/hook")).await;
    admin.click_button("Save webhook").await;
    admin.wait_text(".alert-info", "Webhook saved.").await;
    admin.click_button("Send test event").await;
    admin.wait_text(".alert-info", "A test event is queued").await;
    let body = rx.recv_timeout(std::time::Duration::from_secs(15)).expect("the worker delivered the test event");
    let event: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["type"], "test");
    assert_eq!(event["data"]["requested_by"], "admin");
    admin.driver.refresh().await.unwrap();
    let status = admin.wait_text("[data-testid=webhook-status]", "Last delivered").await;
    let delivered = status.text().await.unwrap();
    assert!(!delivered.contains("Never"), "{delivered}");
    let card = admin.driver.find(By::Id("webhook")).await.unwrap();
    admin.click(&card).await;
    admin.shot("60-webhook").await;
    // Mail: this server was started without --smtp-url, and the Global administrator is told so.
    let mail = admin.wait_text("[data-testid=mail-off]", "Mail is off").await;
    admin.click(&mail).await;
    admin.shot("60a-mail-off").await;

    // Inside an application's sign-in, with her authenticator app: back to the application.
    let callback = format!("http://localhost:{}/callback", proofup_e2e::free_port());
    let created = admin
        .driver
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch('/api/applications', {method: 'POST', headers: {'content-type': 'application/json'},\
               body: JSON.stringify({name: 'Wiki', redirect_uris: [arguments[0]]})})\
               .then(r => r.json()).then(done);",
            vec![serde_json::json!(callback)],
        )
        .await
        .unwrap();
    let client_id = created.json()["application"]["id"].as_str().unwrap().to_owned();
    let authorize = format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=st-7&nonce=n-7\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        portal.url("/oauth2/authorize"),
        callback.replace(':', "%3A").replace('/', "%2F"),
    );
    carol.driver.goto(&authorize).await.unwrap();
    carol.wait_text("[data-testid=signing-in-to]", "to continue to Wiki").await;
    carol.fill("username", "carol").await;
    carol.click_text("a", "Forgot your password?").await;
    carol.wait_text("h1", "Reset your password").await;
    carol.click_button("Next").await;
    carol.wait_text("h1", "Enter a code from your authenticator app").await;
    carol.fill("code", &fresh_code(&key, &last_code).await).await;
    carol.click_button("Verify").await;
    carol.wait_text("h1", "Choose a new password").await;
    carol.fill("new_password", CAROL_AGAIN).await;
    carol.fill("confirm", CAROL_AGAIN).await;
    carol.click_button("Set password").await;
    carol.click_text("a", "Sign in").await;
    carol.wait_text("[data-testid=signing-in-to]", "to continue to Wiki").await;
    carol.fill("password", CAROL_AGAIN).await;
    carol.click_button("Sign in").await;
    carol.wait_text("h1", "Use your passkey").await;
    carol.click_button("Use passkey").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let u = carol.driver.current_url().await.unwrap().to_string();
        if u.starts_with(&callback) {
            assert!(u.contains("code=") && u.contains("state=st-7"), "{u}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not back at the application: {u}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_sessions_are_listed_and_signed_out_from_security_info() {
    let portal = Portal::start();
    let admin = Browser::start(1280, 900).await;
    admin.set_up_admin(&portal, "admin", ADMIN_PASSWORD).await;
    let pass = admin.create_user(&portal, "erin", "Erin Park").await;

    // Erin's laptop: the pass, then her own password.
    let laptop = Browser::start(1280, 1100).await;
    laptop.sign_in(&portal, "erin", &pass).await;
    laptop.wait_text("h1", "Choose your password").await;
    laptop.fill("new_password", CAROL_PASSWORD).await;
    laptop.fill("confirm", CAROL_PASSWORD).await;
    laptop.click_button("Set password").await;
    laptop.wait_text("h1", "Your account").await;
    // Her phone (a narrow browser) signs in too.
    let phone = Browser::start(390, 844).await;
    phone.sign_in(&portal, "erin", CAROL_PASSWORD).await;
    phone.wait_text("h1", "Your account").await;

    laptop.click_text("nav a", "My security info").await;
    let card = laptop.wait_text("[data-testid=my-sessions]", "Where you're signed in").await;
    laptop.wait_text("[data-testid=my-sessions] .badge", "This browser").await;
    laptop.wait_text("[data-testid=my-sessions] li strong", "Chrome on Linux").await;
    assert_eq!(card.find_all(By::Css("li.session-item")).await.unwrap().len(), 2);
    card.scroll_into_view().await.unwrap();
    laptop.shot("56-my-sessions").await;
    laptop.click_button("Sign out everywhere else").await;
    laptop.driver.accept_alert().await.unwrap();
    laptop.wait_text("[data-testid=my-sessions] .alert-info", "1 other session is signed out.").await;
    laptop.wait_text("[data-testid=my-sessions]", "No other session is signed in.").await;
    laptop.shot("57-signed-out-elsewhere").await;

    // The phone's next request finds its session gone.
    phone.driver.refresh().await.unwrap();
    phone.wait_text("h1", "Sign in").await;

    // Signed in again, the phone signs the laptop out from its own list.
    phone.sign_in(&portal, "erin", CAROL_PASSWORD).await;
    phone.wait_text("h1", "Your account").await;
    phone.driver.goto(&portal.url("/security-info")).await.unwrap();
    let row = phone.wait_text("[data-testid=my-sessions] li.session-item", "Sign out").await;
    row.scroll_into_view().await.unwrap();
    phone.shot("58-my-sessions-phone").await;
    let button = row.find(By::XPath(".//button[text()='Sign out']")).await.unwrap();
    phone.click(&button).await;
    phone.driver.accept_alert().await.unwrap();
    phone.wait_text("[data-testid=my-sessions] .alert-info", "is signed out.").await;
    laptop.driver.refresh().await.unwrap();
    laptop.wait_text("h1", "Sign in").await;
    phone.assert_no_csp_violations().await;

    // Issue 27 item 1: she changes her password from the user menu; a wrong current password is
    // said under its field, and afterwards every other session (the phone) is signed out.
    laptop.sign_in(&portal, "erin", CAROL_PASSWORD).await;
    laptop.wait_text("h1", "Your account").await;
    laptop.click_text(".topbar a", "Change password").await;
    laptop.wait_text("h1", "My security info").await;
    let card = laptop.wait_text("[data-testid=change-password] h2", "Password").await;
    card.scroll_into_view().await.unwrap();
    laptop.fill("current_password", "not what it was at all").await;
    laptop.fill("new_password", NEW_PASSWORD).await;
    laptop.wait_text("[data-testid=change-password] .hint", "Long enough").await;
    laptop.fill("confirm_password", NEW_PASSWORD).await;
    laptop.click_button("Change password").await;
    laptop.wait_text("[data-testid=change-password] .field-error", "Your current password is not right.").await;
    laptop.shot("59-change-password-wrong-current").await;
    laptop.fill("current_password", CAROL_PASSWORD).await;
    laptop.click_button("Change password").await;
    laptop.wait_text("[data-testid=change-password] .alert-info", "Every other session of yours was signed out").await;
    laptop.shot("60-password-changed").await;
    // The laptop's own session continues; the phone's is gone, and the new password works there.
    laptop.driver.refresh().await.unwrap();
    laptop.wait_text("h1", "My security info").await;
    phone.driver.refresh().await.unwrap();
    phone.wait_text("h1", "Sign in").await;
    phone.sign_in(&portal, "erin", NEW_PASSWORD).await;
    phone.wait_text("h1", "Your account").await;
    phone.driver.goto(&portal.url("/security-info#password")).await.unwrap();
    phone.wait_text("[data-testid=change-password] h2", "Password").await;
    phone.assert_fits("[data-testid=change-password]").await;
    phone.shot("61-change-password-phone").await;
    laptop.assert_no_csp_violations().await;
}
