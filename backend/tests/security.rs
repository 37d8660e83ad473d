//! What an outside probe found (issue 14), each against the real App and a real store: bursts of
//! guesses, a password changed before the second factor, sessions left signed in, emergency
//! alerts cleared by their own account, foreign Host and Origin headers, look-alike names and
//! unbounded logs.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service, read_body};
use common::*;
use futures_util::future::join_all;
use proofup::config::HttpConfig;
use serde_json::json;

/// Sends every request at once and returns (status, Retry-After present) for each.
macro_rules! burst {
    ($app:expr, $reqs:expr) => {{
        let futs = $reqs.into_iter().map(|r: actix_web::test::TestRequest| call_service(&$app, r.to_request()));
        let resps = join_all(futs).await;
        let mut out = Vec::new();
        for r in resps {
            let status = r.status();
            let retry = r.headers().contains_key("retry-after");
            let _ = read_body(r).await;
            out.push((status, retry));
        }
        out
    }};
}

fn generous_ip_limit() -> Harness {
    let mut config = HttpConfig::for_tests();
    config.sign_in_per_ip_per_minute = 10_000;
    Harness::with_config(config)
}

#[actix_web::test]
async fn a_burst_of_wrong_passwords_counts_every_guess() {
    let h = generous_ip_limit();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");

    let wrong: Vec<_> = (0..40)
        .map(|i| post("/api/auth/sign-in", json!({"username": "bob", "password": format!("wrong guess number {i}")})))
        .collect();
    let answers = burst!(app, wrong);
    let checked = answers.iter().filter(|(s, _)| *s == StatusCode::UNAUTHORIZED).count();
    let refused = answers.iter().filter(|(s, retry)| *s == StatusCode::TOO_MANY_REQUESTS && *retry).count();
    assert!(
        checked <= proofup::domain::throttle::FREE_FAILURES as usize,
        "{checked} guesses were checked: {answers:?}"
    );
    assert_eq!(checked + refused, 40, "every other guess is refused with Retry-After: {answers:?}");

    // The right password is refused while the delay lasts, and works after it.
    let (s, hd, body, _) = call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW})));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(hd.contains_key("retry-after"));
    h.clock.advance(time::Duration::seconds(31));
    sign_in!(app, "bob", PW);

    // 99 wrong and the right one in one burst: the right one does not get through.
    h.clock.advance(time::Duration::hours(2));
    let mut mixed: Vec<_> = (0..99)
        .map(|i| post("/api/auth/sign-in", json!({"username": "bob", "password": format!("guess {i} x")})))
        .collect();
    mixed.push(post("/api/auth/sign-in", json!({"username": "bob", "password": PW})));
    let answers = burst!(app, mixed);
    assert!(answers.iter().filter(|(s, _)| *s == StatusCode::OK).count() <= 1);
    let checked = answers.iter().filter(|(s, _)| *s != StatusCode::TOO_MANY_REQUESTS).count();
    assert!(checked <= proofup::domain::throttle::FREE_FAILURES as usize, "{answers:?}");
}

#[actix_web::test]
async fn a_burst_of_wrong_current_passwords_counts_every_guess() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");
    let (c, _) = sign_in!(app, "bob", PW);
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            with(
                &c,
                post(
                    "/api/auth/password",
                    json!({"current_password": format!("not it {i} at all"), "new_password": "a brand new passphrase 1"}),
                ),
            )
        })
        .collect();
    let answers = burst!(app, guesses);
    let checked = answers.iter().filter(|(s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY).count();
    let refused = answers.iter().filter(|(s, retry)| *s == StatusCode::TOO_MANY_REQUESTS && *retry).count();
    assert!(checked <= proofup::domain::throttle::FREE_FAILURES as usize, "{answers:?}");
    assert_eq!(checked + refused, 30, "{answers:?}");
    // The right current password is refused during the delay, like a sign-in.
    let (s, _, body, _) = call!(
        app,
        with(
            &c,
            post("/api/auth/password", json!({"current_password": PW, "new_password": "a brand new passphrase 1"}))
        )
    );
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (s, _, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": "bob", "password": PW})));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the same throttle as sign-in");
}

