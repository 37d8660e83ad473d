//! The server's schedule for the service's jobs (`service::jobs`, `Core::deliver_due`): sessions
//! and grants swept and the setup link renewed each minute, logs pruned and registration
//! reminders queued hourly, notifications every 2 seconds, the directory followed twice a second
//! on several nodes.

use std::sync::Arc;

use super::setup_url::{SetupLink, SetupLinks};
use crate::http::AppState;
pub use crate::service::jobs::Retention;

/// Every 2 seconds: the service's notification job with this server's senders (blocking I/O,
/// off the async workers).
pub(super) fn spawn_outbox_worker(
    state: AppState,
    mailer: Option<Arc<crate::adapters::smtp::SmtpSender>>,
) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let webhook = Arc::new(crate::adapters::webhook_http::HttpSender::new());
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(2));
        loop {
            tick.tick().await;
            let (core, webhook, mailer) = (state.core.clone(), webhook.clone(), mailer.clone());
            let run = tokio::task::spawn_blocking(move || {
                let mut senders: Vec<&dyn crate::service::notify::Transport> = vec![webhook.as_ref()];
                if let Some(m) = &mailer {
                    senders.push(m.as_ref());
                }
                core.deliver_due(&senders)
            });
            match run.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "notification outbox unreadable"),
                Err(e) => tracing::error!(error = %e, "notification worker failed"),
            }
        }
    })
}

/// Several nodes on one database: twice a second, the service's directory-following job
/// (nothing to do on the embedded store).
pub(super) fn spawn_directory_follower(state: AppState) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let Ok(Some(mut seen)) = state.core.directory_version() else { return };
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_millis(500));
        loop {
            tick.tick().await;
            let core = state.core.clone();
            match tokio::task::spawn_blocking(move || core.follow_directory(seen)).await {
                Ok(Ok(Some(v))) => seen = v,
                Ok(Ok(None)) => return,
                Ok(Err(e)) => tracing::error!(error = %e, "could not follow the directory's changes"),
                Err(e) => tracing::error!(error = %e, "directory follower failed"),
            }
        }
    })
}

/// Once a minute: drop expired sessions, renew an expired setup link; hourly, prune the logs
/// (off the async workers).
pub(super) fn spawn_maintenance(
    state: AppState,
    links: SetupLinks,
    retention: Retention,
    anonymizer_list: Option<std::path::PathBuf>,
) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(60));
        let mut minutes = 0u64;
        let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut list_seen = anonymizer_list.as_deref().and_then(modified);
        loop {
            tick.tick().await;
            // The anonymizer list, re-read when its file changes (a bad file keeps the old list).
            if let Some(path) = &anonymizer_list {
                let now_seen = modified(path);
                if now_seen != list_seen {
                    list_seen = now_seen;
                    match crate::config::read_ip_list(path) {
                        Ok(list) => {
                            tracing::info!(entries = list.len(), "anonymizer list re-read");
                            state.core.set_anonymizers(list);
                        }
                        Err(e) => tracing::error!(error = %e, "anonymizer list not re-read; the old one stays"),
                    }
                }
            }
            // The organisation's familiar countries and networks (risk): a minute after start,
            // then every ten.
            if minutes % 10 == 1 {
                let core = state.core.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || core.refresh_org_familiarity()).await {
                    tracing::error!(error = %e, "could not rebuild the organisation's familiar places");
                }
            }
            // Hourly, not at start: the row cap reads every key of both logs, which would fill the
            // page cache and the heap just as the server starts.
            if minutes > 0 && minutes.is_multiple_of(60) {
                let core = state.core.clone();
                match tokio::task::spawn_blocking(move || core.prune_logs(retention)).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => tracing::info!(removed = n, days = retention.days, "old log entries removed"),
                    Ok(Err(e)) => tracing::error!(error = %e, "log retention sweep failed"),
                    Err(e) => tracing::error!(error = %e, "log retention sweep failed"),
                }
                crate::memory::release_soon();
            }
            // Registration reminders: 5 minutes after start, then hourly (each once per user and
            // deadline, whichever node runs it).
            if minutes % 60 == 5 {
                let core = state.core.clone();
                match tokio::task::spawn_blocking(move || core.send_reminders()).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => tracing::info!(queued = n, "registration reminders queued"),
                    Ok(Err(e)) => tracing::error!(error = %e, "registration reminders failed"),
                    Err(e) => tracing::error!(error = %e, "registration reminders failed"),
                }
            }
            minutes += 1;
            crate::metrics::upkeep();
            let core = state.core.clone();
            match tokio::task::spawn_blocking(move || core.sweep_expired()).await {
                Ok(Ok(swept)) => {
                    if swept.sessions > 0 {
                        tracing::debug!(removed = swept.sessions, "expired sessions removed");
                    }
                    if swept.grants > 0 {
                        tracing::debug!(removed = swept.grants, "expired sign-in grants removed");
                    }
                    // Many removed (machine traffic): give the freed heap back to the system.
                    if swept.grants >= 1_000 {
                        crate::memory::release_soon();
                    }
                }
                Ok(Err(e)) => tracing::error!(error = %e, "session and grant sweep failed"),
                Err(e) => tracing::error!(error = %e, "session and grant sweep failed"),
            }
            match links.ensure(false) {
                Ok(SetupLink::Issued(url)) => {
                    tracing::warn!("The setup link expired; here is a new one (valid 1 hour): {url}")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "could not renew the setup link"),
            }
        }
    })
}
