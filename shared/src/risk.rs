//! Risk: levels, detections and their evidence, as the server stores them and the portal shows
//! them. The vocabulary only; what detects lives in the server's domain (`domain::risk`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How confident a detection is that someone other than the owner is at work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Low => "Low",
            RiskLevel::Medium => "Medium",
            RiskLevel::High => "High",
        }
    }

    pub const ALL: [RiskLevel; 3] = [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High];

    pub fn name(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

/// What was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DetectionKind {
    /// Device, network and country new to the user (and perhaps to the organisation).
    UnfamiliarFeatures,
    /// Two sign-ins farther apart than anyone travels in the time between them.
    AtypicalTravel,
    /// From an anonymizer (an operator's list, or the GeoIP database's flag).
    AnonymousIp,
    /// The right password from a source that was trying many accounts with few passwords.
    PasswordSpray,
    /// The password typed at a successful sign-in is in the breached-password set.
    LeakedCredentials,
    /// A refresh token or a session used from a country and network other than its sign-in's.
    AnomalousToken,
    /// An administrator confirmed the account compromised.
    AdminConfirmedCompromised,
    /// The user said "This wasn't me" about something done with their account.
    UserReported,
}

impl DetectionKind {
    pub const ALL: [DetectionKind; 8] = [
        DetectionKind::UnfamiliarFeatures,
        DetectionKind::AtypicalTravel,
        DetectionKind::AnonymousIp,
        DetectionKind::PasswordSpray,
        DetectionKind::LeakedCredentials,
        DetectionKind::AnomalousToken,
        DetectionKind::AdminConfirmedCompromised,
        DetectionKind::UserReported,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DetectionKind::UnfamiliarFeatures => "Unfamiliar sign-in properties",
            DetectionKind::AtypicalTravel => "Atypical travel",
            DetectionKind::AnonymousIp => "Anonymous IP address",
            DetectionKind::PasswordSpray => "Password spray",
            DetectionKind::LeakedCredentials => "Leaked credentials",
            DetectionKind::AnomalousToken => "Anomalous token",
            DetectionKind::AdminConfirmedCompromised => "Admin confirmed user compromised",
            DetectionKind::UserReported => "User reported suspicious activity",
        }
    }

    /// The metric label and CSV value.
    pub fn name(self) -> &'static str {
        match self {
            DetectionKind::UnfamiliarFeatures => "unfamiliar_features",
            DetectionKind::AtypicalTravel => "atypical_travel",
            DetectionKind::AnonymousIp => "anonymous_ip",
            DetectionKind::PasswordSpray => "password_spray",
            DetectionKind::LeakedCredentials => "leaked_credentials",
            DetectionKind::AnomalousToken => "anomalous_token",
            DetectionKind::AdminConfirmedCompromised => "admin_confirmed_compromised",
            DetectionKind::UserReported => "user_reported",
        }
    }

    /// Whether a second factor proved in the same sign-in closes this detection: it proves the
    /// person signing in is the owner (an unusual place or device). It does not help when the
    /// password itself is known to someone else (sprayed, leaked) or the account was reported
    /// or confirmed compromised: those stay open as the user's risk until a password change.
    pub fn mfa_remediates(self) -> bool {
        matches!(
            self,
            DetectionKind::UnfamiliarFeatures
                | DetectionKind::AtypicalTravel
                | DetectionKind::AnonymousIp
                | DetectionKind::AnomalousToken
        )
    }

    /// Whether a new password ends what this detection says: a password someone else knows.
    /// An anomalous token (a stolen session or refresh token) is not fixed by one; ending the
    /// sessions and grants and a fresh strong sign-in is.
    pub fn password_fixes(self) -> bool {
        !matches!(self, DetectionKind::AnomalousToken)
    }
}

/// Where a detection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskState {
    #[default]
    AtRisk,
    /// The user passed what the risk policy asked (a second factor, a secure password change).
    Remediated,
    /// An administrator closed it (irreversible).
    Dismissed,
    ConfirmedSafe,
    ConfirmedCompromised,
}

impl RiskState {
    pub fn label(self) -> &'static str {
        match self {
            RiskState::AtRisk => "At risk",
            RiskState::Remediated => "Remediated",
            RiskState::Dismissed => "Dismissed",
            RiskState::ConfirmedSafe => "Confirmed safe",
            RiskState::ConfirmedCompromised => "Confirmed compromised",
        }
    }

    /// Still counts toward the user's risk.
    pub fn open(self) -> bool {
        matches!(self, RiskState::AtRisk | RiskState::ConfirmedCompromised)
    }
}

