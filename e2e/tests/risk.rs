//! Risk in Chromium against the real binary: the operator's anonymizer list names the browser's
//! own address, so every sign-in from it is an anonymous-IP detection. The administrator runs the
//! backtest and switches the sign-in risk policy on; a user with no method is then refused with a
//! clear way out (a temporary access pass), never offered to register from there; the
//! administrator sees the user at risk, confirms them compromised with a reason, and reads the
//! evidence. Then, inside the sign-in of an application behind Apache with mod_auth_openidc (a
//! relying party we did not write): a risky sign-in is stepped up to the user's authenticator
//! app, and a user at high risk changes their password before the application lets them in.
#![allow(clippy::unwrap_used)]

use proofup_e2e::apache::{Apache, TokenAuth};
use proofup_e2e::{oathtool, Browser, Portal};
use thirtyfour::prelude::*;

const ADMIN_PASSWORD: &str = "maple tundra orbit 2048";
const DANA_PASSWORD: &str = "quartz meadow lantern 77";
const ERIN_PASSWORD: &str = "harbor violet engine 314";
const ERIN_NEW_PASSWORD: &str = "granite willow comet 512";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_risky_sign_in_without_a_method_is_refused_and_the_administrator_sees_why() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("anonymizers.txt");
    std::fs::write(&list, "# Tor exits and VPN egress (here: the test browser)\n127.0.0.1\n::1\n").unwrap();
    let portal = Portal::start_with(&["--anonymizer-list".into(), list.display().to_string()]);
    let admin = Browser::start(1280, 1000).await;
    admin.set_up_admin(&portal, "admin", ADMIN_PASSWORD).await;
    let pass = admin.create_user(&portal, "dana", "Dana Scully").await;

    // The sign-in risk policy: a backtest first, then On at medium.
    admin.driver.goto(&portal.url("/policy/risk")).await.unwrap();
    admin.wait_text("h1", "Risk policies").await;
    let on = admin.driver.find_all(By::Css("input[name='sir-enforcement']")).await.unwrap();
    admin.click(&on[2]).await;
    // The draft's impact on the directory, as it is edited; then what-if for Dana.
    admin.wait_text("[data-testid=sir-impact]", "With no sign-in method:").await;
    admin.wait_text(".alert-warn", "have no sign-in method: a sign-in this policy steps up is refused").await;
    admin.fill("sir-what-if", "dan").await;
    admin.click_text(".picker-item", "dana").await;
    let answer = admin.wait_text("[data-testid=sir-what-if-answer]", "Refused: no method to prove it").await;
    admin
        .driver
        .execute("arguments[0].scrollIntoView({block: 'center'});", vec![answer.to_json().unwrap()])
        .await
        .unwrap();
    admin.shot("89-risk-policy-impact-what-if").await;
    admin.select("sir-try", "low").await;
    admin.wait_text("[data-testid=sir-what-if-answer]", "Nothing asked").await;
    admin.click_button("Backtest over the last 30 days").await;
    admin.wait_text("[data-testid=backtest]", "Stepped up: 1 sign-in by 1 user.").await;
    admin.click_button("Save sign-in risk policy").await;
    admin.wait_text(".alert-ok", "Sign-in risk policy saved as version 1.").await;
    admin.shot("90-risk-policies").await;

    // Dana's first sign-in is with the administrator's pass (strong enough for risk), then she
    // chooses a password.
    let dana = Browser::start(1280, 900).await;
    dana.sign_in(&portal, "dana", &pass).await;
    dana.wait_text("h1", "Choose your password").await;
    dana.fill("new_password", DANA_PASSWORD).await;
    dana.fill("confirm", DANA_PASSWORD).await;
    dana.click_button("Set password").await;
    dana.wait_text("h1", "Your account").await;
    dana.sign_out().await;
    // With her password alone from an anonymizer: refused, and told what to do.
    dana.sign_in(&portal, "dana", DANA_PASSWORD).await;
    dana.wait_text(".alert-error", "temporary access pass").await;
    dana.shot("91-risky-sign-in-refused").await;
    let url = dana.driver.current_url().await.unwrap();
    assert!(url.path().starts_with("/sign-in"), "no way past the sign-in page: {url}");

    // The administrator: Dana is at risk; confirmed compromised, with a reason.
    admin.driver.goto(&portal.url("/risk")).await.unwrap();
    admin.wait_text("h1", "Risk").await;
    let row = admin.wait_text("tr[data-user=dana]", "dana").await;
    admin.shot("92-risky-users").await;
    let confirm = row.find(By::XPath(".//button[contains(., 'Confirm compromised')]")).await.unwrap();
    admin.click(&confirm).await;
    admin.fill("risk-reason", "Password seen on a paste site").await;
    admin.click_button("Confirm").await;
    admin.wait_text(".alert-ok", "confirmed compromised").await;
    admin.wait_text("tr[data-user=dana]", "Confirmed compromised").await;
    // Filtered by state: she is no longer merely at risk.
    admin.select("u-state", "at_risk").await;
    admin.wait_gone("tr[data-user=dana]").await;
    admin.wait_text("tr[data-user=admin]", "Anonymous IP address").await;
    // The detections, with the evidence in words.
    admin.click_button("Risk detections (90 days)").await;
    admin.wait_text("td.evidence", "anonymizer list").await;
    admin.wait_text("tr[data-kind=admin_confirmed_compromised]", "Password seen on a paste site").await;
    admin.shot("93-risk-detections").await;
    // Filtered to one kind.
    admin.select("d-kind", "admin_confirmed_compromised").await;
    admin.wait_gone("tr[data-kind=anonymous_ip]").await;
    admin.wait_text("tr[data-kind=admin_confirmed_compromised]", "dana").await;
    // The sign-in log says what the policy did.
    admin.driver.goto(&portal.url("/logs/sign-ins")).await.unwrap();
    admin.wait_text("td", "sign-in risk medium: blocked, no method").await;
    admin.shot("94-sign-in-log-risk").await;
    admin.assert_no_csp_violations().await;

    // An application behind Apache with mod_auth_openidc.
    let rp_port = Apache::plan();
    let created = admin
        .api(
            "POST",
            "/api/applications",
            serde_json::json!({"name": "Intranet", "redirect_uris": [Apache::redirect_uri(rp_port)],
            "scopes": ["openid", "profile"], "refresh_tokens": false}),
        )
        .await;
    let client_id = created["application"]["id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let rp = Apache::start(rp_port, &portal.url(""), &client_id, &secret, TokenAuth::Basic);
    // Erin: a password of her own and an authenticator app.
    let erin_pass = admin.create_user(&portal, "erin", "Erin Reyes").await;
    let erin = Browser::start(1280, 900).await;
    erin.sign_in(&portal, "erin", &erin_pass).await;
    erin.wait_text("h1", "Choose your password").await;
    erin.fill("new_password", ERIN_PASSWORD).await;
    erin.fill("confirm", ERIN_PASSWORD).await;
    erin.click_button("Set password").await;
    erin.wait_text("h1", "Your account").await;
    erin.driver.goto(&portal.url("/security-info")).await.unwrap();
    erin.click_button("Add authenticator app").await;
    erin.click_button("Enter the key by hand").await;
    let key = erin.wait_text("[data-testid=totp-key]", " ").await.text().await.unwrap();
    erin.fill("totp-code", &oathtool(&key, "now")).await;
    erin.fill("method-name", "Phone").await;
    erin.click_button("Verify and finish").await;
    erin.wait_text(".alert-info", "\"Phone\" is registered.").await;
    erin.sign_out().await;

    // The administrator confirms Erin compromised and turns the user risk policy on (high,
    // secure password change).
    let erin_id = admin.api("GET", "/api/users?q=erin", serde_json::Value::Null).await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .api(
            "POST",
            &format!("/api/risk/users/{erin_id}"),
            serde_json::json!({"action": "confirm_compromised", "reason": "Laptop stolen"}),
        )
        .await;
    let current = admin.api("GET", "/api/policy", serde_json::Value::Null).await;
    admin.api("PUT",
        "/api/policy/user-risk",
        serde_json::json!({"policy": {"enforcement": "on", "include_all": true, "level": "high", "remedy": "secure_password_change"},
            "based_on_version": current["version"]}),
    )
    .await;

    // Erin opens the intranet: Proofup's sign-in names it; her password from an anonymizer is
    // stepped up to her app, then, at high user risk, a new password; then the intranet.
    erin.driver.goto(&rp.url("/protected/")).await.unwrap();
    erin.wait_text("[data-testid=signing-in-to]", "to continue to Intranet").await;
    erin.fill("username", "erin").await;
    erin.fill("password", ERIN_PASSWORD).await;
    erin.click_button("Sign in").await;
    erin.wait_text("h1", "Enter code").await;
    erin.fill("code", &oathtool(&key, "+30 seconds")).await;
    erin.shot("95-app-sign-in-stepped-up").await;
    erin.click_button("Verify").await;
    erin.wait_text("h1", "Choose your password").await;
    erin.wait_text("[data-testid=risk-password-change]", "someone else may know your password").await;
    erin.shot("96-app-sign-in-password-change").await;
    erin.fill("new_password", ERIN_NEW_PASSWORD).await;
    erin.fill("confirm", ERIN_NEW_PASSWORD).await;
    erin.click_button("Set password").await;
    erin.at_intranet(&rp, "erin").await;
    erin.shot("97-app-signed-in-after-remediation").await;
    // Her risk is remediated; the log says what each policy did.
    let users = admin.api("GET", "/api/risk/users", serde_json::Value::Null).await;
    assert!(users["items"].as_array().unwrap().iter().all(|u| u["username"] != "erin"), "{users}");
    let log = admin.api("GET", "/api/sign-ins?user=erin&application=Intranet", serde_json::Value::Null).await;
    let reasons: Vec<&str> = log["items"].as_array().unwrap().iter().filter_map(|e| e["reason"].as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("sign-in risk medium: second factor required")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("user risk high: secure password change required")), "{reasons:?}");
    // The Overview's risk card: the policies, who is at risk, and what the detections lack here.
    admin.driver.goto(&portal.url("/")).await.unwrap();
    admin.wait_text("[data-testid=risk-card]", "Location unavailable").await;
    admin.wait_text("[data-testid=risk-card]", "User risk: On").await;
    let card = admin.driver.find(By::Css("[data-testid=risk-card]")).await.unwrap();
    card.scroll_into_view().await.unwrap();
    admin.shot("98-overview-risk").await;
}
