//! The service's runtime, owned in one place: the store port, the clock, the membership index,
//! the hash pool, the secret box, ceremonies in flight and the per-IP limiter. The HTTP layer
//! keeps one `Arc<Core>`; background work and tests use the same object.

use std::sync::{Arc, RwLock};

use crate::domain::clock::Clock;
use crate::domain::membership::MembershipIndex;
use crate::domain::password::PasswordRules;
use crate::domain::ratelimit::IpRateLimiter;
use crate::domain::secretbox::SecretBox;
use crate::domain::session::SessionLimits;
use crate::hashing::HashPool;
use crate::store::Store;

/// What the runtime is built from, besides the store, the clock and the key.
#[derive(Debug, Clone)]
pub struct CoreOptions {
    /// The public URL: the WebAuthn relying party and origin.
    pub public_url: String,
    pub limits: SessionLimits,
    pub sign_in_per_ip_per_minute: u32,
    /// The organisation's name, as messages say it.
    pub organisation: String,
    /// The mail settings in force; `None`: mail is off.
    pub mail: Option<crate::domain::mail::MailSetup>,
    /// What risk reads (GeoIP, the breached-password set, the anonymizer list); set by `serve`.
    pub risk: super::risk::RiskSources,
}

impl CoreOptions {
    /// The options the server's configuration asks for.
    pub fn from_config(config: &crate::config::HttpConfig) -> Self {
        Self {
            public_url: config.public_url.clone(),
            limits: SessionLimits {
                idle: time::Duration::minutes(config.session_idle_minutes.into()),
                absolute: time::Duration::hours(config.session_absolute_hours.into()),
            },
            sign_in_per_ip_per_minute: config.sign_in_per_ip_per_minute,
            organisation: config.organisation.clone(),
            mail: config.mail.clone(),
            risk: Default::default(),
        }
    }
}

pub struct Core {
    pub(super) store: Arc<dyn Store>,
    /// The OpenID issuer: the public URL, byte for byte as in every `iss`.
    pub(super) issuer: String,
    pub(super) clock: Arc<dyn Clock>,
    /// Nested group membership, rebuilt from the store at start, changed under its write lock.
    pub(super) membership: RwLock<MembershipIndex>,
    pub(super) hasher: HashPool,
    /// Seals TOTP secrets at rest: the key file's key in the server, a random one in tests.
    pub(super) secrets: SecretBox,
    /// Authenticator-app set-ups waiting for their first code.
    pub(super) pending_totp: super::mfa::PendingTotp,
    /// The WebAuthn relying party and passkey ceremonies in flight.
    pub(super) passkeys: super::passkeys::Passkeys,
    pub(super) ip_limiter: IpRateLimiter,
    /// Failed token, revocation and introspection requests per IP (client secrets, codes and
    /// refresh tokens are verifiers too).
    pub(super) token_failures: IpRateLimiter,
    pub(super) rules: PasswordRules,
    pub(super) limits: SessionLimits,
    /// The active RS256 key, parsed once (ID tokens).
    pub(super) signer: super::oidc::keys::Signer,
    /// What every message names: the organisation and the portal.
    pub(super) brand: crate::domain::mail::Brand,
    /// The mail settings in force; `None`: mail is off and nothing is queued for it.
    pub(super) mail: Option<crate::domain::mail::MailSetup>,
    /// Risk: its sources, the spray watch, the organisation's familiar places.
    pub(super) risk: super::risk::RiskRuntime,
}

impl Core {
    /// Whether `ip` may present another client credential, code, refresh token or bearer token
    /// (token, revocation and introspection endpoints, metrics): `Err` with the wait once it
    /// failed too often this minute.
    pub fn verifier_gate(&self, ip: std::net::IpAddr) -> Result<(), time::Duration> {
        self.token_failures.check(ip, self.clock.now())
    }

    /// Counts a failed verifier presented from `ip` (see [`Core::verifier_gate`]).
    pub fn verifier_failed(&self, ip: std::net::IpAddr) {
        let _ = self.token_failures.hit(ip, self.clock.now());
    }
}

/// Failed requests to the token, revocation and introspection endpoints one address may make per
/// minute before it waits. Relying parties fail rarely; a guesser fails every time.
pub const TOKEN_FAILURES_PER_IP_PER_MINUTE: u32 = 30;

impl Core {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, secrets: SecretBox, options: &CoreOptions) -> Self {
        let index = match store.membership_index() {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(error = %e, "could not read group memberships; starting with none");
                Default::default()
            }
        };
        Self {
            membership: RwLock::new(index),
            secrets,
            pending_totp: super::mfa::PendingMap::new("totp"),
            passkeys: super::passkeys::Passkeys::new(&options.public_url),
            ip_limiter: IpRateLimiter::new(options.sign_in_per_ip_per_minute, time::Duration::minutes(1)),
            token_failures: IpRateLimiter::new(TOKEN_FAILURES_PER_IP_PER_MINUTE, time::Duration::minutes(1)),
            issuer: options.public_url.clone(),
            store,
            clock,
            hasher: HashPool::new(),
            rules: PasswordRules::default(),
            limits: options.limits,
            signer: Default::default(),
            brand: crate::domain::mail::Brand {
                organisation: options.organisation.clone(),
                portal: options.public_url.trim_end_matches('/').to_owned(),
            },
            mail: options.mail.clone(),
            risk: super::risk::RiskRuntime::new(options.risk.clone()),
        }
    }
}
