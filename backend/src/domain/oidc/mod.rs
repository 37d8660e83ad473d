//! OpenID Connect provider, the pure part: registered applications (clients) and their
//! secrets, and the life of the signing keys (next → active → retired).
//!
//! Secrets are 256-bit random strings; only their SHA-256 is kept and a presented secret is
//! compared in constant time (no Argon2 per token request: a secret this long needs no
//! stretching, and hashing it slowly would hand attackers a cheap denial of service).

pub mod authorize;
pub mod grant;

use proofup_shared::apps::{ApplicationRequest, ApplicationView, ClientKind, SigningKeyView};
use proofup_shared::directory::DirectoryRef;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;
use time::{Duration, OffsetDateTime};

/// A registered application, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// The `client_id`.
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
    pub assignment_required: bool,
    pub assigned_users: Vec<String>,
    pub assigned_groups: Vec<String>,
    pub require_mfa: bool,
    /// May get tokens for itself (client credentials).
    #[serde(default)]
    pub service_access: bool,
    /// SHA-256 of the current secret (confidential applications).
    #[serde(default)]
    pub secret_hash: Option<[u8; 32]>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub secret_issued_at: Option<OffsetDateTime>,
    /// The secret before the last rotation, accepted until `previous_valid_until`.
    #[serde(default)]
    pub previous_secret_hash: Option<[u8; 32]>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub previous_valid_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// SHA-256 of a client secret.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    crate::domain::setup::sha256(secret)
}

impl Application {
    /// A new application from a validated request. The secret (confidential kind) is given by
    /// the caller, which made it at random and shows it once.
    pub fn new(id: String, req: &ApplicationRequest, secret: Option<&str>, now: OffsetDateTime) -> Application {
        let mut app = Application {
            id,
            name: String::new(),
            kind: req.kind,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            scopes: Vec::new(),
            access_token_minutes: 0,
            refresh_tokens: false,
            refresh_token_days: 0,
            enabled: true,
            assignment_required: false,
            assigned_users: Vec::new(),
            assigned_groups: Vec::new(),
            require_mfa: false,
            service_access: false,
            secret_hash: secret.map(secret_hash),
            secret_issued_at: secret.map(|_| now),
            previous_secret_hash: None,
            previous_valid_until: None,
            created_at: now,
            updated_at: now,
        };
        app.apply(req, now);
        app
    }

    /// Takes every setting of `req` except the kind (a client cannot turn public or confidential
    /// under its secret's feet: register a new one).
    pub fn apply(&mut self, req: &ApplicationRequest, now: OffsetDateTime) {
        self.name = req.name.trim().to_owned();
        self.redirect_uris = req.redirect_uris.clone();
        self.post_logout_redirect_uris = req.post_logout_redirect_uris.clone();
        let mut scopes = req.scopes.clone();
        scopes.sort();
        scopes.dedup();
        self.scopes = scopes;
        self.access_token_minutes = req.access_token_minutes;
        self.refresh_tokens = req.refresh_tokens;
        self.refresh_token_days = req.refresh_token_days;
        self.enabled = req.enabled;
        self.assignment_required = req.assignment_required;
        let mut users = req.assigned_users.clone();
        users.sort();
        users.dedup();
        self.assigned_users = users;
        let mut groups = req.assigned_groups.clone();
        groups.sort();
        groups.dedup();
        self.assigned_groups = groups;
        self.require_mfa = req.require_mfa;
        self.service_access = req.service_access;
        self.updated_at = now;
    }

    /// Replaces the secret; the old one stays valid for `overlap` (none when zero).
    pub fn rotate_secret(&mut self, new_secret: &str, overlap: Duration, now: OffsetDateTime) {
        if overlap > Duration::ZERO {
            self.previous_secret_hash = self.secret_hash;
            self.previous_valid_until = Some(now + overlap);
        } else {
            self.previous_secret_hash = None;
            self.previous_valid_until = None;
        }
        self.secret_hash = Some(secret_hash(new_secret));
        self.secret_issued_at = Some(now);
        self.updated_at = now;
    }

    /// Whether `presented` is this application's secret at `now` (the current one, or the
    /// previous one inside its overlap). Constant time in the secret's content.
    pub fn secret_matches(&self, presented: &str, now: OffsetDateTime) -> bool {
        let h = secret_hash(presented);
        let current = self.secret_hash.is_some_and(|s| bool::from(s.ct_eq(&h)));
        let previous = self.previous_secret_hash.is_some_and(|s| bool::from(s.ct_eq(&h)))
            && self.previous_valid_until.is_some_and(|until| now < until);
        current | previous
    }

