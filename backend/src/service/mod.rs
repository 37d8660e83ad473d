//! Use cases: orchestrate domain rules and the storage port. No actix, no engine.
//!
//! Rules of this layer: it may import `domain`, `store` (the port's traits and types, never an
//! engine), `hashing` and `proofup_shared`; never `http` or `cli`. What several use cases share —
//! the acting administrator, the one error type, audit drafts, session tokens — lives in this
//! file, so the use-case files import it and not each other's.

pub mod access;
pub mod alerts;
pub mod auth;
mod core_uses;
pub mod directory_csv;
pub mod groups;
pub mod jobs;
pub mod mail;
pub mod mfa;
pub mod notices;
pub mod notify;
pub mod oidc;
pub mod passkeys;
pub mod policy;
pub mod recovery;
pub mod report;
pub mod reset;
pub mod risk;
pub mod risk_policy;
mod runtime;
pub mod sessions;
pub mod setup;
pub mod signin;
pub mod users;
pub mod webhook;

pub use crate::store::{AuditFilter, SignInFilter, UserFilter};
pub use runtime::{Core, CoreOptions, TOKEN_FAILURES_PER_IP_PER_MINUTE};

use base64::Engine as _;
use proofup_shared::api::FieldChange;
use proofup_shared::FieldError;
use rand::RngCore as _;
use time::{Duration, OffsetDateTime};

use crate::domain::model::{ClientInfo, Session, User};
use crate::store::{AuditDraft, StoreError};

/// Who calls a use case: a signed-in user with a complete session, and from where.
pub struct Caller {
    pub user: User,
    pub session: Session,
    /// The session's store key (SHA-256 of the cookie token).
    pub key: [u8; 32],
    pub client: ClientInfo,
}

impl Caller {
    /// The caller as the actor of a change.
    pub fn actor(&self) -> Actor<'_> {
        Actor { user: &self.user, client: &self.client }
    }

    /// The caller as a Security operator (or above): the handle the use cases on one user's
    /// registration take (grace, re-registration, alerts).
    pub fn operator(&self) -> Result<Operator<'_>, ServiceError> {
        self.check(proofup_shared::api::Role::can_operate).map(|()| Operator(self.actor()))
    }

    /// The caller as a Security reader (or above): the handle the administrators' read use cases
    /// take (lists, logs, reports, the policy's history and what-if).
    pub fn reader(&self) -> Result<Reader<'_>, ServiceError> {
        self.check(proofup_shared::api::Role::can_read_admin).map(|()| Reader(self.actor()))
    }

    /// One user whose security info the caller may see: themself, or anyone for a Security
    /// reader (or above). The handle the reads of one user's groups, sessions and methods take.
    pub fn subject<'a>(&'a self, user_id: &'a str) -> Result<Subject<'a>, ServiceError> {
        if user_id != self.user.id {
            self.check(proofup_shared::api::Role::can_read_admin)?;
        }
        Ok(Subject { user_id, own: user_id == self.user.id, key: &self.key })
    }

    /// The caller as a Security administrator (or Global administrator): the handle the use
    /// cases that change the directory, the policy, applications and settings take.
    pub fn manager(&self) -> Result<Manager<'_>, ServiceError> {
        self.check(proofup_shared::api::Role::can_manage_security).map(|()| Manager(self.actor()))
    }

    /// The caller as a Global administrator: the handle the server-wide settings take (mail).
    pub fn global(&self) -> Result<Global<'_>, ServiceError> {
        self.check(proofup_shared::api::Role::can_manage_server).map(|()| Global(self.actor()))
    }

    fn check(&self, allowed: fn(proofup_shared::api::Role) -> bool) -> Result<(), ServiceError> {
        if allowed(self.user.role) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("Your role does not allow this.".into()))
        }
    }
}

/// A caller who passed the Security operator check. Minted only by [`Caller::operator`]: a use
/// case that takes one cannot be reached by a front door that forgot the check (lldap's
/// capability handles).
pub struct Operator<'a>(Actor<'a>);

