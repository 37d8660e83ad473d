//! Risk in Chromium against the real binary: the operator's anonymizer list names the browser's
//! own address, so every sign-in from it is an anonymous-IP detection. The administrator runs the
//! backtest and switches the sign-in risk policy on; a user with no method is then refused with a
//! clear way out (a temporary access pass), never offered to register from there; the
//! administrator sees the user at risk, confirms them compromised with a reason, and reads the
//! evidence.
#![allow(clippy::unwrap_used)]

use proofup_e2e::{Browser, Portal};
use thirtyfour::prelude::*;

const ADMIN_PASSWORD: &str = "maple tundra orbit 2048";
const DANA_PASSWORD: &str = "quartz meadow lantern 77";

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
    admin.click_button("Backtest over the last 30 days").await;
    admin.wait_text("[data-testid=backtest]", "password sign-ins").await;
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
    // The detections, with the evidence in words.
    admin.click_button("Risk detections (90 days)").await;
    admin.wait_text("td.evidence", "anonymizer list").await;
    admin.wait_text("tr[data-kind=admin_confirmed_compromised]", "Password seen on a paste site").await;
    admin.shot("93-risk-detections").await;
    // The sign-in log says what the policy did.
    admin.driver.goto(&portal.url("/logs/sign-ins")).await.unwrap();
    admin.wait_text("td", "sign-in risk medium: blocked, no method").await;
    admin.shot("94-sign-in-log-risk").await;
    admin.assert_no_csp_violations().await;
}
