//! E-mail: what a message says. Pure: each notice is rendered from a template kept with the
//! binary into a subject, a plain-text body and an HTML body. Every value is escaped in the HTML;
//! there is no tracking pixel, no remote image and no link but the portal's own address. The
//! mail channel's messages (`notify::Message::mail`) carry the rendered [`Mail`], so a retry
//! sends exactly what was queued.

use serde::{Deserialize, Serialize};

/// One rendered message to one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What every message names: the organisation (`--organisation`) and the portal's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub organisation: String,
    /// The portal's public URL, without a trailing slash.
    pub portal: String,
}

/// The mail settings in force, as administrators see them: never a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSetup {
    /// `host:port`.
    pub server: String,
    /// How the connection is protected, in words.
    pub security: String,
    pub username: Option<String>,
    /// The From of every message.
    pub from: String,
}

/// A message Proofup sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// An administrator asked for a test message (Mail settings, or `proofup mail test`).
    Test { requested_by: String },
    /// The code that proves the user reads mail at this address.
    AddressCode { code: String, minutes: i64 },
    /// Something changed on the user's account; `report` is the "This wasn't me" link.
    Security { change: SecurityChange, when: String, ip: String, report: String },
    /// The registration deadline is `days` away (`deadline` in words).
    Reminder { deadline: String, days: i64 },
    /// The code for a password reset ("Forgot your password?").
    ResetCode { code: String, minutes: i64 },
    /// A new account's temporary access pass, mailed instead of read out.
    Invitation { username: String, code: String, expires: String },
    /// For administrators who asked: something they should look at (an emergency-access
    /// sign-in, a policy change, a user's report).
    AdminEvent { title: String, detail: String },
}

/// What a security notice tells the user about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SecurityChange {
    /// `method`: its kind and name, e.g. `Authenticator app "Phone"`.
    MethodAdded {
        method: String,
    },
    MethodRemoved {
        method: String,
    },
    PasswordChanged,
    /// Reset with the user's methods ("Forgot your password?").
    PasswordReset,
    /// A sign-in completed from a browser and a network the user's profile did not know:
    /// `device` in words ("Firefox on Windows"), `place` the approximate location and network.
    NewSignIn {
        device: String,
        place: String,
    },
}

impl SecurityChange {
    /// In a few words (the report and the alert say it).
    pub fn summary(&self) -> String {
        match self {
            SecurityChange::MethodAdded { method } => format!("sign-in method added: {method}"),
            SecurityChange::MethodRemoved { method } => format!("sign-in method removed: {method}"),
            SecurityChange::PasswordChanged => "password changed".into(),
            SecurityChange::PasswordReset => "password reset".into(),
            SecurityChange::NewSignIn { device, place } => {
                format!("sign-in from a new device and location: {device}, {place}")
            }
        }
    }
}

/// How long a "This wasn't me" link works.
pub const REPORT_LINK_LIFETIME: time::Duration = time::Duration::days(7);

/// What a "This wasn't me" link reports (kept sealed under the SHA-256 of its token; the token
/// itself is only in the message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLink {
    pub change: SecurityChange,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: time::OffsetDateTime,
}

impl Notice {
    /// The event kind the outbox records for it.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::Test { .. } => "mail.test",
            Notice::AddressCode { .. } => "mail.address_code",
            Notice::Security { .. } => "mail.security_notice",
            Notice::Reminder { .. } => "mail.registration_reminder",
            Notice::ResetCode { .. } => "mail.reset_code",
            Notice::AdminEvent { .. } => "mail.admin_notice",
            Notice::Invitation { .. } => "mail.invitation",
        }
    }
}

/// How long a mailed address code is good for, how many wrong tries it takes, and how soon
/// another may be asked for.
pub const ADDRESS_CODE_LIFETIME: time::Duration = time::Duration::minutes(15);
pub const ADDRESS_CODE_TRIES: u8 = 5;
pub const ADDRESS_CODE_RESEND: time::Duration = time::Duration::seconds(60);

/// A code mailed to prove an address, kept hashed (with the user and the address) while it
/// waits: 6 digits, [`ADDRESS_CODE_TRIES`] wrong tries, single use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressCheck {
    pub address: String,
    code_hash: String,
    pub tries_left: u8,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: time::OffsetDateTime,
}

