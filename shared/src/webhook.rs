//! The optional webhook: a JSON POST for emergency-access sign-ins and policy changes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const WEBHOOK_URL_MAX: usize = 2048;

/// Checks a webhook URL: absolute http(s), no spaces, no user:password part, at most 2048 characters.
pub fn check_webhook_url(url: &str) -> Result<(), String> {
    if url.len() > WEBHOOK_URL_MAX {
        return Err(format!("Use at most {WEBHOOK_URL_MAX} characters."));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| "Enter an http:// or https:// URL.".to_owned())?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The URL cannot contain spaces.".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err("The URL needs a host name.".into());
    }
    if authority.contains('@') {
        return Err("Put credentials in the path or query, not before the host (user:password@).".into());
    }
    Ok(())
}

/// Shows where a webhook goes without the path or query (which often carry a token).
pub fn redact_webhook_url(url: &str) -> String {
    match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            let host_end = after.find(['/', '?', '#']).unwrap_or(after.len());
            let tail = if host_end < after.len() { "/…" } else { "" };
            format!("{}{}{tail}", &url[..i + 3], &after[..host_end])
        }
        None => "…".into(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookSettingsRequest {
    /// `null` or empty turns the webhook off.
    #[serde(default)]
    pub url: Option<String>,
}

/// How one notification channel's deliveries are going (the webhook, mail).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelStatus {
    pub configured: bool,
    /// Where it goes, host only.
    #[serde(default)]
    pub destination: Option<String>,
    /// Events waiting for their first try or a retry.
    pub pending: u64,
    /// Of those, how many failed at least once.
    pub failing: u64,
    /// Events given up on after every retry.
    pub given_up: u64,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_error_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_delivered_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookSettings {
    /// The full URL (only Security administrators and Global administrators see it).
    #[serde(default)]
    pub url: Option<String>,
    pub status: ChannelStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_webhook_url("https://hooks.example.com/services/T0/B0/xyz").is_ok());
        assert!(check_webhook_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_webhook_url("ftp://x").is_err());
        assert!(check_webhook_url("https://").is_err());
        assert!(check_webhook_url("https://u:p@example.com/").is_err());
        assert!(check_webhook_url("https://exa mple.com/").is_err());
        assert!(check_webhook_url(&format!("https://e.com/{}", "a".repeat(3000))).is_err());
        assert_eq!(redact_webhook_url("https://hooks.example.com/services/secret"), "https://hooks.example.com/…");
        assert_eq!(redact_webhook_url("http://h:1"), "http://h:1");
    }
}
