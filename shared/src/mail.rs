//! Mail: the settings in force (read-only here: they come from the server's command line, so a
//! stolen administrator session cannot redirect mail) and the test message.

use serde::{Deserialize, Serialize};

use crate::webhook::ChannelStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailSettings {
    /// False: started without `--smtp-url`; nothing is sent.
    pub enabled: bool,
    /// `host:port` of the mail server.
    #[serde(default)]
    pub server: Option<String>,
    /// How the connection is protected, in words ("STARTTLS (required)", "TLS").
    #[serde(default)]
    pub security: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    /// The From of every message.
    #[serde(default)]
    pub from: Option<String>,
    /// The organisation's name, as messages say it.
    pub organisation: String,
    pub status: ChannelStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MailTestRequest {
    /// Where to send it; the administrator's own address when left out.
    #[serde(default)]
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailTestQueued {
    /// The address the test message is queued for.
    pub to: String,
}

/// The signed-in user's e-mail address and whether they proved it (My security info).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailStatus {
    /// Set by an administrator; none: nothing is mailed.
    #[serde(default)]
    pub address: Option<String>,
    pub verified: bool,
    /// False: the server sends no mail, so no code can be sent.
    pub mail_enabled: bool,
    /// A code was mailed and works until then.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub code_expires_at: Option<time::OffsetDateTime>,
    /// Administrators: whether they are mailed emergency-access sign-ins, policy changes and
    /// users' reports (none for other roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_notices: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AdminNoticesRequest {
    pub on: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifyAddressRequest {
    pub code: String,
}

/// "This wasn't me": the token from the link in a security notice (its URL's fragment).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub token: String,
}

/// What a followed "This wasn't me" link did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reported {
    pub username: String,
    /// What the user said they did not do.
    pub change: String,
}
