//! `proofup seed`: a synthetic directory for benchmarks, written in batches with one flush.

use std::path::Path;

use time::OffsetDateTime;

use super::{open_store, write_private, CliResult};
use crate::store::sled::SledStore;
use crate::store::Durability;

/// `proofup seed`: a synthetic directory, written in batches with one flush.
pub fn seed(args: &crate::config::SeedArgs) -> CliResult<String> {
    use rand::{Rng as _, SeedableRng as _};
    let store = open_store(&args.data_dir, 64)?;
    let now = OffsetDateTime::now_utc();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let levels = (args.depth as usize).min(args.groups.max(1));
    let per_level = (args.groups / levels).max(1);
    let groups: Vec<crate::domain::model::Group> = (0..args.groups)
        .map(|i| crate::domain::model::Group {
            id: format!("seed-g{i}"),
            name: format!("Seed group {i:05}"),
            description: format!("level {}", i / per_level),
            created_at: now,
            updated_at: now,
        })
        .collect();
    let mut edges = Vec::new();
    let mut index = crate::domain::membership::MembershipIndex::default();
    for i in per_level..args.groups {
        let level = i / per_level;
        for _ in 0..rng.gen_range(1..=2) {
            let parent = ((level - 1) * per_level + rng.gen_range(0..per_level)).min(args.groups - 1);
            let (p, c) = (format!("seed-g{parent}"), format!("seed-g{i}"));
            if index.add_group(&p, &c).is_ok() {
                edges.push((p, proofup_shared::directory::MemberKind::Group, c));
            }
        }
    }
    let users: Vec<crate::domain::model::User> = (0..args.users)
        .map(|i| crate::domain::model::User {
            id: format!("seed-u{i}"),
            username: format!("seed-user-{i:06}"),
            display_name: format!("Seed User {i}"),
            email: None,
            email_verified: false,
            admin_notices: false,
            role: proofup_shared::api::Role::User,
            enabled: true,
            emergency_access: false,
            password_hash: String::new(),
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
        })
        .collect();
    if !groups.is_empty() {
        for u in &users {
            for _ in 0..3 {
                let level = rng.gen_range(levels / 2..levels.max(1));
                let g = (level * per_level + rng.gen_range(0..per_level)).min(args.groups - 1);
                edges.push((format!("seed-g{g}"), proofup_shared::directory::MemberKind::User, u.id.clone()));
            }
        }
    }
    store.seed_directory(&users, &groups, &edges)?;
    seed_logs(&store, args, now, &mut rng)?;
    if let Some(out) = &args.sessions_out {
        seed_totp_sessions(&store, &args.data_dir, &users[..args.totp_sessions.min(users.len())], out, now)?;
    }
    if let Some(out) = &args.grants_out {
        seed_grants(&store, &users, (args.oidc_grants, args.access_token_minutes), out, now)?;
    }
    Ok(format!(
        "seeded {} users, {} groups, {} memberships, {} sign-in and {} audit log rows",
        users.len(),
        groups.len(),
        edges.len(),
        args.sign_ins,
        args.audit
    ))
}

/// Benchmarks: each user gets an authenticator app and a sign-in waiting for its code (a login
/// flow, 30 minutes).
fn seed_totp_sessions(
    store: &SledStore,
    data_dir: &Path,
    users: &[crate::domain::model::User],
    out: &Path,
    now: OffsetDateTime,
) -> CliResult<()> {
    use crate::domain::access::Factor;
    use crate::domain::login::LoginFlow;
    use crate::domain::model::Method;
    use crate::store::SessionStore as _;
    let secrets = super::load_key(&data_dir.join("secret.key"), true)?;
    let mut methods = Vec::with_capacity(users.len());
    let mut lines = String::new();
    for u in users {
        let secret = crate::domain::totp::new_secret();
        let id = format!("seed-m-{}", u.id);
        methods.push(Method {
            sealed_secret: secrets.seal(&secret, &Method::seal_context(&u.id, &id))?,
            id,
            user_id: u.id.clone(),
            kind: proofup_shared::mfa::MethodKind::AuthenticatorApp,
            name: "Seeded app".into(),
            credential_id: None,
            passkey: None,
            last_step: None,
            created_at: now,
            last_used_at: None,
        });
        let token = crate::service::new_token();
        store.put_login(
            &crate::service::session_key(&token),
            &LoginFlow::begun(&u.id, Factor::Password, now, "127.0.0.1", "bench"),
        )?;
        lines.push_str(&format!("{token} {}\n", crate::domain::totp::base32(&secret)));
    }
    store.seed_methods(&methods)?;
    store.flush()?;
    write_private(out, lines.as_bytes())?;
    Ok(())
}

