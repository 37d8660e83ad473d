//! Running the server, and the `setup-url` command.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::HttpServer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::{public_url, ServeArgs, SetupUrlArgs};
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::secretbox::SecretBox;
use crate::http::{self, AppState};
use crate::service::setup;
use crate::store::sled::{backup, OpenError, SledStore};
use crate::store::{Durability, SetupStore, Store};

#[derive(Serialize, Deserialize)]
struct SetupFile {
    url: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

pub use crate::config::setup_file;

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(contents)
}

/// `proofup seed`: a synthetic directory, written in batches with one flush.
pub fn seed(args: &crate::config::SeedArgs) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
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
    Ok(format!(
        "seeded {} users, {} groups, {} memberships, {} sign-in and {} audit log rows",
        users.len(),
        groups.len(),
        edges.len(),
        args.sign_ins,
        args.audit
    ))
}

/// Benchmarks: each user gets an authenticator app and a session waiting for its code.
fn seed_totp_sessions(
    store: &SledStore,
    data_dir: &Path,
    users: &[crate::domain::model::User],
    out: &Path,
    now: OffsetDateTime,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use crate::domain::model::{Method, Session, SessionStage};
    use crate::store::SessionStore as _;
    let secrets = load_or_create_key(&data_dir.join("secret.key"))?;
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
        let token = crate::service::auth::new_token();
        store.create_session(
            &crate::service::auth::session_key(&token),
            &Session {
                user_id: u.id.clone(),
                created_at: now,
                last_seen_at: now,
                ip: "127.0.0.1".into(),
                user_agent: "bench".into(),
                stage: SessionStage::SecondFactor,
                mfa_at: None,
            },
        )?;
        lines.push_str(&format!("{token} {}\n", crate::domain::totp::base32(&secret)));
    }
    store.seed_methods(&methods)?;
    store.flush()?;
    write_private(out, lines.as_bytes())?;
    Ok(())
}

