//! What an application holds after a sign-in: refresh tokens rotated on every use (the
//! `openidconnect` crate as the relying party refreshes and checks each new ID token), a reused
//! one ending the whole grant, revocation (RFC 7009), introspection (RFC 7662), and every way an
//! administrator ends a user's access (disable, reset sign-in, re-registration, assignment,
//! the application's own switch). None of these calls is interactive: the registration policy
//! never interrupts them.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::{init_service, TestRequest};
use common::rp::*;
use common::*;
use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, IssuerUrl, Nonce, OAuth2TokenResponse, RedirectUrl, Scope, TokenResponse,
};
use serde_json::json;

/// RFC 7636 Appendix B: the verifier whose challenge `authorize_path` sends.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn form(path: &str, body: String) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .peer_addr("192.0.2.30:40000".parse().unwrap())
        .set_payload(body)
}

fn claims_of(id_token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let part = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// An application with refresh tokens on, as the admin registers it: (client id, secret).
macro_rules! wiki {
    ($app:expr, $admin:expr, $extra:expr) => {{
        let mut body = json!({"name": "Wiki", "redirect_uris": [CALLBACK], "scopes": ["openid", "profile", "email", "groups"], "refresh_tokens": true, "refresh_token_days": 30});
        for (k, v) in $extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, _, created, _) = call!($app, with(&$admin, post("/api/applications", body)));
        assert_eq!(s, StatusCode::CREATED, "{created}");
        (
            created["application"]["id"].as_str().unwrap().to_owned(),
            created["client_secret"].as_str().unwrap().to_owned(),
        )
    }};
}

/// Signs `who` in through a fresh authorization request; the code the application gets.
macro_rules! code_for {
    ($app:expr, $client:expr, $who:expr, $scope:expr) => {{
        let (_, hd, _, _) = call!($app, get(&authorize_path(&$client, &[("scope", $scope), ("nonce", "n-1")])));
        let flow_cookie = cookie_named(&hd, "proofup_flow").unwrap();
        let (resume, _) = resume_and_flow(&hd);
        let (c, _) = sign_in!($app, $who, PW);
        let (s, hd, _, _) = call!($app, get(&resume).insert_header(("cookie", format!("{c}; {flow_cookie}"))));
        assert_eq!(s, StatusCode::SEE_OTHER);
        let q = query_of(&location(&hd));
        assert!(q.contains_key("code"), "{q:?}");
        q["code"].clone()
    }};
}

/// The code's tokens, by a plain form post (client_secret_post): the JSON answer.
macro_rules! exchange {
    ($app:expr, $client:expr, $secret:expr, $code:expr) => {{
        let (s, _, body, _) = call!(
            $app,
            form(
                "/oauth2/token",
                format!(
                    "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}&client_id={}&client_secret={}",
                    $code,
                    encode(CALLBACK),
                    $client,
                    $secret
                )
            )
        );
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    }};
}

macro_rules! refresh {
    ($app:expr, $client:expr, $secret:expr, $token:expr) => {{
        call!(
            $app,
            form(
                "/oauth2/token",
                format!(
                    "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
                    $token, $client, $secret
                )
            )
        )
    }};
}

