//! Proofup as an OpenID provider, driven by an independent relying party: the `openidconnect`
//! crate discovers the provider, builds the authorization request (PKCE, nonce, state), and
//! checks the ID token itself (RS256 signature by `kid` from the JWKS, issuer, audience,
//! expiry, nonce, at_hash). The browser part between is the portal's own sign-in API.
//! Then each refusal of the checklist: error pages before the client is trusted, redirects
//! with `iss` after, a replayed code revoking what it issued, PKCE and client secrets.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::{init_service, TestRequest};
use common::rp::*;
use common::*;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::json;

#[actix_web::test]
async fn a_relying_party_signs_a_user_in_with_code_and_pkce_and_checks_the_id_token() {
    let h = Harness::new();
    // The relying party checks expiry against the real time.
    h.clock.set(time::OffsetDateTime::now_utc());
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    let (_, _, staff, _) = call!(app, with(&admin, post("/api/groups", json!({"name": "Staff"}))));
    let staff = staff["id"].as_str().unwrap().to_owned();
    call!(app, with(&admin, post(&format!("/api/groups/{staff}/members"), json!({"kind": "user", "id": bob}))));
    let (s, _, created, _) = call!(
        app,
        with(
            &admin,
            post(
                "/api/applications",
                json!({"name": "Wiki", "redirect_uris": [CALLBACK], "scopes": ["openid", "profile", "email", "groups"]})
            )
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let client_id = created["application"]["id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();

    // Discovery and JWKS, read and checked by the relying party.
    let http = client_for(&app);
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(ISSUER.into()).unwrap(), &http).await.unwrap();
    let (_, _, raw, _) = call!(app, get("/.well-known/openid-configuration"));
    assert_eq!(raw["request_uri_parameter_supported"], false);
    assert_eq!(raw["authorization_response_iss_parameter_supported"], true);
    assert_eq!(raw["code_challenge_methods_supported"], json!(["S256"]));
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    // The authorization request, as the relying party builds it.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("groups".into()))
        .set_pkce_challenge(challenge)
        .url();
    assert!(url.as_str().starts_with(&format!("{ISSUER}/oauth2/authorize?")));
    let path = &url.as_str()[ISSUER.len()..];
    let (s, hd, _, _) = call!(app, get(path));
    assert_eq!(s, StatusCode::SEE_OTHER);
    let to = location(&hd);
    // Only the flow's id goes to the portal, never an address to return to.
    assert!(to.starts_with("/sign-in?flow=") && !to.contains("resume") && !to.contains("next="), "{to}");
    let flow_cookie = cookie_named(&hd, "proofup_flow").unwrap();
    let set = hd.get_all("set-cookie").map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>().join("\n");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/oauth2/"), "{set}");
    let (resume, flow_id) = resume_and_flow(&hd);

    // The sign-in page names the application (for this browser only).
    let (s, _, info, _) =
        call!(app, get(&format!("/oauth2/flow/{flow_id}")).insert_header(("cookie", flow_cookie.clone())));
    assert_eq!((s, info["application"].as_str()), (StatusCode::OK, Some("Wiki")));
    let (s, _, _, _) = call!(app, get(&format!("/oauth2/flow/{flow_id}")));
    assert_eq!(s, StatusCode::NOT_FOUND, "another browser does not see the flow");

    // Resuming before signing in goes back to the sign-in.
    let (s, hd, _, _) = call!(app, get(&resume).insert_header(("cookie", flow_cookie.clone())));
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(location(&hd).starts_with("/sign-in?flow="));

    // The portal's sign-in (for this flow), then the flow resumes: a code for the application.
    // Where the browser continues is the server's answer.
    let (s, hd, body, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW, "flow": flow_id})));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["me"]["continue_to"], resume.as_str(), "{body}");
    let bob_session = session_cookie(&hd).unwrap();
    let (_, _, me, _) = call!(app, with(&bob_session, get("/api/auth/me")));
    assert_eq!(me["continue_to"], resume.as_str(), "asked again, until the flow ends: {me}");
    let both = format!("{bob_session}; {flow_cookie}");
    // From another browser (no flow cookie) the flow does not resume.
    let (s, _, body, _) = call!(app, get(&resume).insert_header(("cookie", bob_session.clone())));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, hd, _, _) = call!(app, get(&resume).insert_header(("cookie", both.clone())));
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let back = location(&hd);
    assert!(back.starts_with(&format!("{CALLBACK}?code=")), "{back}");
    let q = query_of(&back);
    assert_eq!(q["state"], *csrf.secret());
    assert_eq!(q["iss"], ISSUER, "RFC 9207: the issuer comes with the code");
    // A flow resumes once.
    let (s, _, _, _) = call!(app, get(&resume).insert_header(("cookie", both.clone())));
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The exchange and the ID token, checked by the relying party.
    let tokens = client
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    let verifier_rp = client.id_token_verifier();
    let claims = id_token.claims(&verifier_rp, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), bob, "sub is the stable user id");
    assert_eq!(claims.preferred_username().unwrap().as_str(), "bob");
    let at_hash = claims.access_token_hash().expect("at_hash");
    let alg = id_token.signing_alg().unwrap();
    let key = id_token.signing_key(&verifier_rp).unwrap();
    assert_eq!(&AccessTokenHash::from_token(tokens.access_token(), alg, key).unwrap(), at_hash);
    let amr: Vec<String> = claims.auth_method_refs().unwrap().iter().map(|a| a.to_string()).collect();
    assert_eq!(amr, ["pwd"], "a password-only sign-in");
    assert_eq!(claims.auth_context_ref().unwrap().as_str(), "urn:proofup:acr:1fa");
    assert!(claims.auth_time().is_some());
    // The raw token: RS256 with a kid the JWKS publishes; the groups claim is transitive names.
    let raw_token = id_token.to_string();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            raw_token.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    let (_, _, jwks, _) = call!(app, get("/oauth2/jwks"));
    assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == header["kid"]));
    let payload: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            raw_token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["groups"], json!(["Staff"]));
    assert!(payload["sid"].is_string() && payload["sid"] != json!(bob_session));

    // Userinfo with the access token: the same subject.
    let info: CoreUserInfoClaims =
        client.user_info(tokens.access_token().clone(), None).unwrap().request_async(&http).await.unwrap();
    assert_eq!(info.subject().as_str(), bob);

    // A replayed code fails, and revokes the access token it had issued.
    let (s, hd, body, _) = call!(
        app,
        TestRequest::post()
            .uri("/oauth2/token")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&client_id={client_id}&client_secret={secret}",
                q["code"],
                proofup::domain::oidc::authorize::encode(CALLBACK)
            ))
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(hd.get("cache-control").unwrap(), "no-store");
    let (s, hd, _, _) = call!(
        app,
        get("/oauth2/userinfo").insert_header(("authorization", format!("Bearer {}", tokens.access_token().secret())))
    );
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the replay revoked the token");
    assert!(hd.get("www-authenticate").unwrap().to_str().unwrap().contains("invalid_token"));
}

