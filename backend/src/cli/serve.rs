//! `proofup serve`: opens the store, starts the background work and the HTTP server.

use std::sync::Arc;

use actix_web::HttpServer;

use super::control::spawn_control_socket;
use super::maintenance::{spawn_maintenance, spawn_outbox_worker, Retention};
use super::setup_url::{ensure_setup_link, SetupLink, SetupLinks};
use super::{open_secret_key, record_secret_key, CliResult};
use crate::config::ServeArgs;
use crate::domain::clock::{Clock, SystemClock};
use crate::http::{self, AppState};
use crate::service::{Core, CoreOptions};
use crate::store::Store;

pub async fn serve(args: ServeArgs) -> CliResult<()> {
    let mut config = args.http_config();
    if let Some(path) = &args.metrics_token_file {
        config.metrics_token = Some(crate::config::read_metrics_token(path)?);
    }
    // Mail: checked now, so a mistyped setting stops the start instead of every message.
    let mailer = match args.mail.smtp()? {
        Some(c) => {
            let sender = crate::adapters::smtp::SmtpSender::new(&c)?;
            config.mail = Some(crate::adapters::smtp::SmtpSender::setup(&c));
            Some(Arc::new(sender))
        }
        None => None,
    };
    // The engine: the embedded store in the data directory, or PostgreSQL for several nodes.
    if args.database_url.is_some() {
        std::fs::create_dir_all(&args.data_dir)?;
    }
    let opened = crate::store::open::open(&crate::store::open::Location {
        data_dir: &args.data_dir,
        database_url: args.database_url.as_deref(),
        cache_mib: args.cache_mib,
        pg: crate::store::postgres::PgOptions {
            pool_size: args.db_pool_size as usize,
            statement_timeout_ms: args.db_statement_timeout_ms,
        },
    })?;
    if let Some(url) = &args.database_url {
        tracing::info!(database = %crate::store::postgres::redact(url), "store: PostgreSQL");
    }
    let (store, sled): (Arc<dyn Store>, _) = (opened.store(), opened.embedded().cloned());
    // The secret key, checked against the store before anything is served or sealed.
    let key_file = args.secret_key_file.clone().unwrap_or_else(|| args.data_dir.join("secret.key"));
    let shared = args.database_url.is_some();
    let (secrets, unrecorded) = open_secret_key(store.as_ref(), &key_file, shared)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match ensure_setup_link(store.as_ref(), clock.as_ref(), &args.data_dir, &config.public_url, false)? {
        SetupLink::Issued(url) | SetupLink::Saved(url) => {
            tracing::warn!("No administrator exists yet. Open this one-time link within 1 hour to create the first Global administrator: {url}");
            tracing::warn!("(`proofup setup-url` prints it again.)");
        }
        SetupLink::Elsewhere(until) => tracing::warn!(
            "No administrator exists yet. Another node issued the setup link (live until {until}); it still works. \
             `proofup setup-url --database-url …` (or `proofup setup-url` against this node) issues a fresh one."
        ),
        SetupLink::Done => {}
    }
    if !http::assets::ui_built() {
        tracing::warn!("This binary was built without the portal UI; `/` explains how to build it (make run).");
    }
    let mut options = CoreOptions::from_config(&config);
    options.risk = risk_sources(&args.risk)?;
    let core = Core::new(store.clone(), clock.clone(), secrets, &options);
    // The ID-token signing keys (RS256, ES256), made on first start, sealed with the key file.
    core.ensure_signing_keys().map_err(|e| format!("cannot prepare the signing keys: {e}"))?;
    // The signing keys opened with this key (or were just sealed with it): its check goes with them.
    if unrecorded {
        record_secret_key(core.record_key_check()?, &key_file, shared)?;
    }
    let state = AppState::new(Arc::new(core), config.clone());
    let retention = Retention { days: args.log_retention_days, max_rows: args.log_max_rows };
    let links = SetupLinks {
        store: store.clone(),
        clock: clock.clone(),
        data_dir: args.data_dir.clone(),
        base: config.public_url.clone(),
    };
    let maintenance = spawn_maintenance(state.clone(), links.clone(), retention, args.risk.anonymizer_list.clone());
    if let Some(m) = &mailer {
        super::mail::check_at_start(m.clone());
    } else {
        tracing::info!("mail is off (no --smtp-url): no message is sent");
    }
    let webhooks = spawn_outbox_worker(state.clone(), mailer);
    // Start-up (the membership and session indexes) freed its working memory: return it now,
    // and once more after the first session sweep.
    crate::memory::trim();
    crate::memory::spawn_trimmer();
    crate::memory::release_soon();
    let directory = super::maintenance::spawn_directory_follower(state.clone());
    let control = spawn_control_socket(state.clone(), links, sled, &args.data_dir)?;
    let mut server = HttpServer::new(move || http::app(state.clone()))
        .bind(args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?
        .shutdown_timeout(10);
    let workers = match (args.workers, &args.database_url) {
        (Some(w), _) => Some(w.max(1)),
        (None, Some(_)) => Some(4 * std::thread::available_parallelism().map_or(1, |n| n.get())),
        (None, None) => None,
    };
    if let Some(w) = workers {
        server = server.workers(w);
    }
    tracing::info!(listen = %args.listen, url = %config.public_url, data_dir = %args.data_dir.display(), "Proofup is listening");
    // actix stops gracefully on SIGINT/SIGTERM: no new connections, in-flight requests finish.
    server.run().await?;
    maintenance.abort();
    webhooks.abort();
    directory.abort();
    let _ = std::fs::remove_file(&control);
    store.flush()?;
    tracing::info!("stopped; store flushed");
    Ok(())
}

/// Opens what risk reads; a file given but unreadable stops the start (the operator asked for it).
pub fn risk_sources(args: &crate::config::RiskArgs) -> CliResult<crate::service::risk::RiskSources> {
    let mut sources = crate::service::risk::RiskSources::default();
    if !args.geoip_db.is_empty() {
        let geo = crate::adapters::geoip::MmdbLocator::open(&args.geoip_db)?;
        use crate::service::risk::Locate as _;
        tracing::info!(databases = %geo.describe(), "GeoIP databases loaded");
        if geo.built().is_some_and(|b| time::OffsetDateTime::now_utc() - b > time::Duration::days(60)) {
            tracing::warn!(
                "a GeoIP database is more than 60 days old: update it (geoipupdate, or a new DB-IP Lite file)"
            );
        }
        sources.geo = Some(Arc::new(geo));
    } else {
        tracing::info!(
            "no --geoip-db: sign-in locations are unavailable (travel and unfamiliar-place detections are off)"
        );
    }
    if let Some(path) = &args.breached_set {
        let set = crate::adapters::breached::BreachedSet::open(path)
            .map_err(|e| format!("--breached-set {}: {e}", path.display()))?;
        use crate::service::risk::Breached as _;
        tracing::info!(name = set.name(), entries = set.entries(), "breached-password set loaded");
        sources.breached = Some(Arc::new(set));
    }
    if let Some(path) = &args.anonymizer_list {
        sources.anonymizers = crate::config::read_ip_list(path)?;
    }
    Ok(sources)
}
