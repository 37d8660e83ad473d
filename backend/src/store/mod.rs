//! The storage port: one trait per aggregate, gathered in [`Store`], and the data types they
//! speak (errors, audit drafts, filters). Engines live beside each other under this folder
//! (`sled/` today) and are named only where the binary opens one.
//!
//! Rules of this layer:
//! - This file holds no engine code: traits, `StoreError`, `AuditDraft`, filters and `Durability`.
//!   It may import `domain` and `proofup_shared` types; never `service` or `http`.
//! - What is stored is a domain type (`domain::model`, `domain::records`), never an API body:
//!   `proofup_shared` supplies only shared values inside them (roles, kinds, a page of results).
//! - A write that collides with what is stored fails with a typed [`Conflict`]; the sentence a
//!   person reads is the service's, written once.
//! - Filters are data ([`UserFilter`], [`AuditFilter`], [`SignInFilter`]), so an SQL engine can
//!   run them; each has a `matches` for engines that scan.
//! - Cursors (`after`) are opaque strings made by the engine; only the engine parses them, and a
//!   cursor it did not make is [`StoreError::BadCursor`].
//! - A change that must be atomic across aggregates is one store method, never a sequence the
//!   caller composes: creating a user with its audit entry, deleting a user with their pass,
//!   sessions and memberships, removing every method with the user's sessions, completing setup,
//!   saving a policy version with its audit entry. Every method that takes an [`AuditDraft`]
//!   writes it in the same transaction as the change.
//! - A write is acknowledged to a client only after [`Durability::flush`] or
//!   [`Durability::durable`] (the method's documentation says when it already did).

use crate::domain::records::{AuditRecord, DetectionRecord, PolicyRecord, SignInRecord};
use proofup_shared::api::{Page, Role, SignInResult};
use proofup_shared::directory::MemberKind;

use time::OffsetDateTime;

use crate::domain::login::LoginFlow;
use crate::domain::model::{Ceremony, Group, Method, Session, User};
use crate::domain::notify::{Channel, Message};
use crate::domain::oidc::grant::{AccessGrant, CodeGrant, Flow, Grant, RefreshGrant};
use crate::domain::oidc::{Application, SigningKey};
use crate::domain::policy::RegistrationState;
use crate::domain::session::SessionLimits;
use crate::domain::setup::SetupTokenRecord;
use crate::domain::tap::TapRecord;
use crate::domain::throttle::AccountThrottle;

pub mod migrate;
pub mod open;
pub mod postgres;
pub mod sled;

/// Every aggregate's store, and durability: what the services are given.
pub trait Store:
    UserStore
    + PassStore
    + SetupStore
    + SessionStore
    + ThrottleStore
    + AuditLog
    + SignInLog
    + GroupStore
    + MethodStore
    + RecoveryStore
    + AlertStore
    + PolicyStore
    + WebhookStore
    + OutboxStore
    + ApplicationStore
    + GrantStore
    + RiskStore
    + Durability
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: UserStore
        + PassStore
        + SetupStore
        + SessionStore
        + ThrottleStore
        + AuditLog
        + SignInLog
        + GroupStore
        + MethodStore
        + RecoveryStore
        + AlertStore
        + PolicyStore
        + WebhookStore
        + OutboxStore
        + ApplicationStore
        + GrantStore
        + RiskStore
        + Durability
        + Send
        + Sync
        + ?Sized
{
}

/// Resolves once every write made before it was asked for is durable.
pub type Durable = std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<()>> + Send>>;

/// Durability and housekeeping, whatever the engine.
pub trait Durability {
    /// Makes every write so far durable, blocking the caller's thread.
    fn flush(&self) -> StoreResult<()>;
    /// Like `flush`, without holding the caller's thread: requests waiting at the same moment
    /// may share one sync (group commit). Every sign-in step awaits it before answering.
    fn durable(&self) -> Durable;
    /// A cheap read that proves the store answers (readiness).
    fn ping(&self) -> StoreResult<()>;
    /// Deletes the sessions that are no longer valid at `now` under `limits`; returns how many.
    fn sweep_sessions(&self, now: OffsetDateTime, limits: SessionLimits) -> StoreResult<u64>;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// What collided, typed; the service says it in words (`service::conflict_sentence`).
    #[error("{0}")]
    Conflict(Conflict),
    #[error("not found")]
    NotFound,
    /// An `after` the engine did not make.
    #[error("after is not a cursor from a previous page.")]
    BadCursor,
    /// The store cannot be reached or cannot write just now (the database is down, restarting
    /// or out of connections; the disk refused a write): the request may succeed if repeated.
    /// HTTP answers 503 with Retry-After.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A write refused because it collides with what is stored. Engines say what collided; the
/// sentence a person reads is written once, in the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Another user has this (normalised) username.
    UsernameTaken(String),
    /// Another group has this name (case-insensitively).
    GroupNameTaken(String),
    /// This passkey's credential is registered already (to anyone).
    PasskeyRegistered,
    /// An application with this id exists.
    ApplicationExists,
    /// The signing keys changed since they were read (another rotation won).
    SigningKeysChanged,
    /// A policy version was saved after the one this edit is based on.
    StalePolicy,
    /// The directory to restore into is not empty.
    NotEmpty(String),
    /// The PostgreSQL database to migrate into already holds a directory.
    DatabaseNotEmpty,
    /// The setup token presented is no longer the stored one (used, or replaced by a newer one).
    SetupTokenUsed,
    /// The first administrator exists already.
    SetupDone,
}