fn code_hash(user_id: &str, address: &str, code: &str) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for part in ["proofup address code", user_id, address, code] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl AddressCheck {
    pub fn new(user_id: &str, address: &str, code: &str, now: time::OffsetDateTime) -> Self {
        AddressCheck {
            address: address.to_owned(),
            code_hash: code_hash(user_id, address, code),
            tries_left: ADDRESS_CODE_TRIES,
            sent_at: now,
        }
    }

    /// Whether `code` (spaces ignored) is the one mailed; compared in constant time.
    pub fn matches(&self, user_id: &str, code: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        bool::from(code_hash(user_id, &self.address, &code).as_bytes().ct_eq(self.code_hash.as_bytes()))
    }

    pub fn expires(&self) -> time::OffsetDateTime {
        self.sent_at + ADDRESS_CODE_LIFETIME
    }

    /// When another code may be asked for.
    pub fn resend_at(&self) -> time::OffsetDateTime {
        self.sent_at + ADDRESS_CODE_RESEND
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A message's body as paragraphs, and at most one link (to the portal); rendered once as text
/// and once as HTML.
struct Body {
    heading: String,
    paragraphs: Vec<String>,
    link: Option<(String, String)>,
    after: Vec<String>,
}

fn layout(brand: &Brand, body: &Body) -> (String, String) {
    let footer =
        format!("This message was sent by {} sign-in ({}). You cannot reply to it.", brand.organisation, brand.portal);
    let mut text = format!("{}\n\n", body.heading);
    for p in &body.paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
    }
    if let Some((label, url)) = &body.link {
        text.push_str(&format!("{label}:\n{url}\n\n"));
    }
    for p in &body.after {
        text.push_str(p);
        text.push_str("\n\n");
    }
    text.push_str("-- \n");
    text.push_str(&footer);
    text.push('\n');

    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"></head>\n\
         <body style=\"font-family: system-ui, sans-serif; color: #1b1f24; line-height: 1.5; max-width: 36rem; margin: 0 auto; padding: 1rem;\">\n",
    );
    html.push_str(&format!("<h1 style=\"font-size: 1.25rem;\">{}</h1>\n", escape_html(&body.heading)));
    for p in &body.paragraphs {
        html.push_str(&format!("<p>{}</p>\n", escape_html(p)));
    }
    if let Some((label, url)) = &body.link {
        html.push_str(&format!(
            "<p><a href=\"{}\" style=\"color: #1d4ed8; font-weight: 600;\">{}</a></p>\n",
            escape_html(url),
            escape_html(label)
        ));
    }
    for p in &body.after {
        html.push_str(&format!("<p>{}</p>\n", escape_html(p)));
    }
    html.push_str(&format!(
        "<hr style=\"border: 0; border-top: 1px solid #d0d7de;\">\n<p style=\"color: #57606a; font-size: 0.875rem;\">{}</p>\n</body></html>\n",
        escape_html(&footer)
    ));
    (text, html)
}

