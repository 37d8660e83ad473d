//! Signing in to an application through Proofup, in a real Chromium: the application's
//! authorization request leads to Proofup's sign-in, which names the application; the MFA
//! registration interrupt appears inside it ("More information required", Skip while the grace
//! lasts); the browser lands back at the application with a code, which the application (curl
//! here) exchanges for an ID token.
#![allow(clippy::unwrap_used)]

use proofup_e2e::{free_port, Browser, Portal};

const ADMIN_PASSWORD: &str = "maple tundra orbit 2048";
const BOB_PASSWORD: &str = "copper kettle winter road";
// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn query_value(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| kv.strip_prefix(&format!("{key}="))).map(|v| v.replace("%3A", ":").replace("%2F", "/"))
}

/// Waits (up to 15 s) until the browser is back at the application's `callback`; its URL.
async fn back_at(b: &Browser, callback: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let u = b.driver.current_url().await.unwrap().to_string();
        if u.starts_with(callback) {
            return u;
        }
        assert!(std::time::Instant::now() < deadline, "not back at the application: {u}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registration_interrupt_appears_inside_an_applications_sign_in() {
    let portal = Portal::start();
    let admin = Browser::start(1280, 1000).await;
    admin.set_up_admin(&portal, "admin", ADMIN_PASSWORD).await;
    let pass = admin.create_user(&portal, "bob", "Bob Builder").await;

    // The policy On for all users (the default assignment), 14 days of grace.
    admin.driver.goto(&portal.url("/policy/mfa-registration")).await.unwrap();
    admin.wait_text("h1", "MFA registration policy").await;
    admin.click_text("label.segment", "On").await;
    admin.click_button("Save").await;
    admin.wait_text(".alert-info", "Saved as version").await;

    // The application, registered through the admin API from the admin's page.
    let callback = format!("http://localhost:{}/callback", free_port());
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
    let created = created.json().clone();
    let client_id = created["application"]["id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();

    // Bob follows the application's sign-in link.
    let bob = Browser::start(1280, 900).await;
    let authorize = format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile&state=st-42&nonce=n-42\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        portal.url("/oauth2/authorize"),
        callback.replace(':', "%3A").replace('/', "%2F"),
    );
    bob.driver.goto(&authorize).await.unwrap();
    bob.wait_text("h1", "Sign in").await;
    bob.wait_text("[data-testid=signing-in-to]", "to continue to Wiki").await;
    bob.shot("70-app-sign-in").await;
    bob.fill("username", "bob").await;
    bob.fill("password", &pass).await;
    bob.click_button("Sign in").await;
    bob.wait_text("h1", "Choose your password").await;
    bob.fill("new_password", BOB_PASSWORD).await;
    bob.fill("confirm", BOB_PASSWORD).await;
    bob.click_button("Set password").await;

    // The interrupt, inside the application's sign-in.
    bob.wait_text("h1", "More information required").await;
    bob.wait_text("[data-testid=signing-in-to]", "before you continue to Wiki").await;
    bob.wait_text("button", "Cancel").await;
    // The browser carries no address to return to: the server says where to continue.
    let at = bob.driver.current_url().await.unwrap().to_string();
    assert!(!at.contains("resume") && !at.contains("oauth2") && !at.contains("next="), "{at}");
    bob.shot("71-app-interrupt").await;
    // Every set-up step keeps naming the application (issue 27 item 4).
    bob.click_button("Next").await;
    bob.wait_text("h1", "Choose a sign-in method").await;
    bob.wait_text("[data-testid=signing-in-to]", "before you continue to Wiki").await;
    bob.click_button("Back").await;
    let skip = bob.wait_text("a", "Skip for now (14 days until this is required)").await;
    bob.click(&skip).await;

    // Back at the application, with a code, the state and the issuer.
    let landed = back_at(&bob, &callback).await;
    assert_eq!(query_value(&landed, "state").as_deref(), Some("st-42"), "{landed}");
    assert_eq!(query_value(&landed, "iss").as_deref(), Some(portal.url("").as_str()), "{landed}");
    let code = query_value(&landed, "code").unwrap();

    // The application exchanges it (client_secret_basic, PKCE verifier).
    let out = std::process::Command::new("curl")
        .args(["-s", "-u", &format!("{client_id}:{secret}"), "-d", "grant_type=authorization_code"])
        .args(["--data-urlencode", &format!("code={code}"), "--data-urlencode", &format!("redirect_uri={callback}")])
        .args(["-d", &format!("code_verifier={VERIFIER}"), &portal.url("/oauth2/token")])
        .output()
        .unwrap();
    let tokens: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id_token = tokens["id_token"].as_str().unwrap_or_else(|| panic!("{tokens}"));
    let payload = id_token.split('.').nth(1).unwrap();
    let padded = format!("{payload}{}", "=".repeat((4 - payload.len() % 4) % 4));
    let decoded = std::process::Command::new("sh")
        .args(["-c", &format!("printf %s '{}' | tr '_-' '/+' | base64 -d", padded)])
        .output()
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&decoded.stdout).unwrap();
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(claims["nonce"], "n-42");
    assert_eq!(claims["preferred_username"], "bob");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]), "skipping registers nothing: {claims}");

    // Signing in again (prompt=login), he cancels at the interrupt: the application hears
    // access_denied, with its state.
    bob.driver.goto(&format!("{authorize}&prompt=login").replace("st-42", "st-43")).await.unwrap();
    bob.wait_text("h1", "Sign in").await;
    bob.fill("username", "bob").await;
    bob.fill("password", BOB_PASSWORD).await;
    bob.click_button("Sign in").await;
    bob.wait_text("h1", "More information required").await;
    bob.click_button("Cancel").await;
    let refused = back_at(&bob, &callback).await;
    assert_eq!(query_value(&refused, "error").as_deref(), Some("access_denied"), "{refused}");
    assert_eq!(query_value(&refused, "state").as_deref(), Some("st-43"), "{refused}");
    assert!(query_value(&refused, "code").is_none(), "{refused}");
    bob.driver.clone().quit().await.unwrap();
    admin.driver.clone().quit().await.unwrap();
}
