//! Narrow storage traits, one per aggregate. The domain and the HTTP layer see
//! only these; `sled_store` is the one implementation.

pub mod sled_store;

use proofup_shared::api::{AuditEntry, Page, SignInLogEntry};
use time::OffsetDateTime;

use proofup_shared::directory::MemberKind;
use proofup_shared::policy::PolicyVersion;

use crate::domain::model::{Group, Method, Session, User};
use crate::domain::policy::RegistrationState;
use crate::domain::setup::SetupTokenRecord;
use crate::domain::tap::TapRecord;
use crate::domain::throttle::AccountThrottle;

pub use sled_store::SledStore;
pub mod backup;
pub mod files;
pub mod session_index;
pub use session_index::SessionIndex;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// A precondition checked inside a transaction failed (e.g. setup token already used).
    #[error("{0}")]
    Precondition(String),
    #[error("storage error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An audit entry before the store gives it an id and a place in the log.
#[derive(Debug, Clone)]
pub struct AuditDraft(pub AuditEntry);

pub trait UserStore {
    fn user(&self, id: &str) -> StoreResult<Option<User>>;
    fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    fn count_users(&self) -> StoreResult<u64>;
    /// Adds a user and its audit entry in one durable write; `Conflict` if the username is taken.
    fn create_user(&self, user: &User, audit: AuditDraft) -> StoreResult<()>;
    fn set_last_sign_in(&self, id: &str, at: OffsetDateTime) -> StoreResult<()>;
    /// Replaces a user (same id and username) and appends the audit entry, in one durable write.
    fn update_user(&self, user: &User, audit: AuditDraft) -> StoreResult<()>;
    /// Removes the user, their username, pass and sessions; log entries stay.
    fn delete_user(&self, id: &str, audit: AuditDraft) -> StoreResult<()>;
    /// Users in username order, optionally only those whose username starts with `prefix`.
    /// Only users for which `keep` is true are returned (filters by role, state...).
    fn list_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        keep: &dyn Fn(&User) -> bool,
    ) -> StoreResult<Page<User>>;
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
}

pub trait SessionStore {
    fn create_session(&self, key: &[u8; 32], session: &Session) -> StoreResult<()>;
    fn session(&self, key: &[u8; 32]) -> StoreResult<Option<Session>>;
    fn touch_session(&self, key: &[u8; 32], at: OffsetDateTime) -> StoreResult<()>;
    fn delete_session(&self, key: &[u8; 32]) -> StoreResult<()>;
    /// Ends every session of a user; returns how many.
    fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64>;
    fn count_sessions(&self) -> StoreResult<u64>;
    /// A user's sessions with their keys, newest first (expired ones too, until swept).
    fn user_sessions(&self, user_id: &str) -> StoreResult<Vec<([u8; 32], Session)>>;
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

/// A search of a log: a time window (inclusive bounds) and a test on each entry.
/// At most `SCAN_BUDGET` entries are read per call; a page may then come back
/// short with a cursor, and the next call continues from there.
pub struct LogSearch<'a, T> {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub keep: &'a dyn Fn(&T) -> bool,
}

pub const SCAN_BUDGET: usize = 50_000;

pub trait AuditLog {
    fn append_audit(&self, entry: AuditDraft) -> StoreResult<()>;
    /// Newest first.
    fn list_audit(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<AuditEntry>> {
        self.search_audit(after, limit, &LogSearch { from: None, to: None, keep: &|_| true })
    }
    /// Newest first, filtered.
    fn search_audit(
        &self,
        after: Option<&str>,
        limit: usize,
        search: &LogSearch<'_, AuditEntry>,
    ) -> StoreResult<Page<AuditEntry>>;
    fn count_audit(&self) -> StoreResult<u64>;
    /// Retention: removes entries from before `before`, then the oldest beyond `max_rows`.
    /// Returns how many were removed.
    fn prune_audit(&self, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64>;
}

pub trait SignInLog {
    fn append_sign_in(&self, entry: SignInLogEntry) -> StoreResult<()>;
    /// Newest first.
    fn list_sign_ins(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<SignInLogEntry>> {
        self.search_sign_ins(after, limit, &LogSearch { from: None, to: None, keep: &|_| true })
    }
    /// Newest first, filtered.
    fn search_sign_ins(
        &self,
        after: Option<&str>,
        limit: usize,
        search: &LogSearch<'_, SignInLogEntry>,
    ) -> StoreResult<Page<SignInLogEntry>>;
    fn count_sign_ins(&self) -> StoreResult<u64>;
    /// Retention: removes entries from before `before`, then the oldest beyond `max_rows`.
    fn prune_sign_ins(&self, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64>;
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
    /// Visits every membership edge (group, kind, member), to build the index at start
    /// (streamed: 300k edges held at once cost ~45 MB that the allocator kept afterwards).
    fn for_each_edge(&self, f: &mut dyn FnMut(&str, MemberKind, &str)) -> StoreResult<()>;
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
    fn add_alert(&self, alert: proofup_shared::api::EmergencyAlert) -> StoreResult<()>;
    fn alert(&self, id: &str) -> StoreResult<Option<proofup_shared::api::EmergencyAlert>>;
    /// Unacknowledged alerts, newest first.
    fn open_alerts(&self, limit: usize) -> StoreResult<Vec<proofup_shared::api::EmergencyAlert>>;
    /// Marks an alert acknowledged (audited); `NotFound` if unknown.
    fn acknowledge_alert(&self, id: &str, by: &str, at: OffsetDateTime, audit: AuditDraft) -> StoreResult<()>;
}

pub trait PolicyStore {
    /// The current policy (version 0, the default, until one is saved).
    fn policy(&self) -> StoreResult<PolicyVersion>;
    /// Saves `next` as version `based_on + 1`; `Conflict` if another save came first.
    fn save_policy(&self, next: &PolicyVersion, based_on: u64, audit: AuditDraft) -> StoreResult<()>;
    /// Newest first.
    fn policy_versions(&self, limit: usize) -> StoreResult<Vec<PolicyVersion>>;
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

/// The webhook's URL and its outbox of deliveries.
pub trait WebhookStore {
    fn webhook_url(&self) -> StoreResult<Option<String>>;
    /// Sets (or with `None` clears) the URL, with its audit entry; given-up deliveries are dropped.
    fn set_webhook_url(&self, url: Option<&str>, audit: AuditDraft) -> StoreResult<()>;
    /// Queues an event durably (flushed before returning).
    fn enqueue_delivery(&self, d: &crate::domain::webhook::Delivery) -> StoreResult<()>;
    /// Deliveries due at `now`, oldest first.
    fn due_deliveries(&self, now: OffsetDateTime, limit: usize) -> StoreResult<Vec<crate::domain::webhook::Delivery>>;
    /// Removes a delivered event and records the time.
    fn delivery_succeeded(&self, id: &str, at: OffsetDateTime) -> StoreResult<()>;
    /// Stores a failed try (its retry time or that it was given up), and the error for the Overview.
    fn delivery_failed(&self, d: &crate::domain::webhook::Delivery, at: OffsetDateTime) -> StoreResult<()>;
    fn webhook_status(&self) -> StoreResult<proofup_shared::webhook::WebhookStatus>;
}