fn seed_logs(
    store: &SledStore,
    args: &crate::config::SeedArgs,
    now: OffsetDateTime,
    rng: &mut rand::rngs::StdRng,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use crate::store::{AuditDraft, AuditLog, SignInLog};
    use rand::Rng as _;
    let span = 30 * 24 * 3600 * 1000i64;
    for i in 0..args.sign_ins {
        let at = now - time::Duration::milliseconds(span - (span / args.sign_ins.max(1) as i64) * i as i64);
        let u = rng.gen_range(0..args.users.max(1));
        let ok = rng.gen_bool(0.9);
        store.append_sign_in(proofup_shared::api::SignInLogEntry {
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
        })?;
    }
    for i in 0..args.audit {
        let at = now - time::Duration::milliseconds(span - (span / args.audit.max(1) as i64) * i as i64);
        let u = rng.gen_range(0..args.users.max(1));
        store.append_audit(AuditDraft(proofup_shared::api::AuditEntry {
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

/// Reads the secret-sealing key, or creates it (0600) on first run.
fn load_or_create_key(path: &Path) -> Result<SecretBox, Box<dyn std::error::Error + Send + Sync>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                format!(
                    "the secret key file {} must hold exactly 32 bytes; restore it from your backup",
                    path.display()
                )
            })?;
            Ok(SecretBox::new(&key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
            write_private(path, &key)
                .map_err(|e| format!("cannot create the secret key file {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "created the key that encrypts TOTP secrets; back it up separately");
            Ok(SecretBox::new(&key))
        }
        Err(e) => Err(format!("cannot read the secret key file {}: {e}", path.display()).into()),
    }
}

/// Issues a new setup token if no administrator exists yet; logs and saves the link.
fn ensure_setup_link(
    store: &dyn Store,
    clock: &dyn Clock,
    data_dir: &Path,
    base: &str,
    force: bool,
) -> anyhow_lite::Result<Option<String>> {
    if store.setup_done()? {
        let _ = std::fs::remove_file(setup_file(data_dir));
        return Ok(None);
    }
    let current = store.setup_token()?;
    if !force && current.as_ref().is_some_and(|t| t.expires_at > clock.now()) && setup_file(data_dir).exists() {
        return Ok(None);
    }
    let token = setup::issue_token(store, clock)?;
    let url = format!("{base}/setup?token={token}");
    let file = SetupFile { url: url.clone(), expires_at: clock.now() + crate::domain::setup::SETUP_TOKEN_TTL };
    write_private(&setup_file(data_dir), &serde_json::to_vec(&file)?)?;
    Ok(Some(url))
}

/// Tiny error alias so this module can use `?` across error types.
mod anyhow_lite {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}

pub fn open_store(dir: &Path, cache_mib: u64) -> Result<SledStore, OpenError> {
    SledStore::open(dir, cache_mib << 20)
}

pub async fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let config = args.http_config();
    let store = Arc::new(open_store(&args.data_dir, args.cache_mib)?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if let Some(url) = ensure_setup_link(store.as_ref(), clock.as_ref(), &args.data_dir, &config.public_url, true)? {
        tracing::warn!("No administrator exists yet. Open this one-time link within 1 hour to create the first Global administrator: {url}");
        tracing::warn!("(`proofup setup-url` prints it again.)");
    }
    if !http::assets::ui_built() {
        tracing::warn!("This binary was built without the portal UI; `/` explains how to build it (make run).");
    }
    let mut state = AppState::new(store.clone() as Arc<dyn Store>, clock.clone(), config.clone());
    let key_file = args.secret_key_file.clone().unwrap_or_else(|| args.data_dir.join("secret.key"));
    state.secrets = Arc::new(load_or_create_key(&key_file)?);
    let retention = Retention { days: args.log_retention_days, max_rows: args.log_max_rows };
    let maintenance = spawn_maintenance(state.clone(), args.data_dir.clone(), retention);
    let webhooks = spawn_webhook_worker(state.clone());
    // Start-up (the membership and session indexes) freed its working memory: return it now,
    // and once more after the first session sweep.
    crate::memory::trim();
    crate::memory::spawn_trimmer();
    crate::memory::release_soon();
    let control = spawn_control_socket(state.clone(), store.clone(), &args.data_dir)?;
    let mut server = HttpServer::new(move || http::app(state.clone()))
        .bind(args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?
        .shutdown_timeout(10);
    if let Some(w) = args.workers {
        server = server.workers(w.max(1));
    }
    tracing::info!(listen = %args.listen, url = %config.public_url, data_dir = %args.data_dir.display(), "Proofup is listening");
    // actix stops gracefully on SIGINT/SIGTERM: no new connections, in-flight requests finish.
    server.run().await?;
    maintenance.abort();
    webhooks.abort();
    let _ = std::fs::remove_file(&control);
    store.flush()?;
    tracing::info!("stopped; store flushed");
    Ok(())
}

pub const CONTROL_SOCKET: &str = "control.sock";

/// A Unix socket in the data directory (0600: only the server's own user) through which
/// `proofup backup` asks the running server for a consistent snapshot.
fn spawn_control_socket(state: AppState, engine: Arc<SledStore>, data_dir: &Path) -> std::io::Result<PathBuf> {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::fs::PermissionsExt;
    let path = data_dir.join(CONTROL_SOCKET);
    let dir = data_dir.to_path_buf();
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    std::thread::Builder::new().name("control".into()).spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut line = String::new();
            if BufReader::new(&conn).read_line(&mut line).is_err() {
                continue;
            }
            let reply = match line.trim_end().split_once(' ').unwrap_or((line.trim_end(), "")) {
                ("setup-url", _) => match state.store.setup_done() {
                    Ok(true) => "done\n".to_owned(),
                    Ok(false) => match std::fs::read(setup_file(&dir)) {
                        Ok(bytes) => format!("pending {}\n", String::from_utf8_lossy(&bytes).trim()),
                        Err(_) => "pending\n".to_owned(),
                    },
                    Err(e) => format!("error {e}\n"),
                },
                ("backup", to) => {
                    // Wait for state-changing requests in flight; hold new ones while copying.
                    let _exclusive = state.write_gate.blocking_write();
                    match backup::write_backup(&engine, Path::new(to)) {
                        Ok(s) => format!("ok {} trees, {} entries, {} bytes\n", s.trees, s.entries, s.bytes),
                        Err(e) => format!("error {e}\n"),
                    }
                }
                _ => "error unknown command\n".to_owned(),
            };
            if let Some(to) = line.trim_end().strip_prefix("backup ") {
                tracing::info!(to, result = reply.trim_end(), "backup");
            }
            let _ = conn.write_all(reply.as_bytes());
        }
    })?;
    Ok(path)
}

/// `proofup backup`: through the running server's control socket, or directly from a stopped store.
pub fn backup(args: &crate::config::BackupArgs) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    use std::io::{BufRead, BufReader, Write};
    if !args.data_dir.join("db").exists() {
        return Err(format!("{} holds no Proofup store", args.data_dir.display()).into());
    }
    let to = std::path::absolute(&args.to)?;
    match SledStore::open(&args.data_dir, 16 << 20) {
        Ok(store) => {
            let s = backup::write_backup(&store, &to)?;
            Ok(format!(
                "backup written to {} ({} trees, {} entries, {} bytes)",
                to.display(),
                s.trees,
                s.entries,
                s.bytes
            ))
        }
        Err(OpenError::Locked { .. }) => {
            let sock = args.data_dir.join(CONTROL_SOCKET);
            let mut conn = std::os::unix::net::UnixStream::connect(&sock).map_err(|e| {
                format!("the store is in use but its server does not answer on {}: {e}", sock.display())
            })?;
            conn.write_all(format!("backup {}\n", to.display()).as_bytes())?;
            let mut reply = String::new();
            BufReader::new(conn).read_line(&mut reply)?;
            match reply.trim_end().split_once(' ') {
                Some(("ok", detail)) => {
                    Ok(format!("backup written to {} by the running server ({detail})", to.display()))
                }
                Some(("error", e)) => Err(e.to_owned().into()),
                _ => Err(format!("unexpected answer from the server: {reply}").into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// `proofup restore`: checks the whole file, then restores into an empty directory.
pub fn restore(args: &crate::config::RestoreArgs) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let s = backup::restore_backup(&args.from, &args.data_dir, 16 << 20)?;
    Ok(format!(
        "restored {} trees, {} entries into {}. Sessions are not restored: everyone signs in again. \
         Put the secret key file (secret.key) of the backed-up server next to it.",
        s.trees,
        s.entries,
        args.data_dir.display()
    ))
}

/// Every 2 seconds: POST due webhook deliveries (blocking HTTP, off the async workers).
fn spawn_webhook_worker(state: AppState) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let sender = Arc::new(crate::service::webhook::HttpSender::new());
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(2));
        loop {
            tick.tick().await;
            let (store, clock, sender) = (state.store.clone(), state.clock.clone(), sender.clone());
            let run = tokio::task::spawn_blocking(move || {
                crate::service::webhook::deliver_due(store.as_ref(), sender.as_ref(), clock.now())
            });
            match run.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "webhook outbox unreadable"),
                Err(e) => tracing::error!(error = %e, "webhook worker failed"),
            }
        }
    })
}

