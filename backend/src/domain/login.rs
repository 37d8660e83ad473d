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

/// Where a sign-in came from, as risk sees it, and what the risk policies asked of it (decided
/// at the first factor and carried, so the steps that follow need no decision of their own).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// The sign-in risk policy accepts only a passkey.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub passkey_only: bool,
    /// The user risk policy asks for a new password after the second factor.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub password_change: bool,
    /// The user risk policy ends every other session and grant once the sign-in completes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoke: bool,
    /// A browser and a network the user's profile did not know: once the sign-in completes, the
    /// user is mailed a "new sign-in" notice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_device_and_place: bool,
    /// The same as the profile's latest sign-in, minutes ago: completing it teaches the profile
    /// nothing, and nothing is written (`domain::risk::RELEARN_AFTER`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub already_known: bool,
}

impl SignInContext {
    /// What the first factor's decision asked, remembered: a passkey only (the options it
    /// offered are a passkey alone), a password change or a revocation (its outcomes).
    pub fn with_plan(
        mut self,
        next: &crate::domain::access::Next,
        outcomes: &[proofup_shared::api::PolicyOutcome],
    ) -> Self {
        use proofup_shared::api::{PolicyOutcome as O, RiskEffect as E};
        use proofup_shared::mfa::SecondFactorOption;
        self.passkey_only = matches!(next, crate::domain::access::Next::ProveFactor { options } if options[..] == [SecondFactorOption::Passkey]);
        for o in outcomes {
            match o {
                O::UserRisk { effect: E::PasswordChangeRequired, .. } => self.password_change = true,
                O::UserRisk { effect: E::ReauthenticationRequired, .. } => self.revoke = true,
                _ => {}
            }
        }
        self
    }
}

impl LoginFlow {
    /// Whether this sign-in waits for a second factor of this kind: after the password alone
    /// (any kind the user has), or a passkey still when only a passkey counts.
    pub fn awaits(&self, option: proofup_shared::mfa::SecondFactorOption) -> bool {
        use proofup_shared::mfa::SecondFactorOption;
        if self.context.as_ref().is_some_and(|c| c.passkey_only) {
            return option == SecondFactorOption::Passkey && !self.proved.has(Factor::Passkey);
        }
        self.proved == Factors::of(&[Factor::Password])
    }

    /// Whether, with a second factor proved, a new password must follow (user risk).
    pub fn password_change_due(&self) -> bool {
        self.context.as_ref().is_some_and(|c| c.password_change) && !self.proved.has(Factor::PasswordChosen)
    }
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