#[actix_web::test]
async fn refusals_go_to_an_error_page_until_the_client_is_trusted_then_back_with_iss() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (_, _, created, _) =
        call!(app, with(&admin, post("/api/applications", json!({"name": "Wiki", "redirect_uris": [CALLBACK]}))));
    let id = created["application"]["id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let (_, _, spa, _) = call!(
        app,
        with(&admin, post("/api/applications", json!({"name": "SPA", "kind": "public", "redirect_uris": [CALLBACK]})))
    );
    let spa = spa["application"]["id"].as_str().unwrap().to_owned();

    // Untrusted: Proofup's own page, never a redirect.
    for (what, path) in [
        ("unknown client", authorize_path("nobody", &[])),
        ("no client", authorize_path(&id, &[("client_id", "")])),
        ("unregistered redirect", authorize_path(&id, &[("redirect_uri", "http://localhost:9000/callback/evil")])),
        ("redirect by prefix", authorize_path(&id, &[("redirect_uri", "http://localhost:9000/callback?x=1")])),
        ("no redirect", authorize_path(&id, &[("redirect_uri", "")])),
        ("a parameter twice", format!("{}&client_id={id}", authorize_path(&id, &[]))),
    ] {
        let (s, hd, _, body) = call!(app, get(&path));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{what}");
        assert!(hd.get("location").is_none(), "{what}: redirected");
        let page = String::from_utf8_lossy(&body);
        assert!(page.contains("This sign-in cannot continue"), "{what}: {page}");
    }
    // Trusted client and redirect: the error goes back with state and iss.
    for (what, extra, error) in [
        ("no response_type", vec![("response_type", "")], "invalid_request"),
        ("implicit", vec![("response_type", "token")], "unsupported_response_type"),
        ("no openid", vec![("scope", "profile")], "invalid_scope"),
        ("plain PKCE", vec![("code_challenge_method", "plain")], "invalid_request"),
        ("challenge without method", vec![("code_challenge_method", "")], "invalid_request"),
        ("request object", vec![("request", "eyJ...")], "request_not_supported"),
        ("request_uri", vec![("request_uri", "https://x/y")], "request_uri_not_supported"),
        ("prompt none with login", vec![("prompt", "none login")], "invalid_request"),
        ("prompt none", vec![("prompt", "none")], "login_required"),
        ("bad max_age", vec![("max_age", "soon")], "invalid_request"),
    ] {
        let (s, hd, _, _) = call!(app, get(&authorize_path(&id, &extra)));
        assert_eq!(s, StatusCode::SEE_OTHER, "{what}");
        let to = location(&hd);
        assert!(to.starts_with(CALLBACK), "{what}: {to}");
        let q = query_of(&to);
        assert_eq!(q["error"], error, "{what}: {to}");
        assert_eq!(q["state"], "s-123", "{what}");
        assert_eq!(q["iss"], ISSUER, "{what}");
    }
    // A public client must use PKCE; POST works like GET.
    let (_, hd, _, _) =
        call!(app, get(&authorize_path(&spa, &[("code_challenge", ""), ("code_challenge_method", "")])));
    assert_eq!(query_of(&location(&hd))["error"], "invalid_request");
    let form = authorize_path(&id, &[]).split_once('?').unwrap().1.to_owned();
    let (s, hd, _, _) = call!(
        app,
        TestRequest::post()
            .uri("/oauth2/authorize")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(form)
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(location(&hd).starts_with("/sign-in?flow="));

    // The token endpoint: client authentication and its errors.
    let token = |body: String, basic: Option<String>| {
        let mut t = TestRequest::post()
            .uri("/oauth2/token")
            .insert_header(("content-type", "application/x-www-form-urlencoded"));
        if let Some(b) = basic {
            t = t.insert_header(("authorization", format!("Basic {b}")));
        }
        t.set_payload(body)
    };
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let (s, hd, body, _) =
        call!(app, token("grant_type=authorization_code&code=x".into(), Some(b64(&format!("{id}:wrong")))));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert!(hd.get("www-authenticate").unwrap().to_str().unwrap().starts_with("Basic"));
    let (s, _, body, _) =
        call!(app, token(format!("grant_type=authorization_code&code=x&client_id={id}&client_secret={secret}"), None));
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "a made-up code");
    let (s, _, body, _) = call!(app, token(format!("grant_type=password&client_id={id}&client_secret={secret}"), None));
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
    let (s, _, body, _) = call!(app, token("grant_type=authorization_code&code=x".into(), None));
    assert_eq!((s, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (s, _, body, _) = call!(app, token(format!("grant_type=authorization_code&code=x&client_id={spa}"), None));
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "a public client needs no secret"
    );
    let (s, _, body, _) = call!(app, token("%zz=&&".into(), None));
    assert!(s.is_client_error() && body["error"].is_string(), "{s} {body}");
}