/// An audit entry before the store gives it an id and a place in the log.
#[derive(Debug, Clone)]
pub struct AuditDraft(pub AuditRecord);

pub trait UserStore {
    fn user(&self, id: &str) -> StoreResult<Option<User>>;
    fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    fn count_users(&self) -> StoreResult<u64>;
    /// Adds a user and its audit entry in one durable write; `Conflict` if the username is taken.
    fn create_user(&self, user: &User, audit: AuditDraft) -> StoreResult<()>;
    /// Adds a user with their first temporary access pass and both audit entries (created, pass
    /// issued) in one durable transaction: after a crash the user is there with their pass, or
    /// not at all. `Conflict` if the username is taken.
    fn create_user_with_pass(&self, user: &User, pass: &TapRecord, audit: [AuditDraft; 2]) -> StoreResult<()>;
    /// "Reset sign-in" as one durable change: the user replaced (password cleared), every session
    /// and grant of theirs ended, the new pass issued, both audit entries. `NotFound` if the user
    /// is gone. Returns how many sessions ended.
    fn reset_sign_in(&self, user: &User, pass: &TapRecord, audit: [AuditDraft; 2]) -> StoreResult<u64>;
    fn set_last_sign_in(&self, id: &str, at: OffsetDateTime) -> StoreResult<()>;
    /// Replaces a user (same id and username) and appends the audit entry, in one durable write.
    fn update_user(&self, user: &User, audit: AuditDraft) -> StoreResult<()>;
    /// Removes the user, their username, pass and sessions; log entries stay.
    fn delete_user(&self, id: &str, audit: AuditDraft) -> StoreResult<()>;
    /// Users in username order that match `filter`.
    fn list_users(&self, filter: &UserFilter, after: Option<&str>, limit: usize) -> StoreResult<Page<User>>;
    fn count_enabled_global_admins(&self) -> StoreResult<u64>;
    /// Visits every user (id order), for reports.
    fn for_each_user(&self, f: &mut dyn FnMut(User)) -> StoreResult<()>;
}

pub trait PassStore {
    /// Issues (replaces) a user's temporary access pass, audited, durably.
    fn put_pass(&self, user_id: &str, pass: &TapRecord, audit: AuditDraft) -> StoreResult<()>;
    /// Burns the pass if `check` accepts it: true when it was accepted (single use).
    fn take_pass(&self, user_id: &str, check: &dyn Fn(&TapRecord) -> bool) -> StoreResult<bool>;
}

pub trait SetupStore {
    fn setup_token(&self) -> StoreResult<Option<SetupTokenRecord>>;
    /// True once the first administrator was created.
    fn setup_done(&self) -> StoreResult<bool>;
    /// Replaces any earlier token (durably).
    fn put_setup_token(&self, record: &SetupTokenRecord) -> StoreResult<()>;
    /// In one durable transaction: the token is still the one checked, no user
    /// exists yet, the first administrator is written, the token is burnt, the
    /// audit entry is appended.
    fn complete_setup(&self, token: &SetupTokenRecord, admin: &User, audit: AuditDraft) -> StoreResult<()>;
    /// The secret key check recorded with the data (see `SecretBox::key_check`), if any yet.
    fn secret_key_check(&self) -> StoreResult<Option<String>>;
    /// Records `check` unless one is recorded already, atomically and durably; returns the one in
    /// force (of two nodes starting together on an empty database, both get the first one's).
    fn record_secret_key_check(&self, check: &str) -> StoreResult<String>;
}