/// How long the logs keep their entries.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub days: u32,
    pub max_rows: u64,
}

/// Removes log entries past their retention (or beyond the row cap); returns how many.
pub fn prune_logs(
    store: &dyn Store,
    retention: Retention,
    now: OffsetDateTime,
) -> Result<u64, crate::store::StoreError> {
    let before = now - time::Duration::days(retention.days.into());
    Ok(store.prune_sign_ins(before, retention.max_rows)? + store.prune_audit(before, retention.max_rows)?)
}

/// Once a minute: drop expired sessions, renew an expired setup link; hourly, prune the logs
/// (off the async workers).
fn spawn_maintenance(state: AppState, data_dir: PathBuf, retention: Retention) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(60));
        let mut minutes = 0u64;
        loop {
            tick.tick().await;
            // Hourly, not at start: the row cap reads every key of both logs, which would fill the
            // page cache and the heap just as the server starts.
            if minutes > 0 && minutes.is_multiple_of(60) {
                let (store, now) = (state.store.clone(), state.clock.now());
                match tokio::task::spawn_blocking(move || prune_logs(store.as_ref(), retention, now)).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => tracing::info!(removed = n, days = retention.days, "old log entries removed"),
                    Ok(Err(e)) => tracing::error!(error = %e, "log retention sweep failed"),
                    Err(e) => tracing::error!(error = %e, "log retention sweep failed"),
                }
                crate::memory::release_soon();
            }
            minutes += 1;
            let now = state.clock.now();
            let limits = state.limits;
            match state.store.sweep_sessions(now, limits) {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, "expired sessions removed"),
                Err(e) => tracing::error!(error = %e, "session sweep failed"),
            }
            match ensure_setup_link(
                state.store.as_ref(),
                state.clock.as_ref(),
                &data_dir,
                &state.config.public_url,
                false,
            ) {
                Ok(Some(url)) => tracing::warn!("The setup link expired; here is a new one (valid 1 hour): {url}"),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "could not renew the setup link"),
            }
        }
    })
}