#[actix_web::test]
async fn a_code_needs_its_own_verifier_and_redirect_and_a_second_factor_shows_in_amr() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (_, _, created, _) =
        call!(app, with(&admin, post("/api/applications", json!({"name": "Wiki", "redirect_uris": [CALLBACK]}))));
    let id = created["application"]["id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();

    // The administrator adds an authenticator app, and signs in with it.
    let (_, _, setup, _) = call!(app, with(&admin, post("/api/me/methods/totp", json!({}))));
    let key = secret_of(&setup);
    let (s, _, body, _) = call!(
        app,
        with(&admin, post("/api/me/methods/totp/confirm", json!({"name": "Phone", "code": code(&key, &h, 0)})))
    );
    assert!(s.is_success(), "{body}");
    h.clock.advance(time::Duration::seconds(31));

    // One flow, signed in with password and code.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    // RFC 7636 Appendix B: this verifier's challenge is the one authorize_path sends.
    let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[("nonce", "n-1")])));
    let flow_cookie = cookie_named(&hd, "proofup_flow").unwrap();
    let (resume, _) = resume_and_flow(&hd);
    let (half, _) = sign_in!(app, ADMIN, ADMIN_PASSWORD);
    let (s, hd, body, _) = call!(app, with(&half, post("/api/auth/second-factor", json!({"code": code(&key, &h, 0)}))));
    assert!(s.is_success(), "{body}");
    let full = session_cookie(&hd).unwrap();
    let (_, hd, _, _) = call!(app, get(&resume).insert_header(("cookie", format!("{full}; {flow_cookie}"))));
    let code_value = query_of(&location(&hd))["code"].clone();

    let exchange = |verifier: &str, redirect: &str| {
        TestRequest::post()
            .uri("/oauth2/token")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(format!(
                "grant_type=authorization_code&code={code_value}&redirect_uri={}&code_verifier={verifier}&client_id={id}&client_secret={secret}",
                proofup::domain::oidc::authorize::encode(redirect)
            ))
    };
    let (s, _, body, _) = call!(app, exchange(verifier, "http://localhost:9000/other"));
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
    let (s, _, body, _) = call!(app, exchange("wrong-verifier-wrong-verifier-wrong-verifier-0", CALLBACK));
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
    let (s, hd, body, _) = call!(app, exchange(verifier, CALLBACK));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(hd.get("cache-control").unwrap(), "no-store");
    assert_eq!(body["token_type"], "Bearer");
    let payload: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            body["id_token"].as_str().unwrap().split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["amr"], json!(["pwd", "otp", "mfa"]), "{payload}");
    assert_eq!(payload["acr"], "urn:proofup:acr:mfa");
    assert_eq!(payload["nonce"], "n-1");
    assert_eq!(payload["iss"], ISSUER);
    assert_eq!(payload["aud"], id);

    // Expired codes are refused (60 s), and swept.
    h.clock.advance(time::Duration::seconds(61));
    let (s, _, body, _) = call!(app, exchange(verifier, CALLBACK));
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    use proofup::domain::clock::Clock as _;
    assert!(h.store.sweep_grants(h.clock.now() + time::Duration::hours(1)).unwrap() >= 1);
}