/// A Global administrator; minted only by [`Caller::global`].
pub struct Global<'a>(Actor<'a>);

impl<'a> Global<'a> {
    pub fn actor(&self) -> &Actor<'a> {
        &self.0
    }
}

/// A caller who passed the Security reader check; minted only by [`Caller::reader`].
pub struct Reader<'a>(Actor<'a>);

/// A user whose security info the caller may read; minted only by [`Caller::subject`].
pub struct Subject<'a> {
    user_id: &'a str,
    /// The caller reads their own (their current session is marked).
    own: bool,
    key: &'a [u8; 32],
}

impl Subject<'_> {
    pub fn user_id(&self) -> &str {
        self.user_id
    }
}

/// A caller who passed the Security administrator check; minted only by [`Caller::manager`].
pub struct Manager<'a>(Actor<'a>);

impl<'a> Operator<'a> {
    pub fn actor(&self) -> &Actor<'a> {
        &self.0
    }
}

impl<'a> Reader<'a> {
    pub fn actor(&self) -> &Actor<'a> {
        &self.0
    }
}

impl<'a> Manager<'a> {
    pub fn actor(&self) -> &Actor<'a> {
        &self.0
    }
}

/// The signed-in administrator acting, and from where.
pub struct Actor<'a> {
    pub user: &'a User,
    pub client: &'a ClientInfo,
}

/// Why a use case refused or failed; the HTTP layer maps each to one status and code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Forbidden(String),
    /// What was not found, for the message ("The user", "The group"...).
    #[error("{0} was not found")]
    NotFound(&'static str),
    #[error("invalid")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    /// An `after` that no previous page handed out.
    #[error("after is not a cursor from a previous page.")]
    BadCursor,
    /// A query parameter the use case does not know (an unknown status or sort, say).
    #[error("{0}")]
    BadQuery(String),
    /// The store failed (never a client mistake).
    #[error(transparent)]
    Store(StoreError),
    #[error("{0}")]
    Hash(String),
    #[error("too many attempts")]
    Throttled(Duration),
    #[error("account locked")]
    Locked,
    #[error("wrong code")]
    InvalidCode(String),
    #[error("re-authentication required")]
    ReauthenticationRequired,
    #[error("registration required")]
    RegistrationRequired,
    /// The session is not at the step this request belongs to.
    #[error("{0}")]
    WrongStage(&'static str),
    /// The session is part-way through signing in and must finish this step first.
    #[error("finish signing in first")]
    FinishSignIn(crate::domain::login::Waiting),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound("The item"),
            StoreError::Conflict(c) => ServiceError::Conflict(conflict_sentence(&c)),
            StoreError::BadCursor => ServiceError::BadCursor,
            e => ServiceError::Store(e),
        }
    }
}

/// What a person reads when a write collides with what is stored: written once, here, whichever
/// engine said it.
pub fn conflict_sentence(c: &crate::store::Conflict) -> String {
    use crate::store::Conflict;
    match c {
        Conflict::UsernameTaken(name) => format!("The username {name} is already taken."),
        Conflict::GroupNameTaken(name) => format!("A group named {name} already exists."),
        Conflict::PasskeyRegistered => "This passkey is already registered.".into(),
        Conflict::ApplicationExists => "An application with this id exists.".into(),
        Conflict::SigningKeysChanged => "The signing keys changed meanwhile. Try again.".into(),
        Conflict::StalePolicy => "Someone saved the policy after you opened it. Reload to see their version.".into(),
        Conflict::DatabaseNotEmpty => {
            "The PostgreSQL database already holds a directory: migrate into an empty one.".into()
        }
        Conflict::SetupTokenUsed => "The setup token was already used.".into(),
        Conflict::SetupDone => "Setup is already done.".into(),
        Conflict::NotEmpty(dir) => {
            format!("{dir} is not empty: restore into a new directory, then point --data-dir at it")
        }
    }
}

impl std::fmt::Display for crate::store::Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&conflict_sentence(self))
    }
}

