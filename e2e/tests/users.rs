//! An administrator creates a user; the user signs in with the pass in another
//! browser, chooses a password; the administrator sees the sign-in, then disables them.
#![allow(clippy::unwrap_used)]

use proofup_e2e::{Browser, Portal};
use thirtyfour::prelude::*;

const ADMIN_PASSWORD: &str = "maple tundra orbit 2048";
const USER_PASSWORD: &str = "copper kettle winter road";

async fn set_up_admin(b: &Browser, portal: &Portal) {
    b.driver.goto(&portal.setup_url).await.unwrap();
    b.wait_text("h1", "Create the first administrator").await;
    b.fill("username", "admin").await;
    b.fill("display_name", "Admin").await;
    b.fill("password", ADMIN_PASSWORD).await;
    b.fill("confirm", ADMIN_PASSWORD).await;
    b.click_button("Create administrator").await;
    b.wait_text("h1", "Sign in").await;
    b.fill("password", ADMIN_PASSWORD).await;
    b.click_button("Sign in").await;
    b.wait_text("h1", "Overview").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_user_pass_first_sign_in_and_disable() {
    let portal = Portal::start();
    let admin = Browser::start(1280, 900).await;
    set_up_admin(&admin, &portal).await;

    admin.wait_text("nav a", "Users").await.click().await.unwrap();
    admin.wait_text("h1", "Users").await;
    admin.wait_text(".alert-warn", "No emergency-access account exists").await;
    admin.wait_text("td", "admin").await;
    admin.shot("20-users").await;

    admin.wait_text("a", "New user").await.click().await.unwrap();
    admin.wait_text("h1", "New user").await;
    admin.fill("username", "Jo.Smith").await;
    admin.fill("display_name", "Jo Smith").await;
    admin.fill("email", "not an email").await;
    admin.click_button("Create user").await;
    admin.wait_text(".field-error", "Enter an email address").await;
    admin.fill("email", "jo@example.org").await;
    admin.click_button("Create user").await;
    let code = admin.wait_text("[data-testid=pass-code]", "-").await.text().await.unwrap();
    assert_eq!(code.len(), 19, "{code}");
    admin.wait_text(".pass-panel", "shown only now").await;
    admin.shot("21-user-created-pass").await;

    // The user, in a browser of their own.
    let user = Browser::start(1280, 900).await;
    user.driver.goto(&portal.url("/sign-in")).await.unwrap();
    user.wait_text("h1", "Sign in").await;
    user.fill("username", "jo.smith").await;
    user.fill("password", &code).await;
    user.click_button("Sign in").await;
    user.wait_text("h1", "Choose your password").await;
    user.shot("22-set-password").await;
    user.fill("new_password", "jo.smith").await;
    user.fill("confirm", "jo.smith").await;
    user.click_button("Set password").await;
    user.wait_text(".field-error", "at least 15").await;
    user.fill("new_password", USER_PASSWORD).await;
    user.fill("confirm", USER_PASSWORD).await;
    user.click_button("Set password").await;
    user.wait_text("h1", "Your account").await;
    user.wait_text(".facts", "jo.smith").await;
    // A plain user sees no administrative navigation.
    let nav: Vec<String> = {
        let mut v = Vec::new();
        for a in user.driver.find_all(By::Css("nav a")).await.unwrap() {
            v.push(a.text().await.unwrap());
        }
        v
    };
    assert_eq!(nav, ["Overview", "My security info"]);
    user.shot("23-user-home").await;

    // The administrator sees the sign-in, then disables the user.
    admin.wait_text("a", "Open the user").await.click().await.unwrap();
    admin.wait_text("h1", "Jo Smith").await;
    admin.driver.refresh().await.unwrap();
    // In the browser's time zone to the minute ("7 Dec 2026, 00:26"), the exact UTC time on hover.
    let last = admin.wait_text("[data-testid=last-sign-in] time", ":").await;
    let (text, title) = (last.text().await.unwrap(), last.attr("title").await.unwrap().unwrap_or_default());
    assert!(text.contains(", ") && !text.contains("UTC"), "{text}");
    assert!(title.starts_with("20") && title.ends_with(" UTC"), "{title}");
    admin.wait_text("dd", "Set").await;
    // What an administrator comes to do is first (issue 27 item 5): role, profile and account
    // actions in the first screen, above the read-only cards, which do not repeat the editor.
    let first = admin
        .driver
        .execute(
            "const h = window.innerHeight; const at = ['#role', '#edit-display-name', 'button.btn-danger']\
               .map(s => document.querySelector(s)).map(e => e ? Math.round(e.getBoundingClientRect().bottom) : -1);\
             return at.every(b => b > 0 && b <= h) ? true : at.join(',') + ' of ' + h;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        first.json().as_bool(),
        Some(true),
        "role, profile and account actions are not in the first screen: {}",
        first.json()
    );
    let dts: Vec<String> = {
        let mut v = Vec::new();
        for dt in admin.driver.find_all(By::Css(".facts dt")).await.unwrap() {
            v.push(dt.text().await.unwrap());
        }
        v
    };
    assert!(!dts.iter().any(|t| t == "Email" || t == "Role"), "the read-only card repeats the editor: {dts:?}");
    admin.shot("24-user-detail").await;

    // Changing the role asks first, naming the role and its powers; cancelling changes nothing.
    admin.select("role", "global_administrator").await;
    let question = admin.driver.get_alert_text().await.unwrap();
    assert!(
        question.contains("Make Jo Smith a Global administrator?") && question.contains("everything"),
        "{question}"
    );
    admin.driver.dismiss_alert().await.unwrap();
    let shown = admin.driver.find(By::Id("role")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(shown.as_deref(), Some("user"), "the dropdown shows the role still held");
    admin.select("role", "security_reader").await;
    admin.driver.accept_alert().await.unwrap();
    admin.wait_text("[role=status]", "has a new role").await;
    let shown = admin.driver.find(By::Id("role")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(shown.as_deref(), Some("security_reader"));

    // The profile is edited in place (no delete and recreate); its messages appear in the form.
    admin.fill("edit-email", "jo at example").await;
    admin.click_button("Save profile").await;
    admin.wait_text(".profile-form .field-error", "Enter an email address").await;
    admin.fill("edit-display-name", "Jo Smith-Lee").await;
    admin.fill("edit-email", "jo.lee@example.org").await;
    // Marking the account emergency-access asks first, saying what it means.
    admin.click_text("label", "Emergency-access (break-glass) account").await;
    admin.click_button("Save profile").await;
    let question = admin.driver.get_alert_text().await.unwrap();
    assert!(question.contains("Mark Jo Smith as an emergency-access account?"), "{question}");
    assert!(question.contains("always exclude"), "{question}");
    admin.driver.accept_alert().await.unwrap();
    admin.wait_text(".profile-form [role=status]", "Saved the profile of Jo Smith-Lee").await;
    admin.wait_text("h1", "Jo Smith-Lee").await;
    admin.wait_text(".badge", "Emergency access").await;
    let email = admin.driver.find(By::Id("edit-email")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(email.as_deref(), Some("jo.lee@example.org"));
    admin.shot("25a-user-profile-edited").await;
    // Stored: a reload shows the same.
    admin.driver.refresh().await.unwrap();
    admin.wait_text("h1", "Jo Smith-Lee").await;
    admin.wait_text(".badge", "Emergency access").await;

    admin.click_button("Disable user").await;
    admin.driver.accept_alert().await.unwrap();
    admin.wait_text("[role=status]", "was disabled").await;
    admin.wait_text("button", "Enable user").await;
    admin.shot("25-user-disabled").await;

    // The user's session ended at once.
    user.driver.refresh().await.unwrap();
    user.wait_text("h1", "Sign in").await;
    user.fill("username", "jo.smith").await;
    user.fill("password", USER_PASSWORD).await;
    user.click_button("Sign in").await;
    user.wait_text("[role=alert]", "disabled").await;

    // The list filters by status.
    admin.driver.goto(&portal.url("/users")).await.unwrap();
    admin.wait_text("td", "jo.smith").await;
    admin.select("status-filter", "false").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let rows = admin.driver.find_all(By::Css("tbody tr")).await.unwrap();
        if rows.len() == 1 && rows[0].text().await.unwrap().contains("jo.smith") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the status filter did not narrow the list");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    admin.shot("26-users-disabled-filter").await;

    // CSV import: a bad file names its lines and writes nothing; a good one shows the passes once.
    let header = "kind,name,display_name,email,role,emergency_access,member_of";
    admin.fill("import-csv", &format!("{header}\nuser,kim,Kim,,boss,,\ngroup,Ops,,,,,Nowhere\n")).await;
    admin.click_button("Import").await;
    admin.wait_text(".alert-error", "line 2").await;
    admin.wait_text(".alert-error li", "no group named Nowhere").await;
    admin
        .fill(
            "import-csv",
            &format!("{header}\ngroup,Ops,,,,,\ngroup,Night shift,,,,,Ops\nuser,kim,Kim Lee,,,,Night shift\n"),
        )
        .await;
    admin.click_button("Import").await;
    admin.wait_text(".alert-info", "Imported 1 user, 2 groups, 2 memberships.").await;
    admin.wait_text("td", "kim").await;
    admin.shot("27-users-imported").await;

    user.driver.clone().quit().await.unwrap();
    admin.driver.clone().quit().await.unwrap();
}
