//! First run: a one-time token creates the first Global administrator.

use super::Core;
use base64::Engine as _;
use proofup_shared::api::{Role, SetupRequest};
use proofup_shared::validation::{validate_display_name, validate_username, Problems};
use proofup_shared::FieldError;
use rand::RngCore as _;

use crate::domain::clock::Clock;
use crate::domain::model::{ClientInfo, User};
use crate::domain::setup::{SetupTokenError, SetupTokenRecord};
use crate::store::{SetupStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("setup already done")]
    AlreadyDone,
    #[error("setup token invalid: {0:?}")]
    Token(SetupTokenError),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Hash(String),
    /// Too many tries from this address (the setup token is a verifier, limited like sign-in).
    #[error("too many attempts")]
    Throttled(time::Duration),
}

/// Whether a node's secret key is the one the store's secrets are sealed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// The store has no key check yet (a new store, or one from before checks were kept): the
    /// caller records this key's once it has opened what the store holds with it
    /// ([`Bootstrap::record_secret_key`]).
    Unrecorded,
    Matches,
    /// Another key sealed this store's secrets: this node could open none of them.
    Differs,
}

/// What the CLI does on a store it opened itself, before (or without) a server: the setup token
/// and the secret key's check. A narrow view of the service: the setup records and the clock,
/// nothing else (the running server reaches the same through [`Core`]).
pub struct Bootstrap<'a> {
    store: &'a dyn SetupStore,
    clock: &'a dyn Clock,
}

impl<'a> Bootstrap<'a> {
    pub fn new(store: &'a dyn SetupStore, clock: &'a dyn Clock) -> Self {
        Bootstrap { store, clock }
    }

    /// Creates and stores a fresh setup token (replacing any earlier one). Returns the token
    /// itself, which only the caller ever sees.
    pub fn issue_setup_token(&self) -> Result<String, StoreError> {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        self.store.put_setup_token(&SetupTokenRecord::for_token(&token, self.clock.now()))?;
        Ok(token)
    }

    /// Compares the key's check with the one stored with the data.
    pub fn check_secret_key(&self, key: &crate::domain::secretbox::SecretBox) -> Result<KeyCheck, StoreError> {
        Ok(match self.store.secret_key_check()? {
            Some(stored) if stored == key.key_check() => KeyCheck::Matches,
            Some(_) => KeyCheck::Differs,
            None => KeyCheck::Unrecorded,
        })
    }

    /// Records the key's check unless one is recorded already; `Differs` when another node's
    /// came first (two nodes with different keys starting together on an empty database).
    pub fn record_secret_key(&self, key: &crate::domain::secretbox::SecretBox) -> Result<KeyCheck, StoreError> {
        let mine = key.key_check();
        Ok(if self.store.record_secret_key_check(&mine)? == mine { KeyCheck::Matches } else { KeyCheck::Differs })
    }
}

impl Core {
    /// Records the check of the secret key the server's secrets are sealed with, unless one is
    /// recorded already (see [`Bootstrap::record_secret_key`]).
    pub fn record_key_check(&self) -> Result<KeyCheck, StoreError> {
        Bootstrap::new(self.store.as_ref(), self.clock.as_ref()).record_secret_key(&self.secrets)
    }

    /// Creates the first Global administrator with the setup token. `ip`: the caller's address,
    /// limited per minute like sign-in (the token is a verifier).
    pub async fn complete_setup(
        &self,
        ip: std::net::IpAddr,
        client: &ClientInfo,
        req: SetupRequest,
    ) -> Result<User, SetupError> {
        self.ip_limiter.hit(ip, self.clock.now()).map_err(SetupError::Throttled)?;
        let s = self.store.as_ref();
        if s.setup_done()? {
            return Err(SetupError::AlreadyDone);
        }
        let record = s.setup_token()?.ok_or(SetupError::Token(SetupTokenError::Missing))?;
        record.verify(&req.token, self.clock.now()).map_err(SetupError::Token)?;

        let mut p = Problems::default();
        let username = p.check("username", validate_username(&req.username));
        let display_name = p.check("display_name", validate_display_name(&req.display_name));
        p.check("password", self.rules.check(&req.password, username.as_deref().unwrap_or(&req.username)));
        let (Some(username), Some(display_name)) = (username, display_name) else {
            return Err(SetupError::Invalid(p.0));
        };
        if !p.is_empty() {
            return Err(SetupError::Invalid(p.0));
        }
        let password_hash = self.hasher.hash(req.password).await.map_err(|e| SetupError::Hash(e.to_string()))?;
        let now = self.clock.now();
        let admin = User {
            id: uuid::Uuid::new_v4().to_string(),
            username,
            display_name,
            email: None,
            email_verified: false,
            admin_notices: false,
            role: Role::GlobalAdministrator,
            enabled: true,
            emergency_access: false,
            password_hash,
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
        };
        let audit = super::audit(
            now,
            None,
            "setup.first_administrator_created",
            Some(&admin),
            vec![
                super::change("username", None, Some(&admin.username)),
                super::change("display_name", None, Some(&admin.display_name)),
                super::change("role", None, Some(admin.role.label())),
            ],
            client,
        );
        match s.complete_setup(&record, &admin, audit) {
            Ok(()) => Ok(admin),
            Err(StoreError::Conflict(crate::store::Conflict::SetupTokenUsed | crate::store::Conflict::SetupDone)) => {
                Err(SetupError::Token(SetupTokenError::Missing))
            }
            Err(e) => Err(e.into()),
        }
    }
}