/// Sessions (signed in) and login flows (signing in), each under the SHA-256 of its cookie
/// token. Atomicity rule: ending a user's sessions (`delete_user_sessions`, and every composite
/// that does: removing all methods, disabling or deleting the user) ends their login flows too,
/// so a sign-in begun before the change cannot finish after it. The sweep removes both once
/// expired.
/// What a password step that succeeded writes: the account's throttle cleared, the session (or
/// the sign-in in progress) under `key`, the user's last sign-in, and the step's log row (an
/// interactive one: appended, never counted into an aggregate row).
#[derive(Debug, Clone)]
pub struct StepWrites {
    pub throttle_key: String,
    pub key: [u8; 32],
    pub progress: StepProgress,
    pub user_id: String,
    pub at: OffsetDateTime,
    pub log: SignInRecord,
}

/// What a password step reads (see [`SessionStore::password_step_facts`]); the user's parts are
/// empty when no such user exists.
#[derive(Debug, Clone)]
pub struct StepFacts {
    pub user: Option<User>,
    pub profile: Option<crate::domain::risk::Profile>,
    /// Oldest first.
    pub methods: Vec<Method>,
    pub codes: Option<crate::domain::model::RecoveryCodeSet>,
    pub registration: RegistrationState,
    pub policies: PolicyRecord,
}

/// What a code step reads (see [`SessionStore::code_step_facts`]).
#[derive(Debug, Clone)]
pub struct CodeStepFacts {
    pub flow: LoginFlow,
    /// `None` for a user gone.
    pub user: Option<User>,
    /// The user's methods, oldest first (empty when nothing was reserved).
    pub methods: Vec<Method>,
    /// The attempt reserved in the account's throttle, as [`ThrottleStore::reserve_attempt`]
    /// answers; `None`, and nothing reserved, when the flow has expired or its user is gone or
    /// disabled.
    pub attempt: Option<crate::domain::throttle::ThrottleDecision>,
}

/// What a code step that proved writes, together: the method's time step spent (the gate: a
/// step already spent writes nothing at all), the account's throttle cleared, the step's log row
/// (interactive, appended), and the sign-in in progress under `from` become `session` under `to`.
#[derive(Debug, Clone)]
pub struct CodeStepWrites {
    pub user_id: String,
    pub method_id: String,
    pub step: u64,
    pub throttle_key: String,
    pub from: [u8; 32],
    pub to: [u8; 32],
    pub session: Session,
    pub log: SignInRecord,
}

/// What [`SessionStore::write_code_step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeStepWritten {
    /// The time step was spent already (a replay, or a concurrent use of the same code):
    /// nothing was written.
    Replayed,
    /// The step was spent, the throttle cleared and the row logged, but the sign-in had
    /// completed or ended meanwhile: no session.
    FlowGone,
    /// Everything, and the session.
    Session,
}

/// What a password step leaves: a session, or a sign-in that goes on.
#[derive(Debug, Clone)]
pub enum StepProgress {
    Session(Session),
    Login(LoginFlow),
}