/// Where an address is, as a local GeoIP database says. Coordinates are kept to 0.1° (about
/// 11 km): enough for travel, not a street.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Place {
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Latitude and longitude in tenths of a degree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat_e1: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon_e1: Option<i32>,
    /// The database's accuracy radius, km.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_km: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_org: Option<String>,
    /// An anonymizer: on the operator's list, or flagged by the database.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
}

impl Place {
    pub fn located(&self) -> bool {
        self.lat_e1.is_some() && self.lon_e1.is_some()
    }

    pub fn known(&self) -> bool {
        self.country.is_some() || self.asn.is_some() || self.located()
    }

    /// "Paris, FR · AS64500 Example Net", or "location unavailable".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match (&self.city, &self.country) {
            (Some(c), Some(k)) => parts.push(format!("{c}, {k}")),
            (None, Some(k)) => parts.push(k.clone()),
            (Some(c), None) => parts.push(c.clone()),
            (None, None) => {}
        }
        match (self.asn, &self.as_org) {
            (Some(n), Some(o)) => parts.push(format!("AS{n} {o}")),
            (Some(n), None) => parts.push(format!("AS{n}")),
            _ => {}
        }
        if parts.is_empty() {
            "location unavailable".into()
        } else {
            parts.join(" · ")
        }
    }

    /// Degrees, for a map or a distance.
    pub fn coordinates(&self) -> Option<(f64, f64)> {
        Some((f64::from(self.lat_e1?) / 10.0, f64::from(self.lon_e1?) / 10.0))
    }
}

/// What made a detection fire, in data (the portal and the CSV put it in words).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Evidence {
    /// What was new: to the user (`device`, `network`, `country`), and whether the country is
    /// new to the organisation too.
    Unfamiliar {
        new: Vec<String>,
        new_to_organisation: bool,
        place: Place,
    },
    /// From the last located sign-in to this one.
    Travel {
        from: Place,
        #[serde(with = "time::serde::rfc3339")]
        from_at: OffsetDateTime,
        to: Place,
        km: u32,
        /// The distance less both accuracy radii.
        effective_km: u32,
        minutes: u32,
        /// Effective distance over the time (at least one hour).
        kmh: u32,
    },
    Anonymous {
        listed: bool,
        flagged_by_database: bool,
    },
    Spray {
        accounts: u32,
        passwords: u32,
        unknown_accounts: u32,
        window_minutes: u32,
    },
    Leaked {
        set: String,
        entries: u64,
    },
    Token {
        first: Place,
        now: Place,
        grant: String,
    },
    Admin {
        by: String,
        reason: String,
    },
    Reported {
        what: String,
    },
}

impl Evidence {
    /// The evidence in words.
    pub fn describe(&self) -> String {
        match self {
            Evidence::Unfamiliar { new, new_to_organisation, place } => {
                let org = if *new_to_organisation { "; the country is new to the organisation too" } else { "" };
                format!("New to this user: {} — from {}{org}.", new.join(", "), place.describe())
            }
            Evidence::Travel { from, to, km, effective_km, minutes, kmh, .. } => format!(
                "{} km from {} to {} in {} (≥{} km allowing for the databases' accuracy): {} km/h.",
                km,
                from.describe(),
                to.describe(),
                duration_words(*minutes),
                effective_km,
                kmh
            ),
            Evidence::Anonymous { listed, flagged_by_database } => match (listed, flagged_by_database) {
                (true, true) => "On the anonymizer list and flagged anonymous by the GeoIP database.".into(),
                (true, false) => "On the operator's anonymizer list.".into(),
                _ => "Flagged anonymous by the GeoIP database.".into(),
            },
            Evidence::Spray { accounts, passwords, unknown_accounts, window_minutes } => format!(
                "This address tried {accounts} accounts ({unknown_accounts} that do not exist) with {passwords} \
                 different passwords within {window_minutes} minutes, then got this password right."
            ),
            Evidence::Leaked { set, entries } => format!(
                "The password typed is in the breached-password set \"{set}\" ({entries} entries). The set is a \
                 filter: about 1 clean password in 65,536 matches by chance."
            ),
            Evidence::Token { first, now, grant } => {
                format!("{grant} signed in from {}, used from {}.", first.describe(), now.describe())
            }
            Evidence::Admin { by, reason } => format!("{by}: {reason}"),
            Evidence::Reported { what } => format!("The user reported: {what}"),
        }
    }
}

