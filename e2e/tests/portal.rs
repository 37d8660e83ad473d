//! The first thing an admin does, in a real Chromium: set up, sign in, look around,
//! reload a deep link, sign out, and be sent back to sign-in.
#![allow(clippy::unwrap_used)]

use proofup_e2e::{Browser, Portal};
use thirtyfour::prelude::*;

const PASSWORD: &str = "maple tundra orbit 2048";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_sign_in_shell_deep_link_sign_out() {
    let portal = Portal::start();
    let b = Browser::start(1280, 900).await;
    let d = &b.driver;

    // Setup page: the token leaves the address bar at once.
    d.goto(&portal.setup_url).await.unwrap();
    b.wait_text("h1", "Create the first administrator").await;
    b.wait_path("/setup").await;
    b.shot("01-setup").await;

    // A too-short password is explained before anything is sent.
    b.fill("username", "Admin.Ops").await;
    b.fill("display_name", "Operations Admin").await;
    b.fill("password", "too short").await;
    b.wait_text(".hint", "9 of at least 15 characters").await;
    b.click_button("Create administrator").await;
    b.wait_text(".field-error", "Use at least 15 characters").await;
    b.shot("02-setup-error").await;

    // A common password is refused by the server, with the reason under the field.
    b.fill("password", "1qaz2wsx3edc4rfv").await;
    b.fill("confirm", "1qaz2wsx3edc4rfv").await;
    b.click_button("Create administrator").await;
    b.wait_text(".field-error", "commonly used").await;

    b.fill("password", PASSWORD).await;
    b.fill("confirm", PASSWORD).await;
    b.click_button("Create administrator").await;
    b.wait_path("/sign-in?created=1&username=admin.ops").await;
    b.wait_text(".alert-info", "Your administrator account is ready").await;
    assert_eq!(d.find(By::Id("username")).await.unwrap().prop("value").await.unwrap().as_deref(), Some("admin.ops"));
    assert_eq!(d.find(By::Id("password")).await.unwrap().attr("type").await.unwrap().as_deref(), Some("password"));
    b.shot("03-sign-in").await;

    // Wrong password: a clear, non-committal error.
    b.fill("password", "not my password at all").await;
    b.click_button("Sign in").await;
    b.wait_text("[role=alert]", "The username or password is incorrect.").await;
    b.shot("04-sign-in-error").await;

    // Right password: the portal shell and the overview.
    b.fill("password", PASSWORD).await;
    b.click_button("Sign in").await;
    b.wait_path("/").await;
    b.wait_text("h1", "Overview").await;
    b.wait_text(".topbar-user", "Operations Admin").await;
    b.wait_text(".topbar-user", "Global administrator").await;
    b.wait_text(".facts", "admin.ops").await;
    let users = b.wait_text(".stat", "Users").await.text().await.unwrap();
    assert!(users.starts_with('1'), "{users}");
    for item in ["Overview", "Users", "Groups", "MFA registration policy", "Sign-in logs", "Audit logs"] {
        b.wait_text("nav a", item).await;
    }
    b.shot("05-overview").await;

    // Navigation: the sign-in log shows the failure and the success. Signing in and the overview
    // ran in the everyday bundle; the first administrators' page loads theirs, once.
    let bundle = || async {
        let v = d
            .execute(
                "return document.querySelector('script[type=module]').textContent.match(/[\\w-]+_bg\\.wasm/)[0];",
                vec![],
            )
            .await
            .unwrap();
        v.json().as_str().unwrap().to_owned()
    };
    let everyday = bundle().await;
    b.wait_text("nav a", "Sign-in logs").await.click().await.unwrap();
    b.wait_path("/logs/sign-ins").await;
    b.wait_text("td", "Wrong password").await;
    let admin = bundle().await;
    assert_ne!(admin, everyday, "the log is an administrators' page");
    // Success and Failure look different; the client column names browser and OS, the whole
    // user agent on hover.
    let colour = |text: &'static str| {
        let b = &b;
        async move {
            let el = b.wait_text(".badge", text).await;
            let c = b
                .driver
                .execute("return getComputedStyle(arguments[0]).backgroundColor;", vec![el.to_json().unwrap()])
                .await
                .unwrap();
            c.json().as_str().unwrap().to_owned()
        }
    };
    let (ok, bad) = (colour("Success").await, colour("Failure").await);
    assert_ne!(ok, bad, "Success and Failure badges share a colour");
    assert_ne!(ok, "rgba(0, 0, 0, 0)", "the Success badge has no background");
    let client = b.wait_text("td.ua", "Chrome on Linux").await;
    assert!(client.attr("title").await.unwrap().unwrap().contains("Mozilla/5.0"), "the full user agent on hover");
    b.shot("06-sign-in-logs").await;

    b.wait_text("nav a", "Audit logs").await.click().await.unwrap();
    b.wait_text("td code", "setup.first_administrator_created").await;
    b.shot("07-audit-logs").await;

    // Reloading a deep link keeps the page and the session.
    d.refresh().await.unwrap();
    b.wait_text("h1", "Audit logs").await;
    b.wait_text("td code", "setup.first_administrator_created").await;
    b.wait_path("/logs/audit").await;

    // A real 404 page, in either bundle (an unknown administrators' page does not load forever).
    d.goto(&portal.url("/logs/no-such-log")).await.unwrap();
    b.wait_text("h1", "Page not found").await;
    assert_eq!(bundle().await, admin);
    d.goto(&portal.url("/no/such/page")).await.unwrap();
    b.wait_text("h1", "Page not found").await;
    assert_eq!(bundle().await, everyday);
    b.shot("08-not-found").await;
    b.wait_text("a", "Go to the overview").await.click().await.unwrap();
    b.wait_text("h1", "Overview").await;

    // Sign out, then a protected page sends you to sign-in and back after it.
    b.click_button("Sign out").await;
    b.wait_path("/sign-in?signed_out=1").await;
    b.wait_text("[role=status]", "You have signed out.").await;
    b.shot("09-signed-out").await;
    // A signed-out page asks who is signed in without a failed request (no red 401 in the console).
    d.goto(&portal.url("/sign-in")).await.unwrap();
    b.wait_text("h1", "Sign in").await;
    b.wait_text("label", "Password or temporary access pass").await;
    let requests = b.api_requests().await;
    assert!(requests.contains(&(200, "/api/auth/session".to_owned())), "{requests:?}");
    assert!(requests.iter().all(|(status, _)| *status == 200), "{requests:?}");
    d.goto(&portal.url("/logs/audit")).await.unwrap();
    b.wait_path("/sign-in?next=/logs/audit").await;
    b.wait_text("h1", "Sign in").await;
    b.fill("username", "admin.ops").await;
    b.fill("password", PASSWORD).await;
    b.click_button("Sign in").await;
    b.wait_path("/logs/audit").await;
    b.wait_text("h1", "Audit logs").await;

    let log = portal.log.lock().unwrap().clone();
    assert!(!log.contains(PASSWORD), "the password reached the server log");
    d.clone().quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_layout_and_used_setup_link() {
    let portal = Portal::start();
    let b = Browser::start(390, 844).await;
    let d = &b.driver;
    d.goto(&portal.setup_url).await.unwrap();
    b.wait_text("h1", "Create the first administrator").await;
    b.shot("10-phone-setup").await;
    b.fill("username", "phone.admin").await;
    b.fill("display_name", "Phone Admin").await;
    b.fill("password", PASSWORD).await;
    b.fill("confirm", PASSWORD).await;
    b.click_button("Create administrator").await;
    b.wait_text("h1", "Sign in").await;
    b.fill("password", PASSWORD).await;
    b.click_button("Sign in").await;
    b.wait_text("h1", "Overview").await;
    // On a phone the navigation folds behind a Menu button.
    let nav = d.find(By::Id("sidenav")).await.unwrap();
    assert!(!nav.is_displayed().await.unwrap());
    // The page really is 390 px wide, and the header fits it, Sign out included.
    let w = d.execute("return document.documentElement.clientWidth;", vec![]).await.unwrap();
    assert_eq!(w.json().as_u64(), Some(390));
    b.assert_fits(".topbar").await;
    assert!(b.wait_text(".topbar button", "Sign out").await.is_displayed().await.unwrap());
    b.shot("11-phone-overview").await;
    b.click_button("Menu").await;
    b.wait_text("nav a", "Audit logs").await;
    b.shot("12-phone-menu").await;
    b.wait_text("nav a", "Audit logs").await.click().await.unwrap();
    b.wait_text("h1", "Audit logs").await;
    assert!(!d.find(By::Id("sidenav")).await.unwrap().is_displayed().await.unwrap());

    // The policy on a phone: turn it On, save; the version history shows who and what, one card
    // per version, nothing cut off.
    d.goto(&portal.url("/policy/mfa-registration")).await.unwrap();
    b.wait_text("h1", "MFA registration policy").await;
    // The Save bar sticks over the page only while there are unsaved changes (issue 27 item 6).
    assert!(d.find_all(By::Css(".sticky-actions")).await.unwrap().is_empty());
    b.click_text("label.segment", "On").await;
    b.wait_text(".sticky-actions", "Unsaved changes").await;
    b.click_button("Save").await;
    b.wait_text(".alert-info", "Saved as version 1").await;
    b.wait_gone(".sticky-actions").await;
    let saved_by = b.wait_text("table.stack-on-phone td[data-label=By]", "phone.admin").await;
    b.click(&saved_by).await;
    b.wait_text("table.stack-on-phone td[data-label=Changes]", "Enforcement").await;
    b.assert_fits("table.stack-on-phone").await;
    b.assert_fits(".topbar").await;
    b.shot("14-phone-policy-history").await;

    // An emergency-access sign-in's alert: its text above its button, not squeezed beside it.
    let made = d
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch('/api/users', {method: 'POST', headers: {'content-type': 'application/json'},\
               body: JSON.stringify({username: 'glass', display_name: 'Break Glass', emergency_access: true})})\
               .then(r => r.json()).then(u => fetch('/api/auth/sign-in', {method: 'POST', credentials: 'omit',\
                 headers: {'content-type': 'application/json'},\
                 body: JSON.stringify({username: 'glass', password: u.temporary_access_pass.code})}))\
               .then(r => done(r.status));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(made.json().as_u64(), Some(200), "the break-glass sign-in");
    d.goto(&portal.url("/")).await.unwrap();
    let alert = b.wait_text("[data-testid=emergency-alert]", "Emergency-access account signed in: glass").await;
    alert.scroll_into_view().await.unwrap();
    b.assert_fits("[data-testid=emergency-alert]").await;
    let stacked = d
        .execute(
            "const a = document.querySelector('[data-testid=emergency-alert]');\
             return a.querySelector('button').getBoundingClientRect().top >= a.querySelector('div').getBoundingClientRect().bottom;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(stacked.json().as_bool(), Some(true), "the button sits below the text");
    b.shot("15-phone-emergency-alert").await;

    // Adding an authenticator app on the phone: the link to the app first (the phone cannot scan
    // its own screen), and the key's groups of four never break across lines.
    d.goto(&portal.url("/security-info")).await.unwrap();
    b.click_button("Add authenticator app").await;
    b.wait_text("[data-testid=otpauth-link]", "Open it in your authenticator app").await;
    let order = d
        .execute(
            "return document.querySelector('[data-testid=otpauth-link]').getBoundingClientRect().top < document.querySelector('.qr').getBoundingClientRect().top;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(order.json().as_bool(), Some(true), "the link comes before the QR code");
    b.click_button("Enter the key by hand").await;
    b.wait_text("[data-testid=totp-key]", " ").await;
    let broken = d
        .execute(
            "return [...document.querySelectorAll('.key-group')].filter(g => g.getClientRects().length !== 1).length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(broken.json().as_u64(), Some(0), "a group of four broke across lines");
    b.assert_fits(".totp-setup").await;
    b.shot("16-phone-authenticator").await;

    // The used setup link now says so.
    d.goto(&portal.setup_url).await.unwrap();
    b.wait_text("h1", "Proofup is set up").await;
    b.shot("13-setup-done").await;
    d.clone().quit().await.unwrap();
}

/// Issue 26 item 1: whatever `next` says, signing in never leaves this origin. Browsers drop tab,
/// LF and CR inside a URL and read `\` as `/`, so `/\t/evil.example/x` would become
/// `//evil.example/x`; each of these lands on the Overview instead, and deep links still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_never_leaves_the_origin_whatever_next_says() {
    let portal = Portal::start();
    let b = Browser::start(1280, 900).await;
    let d = &b.driver;
    b.set_up_admin(&portal, "admin", PASSWORD).await;
    b.sign_out().await;
    let nexts = [
        "%2F%09%2Fevil.example%2Fx",
        "%2F%0A%2Fevil.example%2Fx",
        "%2F%0D%2Fevil.example%2Fx",
        "%2F%2Fevil.example%2Fx",
        "%2F%5Cevil.example%2Fx",
        "https%3A%2F%2Fevil.example%2Fx",
        "%09%2F%2Fevil.example%2Fx",
        "%2Fgroups",
    ];
    for next in nexts {
        d.goto(&portal.url(&format!("/sign-in?next={next}"))).await.unwrap();
        b.wait_text("h1", "Sign in").await;
        b.fill("username", "admin").await;
        b.fill("password", PASSWORD).await;
        b.click_button("Sign in").await;
        let want = if next == "%2Fgroups" { "Groups" } else { "Overview" };
        b.wait_text("h1", want).await;
        let at = d.current_url().await.unwrap();
        assert_eq!(
            (at.host_str(), at.port()),
            (Some("localhost"), Some(portal.port)),
            "next={next} took the browser to {at}"
        );
        assert_eq!(at.path(), if want == "Groups" { "/groups" } else { "/" }, "next={next}");
        if next == "%2F%09%2Fevil.example%2Fx" {
            b.shot("90-next-refused").await;
        }
        b.sign_out().await;
    }

    // Refused attempts naming nobody are counted in one row per address and minute (issue 26
    // item 10), and the sign-in log says so.
    for name in ["mallory", "trent", "eve"] {
        b.fill("username", name).await;
        b.fill("password", "not anyone's password here").await;
        b.click_button("Sign in").await;
        b.wait_text("[role=alert]", "The username or password is incorrect.").await;
    }
    b.fill("username", "admin").await;
    b.fill("password", PASSWORD).await;
    b.click_button("Sign in").await;
    b.wait_text("h1", "Overview").await;
    d.goto(&portal.url("/logs/sign-ins")).await.unwrap();
    b.wait_text("h1", "Sign-in logs").await;
    b.wait_text("[data-testid=attempt-count]", "attempts from this address this minute").await;
    b.shot("91-sign-in-log-counted").await;
}