#[actix_web::test]
async fn assignment_and_require_mfa_are_enforced_when_the_flow_resumes() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    user_with_password!(app, admin, "carol");
    let (_, _, staff, _) = call!(app, with(&admin, post("/api/groups", json!({"name": "Staff"}))));
    let staff = staff["id"].as_str().unwrap().to_owned();
    let (_, _, eng, _) = call!(app, with(&admin, post("/api/groups", json!({"name": "Engineering"}))));
    let eng = eng["id"].as_str().unwrap().to_owned();
    // bob ∈ Engineering ∈ Staff; the application is assigned to Staff.
    call!(app, with(&admin, post(&format!("/api/groups/{eng}/members"), json!({"kind": "user", "id": bob}))));
    call!(app, with(&admin, post(&format!("/api/groups/{staff}/members"), json!({"kind": "group", "id": eng}))));
    let (_, _, created, _) = call!(
        app,
        with(
            &admin,
            post(
                "/api/applications",
                json!({"name": "Wiki", "redirect_uris": [CALLBACK], "assignment_required": true, "assigned_groups": [staff]})
            )
        )
    );
    let id = created["application"]["id"].as_str().unwrap().to_owned();

    // Signs in `who` through a fresh flow; where the browser is sent back to.
    macro_rules! through_app {
        ($who:expr, $pw:expr) => {{
            let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[])));
            let flow_cookie = cookie_named(&hd, "proofup_flow").unwrap();
            let (resume, _) = resume_and_flow(&hd);
            let (c, _) = sign_in!(app, $who, $pw);
            let (s, hd, _, _) = call!(app, get(&resume).insert_header(("cookie", format!("{c}; {flow_cookie}"))));
            assert_eq!(s, StatusCode::SEE_OTHER);
            query_of(&location(&hd))
        }};
    }
    let q = through_app!("bob", PW);
    assert!(q.contains_key("code"), "assigned through a nested group: {q:?}");
    let q = through_app!("carol", PW);
    assert_eq!(q["error"], "access_denied", "{q:?}");
    assert!(q["error_description"].contains("not assigned"));

    // Require MFA: bob signed in with the password alone is refused.
    let mut changed = json!({"name": "Wiki", "redirect_uris": [CALLBACK], "assignment_required": true, "assigned_groups": [staff], "require_mfa": true});
    let (s, _, body, _) = call!(
        app,
        with(&admin, post(&format!("/api/applications/{id}"), changed.take()).method(actix_web::http::Method::PATCH))
    );
    assert_eq!(s, StatusCode::OK, "{body}");
    // Signed in from the portal, a flow began elsewhere: bob's session has no MFA.
    let q = through_app!("bob", PW);
    assert_eq!(q["error"], "access_denied", "{q:?}");
    assert!(q["error_description"].contains("requires MFA"));

    // Signing in for the application (the portal sends the flow): bob has no method, the
    // policy is Off, and still the interrupt comes, with no skip; he registers, and is let in.
    let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[])));
    let flow_cookie = cookie_named(&hd, "proofup_flow").unwrap();
    let (resume, flow) = resume_and_flow(&hd);
    let (s, hd, body, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW, "flow": flow})));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["me"]["next_step"]["step"], "register_mfa", "{body}");
    assert_eq!(body["me"]["next_step"]["can_skip"], false, "the application requires MFA: {body}");
    let bob_c = session_cookie(&hd).unwrap();
    let (s, _, body, _) = call!(app, with(&bob_c, post("/api/auth/skip-registration", json!({}))));
    assert!(s.is_client_error(), "no skip: {body}");
    let (full, _) = add_authenticator_app!(app, h, bob_c);
    let (s, hd, _, _) = call!(app, get(&resume).insert_header(("cookie", format!("{full}; {flow_cookie}"))));
    assert_eq!(s, StatusCode::SEE_OTHER);
    let q = query_of(&location(&hd));
    assert!(q.contains_key("code"), "registered at this sign-in: let in ({q:?})");
    let (s, _, log, _) = call!(app, with(&admin, get("/api/sign-ins?user=bob")));
    assert_eq!(s, StatusCode::OK);
    let items = log["items"].as_array().unwrap();
    let entry =
        items.iter().find(|e| e["reason"].as_str().unwrap().contains("Wiki requires MFA: registration required now"));
    assert_eq!(entry.map(|e| e["application"].clone()), Some(json!("Wiki")), "{log}");
    let registered = items.iter().find(|e| e["reason"].as_str().unwrap().starts_with("MFA registered at sign-in"));
    assert_eq!(registered.map(|e| e["application"].clone()), Some(json!("Wiki")), "the interrupt's steps too: {log}");

    // A flow id the browser never began cannot loosen anything: carol (no method, not assigned
    // either) with a made-up flow signs in to the portal as before.
    let (s, _, body, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "carol", "password": PW, "flow": "made-up"})));
    assert_eq!((s, body["me"]["next_step"]["step"].as_str()), (StatusCode::OK, Some("done")), "{body}");
}