macro_rules! userinfo_status {
    ($app:expr, $token:expr) => {{
        let (s, _, _, _) =
            call!($app, get("/oauth2/userinfo").insert_header(("authorization", format!("Bearer {}", $token))));
        s
    }};
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_grant() {
    let h = Harness::new();
    h.clock.set(time::OffsetDateTime::now_utc());
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    let (id, secret) = wiki!(app, admin, json!({}));
    let (other, other_secret) = wiki!(app, admin, json!({"name": "Chat"}));

    let http = client_for(&app);
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(ISSUER.into()).unwrap(), &http).await.unwrap();
    let (_, _, raw, _) = call!(app, get("/.well-known/openid-configuration"));
    assert_eq!(raw["grant_types_supported"], json!(["authorization_code", "refresh_token", "client_credentials"]));
    assert_eq!(raw["revocation_endpoint"], format!("{ISSUER}/oauth2/revoke"));
    assert_eq!(raw["introspection_endpoint"], format!("{ISSUER}/oauth2/introspect"));
    let client =
        CoreClient::from_provider_metadata(meta, ClientId::new(id.clone()), Some(ClientSecret::new(secret.clone())))
            .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    let code = code_for!(app, id, "bob", "openid profile email");
    let first = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(openidconnect::PkceCodeVerifier::new(VERIFIER.into()))
        .request_async(&http)
        .await
        .unwrap();
    let signed_in = first.id_token().unwrap().claims(&client.id_token_verifier(), &Nonce::new("n-1".into())).unwrap();
    let auth_time = signed_in.auth_time().unwrap();
    let r1 = first.refresh_token().expect("a refresh token: the application has them on").clone();

    // Then the MFA registration policy goes On with no grace: bob (in scope, no method) would be
    // stopped at the interrupt by his next interactive sign-in. Refreshing is not one.
    let policy = json!({"enforcement": "on", "include_all": true, "include_users": [], "include_groups": [],
        "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 0});
    save_policy!(app, admin, policy);
    let (_, body) = sign_in!(app, "bob", PW);
    assert_eq!(body["me"]["next_step"]["step"], "register_mfa", "{body}");

    // Later, the relying party refreshes: new access, ID and refresh tokens; the sign-in's
    // auth_time and amr carried over, no nonce (Core §12.2), the signature checked by the library.
    h.clock.advance(time::Duration::minutes(9));
    let second = client.exchange_refresh_token(&r1).unwrap().request_async(&http).await.unwrap();
    let r2 = second.refresh_token().unwrap().clone();
    assert_ne!(r2.secret(), r1.secret(), "rotated");
    assert_ne!(second.access_token().secret(), first.access_token().secret());
    let no_nonce = |n: Option<&Nonce>| if n.is_none() { Ok(()) } else { Err("a nonce after refresh".to_owned()) };
    let refreshed = second.id_token().unwrap().claims(&client.id_token_verifier(), no_nonce).unwrap();
    assert_eq!(refreshed.subject().as_str(), bob);
    assert_eq!(refreshed.auth_time().unwrap(), auth_time, "the sign-in's auth_time");
    assert!(refreshed.issue_time() > signed_in.issue_time());
    let raw = claims_of(&second.id_token().unwrap().to_string());
    assert_eq!(raw["amr"], json!(["pwd"]));
    assert!(raw.get("nonce").is_none());
    assert_eq!(userinfo_status!(app, second.access_token().secret()), StatusCode::OK);

    // Narrowing the scope is allowed; widening it is not.
    let (s, _, body, _) = call!(
        app,
        form(
            "/oauth2/token",
            format!(
                "grant_type=refresh_token&refresh_token={}&scope=openid%20groups&client_id={id}&client_secret={secret}",
                r2.secret()
            )
        )
    );
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")), "{body}");
    let third = client
        .exchange_refresh_token(&r2)
        .unwrap()
        .add_scope(Scope::new("email".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(third.scopes().unwrap().iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["openid", "email"]);
    let r3 = third.refresh_token().unwrap().clone();
    let info: serde_json::Value = {
        let (_, _, v, _) = call!(
            app,
            get("/oauth2/userinfo")
                .insert_header(("authorization", format!("Bearer {}", third.access_token().secret())))
        );
        v
    };
    assert!(info.get("preferred_username").is_none(), "profile was narrowed away: {info}");

    // Another client cannot use it.
    let (s, _, body, _) = refresh!(app, other, other_secret, r3.secret());
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
    // The same refresh token twice: the second is a reuse, and ends the grant — the newest
    // refresh token and the access tokens of the grant stop working too.
    let (s, _, body, _) = refresh!(app, id, secret, r1.secret());
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("already used"));
    let (s, _, body, _) = refresh!(app, id, secret, r3.secret());
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
    assert_eq!(userinfo_status!(app, third.access_token().secret()), StatusCode::UNAUTHORIZED);

    // The sign-in log has the refreshes as a non-interactive sign-in to the application — the two
    // of this minute counted on one row — and the reuse as a failure on its own; the interactive
    // sign-in is the only one the policy was asked about.
    let (_, _, log, _) = call!(app, with(&admin, get("/api/sign-ins?application=Wiki&user=bob")));
    let items = log["items"].as_array().unwrap();
    let refreshed: Vec<_> = items.iter().filter(|e| e["reason"] == "Token refreshed").collect();
    assert_eq!(refreshed.len(), 1, "{log}");
    assert_eq!(refreshed[0]["count"], 2, "{log}");
    assert!(refreshed.iter().all(|e| e["interactive"] == false && e["result"] == "success"));
    assert!(items.iter().any(|e| e["result"] == "failure" && e["reason"].as_str().unwrap().contains("grant is ended")));
    assert_eq!(items.iter().filter(|e| e["interactive"] == true).count(), 1, "{log}");
}

#[actix_web::test]
async fn revocation_and_introspection_answer_only_the_client_that_holds_the_token() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    let (id, secret) = wiki!(app, admin, json!({}));
    let (other, other_secret) = wiki!(app, admin, json!({"name": "Chat"}));
    let code = code_for!(app, id, "bob", "openid profile");
    let t = exchange!(app, id, secret, code);
    let (access, refresh) = (t["access_token"].as_str().unwrap(), t["refresh_token"].as_str().unwrap());

    let introspect = |client: &str, secret: &str, token: &str| {
        form("/oauth2/introspect", format!("token={token}&client_id={client}&client_secret={secret}"))
    };
    let (s, hd, body, _) = call!(app, introspect(&id, &secret, access));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hd.get("cache-control").unwrap(), "no-store");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!((body["sub"].as_str(), body["client_id"].as_str()), (Some(bob.as_str()), Some(id.as_str())));
    // RFC 7662 §2.2: the RFC 6749 token type of an access token.
    assert_eq!((body["token_type"].as_str(), body["scope"].as_str()), (Some("Bearer"), Some("openid profile")));
    assert_eq!(body["iss"], ISSUER);
    let (_, _, body, _) = call!(app, introspect(&id, &secret, refresh));
    // A refresh token has no RFC 6749 type: none is claimed.
    assert_eq!((body["active"].as_bool(), body.get("token_type")), (Some(true), None), "{body}");
    // Another client learns nothing, and an unknown token is simply inactive.
    let (_, _, body, _) = call!(app, introspect(&other, &other_secret, access));
    assert_eq!(body, json!({"active": false}));
    let (_, _, body, _) = call!(app, introspect(&id, &secret, "not-a-token"));
    assert_eq!(body, json!({"active": false}));
    // Client authentication is required, and a wrong secret is a 401.
    let (s, _, body, _) = call!(app, form("/oauth2/introspect", format!("token={access}")));
    assert_eq!((s, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (s, _, _, _) = call!(app, introspect(&id, "wrong", access));
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Revocation: another client's revoke changes nothing (and says 200, as for unknown tokens).
    let revoke = |client: &str, secret: &str, token: &str| {
        form(
            "/oauth2/revoke",
            format!("token={token}&token_type_hint=refresh_token&client_id={client}&client_secret={secret}"),
        )
    };
    let (s, _, _, _) = call!(app, revoke(&other, &other_secret, refresh));
    assert_eq!(s, StatusCode::OK);
    let (s, _, _, _) = call!(app, revoke(&id, &secret, "never-issued"));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(userinfo_status!(app, access), StatusCode::OK);
    // Revoking an access token ends that token only.
    let code = code_for!(app, id, "bob", "openid");
    let t2 = exchange!(app, id, secret, code);
    call!(app, revoke(&id, &secret, t2["access_token"].as_str().unwrap()));
    assert_eq!(userinfo_status!(app, t2["access_token"].as_str().unwrap()), StatusCode::UNAUTHORIZED);
    let (s, _, _, _) = refresh!(app, id, secret, t2["refresh_token"].as_str().unwrap());
    assert_eq!(s, StatusCode::OK, "its refresh token still works");
    // Revoking the refresh token ends its grant: the access token too.
    let (s, _, _, _) = call!(app, revoke(&id, &secret, refresh));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(userinfo_status!(app, access), StatusCode::UNAUTHORIZED);
    let (_, _, body, _) = call!(app, introspect(&id, &secret, access));
    assert_eq!(body, json!({"active": false}));
    let (s, _, body, _) = refresh!(app, id, secret, refresh);
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[actix_web::test]
async fn what_ends_a_users_access_ends_what_applications_hold() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    let (id, secret) = wiki!(app, admin, json!({}));

    // Each administrative action, then the refresh and the access token it must have ended.
    let actions: Vec<(&str, TestRequest)> = vec![
        ("disable", patch(&format!("/api/users/{bob}"), json!({"enabled": false}))),
        ("require re-registration", post(&format!("/api/users/{bob}/require-reregistration"), json!({}))),
        ("reset sign-in", post(&format!("/api/users/{bob}/reset-sign-in"), json!({}))),
    ];
    for (what, action) in actions {
        let code = code_for!(app, id, "bob", "openid");
        let t = exchange!(app, id, secret, code);
        let (s, _, body, _) = call!(app, with(&admin, action));
        assert!(s.is_success(), "{what}: {body}");
        let (s, _, body, _) = refresh!(app, id, secret, t["refresh_token"].as_str().unwrap());
        assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{what}: {body}");
        assert_eq!(userinfo_status!(app, t["access_token"].as_str().unwrap()), StatusCode::UNAUTHORIZED, "{what}");
        // Back to a user who can sign in with the password.
        let (s, _, body, _) = call!(app, with(&admin, patch(&format!("/api/users/{bob}"), json!({"enabled": true}))));
        assert!(s.is_success(), "{body}");
        if what == "reset sign-in" {
            break;
        }
    }

    // The state a refresh re-checks without any administrator ending a grant: assignment, and
    // the application's own refresh switch.
    let carol = user_with_password!(app, admin, "carol");
    let code = code_for!(app, id, "carol", "openid");
    let t = exchange!(app, id, secret, code);
    let patch_app = |extra: serde_json::Value| {
        let mut body = json!({"name": "Wiki", "redirect_uris": [CALLBACK], "scopes": ["openid", "profile", "email", "groups"], "refresh_tokens": true, "refresh_token_days": 30});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        with(&admin, patch(&format!("/api/applications/{id}"), body))
    };
    let (s, _, body, _) = call!(app, patch_app(json!({"assignment_required": true, "assigned_users": [bob]})));
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _, body, _) = refresh!(app, id, secret, t["refresh_token"].as_str().unwrap());
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("no longer assigned"), "{body}");
    call!(app, patch_app(json!({"assigned_users": [bob, carol], "assignment_required": true})));
    let code = code_for!(app, id, "carol", "openid");
    let t = exchange!(app, id, secret, code);
    call!(app, patch_app(json!({"refresh_tokens": false})));
    let (s, _, body, _) = refresh!(app, id, secret, t["refresh_token"].as_str().unwrap());
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("no longer uses refresh tokens"), "{body}");
    // With refresh tokens off, a code gives none.
    let code = code_for!(app, id, "carol", "openid");
    let t = exchange!(app, id, secret, code);
    assert!(t.get("refresh_token").is_none(), "{t}");

    // A refresh token lives for the application's refresh_token_days from the sign-in, then the
    // user signs in again (interactively, where the policy runs).
    call!(
        app,
        patch_app(json!({"assigned_users": [bob, carol], "assignment_required": true, "refresh_token_days": 1}))
    );
    let code = code_for!(app, id, "carol", "openid");
    let t = exchange!(app, id, secret, code);
    h.clock.advance(time::Duration::hours(25));
    let (s, _, body, _) = refresh!(app, id, secret, t["refresh_token"].as_str().unwrap());
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("expired"), "{body}");
}