    /// Exact string comparison, as OAuth requires (no prefix, no normalisation).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == uri)
    }

    pub fn view(&self, assigned: Vec<DirectoryRef>, now: OffsetDateTime) -> ApplicationView {
        ApplicationView {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind,
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            scopes: self.scopes.clone(),
            access_token_minutes: self.access_token_minutes,
            refresh_tokens: self.refresh_tokens,
            refresh_token_days: self.refresh_token_days,
            enabled: self.enabled,
            assignment_required: self.assignment_required,
            assigned,
            require_mfa: self.require_mfa,
            service_access: self.service_access,
            created_at: self.created_at,
            secret_issued_at: self.secret_issued_at,
            previous_secret_valid_until: self.previous_valid_until.filter(|u| now < *u),
        }
    }
}

/// Where a signing key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published in the JWKS, not signing yet: relying parties cache it before it is used.
    Next,
    /// Signs new tokens (one per algorithm).
    Active,
    /// No longer signs; published until every token it signed has expired.
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyAlg {
    RS256,
    ES256,
}

impl KeyAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlg::RS256 => "RS256",
            KeyAlg::ES256 => "ES256",
        }
    }
}

/// One signing key, as stored: the private part sealed with the data directory's secret key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    pub alg: KeyAlg,
    pub state: KeyState,
    /// PKCS#8, sealed (context `signing-key/<kid>`).
    pub private_sealed: String,
    /// The public JWK (kty, n/e or crv/x/y, kid, alg, use), as published.
    pub public_jwk: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub activated_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
}

impl SigningKey {
    pub fn view(&self) -> SigningKeyView {
        SigningKeyView {
            kid: self.kid.clone(),
            alg: self.alg.as_str().into(),
            state: self.state.as_str().into(),
            created_at: self.created_at,
            activated_at: self.activated_at,
            retired_at: self.retired_at,
        }
    }
}

/// How long a retired key stays published: longer than any ID token lives (5 min) plus the
/// JWKS cache lifetime we send (1 h), with room to spare.
pub const RETIRED_PUBLISHED_FOR: Duration = Duration::hours(24);

/// What the key set needs for `alg` at `now`: the algorithms that have no active key or no
/// next key get one made (the caller generates it and calls [`add_key`]); retired keys past
/// [`RETIRED_PUBLISHED_FOR`] are dropped. Returns the states still missing.
pub fn missing(keys: &[SigningKey], alg: KeyAlg) -> Vec<KeyState> {
    let has = |st: KeyState| keys.iter().any(|k| k.alg == alg && k.state == st);
    [KeyState::Active, KeyState::Next].into_iter().filter(|st| !has(*st)).collect()
}

/// Adds a freshly generated key in `state`.
pub fn add_key(keys: &mut Vec<SigningKey>, mut key: SigningKey, state: KeyState, now: OffsetDateTime) {
    key.state = state;
    if state == KeyState::Active {
        key.activated_at = Some(now);
    }
    keys.push(key);
}

/// Rotation for `alg`: the active key retires, the next key becomes active, and `fresh` (just
/// generated) becomes the next. Relying parties already hold the new active key, since it was
/// published as next; the retired one stays published for [`RETIRED_PUBLISHED_FOR`].
pub fn rotate(keys: &mut Vec<SigningKey>, alg: KeyAlg, fresh: SigningKey, now: OffsetDateTime) {
    for k in keys.iter_mut().filter(|k| k.alg == alg) {
        match k.state {
            KeyState::Active => {
                k.state = KeyState::Retired;
                k.retired_at = Some(now);
            }
            KeyState::Next => {
                k.state = KeyState::Active;
                k.activated_at = Some(now);
            }
            KeyState::Retired => {}
        }
    }
    add_key(keys, fresh, KeyState::Next, now);
    if missing(keys, alg).contains(&KeyState::Active) {
        // There was no next key to promote (a damaged set): the fresh one signs at once.
        if let Some(k) = keys.iter_mut().rev().find(|k| k.alg == alg && k.state == KeyState::Next) {
            k.state = KeyState::Active;
            k.activated_at = Some(now);
        }
    }
    drop_expired(keys, now);
}

/// Drops retired keys no token can still need.
pub fn drop_expired(keys: &mut Vec<SigningKey>, now: OffsetDateTime) {
    keys.retain(|k| k.state != KeyState::Retired || k.retired_at.is_none_or(|at| now < at + RETIRED_PUBLISHED_FOR));
}

