//! Registering an application in the portal: mistakes said at their fields, the secret shown
//! once, the connection facts, settings with an assigned group, a new secret with an overlap,
//! the signing keys rotated; the JWKS the browser fetches names the keys the page lists.
#![allow(clippy::unwrap_used)]

use proofup_e2e::{Browser, Portal};
use thirtyfour::prelude::*;

const PASSWORD: &str = "maple tundra orbit 2048";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_configure_and_rotate_an_application() {
    let portal = Portal::start();
    let admin = Browser::start(1280, 1000).await;
    admin.set_up_admin(&portal, "admin", PASSWORD).await;
    admin.driver.goto(&portal.url("/groups")).await.unwrap();
    admin.wait_text("h1", "Groups").await;
    admin.fill("group-name", "Staff").await;
    admin.click_button("Create group").await;
    admin.wait_text("h1", "Staff").await;

    admin.click_text("nav a", "Applications").await;
    admin.wait_text("h1", "Applications").await;
    admin.wait_text(".empty", "No applications yet").await;
    admin.wait_text("[data-testid=signing-keys] .badge", "Signing").await;
    admin.click_text("a", "Register an application").await;
    admin.wait_text("h1", "Register an application").await;

    // Mistakes are said at their fields, and the first one gets the focus.
    admin.fill("app-redirects", "http://grafana.example.com/login/generic_oauth").await;
    admin.click_button("Register").await;
    admin.wait_text("#app-name-error", "Give the application a name").await;
    admin.wait_text("#app-redirects-error", "must use https").await;
    let focused = admin.driver.active_element().await.unwrap().id().await.unwrap();
    assert_eq!(focused.as_deref(), Some("app-name"));
    admin.shot("60-app-register-errors").await;

    admin.fill("app-name", "Grafana").await;
    admin
        .fill(
            "app-redirects",
            "https://grafana.example.com/login/generic_oauth\nhttp://localhost:3000/login/generic_oauth",
        )
        .await;
    admin.click_text("label", "groups").await;
    admin.click_button("Register").await;
    admin.wait_text("[role=status]", "Grafana is registered.").await;
    let secret = admin.wait_text("[data-testid=secret-code]", "").await.text().await.unwrap();
    assert_eq!(secret.len(), 43, "{secret}");
    admin.wait_text("[data-testid=connection]", &portal.url("")).await;
    admin.shot("61-app-secret-once").await;
    admin.click_text("a", "Go to the application").await;
    admin.wait_text("h1", "Grafana").await;
    assert!(
        !admin.driver.find(By::Css("body")).await.unwrap().text().await.unwrap().contains(&secret),
        "the secret is shown again"
    );
    let facts = admin.driver.find_all(By::Css("[data-testid=connection] dd")).await.unwrap();
    let client_id = facts[1].text().await.unwrap();
    assert_eq!(client_id.len(), 36, "a UUID: {client_id}");

    // Settings: only Staff may sign in; MFA required.
    admin.click_text("label", "Only assigned users and groups may sign in").await;
    admin.fill("app-assign-picker", "sta").await;
    admin.click_text(".picker-item", "Staff").await;
    admin.wait_text(".chip", "Staff").await;
    admin.click_text("label", "Require MFA").await;
    admin.click_button("Save settings").await;
    admin.wait_text(".app-form [role=status]", "Saved the settings of Grafana.").await;
    admin.driver.refresh().await.unwrap();
    admin.wait_text(".chip", "Staff").await;
    assert!(admin.driver.find(By::Id("app-require-mfa")).await.unwrap().is_selected().await.unwrap());
    admin.shot("62-app-settings").await;

    // A new secret: asked first, naming the overlap; the old one still works until then.
    admin.driver.find(By::Css("#secret-overlap option[value='1']")).await.unwrap().click().await.unwrap();
    admin.click_button("New secret").await;
    let question = admin.driver.get_alert_text().await.unwrap();
    assert!(question.contains("The current secret keeps working for 1 hour;"), "{question}");
    admin.driver.accept_alert().await.unwrap();
    let fresh = admin.wait_text("[data-testid=secret-code]", "").await.text().await.unwrap();
    assert_ne!(fresh, secret);
    admin.wait_text(".note", "The previous secret still works until").await;

    // Listed, with its client id and flags.
    admin.click_text("a", "← Applications").await;
    admin.wait_text("td a", "Grafana").await;
    admin.wait_text("td code", &client_id).await;
    admin.wait_text("td .badge", "MFA required").await;

    // The signing keys: rotated on request; the JWKS names the keys the page shows.
    let signing = admin.wait_text("[data-testid=signing-keys] tr", "Signing").await.text().await.unwrap();
    admin.click_button("Rotate signing keys").await;
    admin.driver.accept_alert().await.unwrap();
    admin.wait_text("[data-testid=signing-keys] [role=status]", "Signing keys rotated.").await;
    admin.wait_text("[data-testid=signing-keys] .badge", "Retired").await;
    admin.shot("63-applications").await;
    let kids: Vec<String> = {
        let mut v = Vec::new();
        for el in admin.driver.find_all(By::Css("[data-testid=signing-keys] td code")).await.unwrap() {
            v.push(el.text().await.unwrap());
        }
        v
    };
    assert_eq!(kids.len(), 6, "{kids:?}");
    let old_kid = signing.split_whitespace().next().unwrap().to_owned();
    assert!(kids.contains(&old_kid), "the retired key is still listed");
    admin.driver.goto(&portal.url("/oauth2/jwks")).await.unwrap();
    let jwks = admin.driver.find(By::Css("body")).await.unwrap().text().await.unwrap();
    for kid in &kids {
        assert!(jwks.contains(kid.as_str()), "{kid} not in the JWKS: {jwks}");
    }
    assert!(!jwks.contains("\"d\""), "a private part in the JWKS");

    // A phone: the list and the keys fit.
    let phone = Browser::start(390, 844).await;
    phone.sign_in(&portal, "admin", PASSWORD).await;
    phone.wait_text("h1", "Overview").await;
    phone.driver.goto(&portal.url("/applications")).await.unwrap();
    phone.wait_text("td a", "Grafana").await;
    phone.assert_fits(".content").await;
    phone.shot("64-phone-applications").await;
    phone.driver.goto(&portal.url(&format!("/applications/{client_id}"))).await.unwrap();
    phone.wait_text("h1", "Grafana").await;
    phone.assert_fits(".content").await;
    phone.shot("65-phone-application").await;
    phone.driver.clone().quit().await.unwrap();
    admin.driver.clone().quit().await.unwrap();
}