/// `acr_values=urn:proofup:acr:mfa` from an application without "Require MFA" is the same
/// access decision as "Require MFA": a user without a method registers at that sign-in, with no
/// skip even inside the policy's grace, and is let in (before the one decision, the interrupt
/// offered a skip and the code was then refused with "This application requires MFA"). The
/// first step's log entry keeps what each policy did as data.
#[actix_web::test]
async fn acr_values_asking_for_mfa_is_decided_like_require_mfa() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");
    let (_, _, created, _) =
        call!(app, with(&admin, post("/api/applications", json!({"name": "Wiki", "redirect_uris": [CALLBACK]}))));
    let id = created["application"]["id"].as_str().unwrap().to_owned();
    save_policy!(
        app,
        admin,
        json!({"enforcement": "on", "include_all": true, "include_users": [], "include_groups": [],
        "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 14})
    );
    // Without acr_values: the policy's interrupt, with its skip.
    let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[])));
    let (_, flow) = resume_and_flow(&hd);
    let (_, _, body, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW, "flow": flow})));
    assert_eq!(
        (body["me"]["next_step"]["step"].as_str(), body["me"]["next_step"]["can_skip"].as_bool()),
        (Some("register_mfa"), Some(true)),
        "{body}"
    );

    // With it: no skip, and the step says so however often it is asked.
    let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[("acr_values", "urn:proofup:acr:mfa")])));
    let flow_cookie = cookie_named(&hd, "proofup_flow").unwrap();
    let (resume, flow) = resume_and_flow(&hd);
    let (s, hd, body, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW, "flow": flow})));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["me"]["next_step"]["step"], "register_mfa", "{body}");
    assert_eq!(body["me"]["next_step"]["can_skip"], false, "acr_values asks for MFA: {body}");
    let bob_c = session_cookie(&hd).unwrap();
    let (_, _, me, _) = call!(app, with(&bob_c, get("/api/auth/me")));
    assert_eq!(me["next_step"]["can_skip"], false, "{me}");
    // While steps remain, the server names the application and where Cancel goes; nowhere to
    // continue to yet.
    assert_eq!(me["application"], "Wiki", "{me}");
    assert_eq!(me["cancel_to"], format!("/oauth2/authorize/cancel?flow={flow}"), "{me}");
    assert!(me.get("continue_to").is_none(), "{me}");
    let (s, _, body, _) = call!(app, with(&bob_c, post("/api/auth/skip-registration", json!({}))));
    assert!(s.is_client_error(), "no skip: {body}");
    let (full, _) = add_authenticator_app!(app, h, bob_c);
    let (s, hd, _, _) = call!(app, get(&resume).insert_header(("cookie", format!("{full}; {flow_cookie}"))));
    assert_eq!(s, StatusCode::SEE_OTHER);
    let q = query_of(&location(&hd));
    assert!(q.contains_key("code"), "registered at this sign-in: let in, not refused ({q:?})");

    // The log: the first step's outcomes as data, and the sentence rendered from them.
    let (_, _, log, _) = call!(app, with(&admin, get("/api/sign-ins?user=bob&application=Wiki")));
    let items = log["items"].as_array().unwrap();
    let first = items
        .iter()
        .find(|e| {
            e["outcomes"].as_array().is_some_and(|o| o.iter().any(|o| o["outcome"] == "application_requires_mfa"))
        })
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(
        first["outcomes"],
        json!([
            {"outcome": "registration", "effect": {"effect": "prompted", "days_left": 14}},
            {"outcome": "application_requires_mfa", "application": "Wiki"}
        ]),
        "{first}"
    );
    assert_eq!(
        first["reason"],
        "Password; MFA registration prompted (14 days to skip); Wiki requires MFA: registration required now"
    );
    assert!(items.iter().all(|e| !e["reason"].as_str().unwrap().starts_with("Access denied")), "{log}");
}