#[actix_web::test]
async fn failed_token_requests_from_one_address_are_limited() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (id, secret) = wiki!(app, admin, json!({}));
    let guess = |n: u32| {
        form(
            "/oauth2/token",
            format!("grant_type=refresh_token&refresh_token=guess-{n}&client_id={id}&client_secret={secret}"),
        )
    };
    let limit = proofup::service::TOKEN_FAILURES_PER_IP_PER_MINUTE;
    for n in 0..limit {
        let (s, _, body, _) = call!(app, guess(n));
        assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{n}");
    }
    let (s, hd, body, _) = call!(app, guess(limit));
    assert_eq!((s, body["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("slow_down")), "{body}");
    assert!(hd.get("retry-after").is_some());
    // Secret guesses count the same way, at the introspection endpoint too.
    let (s, _, _, _) = call!(app, form("/oauth2/introspect", format!("token=x&client_id={id}&client_secret=wrong")));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not affected; the window passes.
    let (s, _, _, _) = call!(
        app,
        form("/oauth2/introspect", format!("token=x&client_id={id}&client_secret={secret}"))
            .peer_addr("192.0.2.31:40000".parse().unwrap())
    );
    assert_eq!(s, StatusCode::OK);
    h.clock.advance(time::Duration::seconds(61));
    let (s, _, _, _) = call!(app, guess(0));
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn an_application_signs_the_user_out_with_its_id_token_and_only_to_a_registered_address() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");
    let (id, secret) = wiki!(app, admin, json!({"post_logout_redirect_uris": ["http://localhost:9000/bye"]}));
    let (other, _) = wiki!(app, admin, json!({"name": "Chat"}));
    let (_, _, raw, _) = call!(app, get("/.well-known/openid-configuration"));
    assert_eq!(raw["end_session_endpoint"], format!("{ISSUER}/oauth2/logout"));

    // bob signs in to the portal, then to Wiki by single sign-on; Wiki holds his tokens.
    let (s, hd, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW})));
    assert_eq!(s, StatusCode::OK);
    let portal = session_cookie(&hd).unwrap();
    let sso = cookie_named(&hd, "proofup_sso").unwrap();
    let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[])).insert_header(("cookie", sso.clone())));
    let code = query_of(&location(&hd))["code"].clone();
    let t = exchange!(app, id, secret, code);
    let id_token = t["id_token"].as_str().unwrap().to_owned();
    let logout = |q: &str| get(&format!("/oauth2/logout?{q}")).insert_header(("cookie", sso.clone()));

    // Refused before anything ends: an address Wiki did not register, a hint for another
    // client, a token Proofup did not sign.
    for (what, q) in [
        (
            "unregistered",
            format!("id_token_hint={id_token}&post_logout_redirect_uri={}", encode("http://localhost:9000/evil")),
        ),
        ("another client", format!("id_token_hint={id_token}&client_id={other}")),
        ("forged", format!("id_token_hint={}x", &id_token)),
    ] {
        let (s, hd, _, body) = call!(app, logout(&q));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{what}");
        assert!(hd.get("location").is_none(), "{what}");
        assert!(String::from_utf8_lossy(&body).contains("This sign-out cannot continue"), "{what}");
    }
    // Without a hint, nothing ends until the user says so.
    let (s, _, _, body) = call!(app, logout(&format!("client_id={id}")));
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8_lossy(&body).into_owned();
    assert!(page.contains("Sign out of Proofup?") && page.contains("<strong>Wiki</strong> asked"), "{page}");
    let (s, _, _, _) = call!(app, with(&portal, get("/api/auth/me")));
    assert_eq!(s, StatusCode::OK, "still signed in");

    // With Wiki's ID token (expired: hints usually are): signed out, back with state.
    h.clock.advance(time::Duration::minutes(30));
    let (s, hd, _, _) = call!(
        app,
        logout(&format!(
            "id_token_hint={id_token}&post_logout_redirect_uri={}&state=st-9",
            encode("http://localhost:9000/bye")
        ))
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(location(&hd), "http://localhost:9000/bye?state=st-9");
    let cleared: Vec<String> = hd.get_all("set-cookie").map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(cleared.iter().any(|c| c.starts_with("proofup_sso=;") && c.contains("Max-Age=0")), "{cleared:?}");
    let (s, _, _, _) = call!(app, with(&portal, get("/api/auth/me")));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the session ended");
    let (s, _, body, _) = refresh!(app, id, secret, t["refresh_token"].as_str().unwrap());
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");

    // Confirmed on Proofup's page (a form post from it): signed out, with a link back.
    let (_, hd, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW})));
    let portal = session_cookie(&hd).unwrap();
    let sso = cookie_named(&hd, "proofup_sso").unwrap();
    let (s, _, _, body) = call!(
        app,
        form(
            "/oauth2/logout",
            format!("client_id={id}&post_logout_redirect_uri={}&confirm=yes", encode("http://localhost:9000/bye"))
        )
        .insert_header(("cookie", sso))
    );
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("href=\"http://localhost:9000/bye\""));
    let (s, _, _, _) = call!(app, with(&portal, get("/api/auth/me")));
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Signing out of the portal ends what applications got through that session as well.
    let (_, hd, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW})));
    let portal = session_cookie(&hd).unwrap();
    let sso = cookie_named(&hd, "proofup_sso").unwrap();
    let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[])).insert_header(("cookie", sso)));
    let t = exchange!(app, id, secret, query_of(&location(&hd))["code"].clone());
    let (s, _, _, _) = call!(app, with(&portal, post("/api/auth/sign-out", json!({}))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _, _) = refresh!(app, id, secret, t["refresh_token"].as_str().unwrap());
    assert_eq!(s, StatusCode::BAD_REQUEST, "the grant ended with the session");
}

