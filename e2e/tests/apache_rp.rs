//! A real, independent relying party signs its users in through Proofup: Apache httpd with
//! mod_auth_openidc (Debian's build), on `127.0.0.1`, while Proofup is on `localhost`, so every
//! hop between them is cross-site as in production. The module discovers Proofup, fetches its
//! keys, sends the browser to authorize (PKCE S256), checks `state`, `iss` and the ID token
//! itself, refreshes the access token, and logs out through end_session. In Chromium:
//! sign-in without policy; the MFA registration interrupt inside the site's sign-in with
//! Skip, and without it (grace over) where an authenticator app is registered; the next sign-in
//! with password and code (`amr` has `otp` and `mfa`); a refresh by the module with no
//! interrupt; single sign-on into a second site (client_secret_post); report-only; logout.
#![allow(clippy::unwrap_used)]

use proofup_e2e::apache::{Apache, TokenAuth};
use proofup_e2e::{oathtool, Browser, Portal};
use thirtyfour::prelude::*;

const ADMIN_PASSWORD: &str = "maple tundra orbit 2048";
const BOB_PASSWORD: &str = "copper kettle winter road";
const CAROL_PASSWORD: &str = "silver canyon paper lamp";

async fn save_policy(admin: &Browser, enforcement: &str, grace_days: u32) {
    let current = admin.api("GET", "/api/policy", serde_json::Value::Null).await;
    let policy = serde_json::json!({"enforcement": enforcement, "include_all": true, "include_users": [], "include_groups": [],
        "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": grace_days});
    admin
        .api("PUT", "/api/policy", serde_json::json!({"policy": policy, "based_on_version": current["version"]}))
        .await;
}

/// What the module holds for this browser's session (`OIDCInfoHook`), as its JSON.
async fn info(b: &Browser, rp: &Apache, extra: &str) -> serde_json::Value {
    b.driver.goto(&rp.url(&format!("/protected/redirect_uri?info=json{extra}"))).await.unwrap();
    let text = b.driver.find(By::Tag("body")).await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}\n{}", rp.error_log()))
}

/// Opens the site's protected page: Proofup's sign-in, naming the site, takes `user`'s password.
async fn sign_in_at(b: &Browser, rp: &Apache, user: &str, password: &str) {
    b.driver.goto(&rp.url("/protected/")).await.unwrap();
    b.wait_text("[data-testid=signing-in-to]", "to continue to Intranet").await;
    b.fill("username", user).await;
    b.fill("password", password).await;
    b.click_button("Sign in").await;
}

async fn sign_out_of_intranet(b: &Browser, rp: &Apache) {
    b.driver.goto(&rp.url("/protected/")).await.unwrap();
    b.driver.find(By::Id("logout")).await.unwrap().click().await.unwrap();
    b.wait_text("h1", "Signed out of the intranet").await;
}