/// Benchmarks: an application and `n` sign-ins through it (round-robin over the users), each as a
/// waiting code and a refresh token.
fn seed_grants(
    store: &SledStore,
    users: &[crate::domain::model::User],
    (n, access_token_minutes): (usize, u32),
    out: &Path,
    now: OffsetDateTime,
) -> CliResult<()> {
    use crate::domain::oidc::grant::{CodeGrant, Grant, RefreshGrant};
    use crate::service::{new_token, session_key};
    use crate::store::{ApplicationStore as _, GrantStore as _};
    if users.is_empty() {
        return Err("seed at least one user for --oidc-grants".into());
    }
    let secret = new_token();
    let req: proofup_shared::apps::ApplicationRequest = serde_json::from_value(serde_json::json!({
        "name": "Bench", "redirect_uris": ["http://127.0.0.1:9/cb"], "scopes": ["openid", "profile"],
        "refresh_tokens": true, "refresh_token_days": 30, "service_access": true,
        "access_token_minutes": access_token_minutes
    }))?;
    let app = crate::domain::oidc::Application::new("bench-app".into(), &req, Some(&secret), now);
    let entry = crate::store::AuditDraft(crate::domain::records::AuditRecord {
        id: String::new(),
        at: now,
        actor_id: None,
        actor: "seed".into(),
        action: "application.created".into(),
        target_id: Some(app.id.clone()),
        target: app.name.clone(),
        changes: vec![],
        ip: String::new(),
    });
    store.create_application(&app, entry)?;
    let mut lines = format!("{} {secret}\n", app.id);
    for i in 0..n {
        let u = &users[i % users.len()];
        let grant = Grant {
            id: format!("seed-grant-{i}"),
            client_id: app.id.clone(),
            user_id: u.id.clone(),
            sid: format!("seed-sid-{i}"),
            scopes: vec!["openid".into(), "profile".into()],
            auth_time: now,
            amr: vec!["pwd".into()],
            expires_at: now + time::Duration::days(30),
            origin: None,
        };
        store.put_grant(&grant)?;
        let refresh = new_token();
        store.put_refresh_token(
            &session_key(&refresh),
            &RefreshGrant {
                grant: grant.id.clone(),
                client_id: app.id.clone(),
                user_id: u.id.clone(),
                scopes: grant.scopes.clone(),
                expires_at: grant.expires_at,
                spent: false,
            },
        )?;
        let code = new_token();
        store.put_code(
            &session_key(&code),
            &CodeGrant {
                client_id: app.id.clone(),
                redirect_uri: "http://127.0.0.1:9/cb".into(),
                user_id: u.id.clone(),
                scopes: grant.scopes.clone(),
                nonce: None,
                code_challenge: None,
                auth_time: now,
                amr: vec!["pwd".into()],
                sid: grant.sid.clone(),
                // Longer than a real code's 60 s, so that a benchmark run can spend them all.
                expires_at: now + time::Duration::minutes(10),
                spent: false,
                issued: Vec::new(),
            },
        )?;
        lines.push_str(&format!("{code} {refresh}\n"));
    }
    store.flush()?;
    write_private(out, lines.as_bytes())?;
    Ok(())
}

fn seed_logs(
    store: &SledStore,
    args: &crate::config::SeedArgs,
    now: OffsetDateTime,
    rng: &mut rand::rngs::StdRng,
) -> CliResult<()> {
    use crate::store::{AuditDraft, AuditLog, SignInLog};
    use rand::Rng as _;
    let span = 30 * 24 * 3600 * 1000i64;
    for i in 0..args.sign_ins {
        let at = now - time::Duration::milliseconds(span - (span / args.sign_ins.max(1) as i64) * i as i64);
        let u = rng.gen_range(0..args.users.max(1));
        let ok = rng.gen_bool(0.9);
        store.append_sign_in(crate::domain::records::SignInRecord {
            id: String::new(),
            at,
            username: format!("seed-user-{u:06}"),
            user_id: Some(format!("seed-u{u}")),
            result: if ok {
                proofup_shared::api::SignInResult::Success
            } else {
                proofup_shared::api::SignInResult::Failure
            },
            reason: if ok { "Password".into() } else { "Wrong password".into() },
            ip: format!("10.{}.{}.{}", u % 250, (u / 250) % 250, i % 250),
            user_agent: "seed".into(),
            interactive: true,
            application: None,
            count: 1,
            outcomes: Vec::new(),
            place: None,
        })?;
    }
    for i in 0..args.audit {
        let at = now - time::Duration::milliseconds(span - (span / args.audit.max(1) as i64) * i as i64);
        let u = rng.gen_range(0..args.users.max(1));
        store.append_audit(AuditDraft(crate::domain::records::AuditRecord {
            id: String::new(),
            at,
            actor_id: None,
            actor: "seed".into(),
            action: "user.updated".into(),
            target_id: Some(format!("seed-u{u}")),
            target: format!("seed-user-{u:06}"),
            changes: vec![proofup_shared::api::FieldChange {
                field: "display_name".into(),
                before: Some(format!("Seed User {u}")),
                after: Some(format!("Seed User {u}")),
            }],
            ip: "10.0.0.1".into(),
        }))?;
    }
    store.flush()?;
    Ok(())
}