/// The keys relying parties should see in the JWKS, oldest first.
pub fn published(keys: &[SigningKey]) -> Vec<&serde_json::Value> {
    keys.iter().map(|k| &k.public_jwk).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn key(kid: &str, alg: KeyAlg, at: OffsetDateTime) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            alg,
            state: KeyState::Next,
            private_sealed: String::new(),
            public_jwk: serde_json::json!({"kid": kid}),
            created_at: at,
            activated_at: None,
            retired_at: None,
        }
    }

    fn states(keys: &[SigningKey]) -> Vec<(String, KeyState)> {
        keys.iter().map(|k| (k.kid.clone(), k.state)).collect()
    }

    #[test]
    fn rotation_promotes_next_retires_active_and_drops_old_retired_keys() {
        let t0 = datetime!(2026-12-01 10:00 UTC);
        let mut keys = Vec::new();
        assert_eq!(missing(&keys, KeyAlg::RS256), [KeyState::Active, KeyState::Next]);
        add_key(&mut keys, key("a", KeyAlg::RS256, t0), KeyState::Active, t0);
        add_key(&mut keys, key("b", KeyAlg::RS256, t0), KeyState::Next, t0);
        add_key(&mut keys, key("e1", KeyAlg::ES256, t0), KeyState::Active, t0);
        assert!(missing(&keys, KeyAlg::RS256).is_empty());
        assert_eq!(missing(&keys, KeyAlg::ES256), [KeyState::Next]);

        let t1 = t0 + Duration::days(30);
        rotate(&mut keys, KeyAlg::RS256, key("c", KeyAlg::RS256, t1), t1);
        assert_eq!(
            states(&keys),
            [
                ("a".into(), KeyState::Retired),
                ("b".into(), KeyState::Active),
                ("e1".into(), KeyState::Active),
                ("c".into(), KeyState::Next)
            ]
        );
        assert_eq!(published(&keys).len(), 4, "the retired key is still published");

        // A day later the retired key is gone at the next rotation.
        let t2 = t1 + RETIRED_PUBLISHED_FOR + Duration::seconds(1);
        rotate(&mut keys, KeyAlg::RS256, key("d", KeyAlg::RS256, t2), t2);
        assert_eq!(
            states(&keys),
            [
                ("b".into(), KeyState::Retired),
                ("e1".into(), KeyState::Active),
                ("c".into(), KeyState::Active),
                ("d".into(), KeyState::Next)
            ]
        );
    }

    #[test]
    fn a_set_without_a_next_key_still_gets_an_active_one() {
        let t0 = datetime!(2026-12-01 10:00 UTC);
        let mut keys = vec![];
        add_key(&mut keys, key("a", KeyAlg::RS256, t0), KeyState::Active, t0);
        rotate(&mut keys, KeyAlg::RS256, key("b", KeyAlg::RS256, t0), t0);
        assert_eq!(states(&keys), [("a".into(), KeyState::Retired), ("b".into(), KeyState::Active)]);
        assert_eq!(missing(&keys, KeyAlg::RS256), [KeyState::Next]);
    }

    #[test]
    fn secrets_match_in_constant_time_and_the_old_one_only_inside_its_overlap() {
        let t0 = datetime!(2026-12-01 10:00 UTC);
        let req: ApplicationRequest = serde_json::from_value(serde_json::json!({
            "name": "Grafana", "redirect_uris": ["https://grafana.example.com/login/generic_oauth"]
        }))
        .unwrap();
        let mut app = Application::new("grafana".into(), &req, Some("first-secret"), t0);
        assert!(app.secret_matches("first-secret", t0));
        assert!(!app.secret_matches("first-secreT", t0));
        assert!(!app.secret_matches("", t0));
        app.rotate_secret("second-secret", Duration::hours(2), t0);
        assert!(app.secret_matches("second-secret", t0));
        assert!(app.secret_matches("first-secret", t0 + Duration::minutes(119)));
        assert!(!app.secret_matches("first-secret", t0 + Duration::hours(2)));
        app.rotate_secret("third-secret", Duration::ZERO, t0);
        assert!(!app.secret_matches("second-secret", t0), "no overlap: the old secret dies at once");
        assert!(app.has_redirect_uri("https://grafana.example.com/login/generic_oauth"));
        assert!(!app.has_redirect_uri("https://grafana.example.com/login/generic_oauth/"));
        assert!(!app.has_redirect_uri("https://GRAFANA.example.com/login/generic_oauth"));
    }
}
