//! Applications (OIDC clients) through the admin API, and the signing keys behind the JWKS:
//! validation at each field, secrets shown once and kept only as hashes, rotation with overlap,
//! every change audited; keys generated once, published with `kid`, rotated without ever
//! showing relying parties an unknown key.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use base64::Engine as _;
use common::*;
use proofup::domain::clock::Clock;
use serde_json::{json, Value};

fn grafana() -> Value {
    json!({
        "name": "Grafana",
        "redirect_uris": ["https://grafana.example.com/login/generic_oauth"],
        "post_logout_redirect_uris": ["https://grafana.example.com/"],
        "scopes": ["openid", "profile", "email", "groups"],
        "refresh_tokens": true
    })
}

#[actix_web::test]
async fn applications_are_registered_checked_rotated_and_audited() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);

    // Bad input: every problem at its field, nothing stored.
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post(
                "/api/applications",
                json!({"name": "", "redirect_uris": ["http://grafana.example.com/cb#x"], "scopes": ["profile"], "access_token_minutes": 0})
            )
        )
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    for f in ["name", "redirect_uris", "scopes", "access_token_minutes"] {
        assert!(fields.contains(&f), "{f} not named: {body}");
    }
    let (s, _, body, _) = call!(
        app,
        with(
            &admin,
            post(
                "/api/applications",
                json!({"name": "X", "redirect_uris": ["https://x.example/cb"], "assigned_groups": ["nope"]})
            )
        )
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "assigned_groups");
    assert!(h.store.applications().unwrap().is_empty());

    // Registered: the secret is in this answer only, and stored only as a hash.
    let (s, hd, created, _) = call!(app, with(&admin, post("/api/applications", grafana())));
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(hd.get("cache-control").unwrap(), "no-store");
    let id = created["application"]["id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    assert_eq!(created["application"]["kind"], "confidential");
    assert_eq!(created["application"]["access_token_minutes"], 10);
    let (_, _, shown, _) = call!(app, with(&admin, get(&format!("/api/applications/{id}"))));
    assert_eq!(shown, created["application"]);
    assert!(!shown.to_string().contains(&secret));
    let stored = h.store.application(&id).unwrap().unwrap();
    assert!(!serde_json::to_string(&stored).unwrap().contains(&secret), "the secret is stored in the clear");
    assert!(stored.secret_matches(&secret, h.clock.now()));

    // A public application gets no secret.
    let (s, _, spa, _) = call!(
        app,
        with(
            &admin,
            post(
                "/api/applications",
                json!({"name": "SPA", "kind": "public", "redirect_uris": ["http://localhost:5173/cb"]})
            )
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{spa}");
    assert!(spa["client_secret"].is_null());
    let spa_id = spa["application"]["id"].as_str().unwrap().to_owned();
    let (s, _, body, _) =
        call!(app, with(&admin, post(&format!("/api/applications/{spa_id}/secret"), json!({"overlap_hours": 0}))));
    assert_eq!(s, StatusCode::CONFLICT, "{body}");

    // Listed by name.
    let (_, _, list, _) = call!(app, with(&admin, get("/api/applications")));
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Grafana", "SPA"]);

    // Settings change (assigned to a group, MFA required); the kind cannot.
    let (_, _, staff, _) = call!(app, with(&admin, post("/api/groups", json!({"name": "Staff"}))));
    let staff = staff["id"].as_str().unwrap().to_owned();
    let mut changed = grafana();
    changed["assignment_required"] = json!(true);
    changed["assigned_groups"] = json!([staff]);
    changed["require_mfa"] = json!(true);
    let (s, _, updated, _) = call!(
        app,
        with(&admin, post(&format!("/api/applications/{id}"), changed.clone()).method(actix_web::http::Method::PATCH))
    );
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["assigned"][0]["name"], "Staff");
    assert_eq!(updated["require_mfa"], true);
    changed["kind"] = json!("public");
    let (s, _, body, _) = call!(
        app,
        with(&admin, post(&format!("/api/applications/{id}"), changed).method(actix_web::http::Method::PATCH))
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "kind");

    // Rotation: the new secret works at once, the old one only for the overlap.
    let (s, _, body, _) =
        call!(app, with(&admin, post(&format!("/api/applications/{id}/secret"), json!({"overlap_hours": 169}))));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, hd, rotated, _) =
        call!(app, with(&admin, post(&format!("/api/applications/{id}/secret"), json!({"overlap_hours": 2}))));
    assert_eq!(s, StatusCode::OK, "{rotated}");
    assert_eq!(hd.get("cache-control").unwrap(), "no-store");
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let stored = h.store.application(&id).unwrap().unwrap();
    let now = h.clock.now();
    assert!(stored.secret_matches(new_secret, now) && stored.secret_matches(&secret, now));
    h.clock.advance(time::Duration::hours(2));
    assert!(!stored.secret_matches(&secret, h.clock.now()), "the overlap ended");
    let admin = sign_in!(app, ADMIN, ADMIN_PASSWORD).0; // idle for two hours: signed out
    let (_, _, shown, _) = call!(app, with(&admin, get(&format!("/api/applications/{id}"))));
    assert!(shown["previous_secret_valid_until"].is_null(), "{shown}");

    // Deleted; a second delete is 404.
    let (s, _, _, _) = call!(app, with(&admin, delete(&format!("/api/applications/{spa_id}"))));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _, _) = call!(app, with(&admin, delete(&format!("/api/applications/{spa_id}"))));
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Every change audited, no secret in the log.
    let log = h.store.list_audit(None, 50).unwrap().items;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).filter(|a| a.starts_with("application.")).collect();
    assert_eq!(
        actions,
        [
            "application.deleted",
            "application.secret_rotated",
            "application.updated",
            "application.created",
            "application.created"
        ]
    );
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&secret) && !text.contains(new_secret));
    assert!(text.contains("application Grafana"));
}

