//! The role matrix: every operation in the OpenAPI document, called anonymously
//! and by each role, answers as the matrix below says. A new route that is not
//! classified here fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::test::init_service;
use common::*;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Access {
    /// No session needed.
    Public,
    /// Any signed-in role (own account).
    SignedIn,
    /// Security reader and above.
    ReadAdmin,
    /// Security operator and above.
    Operate,
    /// Security administrator and Global administrator.
    ManageSecurity,
    /// Global administrators only (server-wide settings: mail).
    Global,
    /// Client or bearer authentication (OAuth), not portal sessions.
    OAuth,
}

fn access(method: &str, path: &str) -> Option<Access> {
    use Access::*;
    Some(match (method, path) {
        ("get", "/api/setup/status") | ("post", "/api/setup") | ("post", "/api/auth/sign-in") => Public,
        ("post", "/api/auth/sign-out") | ("get", "/healthz") | ("get", "/readyz") => Public,
        ("get", "/api/auth/session") | ("get", "/oauth2/jwks") | ("get", "/.well-known/openid-configuration") => Public,
        // "Forgot your password?": before any session, named by its own cookie.
        ("post", "/api/auth/reset")
        | ("get", "/api/auth/reset")
        | ("delete", "/api/auth/reset")
        | ("post", "/api/auth/reset/code")
        | ("post", "/api/auth/reset/passkey")
        | ("post", "/api/auth/reset/passkey/finish")
        | ("post", "/api/auth/reset/password")
        | ("post", "/api/auth/reset/email")
        | ("post", "/api/auth/reset/email/verify")
        | ("post", "/api/auth/report") => Public,
        ("get", "/api/settings/mail") | ("post", "/api/settings/mail/test") => Global,
        // The provider's endpoints authenticate clients and browsers their own way (OAuth):
        // tests/oidc.rs covers them.
        ("get", "/oauth2/authorize")
        | ("post", "/oauth2/authorize")
        | ("get", "/oauth2/authorize/resume")
        | ("get", "/oauth2/authorize/cancel")
        | ("get", "/oauth2/flow/{id}")
        | ("post", "/oauth2/token")
        | ("post", "/oauth2/revoke")
        | ("get", "/oauth2/logout")
        | ("post", "/oauth2/logout")
        | ("post", "/oauth2/introspect")
        | ("get", "/oauth2/userinfo")
        | ("post", "/oauth2/userinfo") => OAuth,
        ("get", "/api/auth/me")
        | ("post", "/api/auth/password")
        | ("post", "/api/auth/second-factor")
        | ("post", "/api/auth/reverify")
        | ("post", "/api/auth/skip-registration")
        | ("get", "/api/me/methods")
        | ("post", "/api/me/methods/totp")
        | ("post", "/api/me/methods/totp/confirm")
        | ("delete", "/api/me/methods/{id}")
        | ("patch", "/api/me/methods/{id}")
        | ("post", "/api/me/methods/passkey")
        | ("post", "/api/me/methods/passkey/finish")
        | ("post", "/api/auth/passkey")
        | ("post", "/api/auth/passkey/finish")
        | ("post", "/api/auth/recovery-code")
        | ("get", "/api/me/recovery-codes")
        | ("post", "/api/me/recovery-codes")
        | ("get", "/api/me/sessions")
        | ("get", "/api/me/registration")
        | ("delete", "/api/me/sessions/{id}")
        | ("post", "/api/me/sessions/sign-out-others")
        | ("get", "/api/me/email")
        | ("post", "/api/me/email/code")
        | ("post", "/api/me/email/verify") => SignedIn,
        ("get", "/api/users")
        | ("put", "/api/me/email/admin-notices")
        | ("get", "/api/users/{id}")
        | ("get", "/api/users/{id}/groups")
        | ("get", "/api/users/{id}/sessions")
        | ("get", "/api/users/{id}/methods")
        | ("get", "/api/groups")
        | ("get", "/api/groups/{id}")
        | ("get", "/api/directory/search")
        | ("get", "/api/directory/export")
        | ("get", "/api/overview")
        | ("get", "/api/audit")
        | ("get", "/api/sign-ins")
        | ("get", "/api/policy")
        | ("get", "/api/policy/versions")
        | ("post", "/api/policy/impact")
        | ("post", "/api/policy/what-if")
        | ("get", "/api/reports/registration")
        | ("get", "/api/applications")
        | ("get", "/api/applications/{id}")
        | ("get", "/api/signing-keys")
        | ("get", "/api/risk/detections")
        | ("get", "/api/risk/users")
        | ("get", "/api/risk/sign-ins")
        | ("post", "/api/policy/sign-in-risk/backtest")
        | ("post", "/api/policy/sign-in-risk/impact")
        | ("post", "/api/policy/user-risk/impact")
        | ("post", "/api/policy/sign-in-risk/what-if")
        | ("post", "/api/policy/user-risk/what-if") => ReadAdmin,
        ("post", "/api/users/{id}/grace")
        | ("post", "/api/users/{id}/require-reregistration")
        | ("post", "/api/alerts/{id}/acknowledge")
        | ("post", "/api/risk/users/{id}") => Operate,
        ("post", "/api/users")
        | ("patch", "/api/users/{id}")
        | ("delete", "/api/users/{id}")
        | ("post", "/api/users/{id}/reset-sign-in")
        | ("post", "/api/users/{id}/unlock")
        | ("post", "/api/groups")
        | ("post", "/api/directory/import")
        | ("patch", "/api/groups/{id}")
        | ("delete", "/api/groups/{id}")
        | ("post", "/api/groups/{id}/members")
        | ("delete", "/api/groups/{id}/members/{kind}/{member}")
        | ("put", "/api/policy")
        | ("put", "/api/policy/sign-in-risk")
        | ("put", "/api/policy/user-risk")
        | ("get", "/api/settings/webhook")
        | ("put", "/api/settings/webhook")
        | ("post", "/api/settings/webhook/test")
        | ("post", "/api/applications")
        | ("patch", "/api/applications/{id}")
        | ("post", "/api/applications/{id}/secret")
        | ("delete", "/api/applications/{id}")
        | ("post", "/api/signing-keys/rotate") => ManageSecurity,
        _ => return None,
    })
}