#[actix_web::test]
async fn concurrent_wrong_codes_count_one_each() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "dave");
    let (c, _) = sign_in!(app, "dave", PW);
    let (_, secret) = add_authenticator_app!(app, h, c);
    h.clock.advance(time::Duration::minutes(2));
    let (c, body) = sign_in!(app, "dave", PW);
    assert_eq!(body["me"]["next_step"]["step"], "second_factor", "{body}");
    let right = code(&secret, &h, 0);
    let wrong_code = if right == "000000" { "111111" } else { "000000" };
    let guesses: Vec<_> =
        (0..20).map(|_| with(&c, post("/api/auth/second-factor", json!({"code": wrong_code})))).collect();
    let answers = burst!(app, guesses);
    let checked = answers.iter().filter(|(s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY).count();
    assert!(checked <= proofup::domain::throttle::FREE_FAILURES as usize, "{answers:?}");
    let (s, _, _, _) = call!(app, with(&c, post("/api/auth/second-factor", json!({"code": right}))));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the right code waits out the delay too");
}

/// The code step reads ahead and writes once, gated on the code's time step: the same right code
/// sent to two sign-ins at once signs in one of them; the other is refused as a replay (audited,
/// logged as a failure, its attempt counted) and still waits for a code.
#[actix_web::test]
async fn one_code_sent_to_two_sign_ins_at_once_signs_in_one_and_the_replay_is_audited() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "erin");
    let (c, _) = sign_in!(app, "erin", PW);
    let (_, secret) = add_authenticator_app!(app, h, c);
    h.clock.advance(time::Duration::minutes(2));
    let (a, _) = sign_in!(app, "erin", PW);
    let (b, body) = sign_in!(app, "erin", PW);
    assert_eq!(body["me"]["next_step"]["step"], "second_factor", "{body}");
    let right = code(&secret, &h, 0);
    let answers =
        burst!(app, [&a, &b].map(|c| with(c, post("/api/auth/second-factor", json!({"code": right.clone()})))));
    let mut statuses: Vec<_> = answers.iter().map(|(s, _)| s.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 422], "{answers:?}");
    let (_, _, page, _) = call!(app, with(&admin, get("/api/audit?action=mfa.totp_replay")));
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    let (_, _, page, _) = call!(app, with(&admin, get("/api/sign-ins?user=erin")));
    let reasons: Vec<_> = page["items"].as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons.iter().filter(|r| r.starts_with("Second factor: wrong or reused code")).count(),
        1,
        "{reasons:?}"
    );
    assert_eq!(reasons.iter().filter(|r| r.starts_with("Authenticator app")).count(), 1, "{reasons:?}");
    // The refused one waits for the next code, which signs it in.
    let waiting = if answers[0].0 == StatusCode::OK { &b } else { &a };
    let (s, _, me, _) = call!(app, with(waiting, get("/api/auth/me")));
    assert_eq!((s, me["next_step"]["step"].as_str()), (StatusCode::OK, Some("second_factor")), "{me}");
    let (s, _, body, _) =
        call!(app, with(waiting, post("/api/auth/second-factor", json!({"code": code(&secret, &h, 1)}))));
    assert_eq!(s, StatusCode::OK, "{body}");
}

#[actix_web::test]
async fn the_password_cannot_be_changed_before_sign_in_is_complete() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    // Carol has an authenticator app: after the password she is at the second step.
    user_with_password!(app, admin, "carol");
    let (c, _) = sign_in!(app, "carol", PW);
    add_authenticator_app!(app, h, c);
    let (half, body) = sign_in!(app, "carol", PW);
    assert_eq!(body["me"]["next_step"]["step"], "second_factor");
    for req in [
        json!({"new_password": "taken over by the attacker"}),
        json!({"current_password": PW, "new_password": "taken over by the attacker"}),
    ] {
        let (s, _, body, _) = call!(app, with(&half, post("/api/auth/password", req)));
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "second_factor_required", "{body}");
    }
    sign_in!(app, "carol", PW); // the password still works

    // Bob is forced to register (grace 0): his session waits at the interrupt.
    user_with_password!(app, admin, "bob");
    save_policy!(
        app,
        admin,
        json!({"enforcement": "on", "include_all": true, "include_users": [], "include_groups": [],
               "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 0})
    );
    let (held, body) = sign_in!(app, "bob", PW);
    assert_eq!(body["me"]["next_step"]["step"], "register_mfa", "{body}");
    assert_eq!(body["me"]["next_step"]["can_skip"], false, "{body}");
    let (s, _, body, _) =
        call!(app, with(&held, post("/api/auth/password", json!({"new_password": "taken over by the attacker"}))));
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "registration_required", "{body}");
    sign_in!(app, "bob", PW);
}

