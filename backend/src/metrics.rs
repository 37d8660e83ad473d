//! What a node tells its operator at `GET /metrics`, in the Prometheus text format: sign-ins by
//! result, second steps, the registration interrupt, request latency per route group, the
//! hashing queue, store latency and the webhook backlog.
//!
//! Recorded through the `metrics` facade (a call site is one line; with no recorder installed it
//! costs nothing) and rendered by `metrics-exporter-prometheus`'s recorder, installed once per
//! process (one process is one node). The names and labels live here, so the set of series is
//! fixed and bounded: no label ever carries a username, an address or a path.

use std::sync::OnceLock;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use proofup_shared::api::SignInResult;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Request latency buckets: a TOTP step takes about a millisecond, a password a few tens.
const REQUEST_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Store call buckets: a sled read is microseconds, a PostgreSQL round trip a few hundred.
const STORE_BUCKETS: &[f64] =
    &[0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// Installs the recorder (once; later calls return the same handle). `None` when another
/// recorder was installed first by someone else in this process.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("proofup_http_request_duration_seconds".into()), REQUEST_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full("proofup_store_call_duration_seconds".into()), STORE_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full("proofup_hash_wait_seconds".into()), REQUEST_BUCKETS)
                });
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                Err(e) => {
                    tracing::error!(error = %e, "metrics recorder not built");
                    return None;
                }
            };
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics stays empty");
                return None;
            }
            describe();
            gauge!("proofup_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Some(handle)
        })
        .as_ref()
}

/// The text exposition of every series (histograms drained first).
pub fn render() -> String {
    match install() {
        Some(h) => {
            h.run_upkeep();
            h.render()
        }
        None => String::new(),
    }
}

/// Keeps the histograms' memory bounded between scrapes (the maintenance loop calls it).
pub fn upkeep() {
    if let Some(h) = install() {
        h.run_upkeep();
    }
}

fn describe() {
    describe_gauge!("proofup_build_info", "The running version (value always 1).");
    describe_counter!(
        "proofup_sign_ins_total",
        "Sign-in log entries by result: each password, pass, second step, registration, skip, single sign-on, refresh and client-credentials grant."
    );
    describe_counter!(
        "proofup_second_steps_total",
        "Second factors proved at sign-in or re-authentication, by method and result."
    );
    describe_counter!(
        "proofup_mfa_interrupts_total",
        "The MFA registration interrupt: shown, skipped, registered (a method added at it), report_only (would have been shown)."
    );
    describe_histogram!(
        "proofup_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by route group and status class."
    );
    describe_gauge!("proofup_hash_pool_queue", "Password hashes waiting for a hashing thread.");
    describe_histogram!("proofup_hash_wait_seconds", Unit::Seconds, "Time a password hash waited in the queue.");
    describe_histogram!(
        "proofup_store_call_duration_seconds",
        Unit::Seconds,
        "Store latency: each PostgreSQL call (queue and round trip), each disk sync of the embedded store."
    );
    describe_gauge!("proofup_webhook_backlog", "Webhook deliveries by state: pending, failing (retrying), given_up.");
}

fn result_label(r: SignInResult) -> &'static str {
    match r {
        SignInResult::Success => "success",
        SignInResult::Failure => "failure",
        SignInResult::Throttled => "throttled",
        SignInResult::Blocked => "blocked",
    }
}

/// One sign-in log entry.
pub fn sign_in(result: SignInResult, interactive: bool) {
    let interactive = if interactive { "true" } else { "false" };
    counter!("proofup_sign_ins_total", "result" => result_label(result), "interactive" => interactive).increment(1);
}

/// A risk detection, by kind and level (no user or address labels).
pub fn risk_detection(kind: proofup_shared::risk::DetectionKind, level: proofup_shared::risk::RiskLevel) {
    counter!("proofup_risk_detections_total", "kind" => kind.name(), "level" => level.name()).increment(1);
}

/// The second factors a sign-in proves.
#[derive(Debug, Clone, Copy)]
pub enum Factor {
    AuthenticatorApp,
    Passkey,
    RecoveryCode,
}