/// The membership index's lock was poisoned (a thread panicked holding it): a server fault.
pub(crate) fn index_poisoned<T>(_: T) -> StoreError {
    StoreError::Backend("membership index lock poisoned".into())
}

impl Core {
    /// Writes one sign-in log entry and counts it in the metrics (every sign-in event goes through
    /// here, so the log and `proofup_sign_ins_total` agree).
    pub(crate) fn record_sign_in(&self, entry: crate::domain::records::SignInRecord) -> Result<(), StoreError> {
        let s = self.store.as_ref();
        let (result, interactive) = (entry.result, entry.interactive);
        match crate::domain::signin::aggregate_key(&entry) {
            Some(key) => s.count_sign_in(&key, entry)?,
            None => s.append_sign_in(entry)?,
        }
        crate::metrics::sign_in(result, interactive);
        Ok(())
    }
}

/// The store key of a session token.
pub fn session_key(token: &str) -> [u8; 32] {
    crate::domain::setup::sha256(token)
}

pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Builds an audit entry; the store assigns its id.
pub fn audit(
    at: OffsetDateTime,
    actor: Option<&User>,
    action: &str,
    target: Option<&User>,
    changes: Vec<FieldChange>,
    client: &ClientInfo,
) -> AuditDraft {
    AuditDraft(crate::domain::records::AuditRecord {
        id: String::new(),
        at,
        actor_id: actor.map(|u| u.id.clone()),
        actor: actor.map_or_else(|| "setup".to_owned(), |u| u.username.clone()),
        action: action.to_owned(),
        target_id: target.map(|u| u.id.clone()),
        target: target.map_or_else(String::new, |u| u.username.clone()),
        // A field that did not change is not a change ("Email: — → —").
        changes: changes.into_iter().filter(|c| c.before != c.after).collect(),
        ip: client.ip.clone(),
    })
}

pub fn change(field: &str, before: Option<&str>, after: Option<&str>) -> FieldChange {
    FieldChange { field: field.into(), before: before.map(Into::into), after: after.map(Into::into) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proofup_shared::api::Role;

    fn caller(role: Role) -> Caller {
        let t = time::macros::datetime!(2026-12-07 06:00 UTC);
        Caller {
            user: User {
                id: "u1".into(),
                username: "ada".into(),
                display_name: "Ada".into(),
                email: None,
                email_verified: false,
                admin_notices: false,
                role,
                enabled: true,
                emergency_access: false,
                password_hash: String::new(),
                created_at: t,
                updated_at: t,
                last_sign_in_at: None,
            },
            session: Session::begun("u1", t, "127.0.0.1", "test"),
            key: [0; 32],
            client: ClientInfo::new("127.0.0.1".into(), "test"),
        }
    }

    /// The handles an administrators' use case takes are minted only for the roles allowed: a
    /// front door that forgot its own check still cannot call the use case.
    #[test]
    fn capability_handles_are_minted_only_for_the_roles_allowed() {
        use Role::*;
        for (role, read, operate, manage) in [
            (User, false, false, false),
            (SecurityReader, true, false, false),
            (SecurityOperator, true, true, false),
            (SecurityAdministrator, true, true, true),
            (GlobalAdministrator, true, true, true),
        ] {
            let c = caller(role);
            assert_eq!(c.reader().is_ok(), read, "{role:?} as reader");
            assert_eq!(c.operator().is_ok(), operate, "{role:?} as operator");
            assert_eq!(c.manager().is_ok(), manage, "{role:?} as manager");
            assert_eq!(c.global().is_ok(), role == GlobalAdministrator, "{role:?} as Global administrator");
            assert!(matches!(c.manager().err(), None | Some(ServiceError::Forbidden(_))));
            // Anyone may read their own security info; another user's only as a reader.
            let own = c.subject("u1").expect("own");
            assert!(own.own && own.user_id() == "u1");
            let other = c.subject("u2");
            assert_eq!(other.is_ok(), read, "{role:?} reading another user");
            assert!(other.map_or(true, |s| !s.own));
        }
    }
}
