//! What a sign-in through an application leaves behind: the flow waiting for the user, the
//! one-use code, the access token, and the ID token's claims (OIDC Core §2, §3.1.3.6; RFC 8176).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::authorize::AuthRequest;

/// How long a user has to sign in once an application sent them.
pub const FLOW_LIFETIME: Duration = Duration::minutes(15);
/// How long an expired flow is kept, so that its browser can start the same request over.
pub const FLOW_KEPT_AFTER_EXPIRY: Duration = Duration::hours(1);
/// How long a code may wait for its exchange.
pub const CODE_LIFETIME: Duration = Duration::seconds(60);
/// ID tokens are read once, at sign-in.
pub const ID_TOKEN_LIFETIME: Duration = Duration::minutes(5);

/// An authorization request waiting for its user, bound to the browser that started it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub id: String,
    pub request: AuthRequest,
    /// SHA-256 of the browser's flow cookie.
    pub browser: [u8; 32],
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A code, stored under its SHA-256; spent once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub auth_time: OffsetDateTime,
    pub amr: Vec<String>,
    pub sid: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Set when the code is exchanged; a second exchange revokes what the first issued.
    pub spent: bool,
    /// SHA-256 of the access tokens issued for it (revoked if the code comes back).
    pub issued: Vec<[u8; 32]>,
}

/// An access token, stored under its SHA-256. It lives only while its grant does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGrant {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The grant it was issued under (every token since the code exchange shares one).
    #[serde(default)]
    pub grant: String,
}

/// What one interactive sign-in to one application granted: the code exchange makes it, each
/// refresh keeps it, and ending it ends every token issued under it (refresh-token reuse, a
/// replayed code, revocation, sign-out, or the user disabled, reset or made to re-register).
/// Stored under (user id, id), so every grant of a user can be ended at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    /// The `sid` of the Proofup session that signed in (sign-out ends its grants).
    pub sid: String,
    pub scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub auth_time: OffsetDateTime,
    pub amr: Vec<String>,
    /// No refresh past this: the user signs in again, interactively (where the policy runs).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Where the code was exchanged from: country and network only (risk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<proofup_shared::risk::Place>,
}

impl Grant {
    /// Whether signing out of session `sid` ends this grant: a grant that session signed in,
    /// except an offline one (the `offline_access` scope outlives the sign-out, OIDC Core §11).
    /// Ending all of a user's grants (disable, reset, a new password) ends offline ones too.
    pub fn ends_with_sign_out_of(&self, sid: &str) -> bool {
        self.sid == sid && !self.offline()
    }

    /// Asked for `offline_access`: kept past the sign-out of the session that signed it in.
    pub fn offline(&self) -> bool {
        self.scopes.iter().any(|s| s == "offline_access")
    }
}

/// A refresh token, stored under its SHA-256. Used once: the refresh that spends it issues the
/// next; presenting a spent one again ends the whole grant (RFC 9700 §4.14.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub grant: String,
    pub client_id: String,
    pub user_id: String,
    /// What this token may ask for: the grant's scopes, or fewer after a narrowing refresh.
    pub scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub spent: bool,
}

/// The scopes a refresh asks for: the token's own when `requested` is absent; else a subset of
/// them (RFC 6749 §6: never more than the original grant). `openid` stays: the grant is a
/// sign-in, and every refresh answers with an ID token.
pub fn narrowed_scopes(granted: &[String], requested: Option<&str>) -> Result<Vec<String>, String> {
    let Some(req) = requested else { return Ok(granted.to_vec()) };
    let mut out: Vec<String> = vec!["openid".to_owned()];
    for s in req.split(' ').filter(|s| !s.is_empty()) {
        if !granted.iter().any(|g| g == s) {
            return Err(format!("The scope {s} was not granted to this refresh token."));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

/// The `acr` of a sign-in: MFA or a single factor.
pub fn acr(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "mfa") {
        "urn:proofup:acr:mfa"
    } else {
        "urn:proofup:acr:1fa"
    }
}

/// `at_hash`: the left half of SHA-256 of the access token, base64url (RS256 and ES256).
pub fn at_hash(access_token: &str) -> String {
    use base64::Engine as _;
    let h = crate::domain::setup::sha256(access_token);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h[..16])
}

/// The claims of an ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub sid: String,
    pub acr: String,
    pub amr: Vec<String>,
    pub at_hash: String,
    #[serde(flatten)]
    pub profile: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn signing_out_ends_the_sessions_grants_but_not_offline_ones() {
        let t = time::macros::datetime!(2026-12-07 06:00 UTC);
        let g = |sid: &str, scopes: &[&str]| Grant {
            id: "g".into(),
            client_id: "c".into(),
            user_id: "u".into(),
            sid: sid.into(),
            scopes: v(scopes),
            auth_time: t,
            amr: v(&["pwd"]),
            expires_at: t,
            origin: None,
        };
        assert!(g("s1", &["openid"]).ends_with_sign_out_of("s1"));
        assert!(!g("s2", &["openid"]).ends_with_sign_out_of("s1"), "another session's");
        assert!(!g("s1", &["openid", "offline_access"]).ends_with_sign_out_of("s1"), "offline outlives it");
    }

    #[test]
    fn a_refresh_may_narrow_the_scopes_but_never_widen_them() {
        let granted = v(&["openid", "profile", "email"]);
        assert_eq!(narrowed_scopes(&granted, None).unwrap(), granted);
        assert_eq!(narrowed_scopes(&granted, Some("openid  email email")).unwrap(), v(&["openid", "email"]));
        assert!(narrowed_scopes(&granted, Some("openid groups")).unwrap_err().contains("groups"));
        assert_eq!(narrowed_scopes(&granted, Some("profile")).unwrap(), v(&["openid", "profile"]));
    }
}
