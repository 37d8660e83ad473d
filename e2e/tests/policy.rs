//! The core flow in a real browser: an administrator puts a group under the MFA
//! registration policy; a member is interrupted ("More information required"),
//! skips during the grace period, is later required to register, registers an
//! authenticator app (codes from `oathtool`, a real TOTP client), and from then
//! on signs in with a code.
#![allow(clippy::unwrap_used)]

use proofup_e2e::{oathtool, Browser, Portal};
use thirtyfour::prelude::*;

const ADMIN_PASSWORD: &str = "maple tundra orbit 2048";
const BOB_PASSWORD: &str = "copper kettle winter road";

async fn pick(b: &Browser, input: &str, text: &str, name: &str) {
    b.fill(input, text).await;
    b.click_text(".picker-item", name).await;
}

async fn save_policy(admin: &Browser) {
    admin.click_button("Save").await;
    admin.wait_text(".alert-info", "Saved as version").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_interrupts_skip_then_required_registration_with_a_real_totp_app() {
    let portal = Portal::start();
    let admin = Browser::start(1280, 1000).await;
    admin.driver.goto(&portal.setup_url).await.unwrap();
    admin.wait_text("h1", "Create the first administrator").await;
    admin.fill("username", "admin").await;
    admin.fill("display_name", "Admin").await;
    admin.fill("password", ADMIN_PASSWORD).await;
    admin.fill("confirm", ADMIN_PASSWORD).await;
    admin.click_button("Create administrator").await;
    admin.wait_text("h1", "Sign in").await;
    admin.fill("password", ADMIN_PASSWORD).await;
    admin.click_button("Sign in").await;
    admin.wait_text("h1", "Overview").await;

    // Bob, and nested groups: bob ∈ Engineering ∈ Staff.
    admin.driver.goto(&portal.url("/users/new")).await.unwrap();
    admin.wait_text("h1", "New user").await;
    admin.fill("username", "bob").await;
    admin.fill("display_name", "Bob Builder").await;
    admin.click_button("Create user").await;
    let pass = admin.wait_text("[data-testid=pass-code]", "-").await.text().await.unwrap();
    for g in ["Staff", "Engineering"] {
        admin.driver.goto(&portal.url("/groups")).await.unwrap();
        admin.wait_text("h1", "Groups").await;
        admin.fill("group-name", g).await;
        admin.click_button("Create group").await;
        admin.wait_text("h1", g).await;
    }
    pick(&admin, "add-member", "bo", "bob").await;
    admin.wait_text(".alert-info", "bob was added").await;
    admin.wait_text("td a", "bob").await;
    admin.driver.goto(&portal.url("/groups")).await.unwrap();
    admin.click_text("td a", "Staff").await;
    admin.wait_text("h1", "Staff").await;
    pick(&admin, "add-member", "eng", "Engineering").await;
    admin.wait_text("td a", "Engineering").await;
    admin.shot("30-group-members").await;

    // The policy: include Staff (nested), On, default grace 14 days.
    admin.click_text("nav a", "MFA registration policy").await;
    admin.wait_text("h1", "MFA registration policy").await;
    admin.wait_text("[data-testid=policy-state]", "Off").await;
    admin.wait_text(".note", "Emergency-access accounts are always excluded").await;
    admin.click_text("label", "Select individuals and groups").await;
    // The picker answers the keyboard: arrow down to the match, Enter adds it; the highlighted
    // option is never hidden under the sticky Save bar.
    admin.fill("include-picker", "sta").await;
    admin.wait_text(".picker-item", "Staff").await;
    let input = admin.driver.find(By::Id("include-picker")).await.unwrap();
    input.send_keys(Key::Down).await.unwrap();
    let active = admin.wait_text(".picker-item.active", "Staff").await;
    let id = active.attr("id").await.unwrap().unwrap();
    assert_eq!(input.attr("aria-activedescendant").await.unwrap(), Some(id));
    let clear = admin
        .driver
        .execute(
            "const o = document.querySelector('.picker-item.active').getBoundingClientRect();\
             const bar = document.querySelector('.sticky-actions').getBoundingClientRect();\
             return o.bottom <= bar.top + 1 || o.top >= bar.bottom;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(clear.json().as_bool(), Some(true), "the highlighted option is under the Save bar");
    admin.shot("30c-picker-keyboard").await;
    input.send_keys(Key::Enter).await.unwrap();
    admin.wait_text(".chip", "Staff").await;
    assert_eq!(input.prop("value").await.unwrap().as_deref(), Some(""));
    admin.click_text("label.segment", "On").await;
    admin.wait_text("[data-testid=impact-in-scope]", "1").await;
    // Users are found by a word of their display name too.
    pick(&admin, "what-if-picker", "builder", "bob").await;
    admin.wait_text("[data-testid=what-if]", "Included: member of Staff via Engineering → Staff.").await;
    admin.wait_text("[data-testid=what-if] .badge", "Will be prompted").await;
    // The verdict follows the enforcement: with the draft Off nobody is interrupted.
    admin.click_text("label.segment", "Off").await;
    admin.wait_text("[data-testid=what-if] .badge", "Not interrupted (would be prompted if On)").await;
    admin.wait_text("[data-testid=what-if]", "Enforcement is Off: sign-in is not interrupted").await;
    admin.shot("31a-what-if-off").await;
    admin.click_text("label.segment", "On").await;
    admin.wait_text("[data-testid=what-if] .badge", "Will be prompted").await;
    admin.shot("31-policy-draft").await;
    save_policy(&admin).await;
    admin.wait_text("[data-testid=policy-state]", "On").await;
    admin.wait_text(".alert-warn", "No emergency-access account exists").await;
    admin.wait_text("td", "Enforcement").await;
    admin.shot("32-policy-saved").await;

    // Bob's first sign-in: pass → password → interrupted, may skip.
    let bob = Browser::start(1280, 900).await;
    bob.sign_in(&portal, "bob", &pass).await;
    bob.wait_text("h1", "Choose your password").await;
    bob.fill("new_password", BOB_PASSWORD).await;
    bob.fill("confirm", BOB_PASSWORD).await;
    bob.click_button("Set password").await;
    bob.wait_text("h1", "More information required").await;
    bob.wait_text("p", "Your organization needs more information to keep your account secure").await;
    let skip = bob.wait_text("a", "Skip for now (14 days until this is required)").await;
    // The deadline as people read it (issue 27 item 2): how far off, then the local date and time.
    bob.wait_text("p.muted", "Registration is required in 14 days, on ").await;
    bob.shot("33-interrupt-with-skip").await;
    // Without skipping, the portal is closed to this session.
    bob.driver.goto(&portal.url("/security-info")).await.unwrap();
    bob.wait_text("h1", "More information required").await;
    let skip2 = bob.wait_text("a", "Skip for now").await;
    let _ = skip;
    bob.click(&skip2).await;
    bob.wait_text("h1", "Your account").await;
    // His home page reminds him, with the date, and a reload (a fresh `me`) keeps it.
    bob.wait_text("[data-testid=registration-nudge]", "Register a sign-in method — required in 14 days, on ").await;
    bob.driver.refresh().await.unwrap();
    bob.wait_text("[data-testid=registration-nudge] a", "Add a passkey or an authenticator app").await;
    bob.shot("33c-home-nudge").await;
    bob.sign_out().await;

    // The administrator ends bob's grace period from his page (reason required, confirmed).
    admin.driver.goto(&portal.url("/users")).await.unwrap();
    admin.click_text("td a", "Bob Builder").await;
    admin.wait_text("h1", "Bob Builder").await;
    admin.wait_text("[data-testid=user-decision]", "First prompted").await;
    // Without a reason nothing is asked or sent: the field says what is missing and takes the focus.
    admin.click_button("End grace period now").await;
    admin.wait_text(".grace-form .field-error", "Give a reason").await;
    let focused = admin.driver.active_element().await.unwrap().id().await.unwrap();
    assert_eq!(focused.as_deref(), Some("grace-reason"));
    admin.fill("grace-reason", "Phone issued today").await;
    admin.click_button("End grace period now").await;
    admin.driver.accept_alert().await.unwrap();
    // The confirmation appears in the policy card, beside the button that caused it.
    admin.wait_text("section .grace-form ~ .alert-info", "The grace period was ended").await;
    admin.wait_text("[data-testid=user-decision]", "registration is required at the next sign-in").await;
    admin.shot("33b-grace-ended").await;

    bob.sign_in(&portal, "bob", BOB_PASSWORD).await;
    bob.wait_text("h1", "More information required").await;
    bob.wait_text("p", "Registration is now required").await;
    assert!(bob.driver.find_all(By::LinkText("Skip for now")).await.unwrap().is_empty());
    bob.shot("34-interrupt-required").await;
    bob.click_button("Next").await;
    bob.wait_text("h1", "Choose a sign-in method").await;
    bob.click_text("button.method-choice", "Authenticator app").await;
    bob.wait_text("h1", "Set up your authenticator app").await;
    bob.wait_text("strong", "Scan this QR code").await;
    bob.driver.find(By::Css(".qr svg")).await.unwrap();
    bob.click_button("Enter the key by hand").await;
    let key = bob.wait_text("[data-testid=totp-key]", " ").await.text().await.unwrap();
    assert_eq!(key.replace(' ', "").len(), 32, "{key}");
    bob.shot("35-totp-setup").await;
    bob.assert_no_csp_violations().await;
    // Someone on the phone that holds the app can open the key there instead of scanning.
    let link = bob.driver.find(By::Css("[data-testid=otpauth-link]")).await.unwrap();
    let href = link.attr("href").await.unwrap().unwrap();
    assert!(href.starts_with("otpauth://totp/") && href.contains("secret="), "{href}");
    assert_eq!(
        bob.driver.find(By::Css(".qr")).await.unwrap().attr("aria-label").await.unwrap().as_deref(),
        Some("QR code for your authenticator app")
    );
    bob.fill("totp-code", "000000").await;
    bob.click_button("Verify and finish").await;
    // A wrong code is said next to the field, which keeps the code selected and the focus.
    bob.wait_text("#totp-code-error", "not right").await;
    let focused = bob.driver.active_element().await.unwrap().id().await.unwrap();
    assert_eq!(focused.as_deref(), Some("totp-code"));
    let kept = bob.driver.find(By::Id("totp-code")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("000000"));
    bob.shot("35b-totp-wrong-code").await;
    bob.fill("totp-code", &oathtool(&key, "now")).await;
    bob.fill("method-name", "Bob's phone").await;
    bob.click_button("Verify and finish").await;
    bob.wait_text("h1", "You're all set").await;
    bob.shot("36-registered").await;
    bob.click_button("Continue").await;
    bob.wait_text("h1", "Your account").await;
    bob.click_text("nav a", "My security info").await;
    bob.wait_text("td", "Bob's phone").await;
    bob.shot("37-security-info").await;
    bob.sign_out().await;

    // From now on: password, then a code (the next step's code: the current one was used).
    bob.sign_in(&portal, "bob", BOB_PASSWORD).await;
    bob.wait_text("h1", "Enter code").await;
    let input = bob.driver.find(By::Id("code")).await.unwrap();
    assert_eq!(input.attr("autocomplete").await.unwrap().as_deref(), Some("one-time-code"));
    bob.shot("38-second-step").await;
    bob.fill("code", &oathtool(&key, "+30 seconds")).await;
    bob.click_button("Verify").await;
    bob.wait_text("h1", "Your account").await;

    // The administrator sees bob registered in the report and on his page.
    admin.click_text("nav a", "Registration report").await;
    admin.wait_text("h1", "Registration report").await;
    admin.wait_text("td .badge", "Registered").await;
    admin.wait_text("#report-count", "users").await;
    // The table fits the window (no sideways scrolling, pills on one line).
    admin.assert_fits(".table-wrap").await;
    admin.shot("39-report").await;
    // Sorted by deadline, and filtered on the server.
    admin.driver.find(By::Css("#report-sort option[value=deadline]")).await.unwrap().click().await.unwrap();
    admin.wait_text("td .badge", "Registered").await;
    admin.driver.find(By::Css("#report-status option[value=registered]")).await.unwrap().click().await.unwrap();
    admin.wait_text("#report-count", "1 user").await;
    admin.wait_gone("td .badge:not(.badge-ok)").await;
    admin.click_text("td a", "bob").await;
    admin.wait_text("h1", "Bob Builder").await;
    admin.wait_text("[data-testid=user-groups]", "Staff via Engineering → Staff").await;
    admin.wait_text("li", "Bob's phone").await;
    admin.wait_text("[data-testid=recent-sign-ins]", "Authenticator app \"Bob's phone\"").await;
    admin.wait_text("td", "Signed in").await;
    admin.shot("40-user-security").await;

    // An emergency-access account: excluded, never interrupted; its sign-in raises a critical alert.
    admin.driver.goto(&portal.url("/users/new")).await.unwrap();
    admin.wait_text("h1", "New user").await;
    admin.fill("username", "breakglass1").await;
    admin.fill("display_name", "Break Glass 1").await;
    // A break-glass account is a Global administrator: it sees the alerts about itself.
    admin.select("role", "global_administrator").await;
    admin.click_text("label", "Emergency-access (break-glass) account").await;
    admin.click_button("Create user").await;
    let glass_pass = admin.wait_text("[data-testid=pass-code]", "-").await.text().await.unwrap();
    // Put it in Staff too: exclusion still wins.
    admin.driver.goto(&portal.url("/groups")).await.unwrap();
    admin.click_text("td a", "Staff").await;
    pick(&admin, "add-member", "break", "breakglass1").await;
    admin.wait_text("td a", "breakglass1").await;
    // The success message sits in the Members card, next to the picker that caused it.
    admin.wait_text("section [role=status]", "breakglass1 was added.").await;
    // The policy names Staff: Delete is unavailable, and the card says why before any click.
    admin.wait_text("#delete-unavailable", "The MFA registration policy names this group").await;
    let delete = admin.wait_text("button", "Delete group").await;
    assert!(!delete.is_enabled().await.unwrap(), "Delete is disabled for a group the policy names");
    admin.shot("30b-group-in-policy").await;
    // Its link leads to the policy page (issue 27 item 4), where What-if says "Excluded" for the
    // break-glass account, the word the report and the Overview use.
    admin.click_text("#delete-unavailable a", "MFA registration policy").await;
    admin.wait_text("h1", "MFA registration policy").await;
    pick(&admin, "what-if-picker", "break", "breakglass1").await;
    admin.wait_text("[data-testid=what-if] .badge", "Excluded").await;
    let glass = Browser::start(1280, 900).await;
    glass.sign_in(&portal, "breakglass1", &glass_pass).await;
    glass.wait_text("h1", "Choose your password").await;
    glass.fill("new_password", "glacier anvil sunrise 77").await;
    glass.fill("confirm", "glacier anvil sunrise 77").await;
    glass.click_button("Set password").await;
    glass.sign_out().await;
    glass.sign_in(&portal, "breakglass1", "glacier anvil sunrise 77").await;
    glass.wait_text("h1", "Overview").await;
    // The account sees the alerts about its own sign-ins, but not a button the server would refuse.
    glass
        .wait_text(
            "[data-testid=emergency-alert] [data-testid=ack-by-another]",
            "another administrator must acknowledge",
        )
        .await;
    assert!(glass.driver.find_all(By::Css("[data-testid=emergency-alert] button")).await.unwrap().is_empty());
    glass.shot("41b-own-alert").await;
    admin.driver.goto(&portal.url("/")).await.unwrap();
    admin.wait_text("[data-testid=emergency-alert]", "Emergency-access account signed in: breakglass1").await;
    admin.wait_text(".legend", "Registered 1").await;
    admin.shot("41-overview-alert").await;
    admin.assert_no_csp_violations().await;
    // Inline style attributes (the coverage bar's widths) are allowed by the CSP: the bar has width.
    let w = admin
        .driver
        .execute("return document.querySelector('.coverage-bar span').getBoundingClientRect().width;", vec![])
        .await
        .unwrap();
    assert!(w.json().as_f64().unwrap() > 0.0, "coverage bar segment has no width");
    // One alert per sign-in: the pass sign-in and the password sign-in.
    assert_eq!(admin.driver.find_all(By::Css("[data-testid=emergency-alert]")).await.unwrap().len(), 2);
    admin.click_text("[data-testid=emergency-alert] button", "Acknowledge").await;
    admin.wait_text(".alert-info", "Alert acknowledged").await;
    while let Ok(b) = admin.driver.find(By::Css("[data-testid=emergency-alert] button")).await {
        admin.click(&b).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    admin.wait_gone("[data-testid=emergency-alert]").await;

    // Report-only: a new member is not interrupted; the sign-in log says what would have happened.
    admin.wait_text("nav a", "MFA registration policy").await;
    admin.driver.goto(&portal.url("/policy/mfa-registration")).await.unwrap();
    admin.click_text("label.segment", "Report-only").await;
    save_policy(&admin).await;
    admin.driver.goto(&portal.url("/users/new")).await.unwrap();
    admin.wait_text("h1", "New user").await;
    admin.fill("username", "carol").await;
    admin.fill("display_name", "Carol").await;
    admin.click_button("Create user").await;
    let carol_pass = admin.wait_text("[data-testid=pass-code]", "-").await.text().await.unwrap();
    admin.driver.goto(&portal.url("/groups")).await.unwrap();
    admin.click_text("td a", "Engineering").await;
    pick(&admin, "add-member", "car", "carol").await;
    admin.wait_text("td a", "carol").await;
    let carol = Browser::start(1280, 900).await;
    carol.sign_in(&portal, "carol", &carol_pass).await;
    carol.wait_text("h1", "Choose your password").await;
    carol.fill("new_password", "harvest lagoon pepper 19").await;
    carol.fill("confirm", "harvest lagoon pepper 19").await;
    carol.click_button("Set password").await;
    carol.wait_text("h1", "Your account").await;
    carol.sign_out().await;
    carol.sign_in(&portal, "carol", "harvest lagoon pepper 19").await;
    carol.wait_text("h1", "Your account").await;
    admin.driver.goto(&portal.url("/logs/sign-ins")).await.unwrap();
    admin.wait_text("td", "Report-only: MFA registration would be prompted (14 days to skip)").await;
    admin.shot("42-sign-in-log-report-only").await;
    // Filters: carol's sign-ins only; then failures (there were none).
    // The text filter applies as you type (no Enter needed).
    admin.fill("f-user", "carol").await;
    admin.wait_gone("td:nth-child(2):not(:empty):not([data-user=carol])").await;
    admin.wait_text("td", "Report-only").await;
    admin.driver.find(By::Css("#f-result option[value=failure]")).await.unwrap().click().await.unwrap();
    admin.wait_text(".empty", "No sign-in attempts match").await;

    // The audit log at 1366 px (issue 27 item 5): the filters on one row, every column in view,
    // no field listed that did not change, times in the browser's zone with UTC on hover.
    let wide = Browser::start(1366, 900).await;
    wide.sign_in(&portal, "admin", ADMIN_PASSWORD).await;
    wide.wait_text("h1", "Overview").await;
    wide.driver.goto(&portal.url("/logs/audit")).await.unwrap();
    wide.wait_text("td code", "user.created").await;
    wide.assert_fits(".table-wrap").await;
    wide.assert_fits(".toolbar").await;
    let rows = wide
        .driver
        .execute("return new Set([...document.querySelectorAll('.toolbar .field')].map(f => Math.round(f.getBoundingClientRect().bottom))).size;", vec![])
        .await
        .unwrap();
    assert_eq!(rows.json().as_u64(), Some(1), "the audit filters wrap onto a second row");
    let noops = wide
        .driver
        .execute("return [...document.querySelectorAll('.changes li')].filter(li => /: — → —$/.test(li.textContent.trim())).length;", vec![])
        .await
        .unwrap();
    assert_eq!(noops.json().as_u64(), Some(0), "a field that did not change is listed");
    let title = wide.driver.find(By::Css("td time")).await.unwrap().attr("title").await.unwrap().unwrap_or_default();
    assert!(title.ends_with(" UTC"), "{title}");
    wide.shot("43-audit-log-1366").await;
    // The grace chart names its days and says its numbers without hover (and as a table).
    wide.driver.goto(&portal.url("/policy/mfa-registration")).await.unwrap();
    wide.wait_text("h3", "Grace periods ending").await;
    let axis = wide.wait_text(".bars-axis", "per day").await;
    let axis = axis.text().await.unwrap();
    assert!(axis.chars().next().is_some_and(|c| c.is_ascii_digit()), "the axis starts with a date: {axis}");
    assert_eq!(
        wide.driver.find_all(By::Css("table.sr-only[aria-labelledby=grace-chart-title]")).await.unwrap().len(),
        1
    );
    wide.shot("44-grace-chart").await;
}