#[actix_web::test]
async fn changing_the_password_ends_every_other_session_and_users_manage_their_own() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "bob");
    // (bob's first session, from choosing his password, is still live too.)
    let (laptop, _) = sign_in!(app, "bob", PW);
    h.clock.advance(time::Duration::seconds(1));
    let (phone, _) = sign_in!(app, "bob", PW);
    h.clock.advance(time::Duration::seconds(1));
    let (tablet, _) = sign_in!(app, "bob", PW);

    // Bob sees his sessions, this one marked, and signs the tablet out.
    let (s, _, list, _) = call!(app, with(&laptop, get("/api/me/sessions")));
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 4, "{list:?}");
    assert_eq!(list.iter().filter(|v| v["current"] == true).count(), 1);
    for v in &list {
        let id = v["id"].as_str().unwrap();
        assert_eq!(id.len(), 32);
        assert!(!laptop.contains(id) && !phone.contains(id) && !tablet.contains(id), "the id is not the cookie");
    }
    let current = list.iter().find(|v| v["current"] == true).unwrap()["id"].as_str().unwrap().to_owned();
    let (s, _, body, _) = call!(app, with(&laptop, delete(&format!("/api/me/sessions/{current}"))));
    assert_eq!(s, StatusCode::CONFLICT, "this session is ended by signing out: {body}");
    let (s, _, _, _) = call!(app, with(&laptop, delete("/api/me/sessions/0123456789abcdef0123456789abcdef")));
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Whose session it is matters: the admin cannot end bob's through their own list.
    let newest = list[0]["id"].as_str().unwrap().to_owned();
    let (s, _, _, _) = call!(app, with(&admin, delete(&format!("/api/me/sessions/{newest}"))));
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _, _) = call!(app, with(&laptop, delete(&format!("/api/me/sessions/{newest}"))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _, _) = call!(app, with(&tablet, get("/api/auth/me")));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the newest session (the tablet) ended");
    let (s, _, _, _) = call!(app, with(&phone, get("/api/auth/me")));
    assert_eq!(s, StatusCode::OK);

    // "Sign out everywhere else".
    let (tablet, _) = sign_in!(app, "bob", PW);
    let (s, _, body, _) = call!(app, with(&laptop, post("/api/me/sessions/sign-out-others", json!({}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["ended"], 3);
    for c in [&phone, &tablet] {
        let (s, _, _, _) = call!(app, with(c, get("/api/auth/me")));
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _, _, _) = call!(app, with(&laptop, get("/api/auth/me")));
    assert_eq!(s, StatusCode::OK, "the session that asked stays");

    // A password change ends every other session; the one that changed it continues under a new id.
    let (phone, _) = sign_in!(app, "bob", PW);
    let (s, hd, body, _) = call!(
        app,
        with(
            &laptop,
            post("/api/auth/password", json!({"current_password": PW, "new_password": "a brand new passphrase 1"}))
        )
    );
    assert_eq!(s, StatusCode::OK, "{body}");
    let fresh = session_cookie(&hd).unwrap();
    for c in [&phone, &laptop] {
        let (s, _, _, _) = call!(app, with(c, get("/api/auth/me")));
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (_, _, list, _) = call!(app, with(&fresh, get("/api/me/sessions")));
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    let (_, _, audit, _) = call!(app, with(&admin, get("/api/audit?action=session.")));
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"session.ended") && actions.contains(&"session.signed_out_elsewhere"), "{actions:?}");
}

#[actix_web::test]
async fn an_emergency_account_cannot_clear_the_alert_about_itself() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(
        app,
        admin,
        "breakglass",
        json!({"username": "breakglass", "display_name": "Break glass", "role": "global_administrator", "emergency_access": true})
    );
    let (bg, _) = sign_in!(app, "breakglass", PW);
    let (_, _, overview, _) = call!(app, with(&bg, get("/api/overview")));
    let alerts = overview["alerts"].as_array().unwrap();
    assert!(!alerts.is_empty(), "{overview}");
    let id = alerts[0]["id"].as_str().unwrap().to_owned();
    let (s, _, body, _) = call!(app, with(&bg, post(&format!("/api/alerts/{id}/acknowledge"), json!({}))));
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("another administrator"), "{body}");
    let (_, _, overview, _) = call!(app, with(&admin, get("/api/overview")));
    assert!(overview["alerts"].as_array().unwrap().iter().any(|a| a["id"] == id.as_str()), "still open for everyone");

    let (s, _, _, _) = call!(app, with(&admin, post(&format!("/api/alerts/{id}/acknowledge"), json!({}))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, audit, _) = call!(app, with(&admin, get("/api/audit?action=alert.acknowledged")));
    let entry = &audit["items"][0];
    assert_eq!(entry["actor"], ADMIN);
    assert!(entry["target"].as_str().unwrap().contains("breakglass"), "{entry}");
    assert!(entry["changes"][0]["after"].as_str().unwrap().contains("breakglass at "), "{entry}");
}

/// (status, JSON body) of one request.
macro_rules! answer {
    ($app:expr, $req:expr $(,)?) => {{
        let (s, _, body, _) = call!($app, $req);
        (s, body)
    }};
}

#[actix_web::test]
async fn only_the_public_url_is_trusted_as_host_and_origin() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let create = |name: &str| with(&admin, post("/api/groups", json!({"name": name, "description": ""})));

    // DNS rebinding: the attacker's name, pointed at us, with a matching Origin.
    let (s, body) = answer!(
        app,
        create("Rebound").insert_header(("host", "evil.example")).insert_header(("origin", "http://evil.example")),
    );
    assert_eq!(s, StatusCode::MISDIRECTED_REQUEST, "{body}");
    let (s, _) = answer!(app, get("/api/auth/me").insert_header(("host", "evil.example")));
    assert_eq!(s, StatusCode::MISDIRECTED_REQUEST, "reads too");
    let (s, _) = answer!(app, get("/").insert_header(("host", "evil.example:8080")));
    assert_eq!(s, StatusCode::MISDIRECTED_REQUEST, "the portal too");
    // Forwarded host headers from a peer that is not a trusted proxy are not believed.
    for (name, value) in [("x-forwarded-host", "evil.example"), ("forwarded", "host=evil.example;proto=http")] {
        let (s, body) = answer!(
            app,
            create("Forwarded")
                .insert_header(("host", "localhost:8080"))
                .insert_header((name, value))
                .insert_header(("origin", "http://evil.example")),
        );
        assert_eq!(s, StatusCode::FORBIDDEN, "{name}: {body}");
        assert_eq!(body["error"], "cross_site_request");
    }
    // Probes answer by address; the right host works.
    let (s, _) = answer!(app, get("/healthz").insert_header(("host", "10.1.2.3:8080")));
    assert_eq!(s, StatusCode::OK);
    let (s, body) = answer!(app, create("Staff").insert_header(("host", "LOCALHOST:8080")));
    assert_eq!(s, StatusCode::CREATED, "{body}");

    // Behind a trusted proxy its X-Forwarded-Host is what the browser asked for.
    let mut config = HttpConfig::for_tests();
    config.trusted_proxies = vec!["192.0.2.10/32".parse().unwrap()];
    let hp = Harness::with_config(config);
    let app = init_service(proofup::http::app(hp.state.clone())).await;
    let (s, _) = answer!(
        app,
        get("/api/setup/status")
            .insert_header(("host", "127.0.0.1:8080"))
            .insert_header(("x-forwarded-host", "localhost:8080")),
    );
    assert_eq!(s, StatusCode::OK);
    let (s, _) = answer!(
        app,
        get("/api/setup/status")
            .insert_header(("host", "localhost:8080"))
            .insert_header(("x-forwarded-host", "evil.example")),
    );
    assert_eq!(s, StatusCode::MISDIRECTED_REQUEST);
}

