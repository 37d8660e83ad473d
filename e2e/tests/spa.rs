//! A browser application on another origin signs in through Proofup with a real OIDC client
//! library from npm (oidc-client-ts, authorization code + PKCE), then loads the user's claims
//! from userinfo with a bearer header: the browser's CORS preflight must be answered (issue 26
//! item 2). The portal's own API stays closed to that origin.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use proofup_e2e::{npm_file, Browser, Portal, StaticSite};

const ADMIN_PASSWORD: &str = "maple tundra orbit 2048";

const INDEX: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>Notes (SPA)</title>
<script src="/oidc-client-ts.min.js"></script><script src="/config.js"></script></head>
<body><h1>Notes</h1><p id="status">Signing in…</p>
<script>new oidc.UserManager(window.SETTINGS).signinRedirect();</script></body></html>"#;

const CALLBACK: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>Notes (SPA)</title>
<script src="/oidc-client-ts.min.js"></script><script src="/config.js"></script></head>
<body><h1>Notes</h1><p id="status">Finishing sign-in…</p>
<script>
new oidc.UserManager(window.SETTINGS).signinRedirectCallback().then(user => {
  window.__result = {ok: true, profile: user.profile, access_token: user.access_token};
  document.getElementById('status').textContent = 'Signed in as ' + user.profile.preferred_username + ' (' + user.profile.name + ')';
  return fetch(window.SETTINGS.authority + '/api/auth/me', {credentials: 'include'})
    .then(() => 'readable', e => 'blocked: ' + e.message)
    .then(portal => { window.__result.portal_api = portal; });
}).catch(e => {
  window.__result = {ok: false, error: String(e && e.message || e)};
  document.getElementById('status').textContent = 'Sign-in failed: ' + window.__result.error;
});
</script></body></html>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_application_on_another_origin_signs_in_and_reads_userinfo() {
    let portal = Portal::start();
    let b = Browser::start(1280, 900).await;
    b.set_up_admin(&portal, "admin", ADMIN_PASSWORD).await;

    // The site's port goes into the redirect URI; the site starts once the client exists.
    let lib = npm_file("oidc-client-ts/dist/browser/oidc-client-ts.min.js");
    let site_port = proofup_e2e::free_port();
    let redirect = format!("http://127.0.0.1:{site_port}/callback.html");

    // A public application (no secret: PKCE), registered from the admin's page.
    let created = b
        .driver
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch('/api/applications', {method: 'POST', headers: {'content-type': 'application/json'},\
               body: JSON.stringify({name: 'Notes', kind: 'public', redirect_uris: [arguments[0]]})})\
               .then(r => r.json()).then(done);",
            vec![serde_json::json!(redirect)],
        )
        .await
        .unwrap();
    let client_id =
        created.json()["application"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", created.json())).to_owned();
    let settings = format!(
        "window.SETTINGS = {{authority: '{}', client_id: '{client_id}', redirect_uri: '{redirect}', \
         response_type: 'code', scope: 'openid profile', loadUserInfo: true}};",
        portal.url("")
    );
    let config = settings.into_bytes();
    let site = StaticSite::start_on(
        site_port,
        vec![
            ("/", "text/html; charset=utf-8", INDEX.as_bytes().to_vec()),
            ("/callback.html", "text/html; charset=utf-8", CALLBACK.as_bytes().to_vec()),
            ("/config.js", "text/javascript", config),
            ("/oidc-client-ts.min.js", "text/javascript", lib),
        ],
    );

    // The admin is signed in to Proofup: the application's sign-in goes straight through (SSO),
    // the library exchanges the code, then calls userinfo with `Authorization: Bearer`.
    b.driver.goto(&site.url("/")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let result = loop {
        let r = b.driver.execute("return window.__result && window.__result.portal_api !== undefined || (window.__result && !window.__result.ok) ? window.__result : null;", vec![]).await;
        if let Ok(r) = r {
            if !r.json().is_null() {
                break r.json().clone();
            }
        }
        assert!(Instant::now() < deadline, "no sign-in result at {}", b.driver.current_url().await.unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    b.shot("95-spa-signed-in").await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["profile"]["preferred_username"], "admin", "{result}");
    let at = b.driver.current_url().await.unwrap();
    assert_eq!((at.host_str(), at.port()), (Some("127.0.0.1"), Some(site_port)), "back on the application's origin");
    // userinfo was called from this origin (the preflight let it through), and answered.
    let calls = b
        .driver
        .execute(
            "return performance.getEntriesByType('resource').filter(e => e.name.includes('/oauth2/')).map(e => new URL(e.name).pathname);",
            vec![],
        )
        .await
        .unwrap();
    let calls = calls.json().to_string();
    assert!(calls.contains("/oauth2/token") && calls.contains("/oauth2/userinfo"), "{calls}");
    // The portal's API is not readable from there.
    assert!(result["portal_api"].as_str().unwrap().starts_with("blocked"), "{result}");
    b.wait_text("#status", "Signed in as admin").await;
}