/// The cookies a response sets, by name: the whole `Set-Cookie` line.
fn set_cookie_line(headers: &actix_web::http::header::HeaderMap, name: &str) -> String {
    headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

#[actix_web::test]
async fn single_sign_on_reuses_the_session_unless_the_request_or_the_policy_needs_the_user() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");
    let (_, _, created, _) =
        call!(app, with(&admin, post("/api/applications", json!({"name": "Wiki", "redirect_uris": [CALLBACK]}))));
    let id = created["application"]["id"].as_str().unwrap().to_owned();

    // Signing in to the portal sets two cookies for one session: Strict for the portal, and a
    // Lax one only the provider's endpoints see, so an application's cross-site redirect has it.
    let (s, hd, body, _) = call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW})));
    assert_eq!(s, StatusCode::OK, "{body}");
    let strict = set_cookie_line(&hd, "proofup_session");
    let lax = set_cookie_line(&hd, "proofup_sso");
    assert!(strict.contains("SameSite=Strict") && strict.ends_with("Path=/"), "{strict}");
    assert!(lax.contains("SameSite=Lax") && lax.contains("Path=/oauth2/") && lax.contains("HttpOnly"), "{lax}");
    let sso = lax.split(';').next().unwrap().to_owned();
    // The portal API does not take the Lax cookie.
    let (s, _, _, _) = call!(app, get("/api/auth/me").insert_header(("cookie", sso.clone())));
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // With only the SSO cookie (what a cross-site top-level redirect carries): straight back.
    let authorize = |extra: &[(&str, &str)]| get(&authorize_path(&id, extra)).insert_header(("cookie", sso.clone()));
    let (s, hd, _, _) = call!(app, authorize(&[]));
    assert_eq!(s, StatusCode::SEE_OTHER);
    let q = query_of(&location(&hd));
    assert!(q.contains_key("code") && q["iss"] == ISSUER && q["state"] == "s-123", "{q:?}");
    let (_, _, log, _) = call!(app, with(&admin, get("/api/sign-ins?application=Wiki")));
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(items[0]["application"], "Wiki");
    assert!(items[0]["reason"].as_str().unwrap().starts_with("Single sign-on with the existing session"));
    // prompt=none: the same, silently; without the cookie, login_required.
    let (_, hd, _, _) = call!(app, authorize(&[("prompt", "none")]));
    assert!(query_of(&location(&hd)).contains_key("code"));
    let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[("prompt", "none")])));
    assert_eq!(query_of(&location(&hd))["error"], "login_required");

    // What makes the user sign in again: prompt=login, max_age passed, MFA asked by acr_values.
    h.clock.advance(time::Duration::minutes(2));
    for (what, extra) in [
        ("prompt=login", vec![("prompt", "login")]),
        ("max_age passed", vec![("max_age", "60")]),
        ("acr_values mfa", vec![("acr_values", "urn:proofup:acr:mfa")]),
    ] {
        let (s, hd, _, _) = call!(app, authorize(&extra));
        assert_eq!(s, StatusCode::SEE_OTHER, "{what}");
        assert!(location(&hd).starts_with("/sign-in?flow="), "{what}: {}", location(&hd));
    }
    let (_, hd, _, _) = call!(app, authorize(&[("max_age", "600")]));
    assert!(query_of(&location(&hd)).contains_key("code"), "max_age not passed yet");
    // …and for prompt=none, which may not show anything.
    let (_, hd, _, _) = call!(app, authorize(&[("prompt", "none"), ("max_age", "60")]));
    assert_eq!(query_of(&location(&hd))["error"], "login_required");
    let (_, hd, _, _) = call!(app, authorize(&[("prompt", "none"), ("acr_values", "urn:proofup:acr:mfa")]));
    assert_eq!(query_of(&location(&hd))["error"], "interaction_required");

    // The MFA registration policy On, bob in his grace: single sign-on goes on, and the log
    // says the registration was deferred to the next interactive sign-in.
    let on = |grace: u32| {
        json!({"enforcement": "on", "include_all": true, "include_users": [], "include_groups": [],
        "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": grace})
    };
    save_policy!(app, admin, on(14));
    let (_, hd, _, _) = call!(app, authorize(&[("prompt", "none")]));
    assert!(query_of(&location(&hd)).contains_key("code"));
    let (_, _, log, _) = call!(app, with(&admin, get("/api/sign-ins?application=Wiki&user=bob")));
    let newest = &log["items"][0];
    assert!(
        newest["reason"]
            .as_str()
            .unwrap()
            .contains("MFA registration deferred to the next interactive sign-in (14 days to skip)"),
        "{newest}"
    );
    // No grace: registration is required now. prompt=none says so; otherwise a new sign-in.
    save_policy!(app, admin, on(0));
    let (_, hd, _, _) = call!(app, authorize(&[("prompt", "none")]));
    let q = query_of(&location(&hd));
    assert_eq!(q["error"], "interaction_required", "{q:?}");
    assert_eq!(q["iss"], ISSUER);
    let (_, hd, _, _) = call!(app, authorize(&[]));
    assert!(location(&hd).starts_with("/sign-in?flow="));

    // Signing out ends both cookies.
    let (s, hd, _, _) = call!(app, post("/api/auth/sign-out", json!({})).insert_header(("cookie", sso.clone())));
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(set_cookie_line(&hd, "proofup_sso").contains("Max-Age=0"), "{}", set_cookie_line(&hd, "proofup_sso"));
}

