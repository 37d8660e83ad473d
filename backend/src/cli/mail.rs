//! `proofup mail test`, and the mail server check at start.

use std::sync::Arc;

use super::CliResult;
use crate::adapters::smtp::SmtpSender;
use crate::config::MailTestArgs;
use crate::domain::mail::{render, Brand, Notice};

/// Sends a test message now with the settings given: no server or store needed.
pub fn test(args: &MailTestArgs) -> CliResult<String> {
    let c = args.mail.smtp()?.ok_or("mail test needs --smtp-url and --mail-from")?;
    let to = proofup_shared::validation::validate_email(&args.to)
        .map_err(|e| format!("--to: {e}"))?
        .ok_or("--to needs an address")?;
    let sender = SmtpSender::new(&c)?;
    let brand =
        Brand { organisation: args.mail.organisation.clone(), portal: args.public_url.trim_end_matches('/').into() };
    let mail = render(&Notice::Test { requested_by: "proofup mail test".into() }, &brand, &to);
    let id = uuid::Uuid::new_v4().simple().to_string();
    sender.send_mail(&mail, &id).map_err(|e| format!("not sent: {e}"))?;
    Ok(format!("test message sent to {to} through {}:{} ({})", c.host, c.port, c.security.label()))
}

/// Asks the mail server for NOOP in the background and logs the answer: a server that cannot be
/// reached does not stop sign-ins (messages wait in the outbox), but the operator hears of it.
pub(super) fn check_at_start(sender: Arc<SmtpSender>) {
    std::thread::spawn(move || match sender.check() {
        Ok(()) => tracing::info!("mail server reachable"),
        Err(e) => tracing::warn!(error = %e, "mail server not reachable: messages wait in the outbox and are retried"),
    });
}