pub fn second_step(factor: Factor, ok: bool) {
    let method = match factor {
        Factor::AuthenticatorApp => "authenticator_app",
        Factor::Passkey => "passkey",
        Factor::RecoveryCode => "recovery_code",
    };
    let result = if ok { "success" } else { "failure" };
    counter!("proofup_second_steps_total", "method" => method, "result" => result).increment(1);
}

/// What happened at the registration interrupt.
#[derive(Debug, Clone, Copy)]
pub enum Interrupt {
    Shown,
    Skipped,
    Registered,
    ReportOnly,
}

pub fn interrupt(event: Interrupt) {
    let event = match event {
        Interrupt::Shown => "shown",
        Interrupt::Skipped => "skipped",
        Interrupt::Registered => "registered",
        Interrupt::ReportOnly => "report_only",
    };
    counter!("proofup_mfa_interrupts_total", "event" => event).increment(1);
}

/// The route group of a path: a handful of fixed names, so a scanner's random paths never make
/// new series.
pub fn route_group(path: &str) -> &'static str {
    const GROUPS: &[(&str, &str)] = &[
        ("/api/auth/", "sign_in"),
        ("/api/setup", "sign_in"),
        ("/api/me/", "self_service"),
        ("/api/users", "directory"),
        ("/api/groups", "directory"),
        ("/api/directory/", "directory"),
        ("/api/policy", "policy"),
        ("/api/reports/", "policy"),
        ("/api/overview", "policy"),
        ("/api/sign-ins", "logs"),
        ("/api/audit", "logs"),
        ("/api/applications", "applications"),
        ("/api/signing-keys", "applications"),
        ("/api/", "api_other"),
        ("/oauth2/token", "oidc_token"),
        ("/oauth2/revoke", "oidc_token"),
        ("/oauth2/introspect", "oidc_token"),
        ("/oauth2/", "oidc"),
        ("/.well-known/", "oidc"),
        ("/healthz", "probes"),
        ("/readyz", "probes"),
        ("/metrics", "probes"),
    ];
    GROUPS.iter().find(|(prefix, _)| path.starts_with(prefix)).map_or("portal", |(_, g)| g)
}

pub fn request(group: &'static str, status: u16, seconds: f64) {
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    histogram!("proofup_http_request_duration_seconds", "group" => group, "status" => class).record(seconds);
}

pub fn hash_queued() {
    gauge!("proofup_hash_pool_queue").increment(1.0);
}

/// A hashing thread took a job that waited `seconds`.
pub fn hash_started(seconds: f64) {
    gauge!("proofup_hash_pool_queue").decrement(1.0);
    histogram!("proofup_hash_wait_seconds").record(seconds);
}

pub fn store_call(engine: &'static str, seconds: f64) {
    histogram!("proofup_store_call_duration_seconds", "engine" => engine).record(seconds);
}

// Precision: counts far below 2^53.
#[allow(clippy::cast_precision_loss)]
pub fn webhook_backlog(pending: u64, failing: u64, given_up: u64) {
    for (state, n) in [("pending", pending), ("failing", failing), ("given_up", given_up)] {
        gauge!("proofup_webhook_backlog", "state" => state).set(n as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::route_group;

    #[test]
    fn every_path_falls_in_a_fixed_group() {
        assert_eq!(route_group("/api/auth/sign-in"), "sign_in");
        assert_eq!(route_group("/api/auth/second-factor"), "sign_in");
        assert_eq!(route_group("/api/users/abc/sessions"), "directory");
        assert_eq!(route_group("/api/policy/impact"), "policy");
        assert_eq!(route_group("/api/nonsense"), "api_other");
        assert_eq!(route_group("/oauth2/token"), "oidc_token");
        assert_eq!(route_group("/oauth2/authorize"), "oidc");
        assert_eq!(route_group("/.well-known/openid-configuration"), "oidc");
        assert_eq!(route_group("/wp-admin/../../etc/passwd"), "portal");
        assert_eq!(route_group("/"), "portal");
    }
}
