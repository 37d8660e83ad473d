//! Passkeys, recovery codes and renaming methods through the real API. Passkeys are
//! made and used by webauthn-authenticator-rs's software authenticator, a real
//! WebAuthn client (CBOR attestation, ES256 signatures) speaking to the real server.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use sha2::Digest as _;
use time::Duration;
use webauthn_authenticator_rs::prelude::{RequestChallengeResponse, Url, WebauthnAuthenticator};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::CreationChallengeResponse;

fn origin() -> Url {
    Url::parse("http://localhost:8080").unwrap()
}

fn authenticator() -> WebauthnAuthenticator<SoftPasskey> {
    // `true`: the authenticator reports user verification, as a platform authenticator with a PIN does.
    WebauthnAuthenticator::new(SoftPasskey::new(true))
}

fn register(a: &mut WebauthnAuthenticator<SoftPasskey>, challenge: &Value) -> Value {
    let ccr: CreationChallengeResponse =
        serde_json::from_value(json!({"publicKey": challenge["public_key"].clone()})).unwrap();
    serde_json::to_value(a.do_registration(origin(), ccr).unwrap()).unwrap()
}

fn assert_with(a: &mut WebauthnAuthenticator<SoftPasskey>, challenge: &Value) -> Value {
    let rcr: RequestChallengeResponse =
        serde_json::from_value(json!({"publicKey": challenge["public_key"].clone()})).unwrap();
    serde_json::to_value(a.do_authentication(origin(), rcr).unwrap()).unwrap()
}

/// The whole registration with the software authenticator: start, create, finish. Returns the finish answer.
macro_rules! add_passkey {
    ($app:expr, $cookie:expr, $key:expr, $name:expr) => {{
        let (s, _, ch, _) = call!($app, with(&$cookie, post("/api/me/methods/passkey", json!({}))));
        assert_eq!(s, StatusCode::OK, "{ch}");
        let cred = register(&mut $key, &ch);
        call!($app, with(&$cookie, post("/api/me/methods/passkey/finish", json!({"name": $name, "credential": cred}))))
    }};
}

fn no_nulls(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(m) => m.values().all(no_nulls),
        Value::Array(a) => a.iter().all(no_nulls),
        _ => true,
    }
}