#[actix_web::test]
async fn an_expired_sign_in_starts_over_and_hints_name_the_user() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");
    user_with_password!(app, admin, "carol");
    let (_, _, created, _) =
        call!(app, with(&admin, post("/api/applications", json!({"name": "Wiki", "redirect_uris": [CALLBACK]}))));
    let id = created["application"]["id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();

    // login_hint: the sign-in page starts from the username the application suggested.
    let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[("login_hint", "bob"), ("nonce", "n-7")])));
    let flow_cookie = cookie_named(&hd, "proofup_flow").unwrap();
    let (resume, flow) = resume_and_flow(&hd);
    let (s, _, info, _) =
        call!(app, get(&format!("/oauth2/flow/{flow}")).insert_header(("cookie", flow_cookie.clone())));
    assert_eq!((s, info["login_hint"].as_str()), (StatusCode::OK, Some("bob")), "{info}");

    // 16 minutes later the flow no longer waits; its browser is offered the same request again.
    h.clock.advance(time::Duration::minutes(16));
    let (s, _, info, _) =
        call!(app, get(&format!("/oauth2/flow/{flow}")).insert_header(("cookie", flow_cookie.clone())));
    assert_eq!(s, StatusCode::GONE, "{info}");
    let restart = info["restart"].as_str().unwrap().to_owned();
    let (s, hd, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW})));
    assert_eq!(s, StatusCode::OK);
    let sso = cookie_named(&hd, "proofup_sso").unwrap();
    let (s, _, _, page) = call!(app, get(&resume).insert_header(("cookie", format!("{sso}; {flow_cookie}"))));
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8_lossy(&page).into_owned();
    assert!(page.contains("This sign-in took too long") && page.contains("Start again"), "{page}");
    assert!(page.contains(&restart.replace('&', "&amp;")), "the page links the restart: {page}");
    let q = query_of(&restart);
    assert_eq!((q["client_id"].as_str(), q["state"].as_str(), q["nonce"].as_str()), (id.as_str(), "s-123", "n-7"));
    assert_eq!(q["code_challenge_method"], "S256");
    // Following it (now with a session): the code, for the same state, at once.
    let (s, hd, _, _) = call!(app, get(&restart).insert_header(("cookie", sso.clone())));
    assert_eq!(s, StatusCode::SEE_OTHER);
    let back = query_of(&location(&hd));
    assert_eq!(back["state"], "s-123", "{back:?}");
    assert!(back.contains_key("code"));
    // Another browser gets no restart, only the error page.
    let (s, _, _, page) = call!(app, get(&resume));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!String::from_utf8_lossy(&page).contains("Start again"));

    // id_token_hint for carol while bob is signed in here: not bob's session to use.
    let code = back["code"].clone();
    let (_, _, t, _) = call!(
        app,
        TestRequest::post()
            .uri("/oauth2/token")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&client_id={id}&client_secret={secret}",
                proofup::domain::oidc::authorize::encode(CALLBACK)
            ))
    );
    let bobs_token = t["id_token"].as_str().unwrap().to_owned();
    let (_, hd, _, _) = call!(
        app,
        get(&authorize_path(&id, &[("prompt", "none"), ("id_token_hint", &bobs_token)]))
            .insert_header(("cookie", sso.clone()))
    );
    assert!(query_of(&location(&hd)).contains_key("code"), "the hinted user is the one signed in");
    let (_, hd, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "carol", "password": PW})));
    let carol_sso = cookie_named(&hd, "proofup_sso").unwrap();
    let (_, hd, _, _) = call!(
        app,
        get(&authorize_path(&id, &[("prompt", "none"), ("id_token_hint", &bobs_token)]))
            .insert_header(("cookie", carol_sso))
    );
    assert_eq!(query_of(&location(&hd))["error"], "login_required", "the hint names bob, carol is signed in");
}