#[actix_web::test]
async fn a_service_application_gets_tokens_for_itself_and_nothing_about_users() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (id, secret) = wiki!(app, admin, json!({"service_access": true}));
    let (plain, plain_secret) = wiki!(app, admin, json!({"name": "Chat"}));
    // A public application cannot have it: it has no secret to prove itself with.
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post(
                "/api/applications",
                json!({"name": "SPA", "kind": "public", "redirect_uris": [CALLBACK], "service_access": true})
            )
        )
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("service_access"));

    let grant = |client: &str, secret: &str, scope: &str| {
        form(
            "/oauth2/token",
            format!("grant_type=client_credentials&scope={scope}&client_id={client}&client_secret={secret}"),
        )
    };
    let (s, hd, t, _) = call!(app, grant(&id, &secret, "groups"));
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(hd.get("cache-control").unwrap(), "no-store");
    assert!(t.get("id_token").is_none() && t.get("refresh_token").is_none(), "no user, no ID token: {t}");
    assert_eq!(t["scope"], "groups");
    // Without a scope asked for, none is granted and none is named (no `"scope":""`).
    let (s, _, t0, _) = call!(app, grant(&id, &secret, ""));
    assert_eq!(s, StatusCode::OK, "{t0}");
    assert!(t0.get("scope").is_none(), "{t0}");
    let a0 = t0["access_token"].as_str().unwrap();
    let (_, _, i0, _) =
        call!(app, form("/oauth2/introspect", format!("token={a0}&client_id={id}&client_secret={secret}")));
    assert_eq!(
        (i0["active"].as_bool(), i0["token_type"].as_str(), i0.get("scope")),
        (Some(true), Some("Bearer"), None),
        "{i0}"
    );
    let access = t["access_token"].as_str().unwrap();
    // It names the application, never a user: userinfo refuses it, introspection says whose.
    assert_eq!(userinfo_status!(app, access), StatusCode::UNAUTHORIZED);
    let (_, _, i, _) =
        call!(app, form("/oauth2/introspect", format!("token={access}&client_id={id}&client_secret={secret}")));
    assert_eq!(
        (i["active"].as_bool(), i["sub"].as_str(), i["scope"].as_str()),
        (Some(true), Some(id.as_str()), Some("groups")),
        "{i}"
    );
    let (_, _, i, _) = call!(
        app,
        form("/oauth2/introspect", format!("token={access}&client_id={plain}&client_secret={plain_secret}"))
    );
    assert_eq!(i, json!({"active": false}), "another client learns nothing");
    // Scopes about a sign-in are refused; so is an application without service access.
    let (s, _, body, _) = call!(app, grant(&id, &secret, "openid"));
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    let (s, _, body, _) = call!(app, grant(&plain, &plain_secret, ""));
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")), "{body}");
    let (s, _, _, _) = call!(app, grant(&id, "wrong", ""));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Logged as the application's own non-interactive sign-in.
    let (_, _, log, _) = call!(app, with(&admin, get("/api/sign-ins?application=Wiki")));
    let e = &log["items"][0];
    assert_eq!(
        (e["username"].as_str(), e["interactive"].as_bool()),
        (Some(format!("app:{id}").as_str()), Some(false)),
        "{log}"
    );
    // Revoked, it stops.
    call!(app, form("/oauth2/revoke", format!("token={access}&client_id={id}&client_secret={secret}")));
    let (_, _, i, _) =
        call!(app, form("/oauth2/introspect", format!("token={access}&client_id={id}&client_secret={secret}")));
    assert_eq!(i, json!({"active": false}));
}

