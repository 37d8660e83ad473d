//! The server's background work: sessions swept and the setup link renewed each minute, logs
//! pruned hourly, notifications (the webhook's) every 2 seconds.

use std::path::PathBuf;
use std::sync::Arc;

use time::OffsetDateTime;

use super::setup_url::{ensure_setup_link, SetupLink};
use crate::http::AppState;
use crate::store::Store;

/// Every 2 seconds: the service's notification job with this server's senders (blocking I/O,
/// off the async workers).
pub(super) fn spawn_outbox_worker(state: AppState) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let webhook = Arc::new(crate::adapters::webhook_http::HttpSender::new());
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(2));
        loop {
            tick.tick().await;
            let (core, webhook) = (state.core.clone(), webhook.clone());
            let run = tokio::task::spawn_blocking(move || core.deliver_due(&[webhook.as_ref()]));
            match run.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "notification outbox unreadable"),
                Err(e) => tracing::error!(error = %e, "notification worker failed"),
            }
        }
    })
}

/// Several nodes on one database: twice a second, if any node changed a membership since the
/// last look, rebuild this node's membership index from the database (so a decision here uses
/// an index at most about a second behind). Nothing to do on the embedded store.
pub(super) fn spawn_directory_follower(state: AppState) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let store = state.core.store.clone();
        let Ok(Some(mut seen)) = store.membership_version() else { return };
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_millis(500));
        loop {
            tick.tick().await;
            let core = state.core.clone();
            let run = tokio::task::spawn_blocking(move || -> Result<Option<u64>, crate::service::ServiceError> {
                let Some(now) = core.store.membership_version()? else { return Ok(None) };
                if now == seen {
                    return Ok(Some(now));
                }
                let index = crate::service::groups::build_index(core.store.as_ref())?;
                *core.membership.write().map_err(crate::service::index_poisoned)? = index;
                Ok(Some(now))
            });
            match run.await {
                Ok(Ok(Some(v))) => seen = v,
                Ok(Ok(None)) => return,
                Ok(Err(e)) => tracing::error!(error = %e, "could not follow the directory's changes"),
                Err(e) => tracing::error!(error = %e, "directory follower failed"),
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
pub(super) fn spawn_maintenance(
    state: AppState,
    data_dir: PathBuf,
    retention: Retention,
) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(60));
        let mut minutes = 0u64;
        loop {
            tick.tick().await;
            // Hourly, not at start: the row cap reads every key of both logs, which would fill the
            // page cache and the heap just as the server starts.
            if minutes > 0 && minutes.is_multiple_of(60) {
                let (store, now) = (state.core.store.clone(), state.core.clock.now());
                match tokio::task::spawn_blocking(move || prune_logs(store.as_ref(), retention, now)).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => tracing::info!(removed = n, days = retention.days, "old log entries removed"),
                    Ok(Err(e)) => tracing::error!(error = %e, "log retention sweep failed"),
                    Err(e) => tracing::error!(error = %e, "log retention sweep failed"),
                }
                crate::memory::release_soon();
            }
            minutes += 1;
            crate::metrics::upkeep();
            let now = state.core.clock.now();
            let limits = state.core.limits;
            match state.core.store.sweep_sessions(now, limits) {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, "expired sessions removed"),
                Err(e) => tracing::error!(error = %e, "session sweep failed"),
            }
            // Flows, codes and access tokens of application sign-ins, once expired.
            match state.core.store.sweep_grants(now) {
                Ok(0) => {}
                Ok(n) => {
                    tracing::debug!(removed = n, "expired sign-in grants removed");
                    // Many removed (machine traffic): give the freed heap back to the system.
                    if n >= 1_000 {
                        crate::memory::release_soon();
                    }
                }
                Err(e) => tracing::error!(error = %e, "grant sweep failed"),
            }
            match ensure_setup_link(
                state.core.store.as_ref(),
                state.core.clock.as_ref(),
                &data_dir,
                &state.config.public_url,
                false,
            ) {
                Ok(SetupLink::Issued(url)) => {
                    tracing::warn!("The setup link expired; here is a new one (valid 1 hour): {url}")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "could not renew the setup link"),
            }
        }
    })
}