/// Renders `notice` for `to`.
pub fn render(notice: &Notice, brand: &Brand, to: &str) -> Mail {
    let (subject, body) = match notice {
        Notice::Test { requested_by } => (
            format!("Test message from {} sign-in", brand.organisation),
            Body {
                heading: "Mail from Proofup works".into(),
                paragraphs: vec![
                    format!("{requested_by} asked Proofup to send this test message to {to}."),
                    "Nothing needs doing: if you can read this, messages reach this address.".into(),
                ],
                link: None,
                after: Vec::new(),
            },
        ),
        Notice::AddressCode { code, minutes } => (
            format!("Your {} sign-in code: {code}", brand.organisation),
            Body {
                heading: "Confirm your e-mail address".into(),
                paragraphs: vec![
                    format!("Your code is {code}. Enter it on My security info within {minutes} minutes."),
                    "If you did not ask for it, ignore this message: nothing changes without the code.".into(),
                ],
                link: None,
                after: Vec::new(),
            },
        ),
        Notice::Invitation { username, code, expires } => (
            format!("Your {} account is ready", brand.organisation),
            Body {
                heading: "Your account is ready".into(),
                paragraphs: vec![
                    format!("Your username is {username}. Sign in with this temporary access pass instead of a password: {code}"),
                    format!("It works once, until {expires}. Then you choose your own password."),
                ],
                link: Some(("Sign in".into(), format!("{}/sign-in", brand.portal))),
                after: vec!["If you did not expect this message, ignore it: the pass expires unused.".into()],
            },
        ),
        Notice::AdminEvent { title, detail } => (
            format!("{title} ({} sign-in)", brand.organisation),
            Body {
                heading: title.clone(),
                paragraphs: vec![detail.clone()],
                link: Some(("Open the Overview".into(), format!("{}/", brand.portal))),
                after: vec!["You get these because you asked for them on My security info; turn them off there.".into()],
            },
        ),
        Notice::ResetCode { code, minutes } => (
            format!("Your {} password reset code: {code}", brand.organisation),
            Body {
                heading: "Reset your password".into(),
                paragraphs: vec![
                    format!("Your code is {code}. Enter it on the password reset page within {minutes} minutes."),
                    "If you did not ask to reset your password, ignore this message and tell your administrator: someone knows your username and may be trying your account. Nothing changes without your other sign-in method.".into(),
                ],
                link: None,
                after: Vec::new(),
            },
        ),
        Notice::Reminder { deadline, days } => {
            let when = if *days == 1 { "tomorrow".to_owned() } else { format!("in {days} days") };
            (
                format!("Set up a second sign-in method by {deadline} ({} sign-in)", brand.organisation),
                Body {
                    heading: format!("Your sign-in needs a second method {when}"),
                    paragraphs: vec![
                        format!("From {deadline}, {} will ask for an authenticator app or a passkey when you sign in, besides your password, and you cannot skip it any more.", brand.organisation),
                        "Set one up now: sign in and follow the steps. It takes two minutes.".into(),
                    ],
                    link: Some(("Sign in and set it up".into(), format!("{}/sign-in", brand.portal))),
                    after: vec!["You get this message twice at most: a week and a day before the date.".into()],
                },
            )
        }
        Notice::Security { change, when, ip, report } => {
            let (subject, what) = match change {
                SecurityChange::MethodAdded { method } => {
                    ("A sign-in method was added to your account", format!("A sign-in method was added: {method}."))
                }
                SecurityChange::MethodRemoved { method } => (
                    "A sign-in method was removed from your account",
                    format!("A sign-in method was removed: {method}."),
                ),
                SecurityChange::PasswordChanged => ("Your password was changed", "Your password was changed.".into()),
                SecurityChange::PasswordReset => (
                    "Your password was reset",
                    "Your password was reset with your sign-in methods (Forgot your password?).".into(),
                ),
                SecurityChange::NewSignIn { device, place } => (
                    "New sign-in to your account",
                    format!("Your account was signed in to from a device and a location it had not used before: {device}, {place} (approximate)."),
                ),
            };
            (
                format!("{} ({} sign-in)", subject, brand.organisation),
                Body {
                    heading: subject.into(),
                    paragraphs: vec![
                        format!("{what} When: {when}. From the address {ip}."),
                        "If this was you, nothing needs doing.".into(),
                        "If it was not you, tell us: it signs you out everywhere and stops your password from working, and your administrators are alerted.".into(),
                    ],
                    link: Some(("This wasn't me".into(), report.clone())),
                    after: vec![
                        "Then choose a new password with Forgot your password? on the sign-in page, or ask your administrator. The link works once, for 7 days.".into(),
                    ],
                },
            )
        }
    };
    let (text, html) = layout(brand, &body);
    Mail { to: to.to_owned(), subject, text, html }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand() -> Brand {
        Brand { organisation: "Contoso <Labs>".into(), portal: "https://id.contoso.test".into() }
    }

    #[test]
    fn values_are_escaped_in_html_and_kept_in_text() {
        let m = render(&Notice::Test { requested_by: "<script>x</script>".into() }, &brand(), "ann@contoso.test");
        assert_eq!(m.subject, "Test message from Contoso <Labs> sign-in");
        assert!(m.text.contains("<script>x</script> asked Proofup"));
        assert!(!m.html.contains("<script>"));
        assert!(m.html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(m.html.contains("Contoso &lt;Labs&gt;"));
    }

    #[test]
    fn an_address_code_matches_once_per_user_and_address() {
        let t = time::macros::datetime!(2026-12-07 09:00 UTC);
        let c = AddressCheck::new("u1", "ann@contoso.test", "123456", t);
        assert!(c.matches("u1", "123 456"));
        assert!(!c.matches("u1", "123457"));
        assert!(!c.matches("u2", "123456"), "bound to the user");
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("123456"), "kept hashed: {json}");
        assert_eq!(c.expires(), t + ADDRESS_CODE_LIFETIME);
        let m = render(&Notice::AddressCode { code: "123456".into(), minutes: 15 }, &brand(), "ann@contoso.test");
        assert!(m.subject.contains("123456") && m.text.contains("Your code is 123456."));
    }

    #[test]
    fn a_security_notice_links_only_to_the_portal() {
        let n = Notice::Security {
            change: SecurityChange::MethodAdded { method: "Authenticator app \"<Phone>\"".into() },
            when: "7 Dec 2026, 09:00 UTC".into(),
            ip: "192.0.2.7".into(),
            report: "https://id.contoso.test/report#t=abc&x=\"y\"".into(),
        };
        let m = render(&n, &brand(), "ann@contoso.test");
        assert_eq!(m.subject, "A sign-in method was added to your account (Contoso <Labs> sign-in)");
        assert!(m.text.contains("This wasn't me:\nhttps://id.contoso.test/report#t=abc"), "{}", m.text);
        assert!(m.html.contains("href=\"https://id.contoso.test/report#t=abc&amp;x=&quot;y&quot;\""), "{}", m.html);
        assert_eq!(m.html.matches("<a ").count(), 1);
        assert!(m.html.contains("&lt;Phone&gt;") && !m.html.contains("<Phone>"));
        for banned in ["<img", "src=", "<link", "<script", "url("] {
            assert!(!m.html.contains(banned), "{banned}");
        }
    }

    #[test]
    fn no_remote_content_in_the_html() {
        let m = render(&Notice::Test { requested_by: "ada".into() }, &brand(), "ann@contoso.test");
        for banned in ["<img", "src=", "<link", "<script", "url(", "http://", "<a "] {
            assert!(!m.html.contains(banned), "{banned} in {}", m.html);
        }
    }
}