#[actix_web::test]
async fn passkeys_register_sign_in_and_stay_single_use() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "dave");
    let (c, _) = sign_in!(app, "dave", PW);
    let mut key = authenticator();

    // Start: options for navigator.credentials.create(), not cached, no nulls for the browser to choke on.
    let (s, hd, ch, _) = call!(app, with(&c, post("/api/me/methods/passkey", json!({}))));
    assert_eq!(s, StatusCode::OK, "{ch}");
    assert_eq!(hd.get("cache-control").unwrap(), "no-store");
    let pk = &ch["public_key"];
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(pk["user"]["name"], "dave");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    assert!(no_nulls(pk), "{pk}");
    assert!(pk["excludeCredentials"].as_array().is_none_or(|a| a.is_empty()));

    // A bad name is refused before the ceremony is used up.
    let cred = register(&mut key, &ch);
    let (s, _, body, _) =
        call!(app, with(&c, post("/api/me/methods/passkey/finish", json!({"name": " ", "credential": cred}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "name");
    let (s, hd, body, _) =
        call!(app, with(&c, post("/api/me/methods/passkey/finish", json!({"name": "Laptop", "credential": cred}))));
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["method"]["kind"], "passkey");
    assert_eq!(body["method"]["name"], "Laptop");
    let c = session_cookie(&hd).expect("a new session id after adding a method");
    // The ceremony is single use.
    let (s, _, _, _) =
        call!(app, with(&c, post("/api/me/methods/passkey/finish", json!({"name": "Again", "credential": cred}))));
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A second registration excludes the credential already registered.
    let (s, _, ch2, _) = call!(app, with(&c, post("/api/me/methods/passkey", json!({}))));
    assert_eq!(s, StatusCode::OK);
    let excluded = ch2["public_key"]["excludeCredentials"].as_array().unwrap();
    assert_eq!(excluded.len(), 1);
    assert_eq!(excluded[0]["id"], cred["rawId"]);

    // Sign in again: the password is not enough; the passkey is offered first.
    let (c, me) = sign_in!(app, "dave", PW);
    assert_eq!(me["me"]["next_step"], json!({"step": "second_factor", "options": ["passkey"]}));
    let (s, _, _, _) = call!(app, with(&c, get("/api/me/methods")));
    assert_eq!(s, StatusCode::FORBIDDEN, "a half-finished sign-in reaches nothing");
    let (s, _, ch, _) = call!(app, with(&c, post("/api/auth/passkey", json!({}))));
    assert_eq!(s, StatusCode::OK, "{ch}");
    assert_eq!(ch["public_key"]["allowCredentials"][0]["id"], cred["rawId"]);
    let assertion = assert_with(&mut key, &ch);
    let (s, hd, body, _) = call!(app, with(&c, post("/api/auth/passkey/finish", json!({"credential": assertion}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["next_step"]["step"], "done");
    let full = session_cookie(&hd).unwrap();
    assert_ne!(full, c);
    assert_eq!(call!(app, with(&c, get("/api/auth/me"))).0, StatusCode::UNAUTHORIZED, "the old id is gone");
    let (s, _, ms, _) = call!(app, with(&full, get("/api/me/methods")));
    assert_eq!(s, StatusCode::OK);
    assert!(ms[0]["last_used_at"].is_string());

    // The same assertion cannot be replayed against a new challenge.
    let (c, _) = sign_in!(app, "dave", PW);
    let (s, _, _, _) = call!(app, with(&c, post("/api/auth/passkey", json!({}))));
    assert_eq!(s, StatusCode::OK);
    let (s, _, body, _) = call!(app, with(&c, post("/api/auth/passkey/finish", json!({"credential": assertion}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "invalid_code");
    // The challenge was used up by that failure.
    let fresh = assert_with(&mut key, &ch);
    let (s, _, _, _) = call!(app, with(&c, post("/api/auth/passkey/finish", json!({"credential": fresh}))));
    assert_eq!(s, StatusCode::NOT_FOUND);
    let log = h.store.list_sign_ins(None, 10).unwrap().items;
    assert!(log.iter().any(|e| e.reason.contains("passkey not verified")), "{log:?}");
    assert!(log.iter().any(|e| e.reason == "Passkey \"Laptop\""), "{log:?}");

    // A ceremony lasts 5 minutes.
    let (s, _, ch, _) = call!(app, with(&c, post("/api/auth/passkey", json!({}))));
    assert_eq!(s, StatusCode::OK);
    h.clock.advance(Duration::minutes(5) + Duration::seconds(1));
    let late = assert_with(&mut key, &ch);
    let (s, _, body, _) = call!(app, with(&c, post("/api/auth/passkey/finish", json!({"credential": late}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("expired"), "{body}");

    // A ceremony belongs to its session: another user's session has nothing to finish.
    let (c, _) = sign_in!(app, "dave", PW);
    let (_, _, ch, _) = call!(app, with(&c, post("/api/auth/passkey", json!({}))));
    let answer = assert_with(&mut key, &ch);
    let (s, _, _, _) = call!(app, with(&admin, post("/api/auth/passkey/finish", json!({"credential": answer}))));
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing is waiting in the admin's session");
    let (s, _, _, _) = call!(app, with(&admin, post("/api/auth/passkey", json!({}))));
    assert_eq!(s, StatusCode::CONFLICT, "the admin has no passkey");
    let (s, _, _, _) = call!(app, with(&c, post("/api/auth/passkey/finish", json!({"credential": {"id": 1}}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not a WebAuthn response");
}

#[actix_web::test]
async fn a_credential_id_belongs_to_one_account() {
    use proofup::domain::model::Method;
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let dave = user_with_password!(app, admin, "dave");
    let erin = user_with_password!(app, admin, "erin");
    let (c, _) = sign_in!(app, "dave", PW);
    let mut key = authenticator();
    let (s, _, _, _) = add_passkey!(app, c, key, "Key");
    assert_eq!(s, StatusCode::CREATED);
    let taken = h.store.methods(&dave).unwrap()[0].clone();
    assert!(h.store.credential_taken(taken.credential_id.as_deref().unwrap()).unwrap());
    // Erin cannot hold the same credential id: the store refuses it atomically.
    let copy = Method { id: "copy".into(), user_id: erin.clone(), ..taken.clone() };
    let draft = proofup::service::audit(
        time::OffsetDateTime::now_utc(),
        None,
        "test",
        None,
        vec![],
        &proofup::domain::model::ClientInfo { ip: "192.0.2.1".into(), user_agent: "test".into() },
    );
    assert!(matches!(h.store.add_method(&copy, draft.clone()), Err(proofup::store::StoreError::Conflict(_))));
    assert!(h.store.methods(&erin).unwrap().is_empty(), "nothing half-written");
    // Deleting the user frees the id (and leaves no dangling index entry).
    h.store.delete_user(&dave, draft.clone()).unwrap();
    assert!(!h.store.credential_taken(taken.credential_id.as_deref().unwrap()).unwrap());
    h.store.add_method(&copy, draft).unwrap();
    assert!(h.store.user(&erin).unwrap().is_some());
}

#[actix_web::test]
async fn the_interrupt_can_register_a_passkey() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "erin");
    save_policy!(
        app,
        admin,
        json!({"enforcement": "on", "include_all": true, "include_users": [], "include_groups": [],
               "exclude_users": [], "exclude_groups": [], "require_registration": true, "grace_days": 0})
    );
    let (c, me) = sign_in!(app, "erin", PW);
    assert_eq!(me["me"]["next_step"]["step"], "register_mfa");
    assert_eq!(me["me"]["next_step"]["can_skip"], false);
    let mut key = authenticator();
    let (s, _, ch, _) = call!(app, with(&c, post("/api/me/methods/passkey", json!({}))));
    assert_eq!(s, StatusCode::OK, "{ch}");
    let cred = register(&mut key, &ch);
    let (s, hd, body, _) =
        call!(app, with(&c, post("/api/me/methods/passkey/finish", json!({"name": "Phone", "credential": cred}))));
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["next_step"]["step"], "done");
    let full = session_cookie(&hd).unwrap();
    assert_eq!(call!(app, with(&full, get("/api/me/methods"))).0, StatusCode::OK);
    let log = h.store.list_sign_ins(None, 5).unwrap().items;
    assert!(log.iter().any(|e| e.reason == "MFA registered at sign-in (passkey)"), "{log:?}");
    // Next time: the passkey, not the interrupt.
    let (_, me) = sign_in!(app, "erin", PW);
    assert_eq!(me["me"]["next_step"], json!({"step": "second_factor", "options": ["passkey"]}));
}

#[actix_web::test]
async fn recovery_codes_are_shown_once_hashed_and_single_use() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "dave");
    let (c, _) = sign_in!(app, "dave", PW);
    // They back up a method; with none there is nothing to back up.
    let (s, _, body, _) = call!(app, with(&c, post("/api/me/recovery-codes", json!({}))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (_, _, setup, _) = call!(app, with(&c, post("/api/me/methods/totp", json!({}))));
    let secret = secret_of(&setup);
    let (s, hd, _, _) = call!(
        app,
        with(&c, post("/api/me/methods/totp/confirm", json!({"name": "Phone", "code": code(&secret, &h, 0)})))
    );
    assert_eq!(s, StatusCode::CREATED);
    let c = session_cookie(&hd).unwrap();
    let (s, hd, body, _) = call!(app, with(&c, post("/api/me/recovery-codes", json!({}))));
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(hd.get("cache-control").unwrap(), "no-store");
    let codes: Vec<String> = body["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10);
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 10);
    for code in &codes {
        assert_eq!(code.len(), 19, "xxxx-xxxx-xxxx-xxxx: 16 base32 characters, 80 bits");
    }
    let (_, _, st, _) = call!(app, with(&c, get("/api/me/recovery-codes")));
    assert_eq!(st["remaining"], 10);
    // Stored hashed: no code appears in the store's files.
    h.store.flush().unwrap();
    for f in walk(h.dir.path()) {
        let bytes = std::fs::read(&f).unwrap();
        for code in &codes {
            let plain = code.replace('-', "");
            assert!(!contains(&bytes, code.as_bytes()) && !contains(&bytes, plain.as_bytes()), "{code} in {f:?}");
        }
    }

    // Sign in with one (typed loosely: upper case, spaces); it is spent, and the user is told how many are left.
    let (c2, me) = sign_in!(app, "dave", PW);
    assert_eq!(me["me"]["next_step"]["options"], json!(["authenticator_app", "recovery_code"]));
    let typed = codes[0].to_uppercase().replace('-', " ");
    let (s, hd, body, _) = call!(app, with(&c2, post("/api/auth/recovery-code", json!({"code": typed}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["remaining"], 9);
    assert_eq!(body["me"]["next_step"]["step"], "done");
    assert!(session_cookie(&hd).is_some());
    let (c3, _) = sign_in!(app, "dave", PW);
    let (s, _, body, _) = call!(app, with(&c3, post("/api/auth/recovery-code", json!({"code": codes[0]}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "single use: {body}");
    let audit = h.store.list_audit(None, 20).unwrap().items;
    assert!(audit.iter().any(|e| e.action == "mfa.recovery_code_used"));
    let log = h.store.list_sign_ins(None, 10).unwrap().items;
    assert!(log.iter().any(|e| e.reason == "Recovery code (9 left)"), "{log:?}");

    // Regenerating needs a recent second factor, and the old codes stop working.
    h.clock.advance(Duration::minutes(11));
    let (s, _, body, _) = call!(app, with(&c, post("/api/me/recovery-codes", json!({}))));
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "reauthentication_required");
    let (s, hd, _, _) = call!(app, with(&c, post("/api/auth/recovery-code", json!({"code": codes[1]}))));
    assert_eq!(s, StatusCode::OK, "a recovery code re-authenticates too");
    let c = session_cookie(&hd).unwrap();
    let (s, _, body, _) = call!(app, with(&c, post("/api/me/recovery-codes", json!({}))));
    assert_eq!(s, StatusCode::CREATED);
    let fresh = body["codes"][0].as_str().unwrap().to_owned();
    let (c4, _) = sign_in!(app, "dave", PW);
    let (s, _, _, _) = call!(app, with(&c4, post("/api/auth/recovery-code", json!({"code": codes[2]}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "old codes are void");
    let (s, _, body, _) = call!(app, with(&c4, post("/api/auth/recovery-code", json!({"code": fresh}))));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["remaining"], 9);

    // Wrong codes count in the account throttle: five misses, then even a right code waits.
    let (c5, _) = sign_in!(app, "dave", PW);
    for _ in 0..5 {
        let (s, _, _, _) = call!(app, with(&c5, post("/api/auth/recovery-code", json!({"code": "nope"}))));
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, hd, _, _) = call!(app, with(&c5, post("/api/auth/recovery-code", json!({"code": codes[3]}))));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(hd.get("retry-after").unwrap(), "30");

    // Removing the last method removes the codes with it.
    h.clock.advance(Duration::hours(2));
    let (c6, _) = sign_in!(app, "dave", PW);
    let (s, hd, _, _) = call!(app, with(&c6, post("/api/auth/second-factor", json!({"code": code(&secret, &h, 0)}))));
    assert_eq!(s, StatusCode::OK);
    let c6 = session_cookie(&hd).unwrap();
    let (_, _, ms, _) = call!(app, with(&c6, get("/api/me/methods")));
    let (s, _, _, _) = call!(app, with(&c6, delete(&format!("/api/me/methods/{}", ms[0]["id"].as_str().unwrap()))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, st, _) = call!(app, with(&c6, get("/api/me/recovery-codes")));
    assert_eq!(st["remaining"], 0);
}

#[actix_web::test]
async fn methods_can_be_renamed_under_the_binding_rules() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "dave");
    let (c, _) = sign_in!(app, "dave", PW);
    let (_, _, setup, _) = call!(app, with(&c, post("/api/me/methods/totp", json!({}))));
    let secret = secret_of(&setup);
    let (_, hd, body, _) = call!(
        app,
        with(&c, post("/api/me/methods/totp/confirm", json!({"name": "Phone", "code": code(&secret, &h, 0)})))
    );
    let c = session_cookie(&hd).unwrap();
    let id = body["method"]["id"].as_str().unwrap().to_owned();
    let (s, _, body, _) =
        call!(app, with(&c, patch(&format!("/api/me/methods/{id}"), json!({"name": " Work phone "}))));
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Work phone");
    let (_, _, ms, _) = call!(app, with(&c, get("/api/me/methods")));
    assert_eq!(ms[0]["name"], "Work phone");
    let (s, _, body, _) = call!(app, with(&c, patch(&format!("/api/me/methods/{id}"), json!({"name": ""}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _, _, _) = call!(app, with(&admin, patch(&format!("/api/me/methods/{id}"), json!({"name": "Mine"}))));
    assert_eq!(s, StatusCode::NOT_FOUND, "another user's method is not yours to rename");
    h.clock.advance(Duration::minutes(11));
    let (s, _, body, _) = call!(app, with(&c, patch(&format!("/api/me/methods/{id}"), json!({"name": "Old phone"}))));
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "reauthentication_required");
    let audit = h.store.list_audit(None, 10).unwrap().items;
    assert!(audit.iter().any(|e| e.action == "mfa.method_renamed"));
}

#[actix_web::test]
async fn a_passkey_without_user_verification_is_refused() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    user_with_password!(app, admin, "dave");
    let (c, _) = sign_in!(app, "dave", PW);
    // An authenticator that did not verify the user: the UV flag cleared in its authenticator data.
    let mut key = authenticator();
    let (_, _, ch, _) = call!(app, with(&c, post("/api/me/methods/passkey", json!({}))));
    let mut cred = register(&mut key, &ch);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut att = b64.decode(cred["response"]["attestationObject"].as_str().unwrap()).unwrap();
    let rp_hash: [u8; 32] = sha2::Sha256::digest(b"localhost").into();
    let at = att.windows(32).position(|w| w == rp_hash).expect("authenticator data in the attestation");
    assert_ne!(att[at + 32] & 0x04, 0, "UV was set");
    att[at + 32] &= !0x04;
    cred["response"]["attestationObject"] = json!(b64.encode(&att));
    let (s, _, body, _) =
        call!(app, with(&c, post("/api/me/methods/passkey/finish", json!({"name": "Key", "credential": cred}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, _, ms, _) = call!(app, with(&c, get("/api/me/methods")));
    assert_eq!(ms.as_array().unwrap().len(), 0);

    // A verified passkey, then removed: it stops working at once.
    let mut key = authenticator();
    let (s, hd, body, _) = add_passkey!(app, c, key, "Key");
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let c = session_cookie(&hd).unwrap();
    let id = body["method"]["id"].as_str().unwrap().to_owned();
    let (c2, _) = sign_in!(app, "dave", PW);
    let (_, _, pending, _) = call!(app, with(&c2, post("/api/auth/passkey", json!({}))));
    let (s, _, _, _) = call!(app, with(&c, delete(&format!("/api/me/methods/{id}"))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let answer = assert_with(&mut key, &pending);
    let (s, _, body, _) = call!(app, with(&c2, post("/api/auth/passkey/finish", json!({"credential": answer}))));
    assert!(s.is_client_error(), "a removed passkey still signed in: {s} {body}");
    let (_, me) = sign_in!(app, "dave", PW);
    assert_eq!(me["me"]["next_step"]["step"], "done", "no method left, no second step");
}