pub trait SessionStore {
    /// Keeps (replaces) a sign-in in progress.
    fn put_login(&self, key: &[u8; 32], flow: &LoginFlow) -> StoreResult<()>;
    fn login(&self, key: &[u8; 32]) -> StoreResult<Option<LoginFlow>>;
    fn delete_login(&self, key: &[u8; 32]) -> StoreResult<()>;
    fn create_session(&self, key: &[u8; 32], session: &Session) -> StoreResult<()>;
    /// A sign-in in progress becomes a session: the login flow under `from` is removed and
    /// `session` written under `to`, together (one statement on PostgreSQL). False, and nothing
    /// written, when the flow is gone (completed or abandoned concurrently): a login flow becomes
    /// at most one session.
    fn promote_login(&self, from: &[u8; 32], to: &[u8; 32], session: &Session) -> StoreResult<bool>;
    /// The session under `key` with its user (`None` for a user gone), read together: what every
    /// signed-in request reads first (one statement on PostgreSQL).
    fn session_with_user(&self, key: &[u8; 32]) -> StoreResult<Option<(Session, Option<User>)>>;
    /// The sign-in in progress under `key` with its user, read together.
    fn login_with_user(&self, key: &[u8; 32]) -> StoreResult<Option<(LoginFlow, Option<User>)>>;
    /// A password step's writes once the password (or pass) was right, made together: see
    /// [`StepWrites`] (one statement on PostgreSQL).
    fn write_password_step(&self, w: &StepWrites) -> StoreResult<()>;
    /// What a password step reads, together: the account by (normalised) username with its risk
    /// profile, methods, recovery codes and registration state, and the policies (one statement
    /// on PostgreSQL).
    fn password_step_facts(&self, username: &str) -> StoreResult<StepFacts>;
    /// What a code step reads, with its attempt reserved: the sign-in in progress under `key`
    /// with its user and the user's methods, and, when the flow is live and the user enabled, one
    /// attempt reserved in the account's throttle (keyed by the username) as `reserve_attempt`
    /// does (one statement on PostgreSQL when the account has no failures). `None` when no
    /// sign-in is in progress under `key`.
    fn code_step_facts(&self, key: &[u8; 32], now: OffsetDateTime) -> StoreResult<Option<CodeStepFacts>>;
    /// A code step's writes once the code was right, gated on its time step: see
    /// [`CodeStepWrites`] (one statement on PostgreSQL).
    fn write_code_step(&self, w: &CodeStepWrites) -> StoreResult<CodeStepWritten>;
    fn session(&self, key: &[u8; 32]) -> StoreResult<Option<Session>>;
    fn touch_session(&self, key: &[u8; 32], at: OffsetDateTime) -> StoreResult<()>;
    fn delete_session(&self, key: &[u8; 32]) -> StoreResult<()>;
    /// Ends every session of a user; returns how many.
    fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64>;
    fn count_sessions(&self) -> StoreResult<u64>;
    /// A user's sessions with their keys, newest first (expired ones too, until swept).
    fn user_sessions(&self, user_id: &str) -> StoreResult<Vec<([u8; 32], Session)>>;
    /// Keeps (replaces) a ceremony a session began; `key` names the kind and the session.
    fn put_ceremony(&self, key: &str, ceremony: &Ceremony) -> StoreResult<()>;
    fn ceremony(&self, key: &str) -> StoreResult<Option<Ceremony>>;
    /// Removes the ceremony and returns it, atomically: of two finishing it, one gets it.
    fn take_ceremony(&self, key: &str) -> StoreResult<Option<Ceremony>>;
    /// Keeps the ceremony only if none is kept under `key`, atomically across nodes: `true` for
    /// the one caller that added it. Something done once (a reminder per user and deadline) marks
    /// itself this way; the mark goes with the sweep after `expires_at`.
    fn add_ceremony(&self, key: &str, ceremony: &Ceremony) -> StoreResult<bool>;
}

/// Per-account throttles, keyed by [`crate::domain::throttle::key`] of the normalised username.
pub trait ThrottleStore {
    fn throttle(&self, username: &str) -> StoreResult<AccountThrottle>;
    fn put_throttle(&self, username: &str, t: &AccountThrottle) -> StoreResult<()>;
    /// Atomically (compare-and-swap, never read-then-write): if the throttle allows an attempt
    /// now, counts it as a failure before the caller checks the secret, and answers `Allow`;
    /// otherwise answers the refusal and writes nothing. Concurrent callers each get their
    /// own count, so a burst of N guesses counts as N.
    fn reserve_attempt(
        &self,
        username: &str,
        now: OffsetDateTime,
    ) -> StoreResult<crate::domain::throttle::ThrottleDecision>;
    /// The reserved attempt was right: forget the failures.
    fn attempt_succeeded(&self, username: &str) -> StoreResult<()>;
    /// Unlock: forget the failures (administrator action, audited).
    fn clear_throttle(&self, username: &str, audit: AuditDraft) -> StoreResult<()>;
}

/// Which users a listing returns; every field set must hold.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Normalised (lower-case) username prefix; empty for all.
    pub prefix: String,
    pub role: Option<Role>,
    pub enabled: Option<bool>,
    pub emergency_access: Option<bool>,
    /// Normalised (lower-case) starts of words of the display name, separated by spaces: each
    /// must start a word of it ("smi" and "ann sm" find "Ann Smith"; "dave g" finds "Dave
    /// Grohl"); empty for all. Not indexed: a scan in username order.
    pub name_word: String,
}

impl UserFilter {
    pub fn matches(&self, u: &User) -> bool {
        u.username.starts_with(self.prefix.as_str())
            && (self.name_word.is_empty() || {
                let words: Vec<String> = u
                    .display_name
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(str::to_lowercase)
                    .collect();
                self.name_word.split_whitespace().all(|q| words.iter().any(|w| w.starts_with(q)))
            })
            && self.role.is_none_or(|r| u.role == r)
            && self.enabled.is_none_or(|e| u.enabled == e)
            && self.emergency_access.is_none_or(|e| u.emergency_access == e)
    }
}

/// A search of the audit log: a time window (inclusive bounds) and tests on each entry.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// The actor's name, lower-case, whole.
    pub actor: Option<String>,
    /// Part of the target, lower-case.
    pub target: Option<String>,
    /// The start of the action (`policy.` finds every policy action).
    pub action: Option<String>,
}

