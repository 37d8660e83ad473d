//! Stored records. These are what the store persists; API shapes live in `proofup_shared::api`.

use proofup_shared::api::{Me, Role, UserView};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    /// Lower-case, unique.
    pub username: String,
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// The user proved they read mail at `email` (a mailed code); false again when it changes.
    #[serde(default)]
    pub email_verified: bool,
    /// An administrator asked to be mailed emergency-access sign-ins, policy changes and users'
    /// reports (at a confirmed address).
    #[serde(default)]
    pub admin_notices: bool,
    pub role: Role,
    pub enabled: bool,
    #[serde(default)]
    pub emergency_access: bool,
    /// Argon2id PHC string; empty until the user sets a password. Never leaves the server.
    pub password_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_sign_in_at: Option<OffsetDateTime>,
}

impl User {
    pub fn me(&self) -> Me {
        Me {
            id: self.id.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            must_set_password: false,
            next_step: Default::default(),
            application: None,
            cancel_to: None,
            continue_to: None,
            risk_password_change: false,
        }
    }

    pub fn has_password(&self) -> bool {
        !self.password_hash.is_empty()
    }

    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            role: self.role,
            enabled: self.enabled,
            emergency_access: self.emergency_access,
            has_password: self.has_password(),
            methods: 0,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_sign_in_at: self.last_sign_in_at,
        }
    }
}

/// A group of users and other groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Group {
    /// The unique, case-insensitive key of the name.
    pub fn name_key(name: &str) -> String {
        name.to_lowercase()
    }
}

/// A registered second factor. The TOTP secret is sealed (AEAD) with a key kept outside the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Method {
    pub id: String,
    pub user_id: String,
    pub kind: proofup_shared::mfa::MethodKind,
    pub name: String,
    /// Authenticator apps: the TOTP secret, sealed (XChaCha20-Poly1305). Empty for passkeys.
    #[serde(default)]
    pub sealed_secret: String,
    /// Passkeys: the credential id (base64url), unique across all users.
    #[serde(default)]
    pub credential_id: Option<String>,
    /// Passkeys: the stored credential (public key, counter, flags) as webauthn-rs serialises it. No secret.
    #[serde(default)]
    pub passkey: Option<String>,
    /// The last accepted TOTP time step; codes at or before it are replays.
    #[serde(default)]
    pub last_step: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl Method {
    pub fn view(&self) -> proofup_shared::mfa::MethodView {
        proofup_shared::mfa::MethodView {
            id: self.id.clone(),
            kind: self.kind,
            name: self.name.clone(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }

    /// The AEAD context that binds a sealed secret to its owner and method.
    pub fn seal_context(user_id: &str, method_id: &str) -> String {
        format!("totp/{user_id}/{method_id}")
    }
}

/// What older versions stored in a session record for a sign-in still in progress (`stage`).
/// Sign-ins in progress are login flows now (`domain::login`); a stored session that still names
/// an unfinished stage is refused, never taken as signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegacyStage {
    Full,
    MustSetPassword,
    SecondFactor,
    RegisterMfa,
}

/// A server-side session. The store keys it by the SHA-256 of the cookie value,
/// so the store never holds a usable token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    pub ip: String,
    pub user_agent: String,
    /// Only read, never written: see [`LegacyStage`].
    #[serde(default, rename = "stage", skip_serializing)]
    pub legacy_stage: Option<LegacyStage>,
    /// When this session last proved a second factor (for re-authentication rules).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub mfa_at: Option<OffsetDateTime>,
    /// What the sign-in that made this session resumes (an application's authorization request):
    /// kept until that application's flow ends, so the portal learns where to continue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<Continuation>,
    /// How this sign-in authenticated (RFC 8176: `pwd`, `otp`, `hwk`, `user`, `mfa`…), for the
    /// ID tokens it leads to; empty means the password (or a temporary access pass) alone. A
    /// method registered at the interrupt adds nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The sign-in began with a temporary access pass (an administrator vouched for it): it may
    /// register a method from anywhere, whatever the policy's trusted networks.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub via_pass: bool,
}

impl Session {
    /// Signed in: not a record an older version left part-way through signing in.
    pub fn complete(&self) -> bool {
        matches!(self.legacy_stage, None | Some(LegacyStage::Full))
    }

    /// A complete session begun at `at` from `ip` with `user_agent`: no second factor proved,
    /// nothing to resume, not by a pass (set those fields on the result).
    pub fn begun(user_id: &str, at: OffsetDateTime, ip: &str, user_agent: &str) -> Self {
        Self {
            user_id: user_id.to_owned(),
            created_at: at,
            last_seen_at: at,
            ip: ip.to_owned(),
            user_agent: user_agent.to_owned(),
            legacy_stage: None,
            mfa_at: None,
            continuation: None,
            amr: Vec::new(),
            via_pass: false,
        }
    }
}

/// What a sign-in resumes when it completes, besides the portal itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Continuation {
    /// An application's authorization request waiting server-side under this id.
    Authorize { request: String },
}

impl Continuation {
    /// Where the browser goes once signing in is over: the server's own address, never one the
    /// browser supplied.
    pub fn resume_path(&self) -> String {
        match self {
            Continuation::Authorize { request } => format!("/oauth2/authorize/resume?flow={request}"),
        }
    }

    /// Where "Cancel" goes while signing in: the application hears that the user declined.
    pub fn cancel_path(&self) -> String {
        match self {
            Continuation::Authorize { request } => format!("/oauth2/authorize/cancel?flow={request}"),
        }
    }
}

/// Who made a request, for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

impl ClientInfo {
    /// User agents are attacker-controlled: keep them short and free of control characters.
    pub fn new(ip: String, user_agent: &str) -> Self {
        let ua: String = user_agent.chars().filter(|c| !c.is_control()).take(256).collect();
        Self { ip, user_agent: ua }
    }
}

/// A ceremony waiting for its second half (an authenticator app's first code, a passkey's
/// answer), kept in the store so that any node may finish it: bound to the session (its key
/// names it) and the user, sealed (it holds a TOTP secret or a WebAuthn challenge state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ceremony {
    pub user_id: String,
    pub sealed: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A user's recovery codes, hashed (SHA-256 over user id and code; each code has 80 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodeSet {
    /// One entry per code; `None` once used.
    pub hashes: Vec<Option<String>>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl RecoveryCodeSet {
    pub fn remaining(&self) -> u32 {
        self.hashes.iter().filter(|h| h.is_some()).count() as u32
    }

    /// Spends the unused code with this hash (every hash compared in constant time): true if
    /// there was one. Each engine calls it inside its own transaction.
    pub fn spend(&mut self, hash: &str) -> bool {
        let mut hit = None;
        for (i, h) in self.hashes.iter().enumerate() {
            if let Some(h) = h {
                if bool::from(subtle::ConstantTimeEq::ct_eq(h.as_bytes(), hash.as_bytes())) {
                    hit = Some(i);
                }
            }
        }
        match hit {
            Some(i) => {
                self.hashes[i] = None;
                true
            }
            None => false,
        }
    }

    /// The audit line a spend adds ("recovery codes left": before → after).
    pub fn spent_change(&self) -> proofup_shared::api::FieldChange {
        proofup_shared::api::FieldChange {
            field: "recovery codes left".into(),
            before: Some((self.remaining() + 1).to_string()),
            after: Some(self.remaining().to_string()),
        }
    }
}