/// `email_verified` follows the user's record: false for an address an administrator typed,
/// true once the user confirmed it (tests/mail.rs confirms one with a real mailed code), and false
/// again when an administrator changes the address.
#[actix_web::test]
async fn email_verified_says_whether_the_user_confirmed_the_address() {
    let h = Harness::new();
    h.clock.set(time::OffsetDateTime::now_utc());
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    let (s, _, body, _) =
        call!(app, with(&admin, patch(&format!("/api/users/{bob}"), json!({"email": "bob@contoso.test"}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["email_verified"], false);
    let (id, secret) = wiki!(app, admin, json!({}));
    let claims = |tokens: &serde_json::Value| {
        let payload = tokens["id_token"].as_str().unwrap().split('.').nth(1).unwrap().to_owned();
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
    };

    let code = code_for!(app, id, "bob", "openid email");
    let tokens = exchange!(app, id, secret, code);
    let c = claims(&tokens);
    assert_eq!((c["email"].as_str(), c["email_verified"].as_bool()), (Some("bob@contoso.test"), Some(false)), "{c}");

    // Confirmed (what POST /api/me/email/verify stores).
    let mut u = h.store.user(&bob).unwrap().unwrap();
    u.email_verified = true;
    h.store
        .update_user(
            &u,
            proofup::service::audit(
                u.updated_at,
                Some(&u),
                "user.email_verified",
                Some(&u),
                vec![],
                &proofup::domain::model::ClientInfo::new("127.0.0.1".into(), "test"),
            ),
        )
        .unwrap();
    let code = code_for!(app, id, "bob", "openid email");
    let c = claims(&exchange!(app, id, secret, code));
    assert_eq!(c["email_verified"], true, "{c}");

    // A new address is unconfirmed again.
    let (s, _, body, _) =
        call!(app, with(&admin, patch(&format!("/api/users/{bob}"), json!({"email": "robert@contoso.test"}))));
    assert_eq!((s, body["email_verified"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
    let code = code_for!(app, id, "bob", "openid email");
    let c = claims(&exchange!(app, id, secret, code));
    assert_eq!((c["email"].as_str(), c["email_verified"].as_bool()), (Some("robert@contoso.test"), Some(false)), "{c}");
}