/// Issue 26 item 9: a proxy that appends `ip:port` (or `[v6]:port`) names the client; a hop that
/// cannot be read stops the walk at the proxy, never at the client-written entry to its left;
/// `--trusted-proxies` takes ranges. The sign-in log (and every limit) keys on that address.
#[actix_web::test]
async fn the_client_address_behind_proxies_is_the_last_hop_a_trusted_proxy_vouches_for() {
    let mut config = HttpConfig::for_tests();
    config.trusted_proxies = vec![proofup::config::parse_proxy("10.20.0.0/16").unwrap()];
    let h = Harness::with_config(config);
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let cases = [
        ("10.20.1.1:4000", "6.6.6.6, 203.0.113.7:51234", "203.0.113.7"),
        ("10.20.1.1:4000", "6.6.6.6, [2001:db8::7]:443, 10.20.9.9", "2001:db8::7"),
        ("10.20.1.1:4000", "6.6.6.6, garbage", "10.20.1.1"),
        ("192.0.2.50:4000", "203.0.113.8", "192.0.2.50"),
    ];
    for (i, (peer, xff, want)) in cases.iter().enumerate() {
        let user = format!("nobody{i}");
        let (s, _) = answer!(
            app,
            post("/api/auth/sign-in", json!({"username": user, "password": "whatever it is, long"}))
                .peer_addr(peer.parse().unwrap())
                .insert_header(("x-forwarded-for", *xff)),
        );
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let page = h.store.list_sign_ins(None, 1).unwrap();
        assert_eq!(page.items[0].username, user);
        assert_eq!(page.items[0].ip, *want, "peer {peer}, X-Forwarded-For {xff}");
    }
}