/// `proofup setup-url`: prints a valid setup link, issuing a new one when the
/// store is free; reads the saved one when the server is running.
pub fn setup_url(args: SetupUrlArgs) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let base = public_url(args.public_url.as_deref(), args.listen);
    match open_store(&args.data_dir, 16) {
        Ok(store) => {
            if store.setup_done()? {
                return Err(ALREADY_SET_UP.into());
            }
            ensure_setup_link(&store, &SystemClock, &args.data_dir, &base, true)?;
        }
        Err(OpenError::Locked { .. }) => return setup_url_from_server(&args.data_dir),
        Err(e) => return Err(e.into()),
    }
    read_setup_file(&std::fs::read(setup_file(&args.data_dir))?)
}

fn read_setup_file(bytes: &[u8]) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let file: SetupFile = serde_json::from_slice(bytes)?;
    if file.expires_at <= OffsetDateTime::now_utc() {
        return Err(
            "The saved setup link has expired. The running server renews it within a minute; run this again shortly."
                .into(),
        );
    }
    Ok(file.url)
}

/// The running server holds the store: ask it (control socket) whether setup is done, and for its link.
fn setup_url_from_server(data_dir: &Path) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    use std::io::{BufRead, BufReader, Write};
    let sock = data_dir.join(CONTROL_SOCKET);
    let mut conn = std::os::unix::net::UnixStream::connect(&sock)
        .map_err(|e| format!("the store is in use but its server does not answer on {}: {e}", sock.display()))?;
    conn.write_all(b"setup-url\n")?;
    let mut reply = String::new();
    BufReader::new(conn).read_line(&mut reply)?;
    match reply.trim_end().split_once(' ').unwrap_or((reply.trim_end(), "")) {
        ("done", _) => Err(ALREADY_SET_UP.into()),
        ("pending", "") => Err("Proofup is running but has no saved setup link. Restart it for a new link.".into()),
        ("pending", file) => read_setup_file(file.as_bytes()),
        ("error", e) => Err(e.to_owned().into()),
        _ => Err(format!("unexpected answer from the server: {reply}").into()),
    }
}

const ALREADY_SET_UP: &str = "Proofup is already set up: sign in as an administrator.";
