//! Applications that sign their users in through Proofup (OpenID Connect relying parties), as
//! the admin API and the portal speak of them, and their validation.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::directory::DirectoryRef;
use crate::FieldError;

/// How an application proves who it is at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A server-side application with a client secret (shown once); PKCE accepted, optional.
    #[default]
    Confidential,
    /// A browser or native application that cannot keep a secret: PKCE (S256) required.
    Public,
}

/// Scopes an application may be allowed to ask for.
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];

/// An application as the admin API shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationView {
    /// The OAuth `client_id`.
    pub id: String,
    pub name: String,
    pub kind: ClientKind,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub access_token_minutes: u32,
    pub refresh_tokens: bool,
    pub refresh_token_days: u32,
    pub enabled: bool,
    /// Only the assigned users and members of the assigned groups (nested groups count) may sign in.
    pub assignment_required: bool,
    pub assigned: Vec<DirectoryRef>,
    /// A user with a method must use it; a user without one must register now, with no skip.
    pub require_mfa: bool,
    /// The application may also get access tokens for itself (client credentials grant, no user).
    #[serde(default)]
    pub service_access: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the current secret was issued (confidential applications).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub secret_issued_at: Option<OffsetDateTime>,
    /// Until when the secret before the last rotation is still accepted.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub previous_secret_valid_until: Option<OffsetDateTime>,
}

/// Registers an application, or replaces an application's settings (PATCH sends every field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    pub name: String,
    #[serde(default)]
    pub kind: ClientKind,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Defaults to openid, profile, email.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// 1–60, default 10.
    #[serde(default = "default_access_minutes")]
    pub access_token_minutes: u32,
    #[serde(default)]
    pub refresh_tokens: bool,
    /// 1–90, default 30.
    #[serde(default = "default_refresh_days")]
    pub refresh_token_days: u32,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub assignment_required: bool,
    #[serde(default)]
    pub assigned_users: Vec<String>,
    #[serde(default)]
    pub assigned_groups: Vec<String>,
    #[serde(default)]
    pub require_mfa: bool,
    /// Client credentials grant (confidential applications only): tokens for the application
    /// itself, for its calls between services; never a user, an ID token or an interrupt.
    #[serde(default)]
    pub service_access: bool,
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}
fn default_access_minutes() -> u32 {
    10
}
fn default_refresh_days() -> u32 {
    30
}
fn yes() -> bool {
    true
}

/// The answer to registering an application: the secret is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApplication {
    pub application: ApplicationView,
    /// Confidential applications only; never shown again (rotate to get a new one).
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the old secret keeps working, 0–168 hours (0: at once).
    pub overlap_hours: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotatedSecret {
    pub client_secret: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub previous_valid_until: Option<OffsetDateTime>,
}

/// Rotating the signing keys takes an empty object (so a stray or malformed request does nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateKeysRequest {}

/// One signing key as the portal lists them (never the private part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKeyView {
    pub kid: String,
    /// RS256 or ES256.
    pub alg: String,
    /// next (published, not yet signing), active (signing), retired (published until tokens it signed expire).
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub activated_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
}

/// Whether `uri` may be registered as a redirect URI: absolute http(s), no fragment, no
/// userinfo; plain http only for loopback hosts (localhost, 127.0.0.1, [::1]). Returns why not.
pub fn redirect_uri_problem(uri: &str) -> Option<&'static str> {
    if uri.len() > 2000 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must be one URL without spaces, up to 2000 characters");
    }
    if uri.contains('#') {
        return Some("must not have a fragment (#…)");
    }
    let (scheme, rest) = match uri.split_once("://") {
        Some((s, r)) => (s, r),
        None => return Some("must be an absolute URL (https://…)"),
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() {
        return Some("must name a host");
    }
    if authority.contains('@') {
        return Some("must not carry a user name or password");
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    match scheme {
        "https" => None,
        "http" if matches!(host.to_ascii_lowercase().as_str(), "localhost" | "127.0.0.1" | "::1") => None,
        "http" => Some("must use https (plain http only for localhost)"),
        _ => Some("must be an http(s) URL"),
    }
}

/// Checks a registration or update; every problem, each at its field.
pub fn validate_application(req: &ApplicationRequest) -> Vec<FieldError> {
    let mut out = Vec::new();
    let mut bad = |field: &str, message: String| out.push(FieldError { field: field.into(), message });
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        bad("name", "Give the application a name (up to 100 characters).".into());
    }
    if req.redirect_uris.is_empty() {
        bad("redirect_uris", "Add at least one redirect URI (where Proofup sends users back).".into());
    }
    if req.redirect_uris.len() > 20 || req.post_logout_redirect_uris.len() > 20 {
        bad("redirect_uris", "Up to 20 redirect URIs.".into());
    }
    for (field, list) in
        [("redirect_uris", &req.redirect_uris), ("post_logout_redirect_uris", &req.post_logout_redirect_uris)]
    {
        for u in list {
            if let Some(why) = redirect_uri_problem(u) {
                bad(field, format!("{u:?} {why}."));
            }
        }
        let mut seen = std::collections::HashSet::new();
        if list.iter().any(|u| !seen.insert(u)) {
            bad(field, "A URI is listed twice.".into());
        }
    }
    if !req.scopes.iter().any(|s| s == "openid") {
        bad("scopes", "The openid scope is required.".into());
    }
    for s in &req.scopes {
        if !SCOPES.contains(&s.as_str()) {
            bad("scopes", format!("Unknown scope {s:?}; use {}.", SCOPES.join(", ")));
        }
    }
    if !(1..=60).contains(&req.access_token_minutes) {
        bad("access_token_minutes", "Access tokens live 1 to 60 minutes.".into());
    }
    if !(1..=90).contains(&req.refresh_token_days) {
        bad("refresh_token_days", "Refresh tokens live 1 to 90 days.".into());
    }
    if req.service_access && req.kind == ClientKind::Public {
        bad("service_access", "Only an application with a secret can get tokens for itself.".into());
    }
    if req.assigned_users.len() + req.assigned_groups.len() > 1000 {
        bad("assigned_groups", "Up to 1000 assigned users and groups; assign a group instead.".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_http_without_fragments() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/oidc?x=1",
            "http://localhost:3000/cb",
            "http://127.0.0.1:18081/protected/redirect_uri",
            "http://[::1]:9000/cb",
        ] {
            assert_eq!(redirect_uri_problem(ok), None, "{ok}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "/relative",
            "javascript://alert(1)",
            "https://user:pw@app.example.com/cb",
            "https:///path",
            "https://app.example.com/a b",
            "http://localhost.evil.com/cb",
        ] {
            assert!(redirect_uri_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn a_request_names_every_problem_at_its_field() {
        let req = ApplicationRequest {
            name: " ".into(),
            kind: ClientKind::Public,
            redirect_uris: vec!["http://example.com/cb".into(), "http://example.com/cb".into()],
            post_logout_redirect_uris: vec![],
            scopes: vec!["profile".into(), "admin".into()],
            access_token_minutes: 0,
            refresh_tokens: true,
            refresh_token_days: 365,
            enabled: true,
            assignment_required: false,
            assigned_users: vec![],
            assigned_groups: vec![],
            require_mfa: false,
            service_access: true,
        };
        let fields: Vec<String> = validate_application(&req).into_iter().map(|f| f.field).collect();
        for f in ["name", "redirect_uris", "scopes", "access_token_minutes", "refresh_token_days", "service_access"] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
    }
}
