//! A sign-in in progress: its own record, not a session (kanidm's `AuthSession`, kratos' login
//! flow). It says who is signing in, what they proved so far, what the sign-in is for and where
//! it returns (server-owned), and when it expires; what it must do next is asked of the access
//! decision (`domain::access`) at every step, never stored. A session is written only when the
//! sign-in completes, so no record can be read as "signed in" by default. Pure.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::access::{Factor, Factors};
use super::model::{Continuation, Session};

/// How long a sign-in may take from its first factor to its last step.
pub const LOGIN_LIFETIME: Duration = Duration::minutes(30);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFlow {
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub ip: String,
    pub user_agent: String,
    /// What this sign-in proved so far.
    pub proved: Factors,
    /// What to resume once complete (an application's authorization request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<Continuation>,
    /// Where the sign-in came from and what risk it carries (learnt into the user's profile once
    /// it completes with nothing open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<SignInContext>,
}

/// Where a sign-in came from, as risk sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignInContext {
    /// The id its detections carry.
    pub sign_in: String,
    #[serde(default)]
    pub place: proofup_shared::risk::Place,
    /// The device cookie's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Its real-time risk, if anything was detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<proofup_shared::risk::RiskLevel>,
    /// From a trusted network (not a travel origin).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trusted: bool,
}

impl LoginFlow {
    /// A sign-in whose first factor (`first`) was just proved at `now`.
    pub fn begun(user_id: &str, first: Factor, now: OffsetDateTime, ip: &str, user_agent: &str) -> Self {
        Self {
            user_id: user_id.to_owned(),
            created_at: now,
            expires_at: now + LOGIN_LIFETIME,
            ip: ip.to_owned(),
            user_agent: user_agent.to_owned(),
            proved: Factors::of(&[first]),
            continuation: None,
            context: None,
        }
    }

    pub fn live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}

/// Where a browser's sign-in waits: computed from its record and the access decision, never
/// stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Signed in (a session).
    Complete,
    /// Began with a temporary access pass: choose a password.
    SetPassword,
    /// Prove the second factor.
    SecondFactor,
    /// "More information required": register a method (or skip while allowed).
    Registration,
}

impl Waiting {
    /// What a sign-in waits for after the access decision answered `next`.
    pub fn after(next: &super::access::Next) -> Self {
        use super::access::Next;
        match next {
            Next::SetPassword => Waiting::SetPassword,
            Next::ProveFactor { .. } => Waiting::SecondFactor,
            // A flow the decision no longer interrupts still finishes by registering or skipping.
            Next::Register { .. } | Next::Allow | Next::Deny(_) | Next::SignInAgain(_) => Waiting::Registration,
        }
    }
}

/// Where a browser's sign-in stands.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Part-way through signing in.
    Signing(LoginFlow),
    /// Signed in: steps here re-authenticate, or add a method from My security info.
    Complete(Session),
}

impl Progress {
    pub fn continuation(&self) -> Option<&Continuation> {
        match self {
            Progress::Signing(f) => f.continuation.as_ref(),
            Progress::Complete(s) => s.continuation.as_ref(),
        }
    }

    /// Whether the sign-in began with a temporary access pass.
    pub fn via_pass(&self) -> bool {
        match self {
            Progress::Signing(f) => f.proved.has(Factor::TemporaryAccessPass),
            Progress::Complete(s) => s.via_pass,
        }
    }

    pub fn signing(&self) -> bool {
        matches!(self, Progress::Signing(_))
    }
}
