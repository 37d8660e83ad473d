//! Request and response bodies of the JSON API: the directory (users, passes), logs and sessions.
//! The types of the other modules are re-exported here, so `api::X` names every body.

pub use crate::auth::{Me, SessionProbe, SetupRequest, SetupStatus, SignInRequest, SignInResponse};
pub use crate::common::{AuditEntry, FieldChange, Page, Role};
pub use crate::overview::{EmergencyAlert, Overview, StoreCounts};
pub use crate::risk::RiskEffect;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignInResult {
    Success,
    /// Wrong password, or no such user (the log says which; the caller is never told).
    Failure,
    /// Refused before checking the password: per-account or per-IP throttle.
    Throttled,
    /// Refused: the account is locked or disabled.
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInLogEntry {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The username as typed (normalised); kept even when no such user exists.
    pub username: String,
    pub user_id: Option<String>,
    pub result: SignInResult,
    /// Why, in words an admin understands ("Wrong password", "Unknown user"...).
    pub reason: String,
    pub ip: String,
    pub user_agent: String,
    pub interactive: bool,
    /// The application signed in to (its name then), when an application sent the user or
    /// refreshed a token; none for the portal itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// How many attempts this row stands for. Refused attempts that name no known user are
    /// counted in one row per source address, outcome and minute (the last username tried is
    /// shown), so a flood of them cannot push real sign-ins out of the log. 1 for every other row.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u32,
    /// What the access decision and its policies did at this step, as data; `reason` ends with
    /// these rendered as words ([`describe_outcomes`]). Empty for entries no policy acted on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<PolicyOutcome>,
    /// Where the sign-in came from, by the server's GeoIP database (a password step; none when
    /// the database is off or knew nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<crate::risk::Place>,
}

impl SignInLogEntry {
    /// The sign-in's real-time risk, as the risk policy's outcome recorded it.
    pub fn risk(&self) -> Option<crate::risk::RiskLevel> {
        self.outcomes.iter().find_map(|o| match o {
            PolicyOutcome::SignInRisk { level, .. } => Some(*level),
            _ => None,
        })
    }
}

/// One thing a policy did at a sign-in, stored on its log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PolicyOutcome {
    /// The user has a method and must still prove it.
    SecondFactorPending,
    /// What the MFA registration policy did.
    Registration { effect: RegistrationEffect },
    /// The application requires MFA (its setting, or `acr_values` asking for it) and the user has
    /// no method: registration now, with no skip.
    ApplicationRequiresMfa { application: String },
    /// Single sign-on inside the grace period: registration waits for the next interactive sign-in.
    RegistrationDeferred { days_left: u32 },
    /// An emergency-access account signed in, and an alert was raised.
    EmergencyAccess,
    /// What the sign-in risk policy did with a sign-in at `level`.
    SignInRisk { level: crate::risk::RiskLevel, effect: RiskEffect },
    /// What the user risk policy did with a user at `level`.
    UserRisk { level: crate::risk::RiskLevel, effect: RiskEffect },
}

/// The MFA registration policy's effect on one sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum RegistrationEffect {
    /// Enforcement Off: nothing.
    Off,
    /// Not in scope; `excluded` when an exclusion (not a missing inclusion) decided it.
    NotApplied { excluded: bool, reason: String },
    /// In scope with a method.
    Registered,
    /// Interrupted, with a skip for `days_left` more days.
    Prompted { days_left: u32 },
    /// Interrupted, no skip left.
    Required,
    /// Report-only: would have prompted.
    WouldPrompt { days_left: u32 },
    /// Report-only: would have required.
    WouldRequire,
    /// Enforcement On without the control "Require MFA registration": nothing.
    NoControl,
}

