//! The authorization request (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636, RFC 9207), checked
//! before anything is shown: which mistakes may go back to the application by redirect, and
//! which must not (an unknown client or an unregistered redirect URI: RFC 6749 §4.1.2.1).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::Application;

/// A checked request: everything the sign-in and the code need, kept in the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// The requested scopes the application may have (openid always among them), sorted.
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// S256 only.
    pub code_challenge: Option<String>,
    /// `prompt=login` (or `select_account`, treated alike): sign in again even with a session.
    pub force_login: bool,
    /// `prompt=none`: never show anything.
    pub no_prompt: bool,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    pub acr_values: Vec<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted: say so on Proofup's own page, never
    /// redirect.
    Page(String),
    /// Sent back to the (registered) redirect URI with `error`, `error_description` and `state`.
    Redirect { redirect_uri: String, state: Option<String>, error: &'static str, description: String },
}

/// The parameters as sent (query or form). A parameter sent twice is refused (RFC 6749 §3.1).
pub fn params(pairs: &[(String, String)]) -> Result<std::collections::HashMap<&str, &str>, String> {
    let mut out = std::collections::HashMap::new();
    for (k, v) in pairs {
        if out.insert(k.as_str(), v.as_str()).is_some() {
            return Err(format!("The parameter {k} is sent more than once."));
        }
    }
    Ok(out)
}

fn is_b64url(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a request against the application it names (`None`: no such application).
pub fn check(
    p: &std::collections::HashMap<&str, &str>,
    app: Option<&Application>,
) -> Result<AuthRequest, AuthorizeError> {
    let page = |m: &str| Err(AuthorizeError::Page(m.to_owned()));
    let Some(client_id) = p.get("client_id").filter(|c| !c.is_empty()) else {
        return page("The application did not say who it is (no client_id).");
    };
    let Some(app) = app.filter(|a| a.id == *client_id) else {
        return page("This application is not registered with Proofup.");
    };
    let Some(redirect_uri) = p.get("redirect_uri").filter(|r| !r.is_empty()) else {
        return page("The application did not say where to send you back (no redirect_uri).");
    };
    if !app.has_redirect_uri(redirect_uri) {
        return page("The application asked to send you to an address it has not registered with Proofup.");
    }
    let state = p.get("state").map(|s| (*s).to_owned());
    let back = |error: &'static str, description: &str| {
        Err(AuthorizeError::Redirect {
            redirect_uri: (*redirect_uri).to_owned(),
            state: state.clone(),
            error,
            description: description.to_owned(),
        })
    };
    if !app.enabled {
        return back("access_denied", "The application is disabled in Proofup.");
    }
    if p.contains_key("request") {
        return back("request_not_supported", "Request objects are not supported.");
    }
    if p.contains_key("request_uri") {
        return back("request_uri_not_supported", "request_uri is not supported.");
    }
    match p.get("response_type") {
        None => return back("invalid_request", "response_type is missing."),
        Some(&"code") => {}
        Some(_) => return back("unsupported_response_type", "Only response_type=code is supported."),
    }
    match p.get("response_mode") {
        None | Some(&"query") => {}
        Some(_) => return back("invalid_request", "Only response_mode=query is supported."),
    }
    let requested: BTreeSet<&str> =
        p.get("scope").map(|s| s.split(' ').filter(|x| !x.is_empty()).collect()).unwrap_or_default();
    if !requested.contains("openid") {
        return back("invalid_scope", "The openid scope is required.");
    }
    // Scopes the application may not have are left out (RFC 6749 §3.3: the server may grant less).
    let scopes: Vec<String> =
        requested.iter().filter(|s| app.scopes.iter().any(|a| a == *s)).map(|s| (*s).to_owned()).collect();
    let code_challenge = match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) => None,
        (Some(c), Some(&"S256")) if c.len() == 43 && is_b64url(c) => Some((*c).to_owned()),
        (Some(_), Some(&"S256")) => {
            return back("invalid_request", "code_challenge must be 43 base64url characters (S256).")
        }
        (Some(_), None) => {
            return back("invalid_request", "code_challenge_method=S256 is required (plain is not supported).")
        }
        (Some(_), Some(_)) => return back("invalid_request", "Only the S256 code challenge method is supported."),
        (None, Some(_)) => return back("invalid_request", "code_challenge_method without code_challenge."),
    };
    if code_challenge.is_none() && app.kind == proofup_shared::apps::ClientKind::Public {
        return back("invalid_request", "A public application must use PKCE (code_challenge with S256).");
    }
    let prompts: BTreeSet<&str> =
        p.get("prompt").map(|s| s.split(' ').filter(|x| !x.is_empty()).collect()).unwrap_or_default();
    if prompts.iter().any(|x| !matches!(*x, "none" | "login" | "consent" | "select_account")) {
        return back("invalid_request", "Unknown prompt value.");
    }
    let no_prompt = prompts.contains("none");
    if no_prompt && prompts.len() > 1 {
        return back("invalid_request", "prompt=none cannot be combined with other values.");
    }
    let max_age = match p.get("max_age") {
        None => None,
        Some(m) => match m.parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => return back("invalid_request", "max_age must be a whole number of seconds."),
        },
    };
    let short = |k: &str| p.get(k).map(|v| v.chars().take(512).collect::<String>());
    Ok(AuthRequest {
        client_id: app.id.clone(),
        redirect_uri: (*redirect_uri).to_owned(),
        scopes,
        state,
        nonce: p.get("nonce").map(|n| (*n).to_owned()),
        code_challenge,
        force_login: prompts.contains("login") || prompts.contains("select_account") || max_age == Some(0),
        no_prompt,
        max_age,
        login_hint: short("login_hint"),
        acr_values: p
            .get("acr_values")
            .map(|a| a.split(' ').filter(|x| !x.is_empty()).map(String::from).collect())
            .unwrap_or_default(),
    })
}

impl AuthRequest {
    /// The same authorization request again (`/oauth2/authorize?…`), so that a sign-in that
    /// waited too long can start over with what the application asked for.
    pub fn restart_path(&self) -> String {
        let scope = self.scopes.join(" ");
        let acr = self.acr_values.join(" ");
        let max_age = self.max_age.map(|m| m.to_string());
        let mut pairs: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &scope),
        ];
        let optional = [
            ("state", self.state.as_deref()),
            ("nonce", self.nonce.as_deref()),
            ("code_challenge", self.code_challenge.as_deref()),
            ("code_challenge_method", self.code_challenge.as_ref().map(|_| "S256")),
            ("prompt", (self.force_login && self.max_age != Some(0)).then_some("login")),
            ("max_age", max_age.as_deref()),
            ("login_hint", self.login_hint.as_deref()),
            ("acr_values", (!acr.is_empty()).then_some(acr.as_str())),
        ];
        pairs.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        with_query("/oauth2/authorize", &pairs)
    }
}

/// `redirect_uri` with `pairs` added to its query (the URI may already have one).
pub fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = redirect_uri.to_owned();
    let mut sep = if redirect_uri.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
        sep = '&';
    }
    out
}

/// Percent-encoding for a query value (RFC 3986 unreserved kept).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 7636 §4.6: BASE64URL(SHA-256(verifier)) == challenge, verifier 43–128 unreserved chars.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use base64::Engine as _;
    use subtle::ConstantTimeEq as _;
    if !(43..=128).contains(&verifier.len())
        || !verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    {
        return false;
    }
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::domain::setup::sha256(verifier));
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}
