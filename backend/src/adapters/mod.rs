//! Adapters: the senders behind the service's ports, one file per way out (the webhook's HTTP
//! POST today; SMTP next). Each implements a port the service declares (`service::notify::Transport`).
//!
//! Rules of this layer: it may import `domain` (the messages it sends) and the port traits of
//! `service`; nothing imports it but `cli`, which hands the adapters to the service's jobs. No
//! store, no HTTP server, no use case here: an adapter sends one thing and says how it went.

pub mod webhook_http;