/// The sign-in risk policy's effect on one sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskEffect {
    /// Below the policy's level, the policy off, or the user not in scope: only logged.
    Noted,
    /// A fresh second factor required (no skip, no registration).
    SecondFactorRequired,
    /// Only a passkey counts (high risk).
    PasskeyRequired,
    /// Blocked by the policy.
    Blocked,
    /// Stepped up, but the user has no method that could answer: blocked until an administrator
    /// issues a temporary access pass.
    NoMethod,
    /// Report-only: would have required a second factor.
    WouldRequireSecondFactor,
    /// Report-only: would have required a passkey.
    WouldRequirePasskey,
    /// Report-only: would have blocked.
    WouldBlock,
    /// User risk: a secure password change (after a second factor).
    PasswordChangeRequired,
    /// User risk: every session and grant ends; a fresh strong sign-in.
    ReauthenticationRequired,
    /// Report-only: user risk would have required remediation.
    WouldRequireRemediation,
}

impl RiskEffect {
    /// The effect in the log's words.
    pub fn words(self) -> &'static str {
        match self {
            RiskEffect::Noted => "noted",
            RiskEffect::SecondFactorRequired => "second factor required",
            RiskEffect::PasskeyRequired => "passkey required",
            RiskEffect::Blocked => "blocked",
            RiskEffect::NoMethod => "blocked, no method to prove it (needs a temporary access pass)",
            RiskEffect::WouldRequireSecondFactor => "report-only, would require a second factor",
            RiskEffect::WouldRequirePasskey => "report-only, would require a passkey",
            RiskEffect::WouldBlock => "report-only, would block",
            RiskEffect::PasswordChangeRequired => "secure password change required",
            RiskEffect::ReauthenticationRequired => "sessions revoked, fresh strong sign-in required",
            RiskEffect::WouldRequireRemediation => "report-only, would require remediation",
        }
    }
}

/// One risk detection as the portal and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetectionView {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub user_id: String,
    pub username: String,
    pub kind: DetectionKind,
    pub level: RiskLevel,
    pub state: RiskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    /// The sign-in it was found in (shared by that sign-in's detections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<String>,
    pub ip: String,
    pub place: Place,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    pub evidence: Evidence,
    /// The evidence in words.
    pub explanation: String,
}

/// A user with open risk, as the Risky users report lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskyUser {
    pub user_id: String,
    pub username: String,
    /// The user's risk: the highest of the open detections.
    pub level: RiskLevel,
    /// At risk, or confirmed compromised when an administrator said so.
    pub state: RiskState,
    pub open_detections: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub last_detected_at: OffsetDateTime,
    /// The kinds of the open detections, each once (newest first).
    #[serde(default)]
    pub detections: Vec<DetectionKind>,
}

/// One risky sign-in (its detections grouped), as the Risky sign-ins report lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskySignIn {
    pub sign_in: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub user_id: String,
    pub username: String,
    pub ip: String,
    pub place: Place,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// The sign-in's level (two mediums make high).
    pub level: RiskLevel,
    /// Each detection's level, in the order of `detections`.
    pub levels: Vec<RiskLevel>,
    pub state: RiskState,
    pub detections: Vec<DetectionKind>,
}

/// What an administrator does about a user's risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskAction {
    /// Closes every open detection of the user, irreversibly (a penetration test, say).
    Dismiss,
    /// The detections were the user after all: closed, and their places join the profile.
    ConfirmSafe,
    /// The account is compromised: user risk high, every session and grant ends.
    ConfirmCompromised,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RiskActionRequest {
    pub action: RiskAction,
    /// Required: the audit log keeps it.
    pub reason: String,
}

fn duration_words(minutes: u32) -> String {
    if minutes < 120 {
        format!("{minutes} min")
    } else {
        format!("{:.1} h", f64::from(minutes) / 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_in_words() {
        let p = Place {
            country: Some("FR".into()),
            city: Some("Paris".into()),
            asn: Some(64500),
            as_org: Some("Example Net".into()),
            ..Default::default()
        };
        assert_eq!(p.describe(), "Paris, FR · AS64500 Example Net");
        assert_eq!(Place::default().describe(), "location unavailable");
        assert!(RiskLevel::High > RiskLevel::Medium && RiskLevel::Medium > RiskLevel::Low);
        assert!(RiskState::ConfirmedCompromised.open() && !RiskState::Remediated.open());
    }
}
