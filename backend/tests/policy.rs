//! Authenticator apps and the MFA registration policy through the real API:
//! the policy governs real sign-ins (interrupt, skip, grace, required registration).
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use proofup::domain::totp;
use serde_json::json;
use time::Duration;

#[actix_web::test]
async fn the_policy_interrupts_skips_during_grace_then_requires_registration() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let bob = user_with_password!(app, admin, "bob");
    let carol = user_with_password!(app, admin, "carol");
    let eng = group!(app, admin, "Engineering");
    let staff = group!(app, admin, "Staff");
    let contractors = group!(app, admin, "Contractors");
    add!(app, admin, eng, "user", bob);
    add!(app, admin, staff, "group", eng);
    add!(app, admin, contractors, "user", carol);
    add!(app, admin, staff, "user", carol);

    // Before any policy, bob signs in straight through.
    let (_, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["step"], "done");

    // Validation: On without the control; grace out of range; unknown group; stale version.
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            put(
                "/api/policy",
                json!({"based_on_version": 0, "policy": {"enforcement": "on", "include_all": true, "require_registration": false, "grace_days": 91}})
            )
        )
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["require_registration", "grace_days"]);
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            put(
                "/api/policy",
                json!({"based_on_version": 0, "policy": {"enforcement": "on", "include_all": false, "include_groups": ["nope"], "require_registration": true, "grace_days": 14}})
            )
        )
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Report-only: evaluated and logged, never interrupts, starts no clock.
    let policy = json!({"enforcement": "report_only", "include_all": false, "include_groups": [staff], "exclude_groups": [contractors], "require_registration": true, "grace_days": 14});
    let saved = save_policy!(app, admin, policy);
    assert_eq!(saved["saved"]["version"], 1);
    let (_, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["step"], "done");
    let log = h.store.list_sign_ins(None, 1).unwrap().items;
    assert!(log[0].reason.contains("Report-only: MFA registration would be prompted"), "{}", log[0].reason);
    let (_, _, report, _) = call!(app, with(&admin, get("/api/reports/registration?status=not_yet_prompted")));
    assert_eq!(report["items"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["items"][0]["username"], "bob");

    // A stale save is refused.
    let (s, _, body, _) =
        call!(app, with(&admin, put("/api/policy", json!({"policy": policy, "based_on_version": 0}))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");

    // On: warnings (no emergency-access account), history with the change.
    let mut on = policy.clone();
    on["enforcement"] = json!("on");
    let saved = save_policy!(app, admin, on);
    assert_eq!(saved["saved"]["version"], 2);
    assert_eq!(saved["saved"]["changes"][0]["field"], "enforcement");
    assert_eq!(saved["saved"]["changes"][0]["after"], "On");
    assert!(
        saved["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("emergency-access")),
        "{saved}"
    );
    let (_, _, versions, _) = call!(app, with(&admin, get("/api/policy/versions")));
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert_eq!(versions[0]["saved_by"], ADMIN);

    // What if: bob is in via the nested path; carol is excluded via Contractors.
    let (_, _, w, _) = call!(app, with(&admin, post("/api/policy/what-if", json!({"user_id": bob}))));
    assert_eq!(w["decision"]["outcome"], "prompt", "{w}");
    assert_eq!(w["explanation"][0], "Included: member of Staff via Engineering → Staff.");
    assert_eq!(w["interrupts"], true);
    let (_, _, w, _) = call!(app, with(&admin, post("/api/policy/what-if", json!({"user_id": carol}))));
    assert_eq!(w["decision"]["reason"], "Excluded: member of Contractors.", "{w}");
    let (_, _, imp, _) = call!(app, with(&admin, post("/api/policy/impact", json!({"policy": on}))));
    assert_eq!(imp["impact"]["in_scope"], 1, "{imp}");
    assert_eq!(imp["impact"]["excluded"], 1);
    assert_eq!(imp["impact"]["not_included"], 1, "the admin");

    // Bob is interrupted: only registration, skip or sign-out work.
    let (bob_c, me) = sign_in!(app, "bob", PW);
    assert_eq!(
        me["me"]["next_step"],
        json!({"step": "register_mfa", "can_skip": true, "days_left": 14, "deadline": "2026-12-12T09:00:00Z", "network_blocked": false})
    );
    let (s, _, body, _) = call!(app, with(&bob_c, get("/api/me/methods")));
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "registration_required");
    let (_, _, me, _) = call!(app, with(&bob_c, get("/api/auth/me")));
    assert_eq!(me["next_step"]["days_left"], 14);
    // Carol (excluded) and the admin (not included) are not.
    let (_, me) = sign_in!(app, "carol", PW);
    assert_eq!(me["me"]["next_step"]["step"], "done");

    // Skip: completes sign-in with a new session id; the old cookie is dead.
    let (s, hd, body, _) = call!(app, with(&bob_c, post("/api/auth/skip-registration", json!({}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    let full = session_cookie(&hd).unwrap();
    assert_ne!(full, bob_c);
    let (s, _, _, _) = call!(app, with(&full, get("/api/me/methods")));
    assert_eq!(s, StatusCode::OK);
    let (s, _, _, _) = call!(app, with(&bob_c, get("/api/auth/me")));
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Ten days later: 4 days left, counted from the first prompt.
    h.clock.advance(Duration::days(10));
    let (_, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["days_left"], 4);

    // At the deadline: no skip.
    h.clock.advance(Duration::days(4));
    let (bob_c, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["can_skip"], false);
    let (s, _, body, _) = call!(app, with(&bob_c, post("/api/auth/skip-registration", json!({}))));
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "registration_required");
    let (admin, _) = sign_in!(app, ADMIN, ADMIN_PASSWORD); // the old session outlived its 12 hours
    let (_, _, report, _) = call!(app, with(&admin, get("/api/reports/registration?status=required")));
    assert_eq!(report["items"][0]["skips"], 1, "{report}");

    // Register an authenticator app from the interrupt.
    let (s, hd, setup, _) = call!(app, with(&bob_c, post("/api/me/methods/totp", json!({}))));
    assert_eq!(s, StatusCode::OK, "{setup}");
    assert_eq!(hd.get("cache-control").unwrap(), "no-store");
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Proofup:bob?secret=")
            && uri.ends_with("&issuer=Proofup&algorithm=SHA1&digits=6&period=30"),
        "{uri}"
    );
    assert!(setup["qr_svg"].as_str().unwrap().starts_with("<?xml"));
    let secret = secret_of(&setup);
    assert_eq!(secret.len(), 20);
    let (s, _, body, _) =
        call!(app, with(&bob_c, post("/api/me/methods/totp/confirm", json!({"name": "Phone", "code": "000000"}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "invalid_code");
    let first = code(&secret, &h, 0);
    let (s, hd, body, _) =
        call!(app, with(&bob_c, post("/api/me/methods/totp/confirm", json!({"name": "Phone", "code": first}))));
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["next_step"]["step"], "done");
    let full = session_cookie(&hd).unwrap();
    let (_, _, methods, _) = call!(app, with(&full, get("/api/me/methods")));
    assert_eq!(methods[0]["name"], "Phone");
    assert_eq!(methods[0]["kind"], "authenticator_app");

    // The raw secret is nowhere in the store's files.
    h.store.flush().unwrap();
    let b32 = totp::base32(&secret);
    for entry in walk(h.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!contains(&bytes, b32.as_bytes()), "base32 secret in {}", entry.display());
        assert!(!contains(&bytes, &secret), "raw secret in {}", entry.display());
    }

    // Next sign-in: the second step. The code used at registration is a replay.
    let (c2, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["step"], "second_factor");
    let (s, _, body, _) = call!(app, with(&c2, get("/api/users")));
    assert_eq!((s, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("second_factor_required")));
    let (s, _, body, _) = call!(app, with(&c2, post("/api/auth/second-factor", json!({"code": first}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("already used"), "{body}");
    h.clock.advance(Duration::seconds(30));
    let (s, hd, body, _) =
        call!(app, with(&c2, post("/api/auth/second-factor", json!({"code": code(&secret, &h, 0)}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["next_step"]["step"], "done");
    let bob_full = session_cookie(&hd).unwrap();

    // Removing the only method is refused while the policy requires one.
    let mid = methods[0]["id"].as_str().unwrap();
    let (s, _, body, _) = call!(app, with(&bob_full, delete(&format!("/api/me/methods/{mid}"))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");

    // Admin view and "require re-registration": methods gone, sessions ended, prompted again (required at once:
    // the grace period counted from the first prompt is over).
    let (_, _, ms, _) = call!(app, with(&admin, get(&format!("/api/users/{bob}/methods"))));
    assert_eq!(ms.as_array().unwrap().len(), 1);
    assert!(ms[0].get("sealed_secret").is_none());
    let (s, _, _, _) = call!(app, with(&admin, post(&format!("/api/users/{bob}/require-reregistration"), json!({}))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _, _) = call!(app, with(&bob_full, get("/api/auth/me")));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["can_skip"], false);

    // An operator-style extension (reason required) gives a skip back; ending it takes it away.
    let (s, _, body, _) =
        call!(app, with(&admin, post(&format!("/api/users/{bob}/grace"), json!({"extend_days": 3, "reason": ""}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _, _, _) = call!(
        app,
        with(
            &admin,
            post(&format!("/api/users/{bob}/grace"), json!({"extend_days": 3, "reason": "Travelling without phone"}))
        )
    );
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["days_left"], 3);
    let (s, _, _, _) =
        call!(app, with(&admin, post(&format!("/api/users/{bob}/grace"), json!({"end_now": true, "reason": "Back"}))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, me) = sign_in!(app, "bob", PW);
    assert_eq!(me["me"]["next_step"]["can_skip"], false);

    // Emergency-access accounts are never interrupted, even when included by name.
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post(&format!("/api/users/{carol}"), json!({"emergency_access": true}))
                .method(actix_web::http::Method::PATCH)
        )
    );
    assert_eq!(s, StatusCode::OK, "{body}");
    let mut p = on.clone();
    p["include_users"] = json!([carol]);
    p["exclude_groups"] = json!([]);
    save_policy!(app, admin, p);
    let (_, me) = sign_in!(app, "carol", PW);
    assert_eq!(me["me"]["next_step"]["step"], "done");
    let log = h.store.list_sign_ins(None, 1).unwrap().items;
    assert_eq!(
        log[0].reason,
        "Password; MFA registration policy: not applied (Emergency-access account: always excluded); emergency-access account (alert raised)"
    );
    let (_, _, w, _) = call!(app, with(&admin, post("/api/policy/what-if", json!({"user_id": carol}))));
    assert_eq!(w["decision"]["reason"], "Emergency-access account: always excluded.");

    // The Overview shows the critical alert until someone acknowledges it, and the registration figures.
    let (s, _, o, _) = call!(app, with(&admin, get("/api/overview")));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(o["alerts"].as_array().unwrap().len(), 1, "{o}");
    assert_eq!(o["alerts"][0]["username"], "carol");
    assert_eq!(o["emergency_accounts"], 1);
    assert_eq!(o["enforcement"], "on");
    assert_eq!(o["registration"]["forced"], 1, "bob: {o}");
    assert_eq!(o["registration"]["excluded"], 1, "carol");
    let alert = o["alerts"][0]["id"].as_str().unwrap().to_owned();
    let (bob_c, _) = sign_in!(app, "bob", PW);
    let (s, _, _, _) = call!(app, with(&bob_c, post(&format!("/api/alerts/{alert}/acknowledge"), json!({}))));
    assert_eq!(s, StatusCode::FORBIDDEN, "a session still registering cannot");
    let (s, _, _, _) = call!(app, with(&admin, post(&format!("/api/alerts/{alert}/acknowledge"), json!({}))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _, _) = call!(app, with(&admin, post("/api/alerts/ffff/acknowledge", json!({}))));
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, _, o, _) = call!(app, with(&admin, get("/api/overview")));
    assert!(o["alerts"].as_array().unwrap().is_empty());

    // CSV export.
    let (s, hd, _, csv) = call!(app, with(&admin, get("/api/reports/registration?format=csv")));
    assert_eq!(s, StatusCode::OK);
    assert!(hd.get("content-type").unwrap().to_str().unwrap().starts_with("text/csv"));
    let csv = String::from_utf8(csv.to_vec()).unwrap();
    assert!(csv.lines().next().unwrap().starts_with("username,display_name,in_scope"));
    assert!(csv.lines().any(|l| l.starts_with("\"bob\",\"bob\",true,false,0,required,")), "{csv}");
    let (s, _, _, _) = call!(app, with(&admin, get("/api/reports/registration?status=bogus")));
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // A group named by the policy says so (the portal disables Delete) and cannot be deleted.
    let (_, _, detail, _) = call!(app, with(&admin, get(&format!("/api/groups/{staff}"))));
    assert_eq!(detail["named_by_policy"], json!(true), "{detail}");
    let (s, _, body, _) = call!(app, with(&admin, delete(&format!("/api/groups/{staff}"))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("Remove it from the policy first"), "{body}");
    let other = group!(app, admin, "Visitors");
    let (_, _, detail, _) = call!(app, with(&admin, get(&format!("/api/groups/{other}"))));
    assert_eq!(detail["named_by_policy"], json!(false), "{detail}");
}

#[actix_web::test]
async fn second_factor_codes_are_throttled_and_methods_need_recent_mfa() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "dave");
    let (c, _) = sign_in!(app, "dave", PW);
    // The first method needs only the password.
    let (_, _, setup, _) = call!(app, with(&c, post("/api/me/methods/totp", json!({}))));
    let secret = secret_of(&setup);
    let (s, hd, _, _) = call!(
        app,
        with(&c, post("/api/me/methods/totp/confirm", json!({"name": "Phone", "code": code(&secret, &h, 0)})))
    );
    assert_eq!(s, StatusCode::CREATED);
    let c = session_cookie(&hd).unwrap();
    // Within 10 minutes of proving it, a second method may be added; after, re-verification is needed.
    h.clock.advance(Duration::minutes(11));
    let (s, _, body, _) = call!(app, with(&c, post("/api/me/methods/totp", json!({}))));
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "reauthentication_required");
    let (s, hd, body, _) = call!(app, with(&c, post("/api/auth/reverify", json!({"code": code(&secret, &h, 0)}))));
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let c = session_cookie(&hd).unwrap();
    let (s, _, _, _) = call!(app, with(&c, post("/api/me/methods/totp", json!({}))));
    assert_eq!(s, StatusCode::OK);
    // No policy requires a method: the last one may be removed.
    let (_, _, ms, _) = call!(app, with(&c, get("/api/me/methods")));
    let (s, _, _, _) = call!(app, with(&c, delete(&format!("/api/me/methods/{}", ms[0]["id"].as_str().unwrap()))));
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Wrong second-factor codes count in the account throttle.
    let (_, _, setup, _) = call!(app, with(&c, post("/api/me/methods/totp", json!({}))));
    let secret = secret_of(&setup);
    h.clock.advance(Duration::seconds(30));
    let (s, _, _, _) = call!(
        app,
        with(&c, post("/api/me/methods/totp/confirm", json!({"name": "Phone 2", "code": code(&secret, &h, 0)})))
    );
    assert_eq!(s, StatusCode::CREATED);
    let (c2, me) = sign_in!(app, "dave", PW);
    assert_eq!(me["me"]["next_step"]["step"], "second_factor");
    for _ in 0..5 {
        let (s, _, _, _) = call!(app, with(&c2, post("/api/auth/second-factor", json!({"code": "000000"}))));
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Even the right code (next step) waits now.
    let (s, hd, body, _) =
        call!(app, with(&c2, post("/api/auth/second-factor", json!({"code": code(&secret, &h, 1)}))));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(hd.get("retry-after").unwrap(), "30");
    // A pending registration belongs to its session: another session has nothing to confirm.
    let (other, _) = sign_in!(app, ADMIN, ADMIN_PASSWORD);
    let (s, _, _, _) =
        call!(app, with(&other, post("/api/me/methods/totp/confirm", json!({"name": "x", "code": "123456"}))));
    assert_eq!(s, StatusCode::NOT_FOUND);
    let _ = h.store.list_sign_ins(None, 1);
}

#[actix_web::test]
async fn users_without_mfa_register_only_from_trusted_networks_unless_an_administrator_gave_a_pass() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");
    let outside = "192.0.2.50:40000".parse().unwrap();
    let office = "10.1.2.3:40000".parse().unwrap();
    let policy = |nets: serde_json::Value| {
        json!({"enforcement": "on", "include_all": true, "include_users": [], "include_groups": [],
        "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 14, "registration_networks": nets})
    };
    // A network that is not one is refused, and saves nothing.
    let (_, _, cur, _) = call!(app, with(&admin, get("/api/policy")));
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            put("/api/policy", json!({"policy": policy(json!(["10.0.0.0/33"])), "based_on_version": cur["version"]}))
        )
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("registration_networks"), "{body}");
    let saved = save_policy!(app, admin, policy(json!([" 10.0.0.0/8 ", "2001:db8::/32"])));
    assert!(saved.to_string().contains("registration_networks"), "the change is in the version: {saved}");
    let (_, _, cur, _) = call!(app, with(&admin, get("/api/policy")));
    assert_eq!(cur["policy"]["registration_networks"], json!(["10.0.0.0/8", "2001:db8::/32"]));

    let sign_in_from = |addr: std::net::SocketAddr| {
        post("/api/auth/sign-in", json!({"username": "bob", "password": PW})).peer_addr(addr)
    };
    // From outside: interrupted, may skip, may not register (whoever has only the password
    // cannot bind their own authenticator to bob's account from there).
    let (s, hd, body, _) = call!(app, sign_in_from(outside));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["me"]["next_step"]["step"], "register_mfa", "{body}");
    assert_eq!(body["me"]["next_step"]["network_blocked"], true, "{body}");
    let c = session_cookie(&hd).unwrap();
    let (s, _, body, _) = call!(app, with(&c, post("/api/me/methods/totp", json!({}))).peer_addr(outside));
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("organization's network"), "{body}");
    let (s, _, _, _) = call!(app, with(&c, post("/api/auth/skip-registration", json!({}))).peer_addr(outside));
    assert!(s.is_success(), "skipping is still allowed in the grace");

    // From the office: registers at the interrupt; the audit says so, and the Overview lists it.
    let (_, hd, body, _) = call!(app, sign_in_from(office));
    assert_eq!(body["me"]["next_step"]["network_blocked"], false, "{body}");
    let c = session_cookie(&hd).unwrap();
    let (s, _, setup, _) = call!(app, with(&c, post("/api/me/methods/totp", json!({}))).peer_addr(office));
    assert_eq!(s, StatusCode::OK, "{setup}");
    let key = secret_of(&setup);
    let (s, _, body, _) = call!(
        app,
        with(&c, post("/api/me/methods/totp/confirm", json!({"name": "Phone", "code": code(&key, &h, 0)})))
            .peer_addr(office)
    );
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (_, _, audit, _) = call!(app, with(&admin, get("/api/audit?action=mfa.method_added_at_interrupt")));
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["items"][0]["ip"], "10.1.2.3");
    let (_, _, overview, _) = call!(app, with(&admin, get("/api/overview")));
    let listed = overview["registered_at_interrupt"].as_array().unwrap();
    assert_eq!((listed.len(), listed[0]["target"].as_str()), (1, Some("bob")), "{overview}");

    // A temporary access pass is the administrator vouching: carol registers from outside.
    let (_, _, created, _) =
        call!(app, with(&admin, post("/api/users", json!({"username": "carol", "display_name": "Carol"}))));
    let pass = created["temporary_access_pass"]["code"].as_str().unwrap().to_owned();
    let (_, hd, _, _) =
        call!(app, post("/api/auth/sign-in", json!({"username": "carol", "password": pass})).peer_addr(outside));
    let c = session_cookie(&hd).unwrap();
    let (s, hd, body, _) =
        call!(app, with(&c, post("/api/auth/password", json!({"new_password": PW}))).peer_addr(outside));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["next_step"]["step"], "register_mfa", "{body}");
    assert_eq!(body["next_step"]["network_blocked"], false, "{body}");
    let c = session_cookie(&hd).unwrap();
    let (s, _, setup, _) = call!(app, with(&c, post("/api/me/methods/totp", json!({}))).peer_addr(outside));
    assert_eq!(s, StatusCode::OK, "{setup}");
    let key = secret_of(&setup);
    h.clock.advance(time::Duration::seconds(30));
    let (s, _, body, _) = call!(
        app,
        with(&c, post("/api/me/methods/totp/confirm", json!({"name": "Phone", "code": code(&key, &h, 0)})))
            .peer_addr(outside)
    );
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // Issue 27 item 4: the Overview's list says which had only a password behind them and which
    // an administrator's pass.
    let (_, _, overview, _) = call!(app, with(&admin, get("/api/overview")));
    let behind: Vec<(String, String)> = overview["registered_at_interrupt"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let with = e["changes"].as_array().unwrap().iter().find(|c| c["field"] == "signed_in_with").unwrap();
            (e["target"].as_str().unwrap().to_owned(), with["after"].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(behind.contains(&("bob".into(), "password only".into())), "{overview}");
    assert!(behind.contains(&("carol".into(), "temporary access pass".into())), "{overview}");
}
