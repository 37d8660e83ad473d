//! The mail channel over SMTP (lettre, synchronous, on the notification job's thread): one
//! message per outbox entry, multipart plain text and HTML, its `Message-ID` made from the outbox
//! id so a receiver can tell a retry from a new message. STARTTLS is required unless the operator
//! chose TLS from the first byte or a loopback relay in clear (`config::parse_smtp_url`).

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{SmtpTransport, Transport as _};

use crate::config::{SmtpConfig, SmtpSecurity};
use crate::domain::mail::{Mail, MailSetup};
use crate::domain::notify::{Channel, Message};
use crate::service::notify::Transport;

pub struct SmtpSender {
    transport: SmtpTransport,
    from: Mailbox,
    /// The right-hand side of every `Message-ID`: the From address's domain.
    id_domain: String,
}

impl SmtpSender {
    pub fn new(c: &SmtpConfig) -> Result<Self, String> {
        let from: Mailbox = c.from.parse().map_err(|e| format!("--mail-from: {e}"))?;
        let id_domain = from.email.domain().to_owned();
        let tls = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(c.host.clone());
            if let Some(pem) = &c.ca_pem {
                let cert = Certificate::from_pem(pem).map_err(|e| format!("--smtp-ca-file: {e}"))?;
                b = b.add_root_certificate(cert);
            }
            b.build().map_err(|e| format!("TLS for {}: {e}", c.host))
        };
        let mut b = SmtpTransport::builder_dangerous(c.host.as_str())
            .port(c.port)
            .timeout(Some(std::time::Duration::from_secs(10)));
        b = match c.security {
            SmtpSecurity::StartTls => b.tls(Tls::Required(tls()?)),
            SmtpSecurity::Tls => b.tls(Tls::Wrapper(tls()?)),
            SmtpSecurity::None => b.tls(Tls::None),
        };
        if let (Some(user), Some(password)) = (&c.username, &c.password) {
            b = b.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(SmtpSender { transport: b.build(), from, id_domain })
    }

    /// The settings as administrators see them (no password).
    pub fn setup(c: &SmtpConfig) -> MailSetup {
        MailSetup {
            server: format!("{}:{}", c.host, c.port),
            security: c.security.label().to_owned(),
            username: c.username.clone(),
            from: c.from.clone(),
        }
    }

    /// Connects, greets and says NOOP: whether the server is reachable with these settings.
    pub fn check(&self) -> Result<(), String> {
        match self.transport.test_connection() {
            Ok(true) => Ok(()),
            Ok(false) => Err("the mail server did not answer NOOP".into()),
            Err(e) => Err(short(&e)),
        }
    }

    /// Sends one rendered message now; `id` becomes its `Message-ID`.
    pub fn send_mail(&self, mail: &Mail, id: &str) -> Result<(), String> {
        let to: Mailbox = mail.to.parse().map_err(|e| format!("recipient: {e}"))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{id}@{}>", self.id_domain)))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()))
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| format!("message: {e}"))?;
        self.transport.send(&message).map(|_| ()).map_err(|e| short(&e))
    }
}

/// lettre's error in a line, for the Overview and the log (it names the server, never a password).
fn short(e: &lettre::transport::smtp::Error) -> String {
    let s = e.to_string();
    let s = s.lines().next().unwrap_or("mail server error");
    s.chars().take(200).collect()
}

impl Transport for SmtpSender {
    fn channel(&self) -> Channel {
        Channel::Mail
    }

    fn send(&self, _to: &str, message: &Message) -> Result<(), String> {
        match &message.mail {
            Some(mail) => self.send_mail(mail, &message.id),
            None => Err("not a mail message".into()),
        }
    }
}