fn allowed(a: Access, role: Option<&str>) -> bool {
    match (a, role) {
        (Access::Public, _) => true,
        (_, None) => false,
        (Access::SignedIn, Some(_)) => true,
        (Access::ReadAdmin, Some(r)) => r != "user",
        (Access::Operate, Some(r)) => {
            matches!(r, "global_administrator" | "security_administrator" | "security_operator")
        }
        (Access::ManageSecurity, Some(r)) => matches!(r, "global_administrator" | "security_administrator"),
        (Access::Global, Some(r)) => r == "global_administrator",
        (Access::OAuth, _) => true,
    }
}

const PW: &str = "lantern harbor quiet seven";

#[actix_web::test]
async fn every_route_answers_each_role_as_the_matrix_says() {
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let token = h.issue_setup_token();
    let (s, _, _, _) = call!(
        app,
        post(
            "/api/setup",
            json!({"token": token, "username": ADMIN, "display_name": "Ada", "password": ADMIN_PASSWORD})
        )
    );
    assert_eq!(s, StatusCode::CREATED);
    let (_, hd, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": ADMIN, "password": ADMIN_PASSWORD})));
    let admin = session_cookie(&hd).unwrap();

    // One full session per role.
    let mut sessions: Vec<(Option<&str>, Option<String>)> =
        vec![(None, None), (Some("global_administrator"), Some(admin.clone()))];
    for role in ["security_administrator", "security_operator", "security_reader", "user"] {
        let name = role.replace('_', "-");
        let (s, _, body, _) = call!(
            app,
            post("/api/users", json!({"username": name, "display_name": name, "role": role}))
                .insert_header(("cookie", admin.clone()))
        );
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let pass = body["temporary_access_pass"]["code"].as_str().unwrap().to_owned();
        let (_, hd, _, _) = call!(app, post("/api/auth/sign-in", json!({"username": name, "password": pass})));
        let c = session_cookie(&hd).unwrap();
        let (s, hd, _, _) =
            call!(app, post("/api/auth/password", json!({"new_password": PW})).insert_header(("cookie", c)));
        assert_eq!(s, StatusCode::OK);
        sessions.push((Some(role), Some(session_cookie(&hd).unwrap())));
    }

    let (_, _, doc, _) = call!(app, get("/api/openapi.json"));
    let mut unclassified = Vec::new();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let Some(a) = access(method, path) else {
                unclassified.push(format!("{method} {path}"));
                continue;
            };
            if a == Access::OAuth {
                continue;
            }
            // Sign-out and setup change state for everyone after them: check them last, elsewhere.
            if matches!((method.as_str(), path.as_str()), ("post", "/api/auth/sign-out") | ("post", "/api/setup")) {
                continue;
            }
            let uri =
                path.replace("{id}", "no-such-id").replace("{kind}", "user").replace("{member}", "no-such-member");
            for (role, cookie) in &sessions {
                let mut req = match method.as_str() {
                    "get" => get(&uri),
                    "post" => post(&uri, json!({})),
                    "put" => post(&uri, json!({})).method(actix_web::http::Method::PUT),
                    "patch" => post(&uri, json!({})).method(actix_web::http::Method::PATCH),
                    "delete" => post(&uri, json!({})).method(actix_web::http::Method::DELETE),
                    m => panic!("method {m}"),
                };
                if let Some(c) = cookie {
                    req = req.insert_header(("cookie", c.clone()));
                }
                let (s, _, body, _) = call!(app, req);
                let who = role.unwrap_or("anonymous");
                if allowed(a, *role) {
                    assert!(
                        s != StatusCode::UNAUTHORIZED && s != StatusCode::FORBIDDEN,
                        "{who} should reach {method} {path}, got {s}: {body}"
                    );
                } else if role.is_none() {
                    assert_eq!(s, StatusCode::UNAUTHORIZED, "anonymous {method} {path}: {body}");
                    assert_eq!(body["error"], "unauthenticated");
                } else {
                    assert_eq!(s, StatusCode::FORBIDDEN, "{who} must not reach {method} {path}: {body}");
                    assert_eq!(body["error"], "forbidden");
                }
                assert!(s.as_u16() < 500, "{who} {method} {path}: {s} {body}");
                checked += 1;
            }
        }
    }
    assert!(unclassified.is_empty(), "routes missing from the role matrix: {unclassified:?}");
    assert!(checked > 40 * 6, "{checked}");

    // Sign-out answers everyone (and ends only the caller's session).
    for (_, cookie) in &sessions {
        let mut req = post("/api/auth/sign-out", json!({}));
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c.clone()));
        }
        let (s, _, _, _) = call!(app, req);
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
}