impl PolicyOutcome {
    /// The outcome in the sign-in log's words.
    pub fn describe(&self) -> String {
        let days = |n: &u32| format!("{n} {}", if *n == 1 { "day" } else { "days" });
        match self {
            PolicyOutcome::SecondFactorPending => "second factor pending".into(),
            PolicyOutcome::Registration { effect } => match effect {
                RegistrationEffect::Off => "MFA registration policy off".into(),
                RegistrationEffect::NotApplied { reason, .. } => {
                    format!("MFA registration policy: not applied ({})", reason.trim_end_matches('.'))
                }
                RegistrationEffect::Registered => "MFA registration policy: registered".into(),
                RegistrationEffect::Prompted { days_left } => {
                    format!("MFA registration prompted ({days_left} days to skip)")
                }
                RegistrationEffect::Required => "MFA registration required".into(),
                RegistrationEffect::WouldPrompt { days_left } => {
                    format!("Report-only: MFA registration would be prompted ({days_left} days to skip)")
                }
                RegistrationEffect::WouldRequire => "Report-only: MFA registration would be required".into(),
                RegistrationEffect::NoControl => "MFA registration policy: no control selected".into(),
            },
            PolicyOutcome::ApplicationRequiresMfa { application } => {
                format!("{application} requires MFA: registration required now")
            }
            PolicyOutcome::RegistrationDeferred { days_left } => {
                format!("MFA registration deferred to the next interactive sign-in ({} to skip)", days(days_left))
            }
            PolicyOutcome::EmergencyAccess => "emergency-access account (alert raised)".into(),
            PolicyOutcome::SignInRisk { level, effect } => {
                let level = level.name();
                match effect {
                    RiskEffect::Noted => format!("sign-in risk {level}"),
                    RiskEffect::SecondFactorRequired => format!("sign-in risk {level}: second factor required"),
                    RiskEffect::PasskeyRequired => format!("sign-in risk {level}: passkey required"),
                    RiskEffect::Blocked => format!("sign-in risk {level}: blocked by the sign-in risk policy"),
                    RiskEffect::NoMethod => {
                        format!("sign-in risk {level}: blocked, no method to prove it (needs a temporary access pass)")
                    }
                    RiskEffect::WouldRequireSecondFactor => {
                        format!("Report-only: sign-in risk {level} would require a second factor")
                    }
                    RiskEffect::WouldRequirePasskey => {
                        format!("Report-only: sign-in risk {level} would require a passkey")
                    }
                    RiskEffect::WouldBlock => format!("Report-only: sign-in risk {level} would be blocked"),
                    other => format!("sign-in risk {level}: {}", other.words()),
                }
            }
            PolicyOutcome::UserRisk { level, effect } => format!("user risk {}: {}", level.name(), effect.words()),
        }
    }
}

/// `how` followed by every outcome, as the sign-in log's reason: "Password; MFA registration
/// prompted (14 days to skip)".
pub fn describe_outcomes(how: &str, outcomes: &[PolicyOutcome]) -> String {
    let mut s = how.to_owned();
    for o in outcomes {
        s.push_str("; ");
        s.push_str(&o.describe());
    }
    s
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
}

/// One of a user's live sessions (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    /// The session's public handle (not its cookie, from which it cannot be derived).
    #[serde(default)]
    pub id: String,
    /// The session making this request.
    #[serde(default)]
    pub current: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    pub ip: String,
    pub user_agent: String,
    /// `full`, or the sign-in step it is waiting at.
    pub stage: String,
}

/// For a user who skipped registering a method: when registration becomes required (the
/// portal's home page reminds them). `None` for everyone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationReminder {
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub required_from: Option<OffsetDateTime>,
}

/// How many sessions a "sign out everywhere else" ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionsEnded {
    pub ended: u64,
}

/// A directory user as the API shows it (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    /// The user proved the address with a mailed code.
    #[serde(default)]
    pub email_verified: bool,
    pub role: Role,
    pub enabled: bool,
    pub emergency_access: bool,
    /// False until the user has set a password (after a temporary access pass).
    pub has_password: bool,
    /// Registered sign-in methods (second factors).
    #[serde(default)]
    pub methods: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_sign_in_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub username: String,
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default = "default_role")]
    pub role: Role,
    #[serde(default)]
    pub emergency_access: bool,
    /// Mail the temporary access pass, with the sign-in link, to `email` instead of showing it.
    #[serde(default)]
    pub send_pass_by_mail: bool,
}

fn default_role() -> Role {
    Role::User
}

/// Partial update: only the fields present change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `""` clears the email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_access: Option<bool>,
}

/// A one-time code that lets a user sign in once and set their own password. Shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemporaryAccessPass {
    /// Empty when the pass was mailed (`mailed_to`): then nobody but the user sees it.
    pub code: String,
    /// The address the pass was mailed to, with the sign-in link, instead of being shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailed_to: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserWithPass {
    pub user: UserView,
    pub temporary_access_pass: TemporaryAccessPass,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    /// Required unless the session came from a temporary access pass.
    #[serde(default)]
    pub current_password: Option<String>,
    pub new_password: String,
}