impl AuditFilter {
    pub fn matches(&self, e: &AuditRecord) -> bool {
        in_window(e.at, self.from, self.to)
            && self.actor.as_ref().is_none_or(|a| e.actor.to_lowercase() == *a)
            && self.target.as_ref().is_none_or(|t| e.target.to_lowercase().contains(t.as_str()))
            && self.action.as_ref().is_none_or(|a| e.action.starts_with(a.as_str()))
    }
}

/// A search of the sign-in log.
#[derive(Debug, Clone, Default)]
pub struct SignInFilter {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// The normalised username, whole.
    pub user: Option<String>,
    pub result: Option<SignInResult>,
    /// The application's name, whole.
    pub application: Option<String>,
}

impl SignInFilter {
    pub fn matches(&self, e: &SignInRecord) -> bool {
        in_window(e.at, self.from, self.to)
            && self.user.as_ref().is_none_or(|u| e.username == *u)
            && self.result.is_none_or(|r| e.result == r)
            && self.application.as_ref().is_none_or(|a| e.application.as_ref() == Some(a))
    }
}

fn in_window(at: OffsetDateTime, from: Option<OffsetDateTime>, to: Option<OffsetDateTime>) -> bool {
    from.is_none_or(|f| at >= f) && to.is_none_or(|t| at <= t)
}

/// Log searches read at most this many entries per call; a page may then come back short with
/// a cursor, and the next call continues from there.
pub const SCAN_BUDGET: usize = 50_000;