/// Actions on one user, by every caller role on a target of every role: the server answers
/// 403 exactly where the rules say (nobody below Global administrator acts on one, Security
/// administrators manage plain users only, Security operators act on plain users' registration).
#[actix_web::test]
async fn actions_on_a_user_follow_the_caller_and_the_target_role() {
    use proofup::domain::roles::{may_act_on_security, may_manage_user};
    use proofup_shared::api::Role;
    let h = Harness::new();
    let app = init_service(proofup::http::app(h.state.clone())).await;
    let admin = setup!(h, app);
    let roles = [
        ("global_administrator", Role::GlobalAdministrator),
        ("security_administrator", Role::SecurityAdministrator),
        ("security_operator", Role::SecurityOperator),
        ("security_reader", Role::SecurityReader),
        ("user", Role::User),
    ];
    let make = |name: String, role: &str| {
        let body = json!({"username": name, "display_name": name, "role": role});
        (name, body)
    };
    let mut callers = Vec::new();
    for (wire, role) in roles {
        let (name, body) = make(format!("caller-{}", wire.replace('_', "-")), wire);
        user_with_password!(app, admin, &name, body);
        let (c, _) = sign_in!(app, &name, PW);
        callers.push((role, c));
    }
    let mut checked = 0;
    for (caller_role, cookie) in &callers {
        for (wire, target_role) in roles {
            let (name, body) = make(format!("t-{}-{}", checked, wire.replace('_', "-")), wire);
            let (s, _, created, _) = call!(app, with(&admin, post("/api/users", body)));
            assert_eq!(s, StatusCode::CREATED, "{created}");
            let id = created["user"]["id"].as_str().unwrap().to_owned();
            let manager = caller_role.can_manage_security();
            let operator = caller_role.can_operate();
            let acts = may_act_on_security(*caller_role, target_role);
            for (path, body, allowed) in [
                (format!("/api/users/{id}/unlock"), json!({}), manager && acts),
                (format!("/api/users/{id}/grace"), json!({"extend_days": 3, "reason": "travel"}), operator && acts),
                (format!("/api/users/{id}/require-reregistration"), json!({}), operator && acts),
                (
                    format!("/api/users/{id}/reset-sign-in"),
                    json!({}),
                    manager && may_manage_user(*caller_role, target_role),
                ),
            ] {
                let (s, _, answer, _) = call!(app, with(cookie, post(&path, body)));
                if allowed {
                    assert!(s.is_success(), "{caller_role:?} on {name} ({target_role:?}) {path}: {s} {answer}");
                } else {
                    assert_eq!(
                        s,
                        StatusCode::FORBIDDEN,
                        "{caller_role:?} on {name} ({target_role:?}) {path}: {answer}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 5 * 5 * 4);
}