#[actix_web::test]
async fn look_alike_group_names_are_refused() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let (s, _, _, _) = call!(app, with(&admin, post("/api/groups", json!({"name": "Admins", "description": ""}))));
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, body, _) =
        call!(app, with(&admin, post("/api/groups", json!({"name": "\u{0410}dmins", "description": ""}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "name");
    assert!(body["fields"][0]["message"].as_str().unwrap().contains("scripts"), "{body}");
    let (s, _, _, _) =
        call!(app, with(&admin, post("/api/groups", json!({"name": "Администраторы", "description": ""}))));
    assert_eq!(s, StatusCode::CREATED, "a name in one script is fine");
    // Usernames are ASCII only, so they have no look-alikes.
    let (s, _, _, _) =
        call!(app, with(&admin, post("/api/users", json!({"username": "\u{0430}da", "display_name": "Fake"}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // The CSV import applies the same rule.
    let csv = "kind,name,display_name,email,role,emergency_access,member_of\ngroup,P\u{0430}yroll,,,,,\n";
    let (s, _, body, _) = call!(app, with(&admin, post("/api/directory/import", json!({"csv": csv}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[actix_web::test]
async fn refused_sign_ins_are_kept_small_and_logs_have_a_retention() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    setup!(h, app);
    let huge = "x".repeat(20_000);
    let (s, _, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": huge, "password": "whatever it is"})));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let key = proofup::domain::throttle::key(&huge);
    assert!(key.len() <= 65);
    assert_eq!(h.store.throttle(&key).unwrap().consecutive_failures, 1, "counted under the short key");
    assert_eq!(h.store.throttle(&huge).unwrap().consecutive_failures, 0, "the long name is not a key");
    let page = h.store.list_sign_ins(None, 1).unwrap();
    assert!(page.items[0].username.chars().count() <= 128);

    // Retention: entries older than the window go, then the oldest beyond the cap.
    let now = proofup::domain::clock::Clock::now(h.clock.as_ref());
    for days_ago in [200, 120, 95, 30, 10, 1] {
        h.store
            .append_sign_in(proofup::domain::records::SignInRecord {
                id: String::new(),
                at: now - time::Duration::days(days_ago),
                username: format!("old-{days_ago}"),
                user_id: None,
                result: proofup_shared::api::SignInResult::Failure,
                reason: "Wrong password".into(),
                ip: "192.0.2.1".into(),
                user_agent: String::new(),
                interactive: true,
                application: None,
                count: 1,
                outcomes: Vec::new(),
                place: None,
            })
            .unwrap();
    }
    let before = h.store.count_sign_ins().unwrap();
    let retention = proofup::service::jobs::Retention { days: 90, max_rows: 1_000_000 };
    let removed = h.state.core.prune_logs(retention).unwrap();
    assert!(removed >= 3, "{removed}");
    assert_eq!(h.store.count_sign_ins().unwrap(), before - 3);
    let names: Vec<String> = h.store.list_sign_ins(None, 100).unwrap().items.into_iter().map(|e| e.username).collect();
    assert!(!names.iter().any(|n| n == "old-95" || n == "old-120" || n == "old-200"), "{names:?}");
    assert!(names.iter().any(|n| n == "old-30"));
    let removed = h.state.core.prune_logs(proofup::service::jobs::Retention { days: 90, max_rows: 2 }).unwrap();
    assert!(removed > 0);
    let left: Vec<String> = h.store.list_sign_ins(None, 100).unwrap().items.into_iter().map(|e| e.username).collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.iter().any(|n| n == "old-30" || n == "old-10"), "the oldest went first: {left:?}");
}

/// Issue 26 items 2 and 3: HEAD answers with GET's status and headers on every GET route (not the
/// portal's page); a method a path does not have is 405 with `Allow` (not the portal, not a 404);
/// the OAuth endpoints a browser application calls answer CORS preflights, and the portal's own
/// API still answers no CORS header at all.
#[actix_web::test]
async fn head_wrong_methods_and_preflights_answer_as_http_says() {
    use actix_web::http::Method;
    use actix_web::test::TestRequest;
    let h = Harness::new();
    h.state.core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let head = |path: &str| TestRequest::default().method(Method::HEAD).uri(path);
    for path in [
        "/.well-known/openid-configuration",
        "/oauth2/jwks",
        "/healthz",
        "/readyz",
        "/api/setup/status",
        "/api/users",
        "/",
        "/users/new",
    ] {
        let (sg, hg, _, _) = call!(app, with(&admin, get(path)));
        let (sh, hh, _, _) = call!(app, with(&admin, head(path)));
        assert_eq!(sh, sg, "HEAD {path}");
        for name in ["content-type", "cache-control", "access-control-allow-origin"] {
            assert_eq!(hh.get(name), hg.get(name), "HEAD {path}: {name}");
        }
    }
    let (_, hd, _, _) = call!(app, head("/oauth2/jwks"));
    assert!(hd.get("content-type").unwrap().to_str().unwrap().contains("json"), "JSON, not the portal's index");

    let allow_of = |hd: &actix_web::http::header::HeaderMap| {
        let mut v: Vec<String> =
            hd.get("allow").map(|v| v.to_str().unwrap().split(", ").map(str::to_owned).collect()).unwrap_or_default();
        v.sort();
        v.join(",")
    };
    for (method, path, allow) in [
        (Method::GET, "/oauth2/token", "OPTIONS,POST"),
        (Method::PUT, "/oauth2/userinfo", "GET,HEAD,OPTIONS,POST"),
        (Method::POST, "/.well-known/openid-configuration", "GET,HEAD,OPTIONS"),
        (Method::DELETE, "/oauth2/authorize", "GET,HEAD,POST"),
        (Method::PUT, "/api/users", "GET,HEAD,POST"),
        (Method::OPTIONS, "/api/users", "GET,HEAD,POST"),
        (Method::POST, "/healthz", "GET,HEAD"),
        (Method::POST, "/metrics", "GET,HEAD"),
    ] {
        let (s, hd, body, _) = call!(app, with(&admin, post(path, json!({})).method(method.clone())));
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {body}");
        assert_eq!(allow_of(&hd), allow, "{method} {path}");
        assert_eq!(body["error"], "method_not_allowed", "{method} {path}");
        if path.starts_with("/api/") {
            assert!(hd.get("access-control-allow-origin").is_none(), "{method} {path}");
        }
    }
    // Unknown paths stay 404 (API) and the portal (everything else).
    let (s, _, _, _) = call!(app, with(&admin, get("/api/no-such-thing")));
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A browser application's preflight for userinfo with a bearer token, and for the token endpoint.
    let preflight = |path: &str, method: &str, headers: &str| {
        TestRequest::default()
            .method(Method::OPTIONS)
            .uri(path)
            .insert_header(("origin", "http://spa.example:3000"))
            .insert_header(("access-control-request-method", method.to_owned()))
            .insert_header(("access-control-request-headers", headers.to_owned()))
    };
    for (path, method, headers) in [
        ("/oauth2/userinfo", "GET", "authorization"),
        ("/oauth2/token", "POST", "content-type"),
        ("/oauth2/revoke", "POST", "authorization,content-type"),
        ("/oauth2/introspect", "POST", "content-type"),
        ("/oauth2/jwks", "GET", ""),
        ("/.well-known/openid-configuration", "GET", ""),
    ] {
        let (s, hd, _, _) = call!(app, preflight(path, method, headers));
        assert_eq!(s, StatusCode::NO_CONTENT, "{path}");
        let get = |n: &str| hd.get(n).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert_eq!(get("access-control-allow-origin"), "*", "{path}");
        assert!(get("access-control-allow-methods").contains(method), "{path}");
        assert!(get("access-control-allow-headers").contains("Authorization"), "{path}");
        assert!(get("access-control-allow-headers").contains("Content-Type"), "{path}");
        assert!(get("access-control-max-age").parse::<u32>().unwrap() >= 600, "{path}");
        assert!(hd.get("access-control-allow-credentials").is_none(), "never with cookies: {path}");
    }
    // Errors of those endpoints are readable by the application too.
    let (s, hd, _, _) = call!(
        app,
        get("/oauth2/userinfo")
            .insert_header(("origin", "http://spa.example:3000"))
            .insert_header(("authorization", "Bearer nope"))
    );
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(hd.get("access-control-allow-origin").unwrap(), "*");
    // The portal's own API stays closed to other origins: no preflight answer, no CORS header.
    let (s, hd, _, _) = call!(app, preflight("/api/auth/me", "GET", "content-type"));
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert!(hd.keys().all(|k| !k.as_str().starts_with("access-control-")), "{hd:?}");
    let (_, hd, _, _) =
        call!(app, with(&admin, get("/api/auth/me")).insert_header(("origin", "http://spa.example:3000")));
    assert!(hd.keys().all(|k| !k.as_str().starts_with("access-control-")), "{hd:?}");
}

/// Issue 26 item 10: refused sign-ins that name no known user are counted in one row per source,
/// outcome and minute, so one anonymous client cannot write a row per request and push the
/// record of real sign-ins out of the capped log; attempts on real accounts keep a row each.
#[actix_web::test]
async fn a_flood_of_refused_sign_ins_is_counted_not_written_row_by_row() {
    let mut config = HttpConfig::for_tests();
    config.sign_in_per_ip_per_minute = 5;
    let h = Harness::with_config(config);
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let before = h.store.count_sign_ins().unwrap();
    let flood = |i: usize| {
        post("/api/auth/sign-in", json!({"username": format!("guess{i}"), "password": "spray spray spray 1"}))
            .peer_addr("198.51.100.9:4000".parse().unwrap())
    };
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..120 {
        let (s, _, _, _) = call!(app, flood(i));
        *statuses.entry(s.as_u16()).or_insert(0u32) += 1;
    }
    assert_eq!(statuses.get(&401), Some(&5), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&115), "{statuses:?}");
    let rows = h.store.count_sign_ins().unwrap() - before;
    assert_eq!(rows, 2, "one row for the unknown users, one for the refused-by-address, not 120");
    let page = h.store.list_sign_ins(None, 10).unwrap();
    let flood_rows: Vec<_> = page.items.iter().filter(|e| e.ip == "198.51.100.9").collect();
    assert_eq!(flood_rows.iter().map(|e| e.count).sum::<u32>(), 120, "{flood_rows:?}");
    assert!(flood_rows.iter().all(|e| e.user_id.is_none()));
    assert_eq!(flood_rows.iter().find(|e| e.count == 5).unwrap().username, "guess4", "the last name tried");

    // Real accounts keep a row per attempt, and the portal's API shows the counts.
    for _ in 0..2 {
        let (s, _, _, _) = call!(
            app,
            post("/api/auth/sign-in", json!({"username": ADMIN, "password": "not the password at all"}))
                .peer_addr("203.0.113.50:4000".parse().unwrap())
        );
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(h.store.count_sign_ins().unwrap() - before, 4);
    let (_, _, log, _) = call!(app, with(&admin, get("/api/sign-ins")));
    let items = log["items"].as_array().unwrap();
    assert!(items.iter().any(|e| e["count"] == 115), "{log}");
    assert!(items.iter().filter(|e| e["username"] == ADMIN).all(|e| e.get("count").is_none()), "{log}");

    // The next minute starts new rows.
    h.clock.advance(time::Duration::seconds(61));
    let (s, _, _, _) = call!(app, flood(999));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(h.store.count_sign_ins().unwrap() - before, 5);
}
