//! The webhook channel over HTTP(S): one JSON POST per message, `X-Proofup-Event-Id` carrying its
//! stable id, a 10-second limit per try, no redirects followed.

use crate::domain::notify::{Channel, Message};
use crate::service::notify::Transport;

pub struct HttpSender {
    agent: ureq::Agent,
}

impl HttpSender {
    pub fn new() -> Self {
        let mut b = ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(10))
            .redirects(0)
            .user_agent(concat!("Proofup/", env!("CARGO_PKG_VERSION")));
        match native_tls::TlsConnector::new() {
            Ok(tls) => b = b.tls_connector(std::sync::Arc::new(tls)),
            Err(e) => tracing::error!(error = %e, "no TLS for webhooks"),
        }
        Self { agent: b.build() }
    }
}

impl Default for HttpSender {
    fn default() -> Self {
        Self::new()
    }
}

impl Transport for HttpSender {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    fn send(&self, url: &str, message: &Message) -> Result<(), String> {
        match self
            .agent
            .post(url)
            .set("content-type", "application/json")
            .set("x-proofup-event-id", &message.id)
            .send_string(&message.event.to_string())
        {
            Ok(r) if (200..300).contains(&r.status()) => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(ureq::Error::Status(code, _)) => Err(format!("HTTP {code}")),
            // ureq's transport error text names the URL: keep only its kind.
            Err(ureq::Error::Transport(t)) => Err(format!("could not deliver: {}", t.kind())),
        }
    }
}
