//! Adapters: the senders behind the service's ports, one file per way out (the webhook's HTTP
//! POST, mail over SMTP). Each implements a port the service declares (`service::notify::Transport`).
//!
//! Rules of this layer: it may import `domain` (the messages it sends), `config` (the settings an
//! adapter is built from) and the port traits of `service`; nothing imports it but `cli`, which
//! hands the adapters to the service's jobs. No store, no HTTP server, no use case here: an
//! adapter sends one thing and says how it went.

pub mod breached;
pub mod geoip;
pub mod smtp;
pub mod webhook_http;