/// base64url without padding → bytes.
fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

#[actix_web::test]
async fn the_jwks_publishes_the_keys_that_sign_and_rotation_keeps_them_known() {
    let h = Harness::new();
    let core = h.state.core.clone();
    core.ensure_signing_keys().unwrap();
    let app = init_service(proofup::http::app(h.state.clone())).await;

    let (s, hd, jwks, _) = call!(app, get("/oauth2/jwks"));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hd.get("cache-control").unwrap(), "public, max-age=3600");
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4, "an active and a next key for RS256 and ES256: {jwks}");
    for k in keys {
        assert!(k["kid"].is_string() && k["use"] == "sig", "{k}");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "private part {private} published: {k}");
        }
    }
    // A second start makes nothing new.
    core.ensure_signing_keys().unwrap();
    let (_, _, again, _) = call!(app, get("/oauth2/jwks"));
    assert_eq!(again, jwks);

    // The active RS256 key signs; the published n and e verify it (aws-lc-rs, not jsonwebtoken).
    let (kid, key) = core.active_signing_key(proofup::domain::oidc::KeyAlg::RS256).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.clone());
    let token = jsonwebtoken::encode(&header, &json!({"sub": "x"}), &key).unwrap();
    let published = keys.iter().find(|k| k["kid"] == kid.as_str()).unwrap();
    assert_eq!(published["kty"], "RSA");
    assert_eq!(published["alg"], "RS256");
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let public = aws_lc_rs::signature::RsaPublicKeyComponents {
        n: b64(published["n"].as_str().unwrap()),
        e: b64(published["e"].as_str().unwrap()),
    };
    assert!(public.n.len() >= 256, "RSA 2048 at least");
    public.verify(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &b64(sig)).unwrap();
    assert!(public.verify(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, b"tampered", &b64(sig)).is_err());
    // ES256 too.
    let (ekid, ekey) = core.active_signing_key(proofup::domain::oidc::KeyAlg::ES256).unwrap();
    let mut eh = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    eh.kid = Some(ekid.clone());
    let etoken = jsonwebtoken::encode(&eh, &json!({"sub": "x"}), &ekey).unwrap();
    let ejwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(keys.iter().find(|k| k["kid"] == ekid.as_str()).unwrap().clone()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(&etoken, &jsonwebtoken::DecodingKey::from_jwk(&ejwk).unwrap(), &v).unwrap();

    // Rotation by an administrator: the old next key now signs, the old active key is still
    // published (retired), and a fresh next key appears. Audited.
    let admin = setup!(h, app);
    let next_kid =
        core.signing_keys().unwrap().into_iter().find(|k| k.alg == "RS256" && k.state == "next").unwrap().kid;
    let (s, _, rotated, _) = call!(app, with(&admin, post("/api/signing-keys/rotate", json!({}))));
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let (now_kid, _) = core.active_signing_key(proofup::domain::oidc::KeyAlg::RS256).unwrap();
    assert_eq!(now_kid, next_kid, "the key relying parties already hold signs now");
    let (_, _, after, _) = call!(app, get("/oauth2/jwks"));
    let kids: Vec<&str> = after["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert!(kids.contains(&kid.as_str()), "the retired key is still published");
    assert_eq!(kids.len(), 6);
    let states: Vec<String> = rotated
        .as_array()
        .unwrap()
        .iter()
        .map(|k| format!("{} {}", k["alg"].as_str().unwrap(), k["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states.iter().filter(|s| s.ends_with("active")).count(), 2, "{states:?}");
    let log = h.store.list_audit(None, 5).unwrap().items;
    assert_eq!(log[0].action, "signing_keys.rotated");
    assert!(!serde_json::to_string(&log).unwrap().contains("private"));
    // The private parts are sealed: the stored record holds no private key in the clear (neither
    // its DER in base64 or hex, nor a PEM header), and the sealed part opens to a PKCS#8 key.
    let keys = h.store.signing_keys().unwrap();
    let stored = serde_json::to_string(&keys).unwrap();
    assert!(!stored.contains("PRIVATE KEY"));
    for k in &keys {
        let der = proofup::domain::secretbox::SecretBox::new(&h.secret_key)
            .open(&k.private_sealed, &format!("signing-key/{}", k.kid))
            .unwrap();
        assert_eq!(der[0], 0x30, "a DER SEQUENCE");
        use base64::Engine as _;
        for clear in [
            base64::engine::general_purpose::STANDARD.encode(&der),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&der),
            der.iter().map(|b| format!("{b:02x}")).collect(),
        ] {
            let middle = clear.len() / 2;
            for part in [&clear[..48], &clear[middle..middle + 48]] {
                assert!(!stored.contains(part), "key {} stored in the clear", k.kid);
            }
        }
    }
}

/// The kid and claims of an ID token the server signed, checked with jsonwebtoken against the
/// key the JWKS publishes under that kid.
fn verified(token: &str, jwks: &[proofup::domain::oidc::SigningKey]) -> (String, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!((header.alg, header.typ.as_deref()), (jsonwebtoken::Algorithm::RS256, Some("JWT")));
    let kid = header.kid.unwrap();
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(jwks.iter().find(|k| k.kid == kid).expect("kid published").public_jwk.clone()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.set_audience(&["app"]);
    let claims = jsonwebtoken::decode::<Value>(token, &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(), &v).unwrap();
    (kid, claims.claims)
}

#[actix_web::test]
async fn the_parsed_signing_key_follows_rotation_here_at_once_and_on_other_nodes_within_a_second() {
    use proofup::domain::oidc::KeyAlg;
    let h = Harness::new();
    let here = h.state.core.clone();
    here.ensure_signing_keys().unwrap();
    // Another node: the same store, the same secret key, its own parsed key.
    let options = proofup::service::CoreOptions::from_config(&proofup::config::HttpConfig::for_tests());
    let there = proofup::service::Core::new(
        h.store.clone(),
        h.clock.clone(),
        proofup::domain::secretbox::SecretBox::new(&h.secret_key),
        &options,
    );
    let claims = json!({"sub": "u1", "aud": "app", "name": "Zoë \"quoted\" ✓"});

    let first = here.sign_id_token(&claims).unwrap();
    let (kid1, got) = verified(&first, &h.store.signing_keys().unwrap());
    assert_eq!(got, claims, "the claims come back as signed");
    assert_eq!(kid1, here.active_signing_key(KeyAlg::RS256).unwrap().0);
    assert_eq!(verified(&there.sign_id_token(&claims).unwrap(), &h.store.signing_keys().unwrap()).0, kid1);
    // A tampered token does not verify.
    let (body, sig) = first.rsplit_once('.').unwrap();
    let forged = format!("{}.{sig}", body.replace(body.split('.').nth(1).unwrap(), "eyJzdWIiOiJhZG1pbiJ9"));
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(
        h.store.signing_keys().unwrap().iter().find(|k| k.kid == kid1).unwrap().public_jwk.clone(),
    )
    .unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.required_spec_claims.clear();
    v.validate_aud = false;
    v.validate_exp = false;
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    assert!(jsonwebtoken::decode::<Value>(&first, &key, &v).is_ok());
    let err = jsonwebtoken::decode::<Value>(&forged, &key, &v).unwrap_err();
    assert_eq!(err.kind(), &jsonwebtoken::errors::ErrorKind::InvalidSignature);

    // This node rotates: its next token is signed by the new active key.
    here.rotate_signing_keys(None).unwrap();
    let kid2 = here.active_signing_key(KeyAlg::RS256).unwrap().0;
    assert_ne!(kid2, kid1);
    let keys = h.store.signing_keys().unwrap();
    assert_eq!(verified(&here.sign_id_token(&claims).unwrap(), &keys).0, kid2);
    // The other node still signs with the key it parsed (retired, still published, so its
    // tokens verify) until a second has passed; then it reads the keys again.
    assert_eq!(verified(&there.sign_id_token(&claims).unwrap(), &keys).0, kid1);
    h.clock.advance(proofup::service::oidc::keys::SIGNER_RECHECK);
    assert_eq!(verified(&there.sign_id_token(&claims).unwrap(), &keys).0, kid2);
}