fn sign_ins_for(items: &serde_json::Value, user: &str) -> Vec<serde_json::Value> {
    items["items"].as_array().unwrap().iter().filter(|e| e["username"] == user).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apache_site_behind_mod_auth_openidc_signs_in_through_proofup() {
    let portal = Portal::start();
    let admin = Browser::start(1280, 1000).await;
    admin.set_up_admin(&portal, "admin", ADMIN_PASSWORD).await;
    let bob_pass = admin.create_user(&portal, "bob", "Bob Builder").await;

    // The administrator registers the intranet, then Apache starts with its id and secret.
    let rp_port = Apache::plan();
    let created = admin
        .api(
            "POST",
            "/api/applications",
            serde_json::json!({"name": "Intranet", "redirect_uris": [Apache::redirect_uri(rp_port)],
            "post_logout_redirect_uris": [format!("http://127.0.0.1:{rp_port}/bye.html")],
            "scopes": ["openid", "profile", "email", "groups"], "refresh_tokens": true}),
        )
        .await;
    let client_id = created["application"]["id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let rp = Apache::start(rp_port, &portal.url(""), &client_id, &secret, TokenAuth::Basic);

    // 1. No policy yet. Bob opens the intranet: Proofup's sign-in names it; his temporary access
    //    pass, his own password, and he is in.
    let bob = Browser::start(1280, 900).await;
    bob.driver.goto(&rp.url("/protected/")).await.unwrap();
    bob.wait_text("[data-testid=signing-in-to]", "to continue to Intranet").await;
    let at = bob.driver.current_url().await.unwrap();
    assert_eq!(at.host_str(), Some("localhost"), "sent to Proofup: {at}");
    bob.shot("80-apache-sign-in").await;
    bob.fill("username", "bob").await;
    bob.fill("password", &bob_pass).await;
    bob.click_button("Sign in").await;
    bob.wait_text("h1", "Choose your password").await;
    bob.fill("new_password", BOB_PASSWORD).await;
    bob.fill("confirm", BOB_PASSWORD).await;
    bob.click_button("Set password").await;
    bob.at_intranet(&rp, "bob").await;
    bob.wait_text("#name", "Bob Builder").await;
    bob.shot("81-apache-signed-in").await;
    let held = info(&bob, &rp, "").await;
    let claims = &held["id_token"];
    assert_eq!(claims["iss"], portal.url(""), "{held}");
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    let first_refresh = held["refresh_token"].as_str().expect("the module holds a refresh token").to_owned();

    // 2. The module refreshes the access token on its own (older than 1 s): no redirect to
    //    Proofup, a new refresh token, and the sign-in log says "non-interactive".
    save_policy(&admin, "on", 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let after = info(&bob, &rp, "&access_token_refresh_interval=1").await;
    assert_ne!(after["refresh_token"].as_str(), Some(first_refresh.as_str()), "refreshed and rotated: {after}");
    assert!(bob.driver.current_url().await.unwrap().as_str().starts_with(&rp.url("/")), "no interrupt, no redirect");
    let log = admin.api("GET", "/api/sign-ins?application=Intranet&user=bob", serde_json::Value::Null).await;
    let refreshed = sign_ins_for(&log, "bob").into_iter().find(|e| e["reason"] == "Token refreshed").expect("logged");
    assert_eq!(refreshed["interactive"], false);

    // 3. Logout from the intranet goes through Proofup's end_session and back; Proofup's
    //    session in this browser is over too.
    sign_out_of_intranet(&bob, &rp).await;
    bob.shot("82-apache-signed-out").await;
    bob.driver.goto(&portal.url("/")).await.unwrap();
    bob.wait_text("h1", "Sign in").await;

    // 4. The policy On with a grace period: the interrupt comes inside the intranet's sign-in;
    //    Skip lands back at the intranet.
    save_policy(&admin, "on", 14).await;
    sign_in_at(&bob, &rp, "bob", BOB_PASSWORD).await;
    bob.wait_text("h1", "More information required").await;
    bob.wait_text("[data-testid=signing-in-to]", "before you continue to Intranet").await;
    let skip = bob.wait_text("a", "Skip for now (14 days until this is required)").await;
    bob.shot("83-apache-interrupt").await;
    bob.click(&skip).await;
    bob.at_intranet(&rp, "bob").await;
    sign_out_of_intranet(&bob, &rp).await;

    // 5. The grace over (none left): no Skip; bob registers an authenticator app, and is back
    //    at the intranet. Registered with only the password behind it: amr stays pwd.
    save_policy(&admin, "on", 0).await;
    sign_in_at(&bob, &rp, "bob", BOB_PASSWORD).await;
    bob.wait_text("h1", "More information required").await;
    assert!(bob.driver.find_all(By::PartialLinkText("Skip for now")).await.unwrap().is_empty());
    bob.click_button("Next").await;
    bob.click_text("button.method-choice", "Authenticator app").await;
    bob.wait_text("h1", "Set up your authenticator app").await;
    bob.click_button("Enter the key by hand").await;
    let key = bob.wait_text("[data-testid=totp-key]", " ").await.text().await.unwrap();
    bob.fill("totp-code", &oathtool(&key, "now")).await;
    bob.fill("method-name", "Bob's phone").await;
    bob.click_button("Verify and finish").await;
    bob.wait_text("h1", "You're all set").await;
    bob.shot("84-apache-registered").await;
    bob.click_button("Continue").await;
    bob.at_intranet(&rp, "bob").await;
    assert_eq!(info(&bob, &rp, "").await["id_token"]["amr"], serde_json::json!(["pwd"]));
    sign_out_of_intranet(&bob, &rp).await;

    // 6. The next sign-in: password and a code; the module's ID token says otp and mfa.
    sign_in_at(&bob, &rp, "bob", BOB_PASSWORD).await;
    bob.wait_text("h1", "Enter code").await;
    bob.fill("code", &oathtool(&key, "+30 seconds")).await;
    bob.click_button("Verify").await;
    bob.at_intranet(&rp, "bob").await;
    bob.wait_text("#amr", "otp").await;
    let amr = info(&bob, &rp, "").await["id_token"]["amr"].clone();
    assert_eq!(amr, serde_json::json!(["pwd", "otp", "mfa"]));

    // 7. A second site (client_secret_post this time): bob's Proofup session comes with the
    //    cross-site redirect (the Lax SSO cookie), so he is signed in without a page, and the
    //    sign-in keeps what it used (otp, mfa).
    let wiki_port = Apache::plan();
    let wiki_app = admin.api("POST",
        "/api/applications",
        serde_json::json!({"name": "Wiki", "redirect_uris": [Apache::redirect_uri(wiki_port)], "scopes": ["openid", "profile"]}),
    )
    .await;
    let wiki = Apache::start(
        wiki_port,
        &portal.url(""),
        wiki_app["application"]["id"].as_str().unwrap(),
        wiki_app["client_secret"].as_str().unwrap(),
        TokenAuth::Post,
    );
    bob.driver.goto(&wiki.url("/protected/")).await.unwrap();
    bob.at_intranet(&wiki, "bob").await;
    assert_eq!(info(&bob, &wiki, "").await["id_token"]["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    let log = admin.api("GET", "/api/sign-ins?application=Wiki&user=bob", serde_json::Value::Null).await;
    assert!(sign_ins_for(&log, "bob")[0]["reason"].as_str().unwrap().starts_with("Single sign-on"), "{log}");

    // 8. Report-only: carol (no method) is not interrupted; the log says what would have been,
    //    under the intranet's name.
    save_policy(&admin, "report_only", 14).await;
    let carol_pass = admin.create_user(&portal, "carol", "Carol Danvers").await;
    let carol = Browser::start(1280, 900).await;
    sign_in_at(&carol, &rp, "carol", &carol_pass).await;
    carol.wait_text("h1", "Choose your password").await;
    carol.fill("new_password", CAROL_PASSWORD).await;
    carol.fill("confirm", CAROL_PASSWORD).await;
    carol.click_button("Set password").await;
    carol.at_intranet(&rp, "carol").await;
    sign_out_of_intranet(&carol, &rp).await;
    sign_in_at(&carol, &rp, "carol", CAROL_PASSWORD).await;
    carol.at_intranet(&rp, "carol").await;
    let log = admin.api("GET", "/api/sign-ins?application=Intranet&user=carol", serde_json::Value::Null).await;
    let would = sign_ins_for(&log, "carol")
        .into_iter()
        .find(|e| e["reason"].as_str().unwrap().contains("Report-only: MFA registration would be prompted"));
    assert!(would.is_some(), "{log}");

    // The administrator's sign-in log, filtered to the intranet.
    admin.driver.goto(&portal.url("/logs/sign-ins")).await.unwrap();
    admin.wait_text("h1", "Sign-in logs").await;
    let select = admin.driver.find(By::Id("f-application")).await.unwrap();
    select.find(By::Css("option[value=Intranet]")).await.unwrap().click().await.unwrap();
    admin.wait_text("td", "non-interactive").await;
    admin.shot("85-sign-in-log-by-application").await;

    // The Overview lists the method bob registered at the interrupt (a sign-in with only a
    // password behind it), and the policy can limit that to trusted networks.
    admin.driver.goto(&portal.url("/")).await.unwrap();
    admin
        .wait_text(
            "[data-testid=registered-at-interrupt]",
            "1 sign-in method was registered at the registration interrupt",
        )
        .await;
    admin.wait_text("[data-testid=registered-at-interrupt]", "bob (").await;
    admin.shot("86-overview-registered-at-interrupt").await;
    admin.driver.goto(&portal.url("/policy/mfa-registration")).await.unwrap();
    admin.wait_text("h2", "Where users may register").await;
    admin.fill("registration-networks", "10.0.0.0/8\n192.0.2.0/24").await;
    admin.click_button("Save").await;
    admin.wait_text(".alert-info", "Saved as version").await;
    let saved = admin.api("GET", "/api/policy", serde_json::Value::Null).await;
    assert_eq!(saved["policy"]["registration_networks"], serde_json::json!(["10.0.0.0/8", "192.0.2.0/24"]));
    admin.shot("87-policy-trusted-networks").await;

    // With the policy On, carol (password only, on 127.0.0.1: outside those networks) is told
    // why she cannot register here, and may still skip while her grace lasts.
    let mut on = saved["policy"].clone();
    on["enforcement"] = serde_json::json!("on");
    admin.api("PUT", "/api/policy", serde_json::json!({"policy": on, "based_on_version": saved["version"]})).await;
    sign_out_of_intranet(&carol, &rp).await;
    sign_in_at(&carol, &rp, "carol", CAROL_PASSWORD).await;
    carol.wait_text("[data-testid=network-blocked]", "only from its own network").await;
    assert!(carol.driver.find_all(By::XPath("//button[normalize-space()='Next']")).await.unwrap().is_empty());
    carol.shot("88-interrupt-untrusted-network").await;
    let skip = carol.wait_text("a", "Skip for now").await;
    carol.click(&skip).await;
    carol.at_intranet(&rp, "carol").await;

    for b in [bob, carol, admin] {
        b.driver.clone().quit().await.unwrap();
    }
}
