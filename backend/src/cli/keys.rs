//! `proofup keys rotate`: the signing keys rotated by the running server (its control socket),
//! directly in the embedded store when the server is stopped, or in the nodes' PostgreSQL
//! database (`--database-url`), where every node notices within a second.

use super::{ask_server, CliResult};
use crate::config::KeysArgs;
use crate::domain::clock::SystemClock;
use crate::service::{Core, CoreOptions};
use crate::store::open::{open, OpenFailure, Opened};

pub fn rotate(args: &KeysArgs) -> CliResult<String> {
    let shared = args.database_url.is_some();
    if !shared && !args.data_dir.join("db").exists() {
        return Err(format!("{} holds no Proofup store", args.data_dir.display()).into());
    }
    let at = super::one_off_store(&args.data_dir, args.database_url.as_deref());
    match open(&at) {
        Ok(opened) => rotate_in(args, &opened, shared),
        Err(OpenFailure::Locked(_)) => {
            let reply = ask_server(&args.data_dir, "rotate-keys")?;
            match reply.split_once(' ') {
                Some(("ok", active)) => {
                    Ok(format!("signing keys rotated by the running server; signing now: {active}"))
                }
                Some(("error", e)) => Err(e.to_owned().into()),
                _ => Err(format!("unexpected answer from the server: {reply}").into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Rotates in a store this command opened itself.
fn rotate_in(args: &KeysArgs, opened: &Opened, shared: bool) -> CliResult<String> {
    let store = opened.store();
    let key_file = args.secret_key_file.clone().unwrap_or_else(|| args.data_dir.join("secret.key"));
    let secrets = super::load_key(&key_file, false)?;
    // Signing keys sealed with another key would be unopenable by the server.
    if crate::service::setup::Bootstrap::new(store.as_ref(), &SystemClock).check_secret_key(&secrets)?
        == crate::service::setup::KeyCheck::Differs
    {
        return Err(format!(
            "the secret key file {} is not the key this store's secrets are sealed with{}",
            key_file.display(),
            if shared { " (use the nodes' key file)" } else { "" }
        )
        .into());
    }
    let options = CoreOptions {
        public_url: String::new(),
        limits: crate::domain::session::SessionLimits::default(),
        sign_in_per_ip_per_minute: 1,
        organisation: String::new(),
        mail: None,
        risk: Default::default(),
    };
    let core = Core::new(store.clone(), std::sync::Arc::new(SystemClock), secrets, &options);
    let keys = core.rotate_signing_keys(None)?;
    store.flush()?;
    Ok(format!("signing keys rotated; signing now: {}", crate::service::oidc::keys::summary(&keys)))
}