/// Issue 27 item 4: at the registration interrupt inside an application's sign-in, Cancel goes
/// back to the application with `access_denied` and its `state`; the flow is over (it cannot be
/// resumed afterwards), another browser cannot cancel it, and the sign-in log says so.
#[actix_web::test]
async fn cancel_at_the_interrupt_returns_access_denied_to_the_application() {
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (_, _, created, _) = call!(
        app,
        with(
            &admin,
            post("/api/applications", json!({"name": "Wiki", "redirect_uris": [CALLBACK], "require_mfa": true}))
        )
    );
    let id = created["application"]["id"].as_str().unwrap().to_owned();
    user_with_password!(app, admin, "bob");
    let (_, hd, _, _) = call!(app, get(&authorize_path(&id, &[])));
    let flow_cookie = cookie_named(&hd, "proofup_flow").unwrap();
    let (resume, flow) = resume_and_flow(&hd);
    // Bob signs in for the application and is held at the interrupt (it requires MFA).
    let (s, hd, body, _) = call!(
        app,
        post("/api/auth/sign-in", json!({"username": "bob", "password": PW, "flow": flow}))
            .insert_header(("cookie", flow_cookie.clone()))
    );
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["me"]["next_step"]["step"], "register_mfa", "{body}");
    let bob = session_cookie(&hd).unwrap();
    let cancel = format!("/oauth2/authorize/cancel?flow={flow}");
    // Not from another browser (no flow cookie): an error page, the flow stays.
    let (s, _, _, _) = call!(app, get(&cancel).insert_header(("cookie", bob.clone())));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, hd, _, _) = call!(app, get(&cancel).insert_header(("cookie", format!("{bob}; {flow_cookie}"))));
    assert_eq!(s, StatusCode::SEE_OTHER);
    let back = location(&hd);
    assert!(back.starts_with(CALLBACK), "{back}");
    let q = query_of(&back);
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str(), q["iss"].as_str()),
        ("access_denied", "s-123", ISSUER),
        "{back}"
    );
    // The flow is over.
    let (s, _, _, _) = call!(app, get(&resume).insert_header(("cookie", format!("{bob}; {flow_cookie}"))));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, _, log, _) = call!(app, with(&admin, get("/api/sign-ins?application=Wiki")));
    assert!(log["items"][0]["reason"].as_str().unwrap().contains("Cancelled by the user"), "{log}");
}