pub trait AuditLog {
    fn append_audit(&self, entry: AuditDraft) -> StoreResult<()>;
    /// Newest first.
    fn list_audit(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<AuditRecord>> {
        self.search_audit(&AuditFilter::default(), after, limit)
    }
    /// Newest first, filtered (at most [`SCAN_BUDGET`] entries read per call).
    fn search_audit(&self, filter: &AuditFilter, after: Option<&str>, limit: usize) -> StoreResult<Page<AuditRecord>>;
    fn count_audit(&self) -> StoreResult<u64>;
    /// Retention: removes entries from before `before`, then the oldest beyond `max_rows`.
    /// Returns how many were removed.
    fn prune_audit(&self, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64>;
}

pub trait SignInLog {
    fn append_sign_in(&self, entry: SignInRecord) -> StoreResult<()>;
    /// Counts one more attempt in the aggregate row `key` (see `domain::signin::aggregate_key`),
    /// atomically: the first makes the row from `entry` (count 1), each next adds one and names
    /// its username. The row keeps its place in the log (the minute's first attempt).
    fn count_sign_in(&self, key: &str, entry: SignInRecord) -> StoreResult<()>;
    /// Newest first.
    fn list_sign_ins(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<SignInRecord>> {
        self.search_sign_ins(&SignInFilter::default(), after, limit)
    }
    /// Newest first, filtered (at most [`SCAN_BUDGET`] entries read per call).
    fn search_sign_ins(
        &self,
        filter: &SignInFilter,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<SignInRecord>>;
    fn count_sign_ins(&self) -> StoreResult<u64>;
    /// Retention: removes entries from before `before`, then the oldest beyond `max_rows`.
    fn prune_sign_ins(&self, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64>;
    /// Every entry from `from` on, oldest first (a backtest over the log). Entries that do not
    /// decode are skipped.
    fn for_each_sign_in(&self, from: OffsetDateTime, f: &mut dyn FnMut(SignInRecord)) -> StoreResult<u64>;
}

pub trait GroupStore {
    fn group(&self, id: &str) -> StoreResult<Option<Group>>;
    fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>>;
    fn count_groups(&self) -> StoreResult<u64>;
    /// `Conflict` if the name (case-insensitive) is taken.
    fn create_group(&self, group: &Group, audit: AuditDraft) -> StoreResult<()>;
    /// Replaces the group; a rename moves its name key (`Conflict` if taken).
    fn update_group(&self, group: &Group, audit: AuditDraft) -> StoreResult<()>;
    /// Removes the group, its member list and its place in every parent.
    fn delete_group(&self, id: &str, audit: AuditDraft) -> StoreResult<()>;
    /// Groups in name order, optionally by name prefix (lower-case).
    fn list_groups(&self, prefix: &str, after: Option<&str>, limit: usize) -> StoreResult<Page<Group>>;
    /// Adds a direct member; false if it already was one.
    fn add_member(&self, group: &str, kind: MemberKind, member: &str, audit: AuditDraft) -> StoreResult<bool>;
    /// `NotFound` if it was not a direct member.
    fn remove_member(&self, group: &str, kind: MemberKind, member: &str, audit: AuditDraft) -> StoreResult<()>;
    fn members(&self, group: &str) -> StoreResult<Vec<(MemberKind, String)>>;
    /// Groups that list this user or group directly.
    fn direct_parents(&self, kind: MemberKind, member: &str) -> StoreResult<Vec<String>>;
    /// A number that changes whenever any node changes a membership, for engines shared by
    /// several nodes (each node's index follows it); `None` when this process is the only writer.
    fn membership_version(&self) -> StoreResult<Option<u64>> {
        Ok(None)
    }
    /// Visits every membership edge (group, kind, member), to build the index at start
    /// (streamed: 300k edges held at once cost ~45 MB that the allocator kept afterwards).
    fn for_each_edge(&self, f: &mut dyn FnMut(&str, MemberKind, &str)) -> StoreResult<()>;

    /// The membership index of the stored edges (built at start, and again when another node
    /// changed the directory).
    fn membership_index(&self) -> StoreResult<crate::domain::membership::MembershipIndex> {
        let mut index = crate::domain::membership::MembershipIndex::default();
        self.for_each_edge(&mut |group, kind, member| match kind {
            MemberKind::User => index.add_user(group, member),
            MemberKind::Group => {
                // Stored edges were checked when added; a cycle here means damaged data: skip it loudly.
                if let Err(e) = index.add_group(group, member) {
                    tracing::error!(%group, %member, error = %e, "stored membership edge ignored");
                }
            }
        })?;
        Ok(index)
    }
}

pub trait MethodStore {
    fn methods(&self, user_id: &str) -> StoreResult<Vec<Method>>;
    fn method(&self, user_id: &str, id: &str) -> StoreResult<Option<Method>>;
    fn add_method(&self, method: &Method, audit: AuditDraft) -> StoreResult<()>;
    /// Records an accepted TOTP step atomically: false (nothing written) when
    /// `step` is at or before the stored last step (a replay, or a concurrent use).
    /// Atomic in memory at once; durable with the caller's flush, before it answers.
    fn record_totp_use(&self, user_id: &str, id: &str, step: u64, at: OffsetDateTime) -> StoreResult<bool>;
    fn rename_method(&self, user_id: &str, id: &str, name: &str, audit: AuditDraft) -> StoreResult<()>;
    fn delete_method(&self, user_id: &str, id: &str, audit: AuditDraft) -> StoreResult<()>;
    /// Removes every method of the user and ends their sessions; returns how many methods.
    fn delete_all_methods(&self, user_id: &str, audit: AuditDraft) -> StoreResult<u64>;
    /// user id → number of methods, for reports.
    fn method_counts(&self) -> StoreResult<std::collections::HashMap<String, u32>>;
    /// The user's methods (oldest first) and recovery codes, read together: what the access
    /// decision needs (one statement on PostgreSQL).
    fn methods_and_codes(
        &self,
        user_id: &str,
    ) -> StoreResult<(Vec<Method>, Option<crate::domain::model::RecoveryCodeSet>)>;
    /// The users with at least one passkey (the risk policies' impact: only a passkey answers high risk).
    fn passkey_users(&self) -> StoreResult<std::collections::HashSet<String>>;
    /// Records a passkey sign-in: the updated credential (counter, flags) if it changed, and the time.
    fn record_passkey_use(&self, user_id: &str, id: &str, passkey: Option<&str>, at: OffsetDateTime)
        -> StoreResult<()>;
    /// Whether a passkey credential id is registered to anyone.
    fn credential_taken(&self, credential_id: &str) -> StoreResult<bool>;
}

/// Recovery codes, hashed. Removed with the user's last method.
pub trait RecoveryStore {
    fn recovery_codes(&self, user_id: &str) -> StoreResult<Option<crate::domain::model::RecoveryCodeSet>>;
    /// Replaces the user's codes (the old ones stop working), with its audit entry.
    fn set_recovery_codes(
        &self,
        user_id: &str,
        codes: &crate::domain::model::RecoveryCodeSet,
        audit: AuditDraft,
    ) -> StoreResult<()>;
    /// Marks the code with this hash used, atomically: `Some(remaining)` if it was unused, `None` otherwise.
    fn use_recovery_code(&self, user_id: &str, hash: &str, audit: AuditDraft) -> StoreResult<Option<u32>>;
}

pub trait AlertStore {
    fn add_alert(&self, alert: crate::domain::records::AlertRecord) -> StoreResult<()>;
    fn alert(&self, id: &str) -> StoreResult<Option<crate::domain::records::AlertRecord>>;
    /// Unacknowledged alerts, newest first.
    fn open_alerts(&self, limit: usize) -> StoreResult<Vec<crate::domain::records::AlertRecord>>;
    /// Marks an alert acknowledged (audited); `NotFound` if unknown.
    fn acknowledge_alert(&self, id: &str, by: &str, at: OffsetDateTime, audit: AuditDraft) -> StoreResult<()>;
}

pub trait PolicyStore {
    /// The current policy (version 0, the default, until one is saved).
    fn policy(&self) -> StoreResult<PolicyRecord>;
    /// Saves `next` as version `based_on + 1`; `Conflict` if another save came first.
    fn save_policy(&self, next: &PolicyRecord, based_on: u64, audit: AuditDraft) -> StoreResult<()>;
    /// Newest first.
    fn policy_versions(&self, limit: usize) -> StoreResult<Vec<PolicyRecord>>;
    fn registration_state(&self, user_id: &str) -> StoreResult<RegistrationState>;
    fn all_registration_states(&self) -> StoreResult<std::collections::HashMap<String, RegistrationState>>;
    /// Writes a user's policy state, with an audit entry when an administrator changed it.
    fn put_registration_state(
        &self,
        user_id: &str,
        state: &RegistrationState,
        audit: Option<AuditDraft>,
    ) -> StoreResult<()>;
}

/// Applications that sign in through Proofup (OIDC clients) and the keys that sign their tokens.
pub trait ApplicationStore {
    /// Every registered application, in no particular order.
    fn applications(&self) -> StoreResult<Vec<Application>>;
    fn application(&self, id: &str) -> StoreResult<Option<Application>>;
    /// Adds an application and its audit entry, durably; `Conflict` if the id is taken.
    fn create_application(&self, app: &Application, audit: AuditDraft) -> StoreResult<()>;
    /// Replaces a stored application, with its audit entry, durably; `NotFound` if it is gone.
    fn update_application(&self, app: &Application, audit: AuditDraft) -> StoreResult<()>;
    /// Deletes an application and writes its audit entry, durably; `NotFound` if it is gone.
    fn delete_application(&self, id: &str, audit: AuditDraft) -> StoreResult<()>;
    /// The signing keys (empty before the first start made them).
    fn signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// Replaces the whole key set if it still equals `before` (`Conflict` when another writer
    /// changed it first), with the audit entry if any, durably.
    fn replace_signing_keys(
        &self,
        before: &[SigningKey],
        after: &[SigningKey],
        audit: Option<AuditDraft>,
    ) -> StoreResult<()>;
}

/// The webhook's settings.
pub trait WebhookStore {
    fn webhook_url(&self) -> StoreResult<Option<String>>;
    /// Sets (or with `None` clears) the URL, with its audit entry, in one write: the webhook's
    /// last error is forgotten and its given-up messages are dropped.
    fn set_webhook_url(&self, url: Option<&str>, audit: AuditDraft) -> StoreResult<()>;
}

/// What the outbox holds for one channel, and how its last tries went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    /// Pending after at least one failed try.
    pub failing: u64,
    pub given_up: u64,
    pub last_error: Option<(String, OffsetDateTime)>,
    pub last_sent_at: Option<OffsetDateTime>,
}

/// The one durable outbox of notifications, every channel's messages in it (keyed by id, each
/// carrying its channel). Engines store and hand out; the retry schedule is the domain's
/// (`Message::failed`), the sending the service's and its adapters'.
pub trait OutboxStore {
    /// Queues a message durably (flushed before returning).
    fn enqueue_message(&self, m: &Message) -> StoreResult<()>;
    /// The channel's messages due at `now`, oldest first (looking only).
    fn due_messages(&self, channel: Channel, now: OffsetDateTime, limit: usize) -> StoreResult<Vec<Message>>;
    /// The channel's due messages for this sender to try now, leased: until `now + lease` no
    /// other sender (another node) is handed them. The embedded store has one sender: the due ones.
    fn claim_due_messages(
        &self,
        channel: Channel,
        now: OffsetDateTime,
        _lease: time::Duration,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        self.due_messages(channel, now, limit)
    }
    /// Removes a sent message and records the time for its channel.
    fn message_sent(&self, m: &Message, at: OffsetDateTime) -> StoreResult<()>;
    /// Stores a failed try (its retry time, or that it was given up) and the error for its
    /// channel. A message removed meanwhile (its channel turned off) stays removed.
    fn message_failed(&self, m: &Message, at: OffsetDateTime) -> StoreResult<()>;
    fn outbox_counts(&self, channel: Channel) -> StoreResult<OutboxCounts>;
}

/// Sign-ins through applications: flows waiting for their user, one-use codes, access tokens.
/// Codes and tokens are keyed by their SHA-256; the store never holds a usable one.
pub trait GrantStore {
    fn put_flow(&self, flow: &Flow) -> StoreResult<()>;
    fn flow(&self, id: &str) -> StoreResult<Option<Flow>>;
    fn delete_flow(&self, id: &str) -> StoreResult<()>;
    fn put_code(&self, key: &[u8; 32], code: &CodeGrant) -> StoreResult<()>;
    fn code(&self, key: &[u8; 32]) -> StoreResult<Option<CodeGrant>>;
    /// Marks the code spent and records `issued` in it, atomically; returns the code as it was
    /// before (already spent: a replay), or `None` when there is no such code.
    fn spend_code(&self, key: &[u8; 32], issued: &[u8; 32]) -> StoreResult<Option<CodeGrant>>;
    fn put_access_token(&self, key: &[u8; 32], grant: &AccessGrant) -> StoreResult<()>;
    fn access_token(&self, key: &[u8; 32]) -> StoreResult<Option<AccessGrant>>;
    fn revoke_access_tokens(&self, keys: &[[u8; 32]]) -> StoreResult<()>;
    /// Records a grant, kept under (user id, grant id).
    fn put_grant(&self, grant: &Grant) -> StoreResult<()>;
    fn grant(&self, user_id: &str, id: &str) -> StoreResult<Option<Grant>>;
    /// Ends one grant: every token issued under it stops working at once. Returns whether it was there.
    fn end_grant(&self, user_id: &str, id: &str) -> StoreResult<bool>;
    /// Ends every grant of the user, or only those that signing out of session `sid` ends
    /// (`Grant::ends_with_sign_out_of`, the domain's rule); returns how many. Atomicity rule:
    /// `delete_user_sessions` ends all of them too — whatever signs a user out everywhere
    /// (disable, reset sign-in, re-registration, a new password, delete) ends what applications
    /// hold.
    fn end_user_grants(&self, user_id: &str, sid: Option<&str>) -> StoreResult<u64>;
    fn put_refresh_token(&self, key: &[u8; 32], token: &RefreshGrant) -> StoreResult<()>;
    fn refresh_token(&self, key: &[u8; 32]) -> StoreResult<Option<RefreshGrant>>;
    /// Marks the refresh token spent, atomically (one winner across requests); returns it as it
    /// was before (already spent: a reuse), or `None` when there is no such token.
    fn spend_refresh_token(&self, key: &[u8; 32]) -> StoreResult<Option<RefreshGrant>>;
    /// Deletes codes, grants and tokens expired before `now`, and flows expired an hour before
    /// (`FLOW_KEPT_AFTER_EXPIRY`: their browser may start over); returns how many.
    fn sweep_grants(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// Risk: each user's sign-in profile and the detections about them (kept 90 days, like
/// Entra's report; open medium and high ones count toward the user's risk until closed).
pub trait RiskStore {
    fn risk_profile(&self, user_id: &str) -> StoreResult<Option<crate::domain::risk::Profile>>;
    fn put_risk_profile(&self, profile: &crate::domain::risk::Profile) -> StoreResult<()>;
    /// Adds one sign-in to the user's profile (a new profile for the first), read and written
    /// in one transaction: one call, and two sign-ins at once both count.
    fn learn_risk_profile(&self, user_id: &str, seen: &crate::domain::risk::Seen) -> StoreResult<()>;
    /// Every profile (the organisation's familiar countries and networks are built from them).
    fn for_each_risk_profile(&self, f: &mut dyn FnMut(crate::domain::risk::Profile)) -> StoreResult<()>;
    /// Stores detections; the store assigns their ids.
    fn add_detections(&self, found: &[DetectionRecord]) -> StoreResult<()>;
    /// One user's detections, newest first.
    fn user_detections(&self, user_id: &str) -> StoreResult<Vec<DetectionRecord>>;
    /// All detections, newest first.
    fn list_detections(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<DetectionRecord>>;
    /// Changes one user's detections atomically (`change` says which and to what); the audit
    /// entry is written in the same transaction when anything changed. Returns how many changed.
    fn update_detections(
        &self,
        user_id: &str,
        change: &crate::domain::risk::StateChange,
        audit: Option<AuditDraft>,
    ) -> StoreResult<u64>;
    /// Removes detections older than `before`; returns how many.
    fn prune_detections(&self, before: OffsetDateTime) -> StoreResult<u64>;
}
