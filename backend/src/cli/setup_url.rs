//! The one-time setup link: issued while no administrator exists, saved (0600) in the data
//! directory, printed by `proofup setup-url`, removed once setup is done.

use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{ask_server, write_private, CliResult};
use crate::config::{public_url, setup_file, SetupUrlArgs};
use crate::domain::clock::{Clock, SystemClock};
use crate::service::setup;
use crate::store::open::{open, OpenFailure, Opened};
use crate::store::{SetupStore, Store};

#[derive(Serialize, Deserialize)]
struct SetupFile {
    url: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// What keeping the setup link live needs: the engine and the clock the CLI composed the server
/// from (the service's `Core` keeps its own private), this node's data directory and public URL.
#[derive(Clone)]
pub(super) struct SetupLinks {
    pub store: std::sync::Arc<dyn Store>,
    pub clock: std::sync::Arc<dyn Clock>,
    pub data_dir: std::path::PathBuf,
    pub base: String,
}

impl SetupLinks {
    /// See [`ensure_setup_link`].
    pub fn ensure(&self, fresh: bool) -> CliResult<SetupLink> {
        ensure_setup_link(self.store.as_ref(), self.clock.as_ref(), &self.data_dir, &self.base, fresh)
    }
}

/// Where setup stands, as one node sees it.
pub(super) enum SetupLink {
    Done,
    /// No link was live: this one was issued now (and saved in this node's data directory).
    Issued(String),
    /// The live link is the one this node issued and saved.
    Saved(String),
    /// A link this node did not issue is live until then (another node's, or a fresh one from
    /// `proofup setup-url --database-url`): left alone, since someone may be about to open it.
    Elsewhere(OffsetDateTime),
}

/// While no administrator exists: keeps a setup link live without ever replacing a live one
/// (with several nodes, each starting node would otherwise kill the link the previous one logged),
/// unless `fresh` (an operator asked for a new link).
pub(super) fn ensure_setup_link(
    store: &dyn Store,
    clock: &dyn Clock,
    data_dir: &Path,
    base: &str,
    fresh: bool,
) -> CliResult<SetupLink> {
    if store.setup_done()? {
        let _ = std::fs::remove_file(setup_file(data_dir));
        return Ok(SetupLink::Done);
    }
    let now = clock.now();
    if let Some(live) = store.setup_token()?.filter(|t| t.expires_at > now).filter(|_| !fresh) {
        let saved = std::fs::read(setup_file(data_dir)).ok().and_then(|b| serde_json::from_slice::<SetupFile>(&b).ok());
        return Ok(match saved {
            Some(f) if f.url.split_once("token=").is_some_and(|(_, t)| live.verify(t, now).is_ok()) => {
                SetupLink::Saved(f.url)
            }
            _ => SetupLink::Elsewhere(live.expires_at),
        });
    }
    let token = setup::Bootstrap::new(store, clock).issue_setup_token()?;
    let url = format!("{base}/setup?token={token}");
    let file = SetupFile { url: url.clone(), expires_at: now + crate::domain::setup::SETUP_TOKEN_TTL };
    write_private(&setup_file(data_dir), &serde_json::to_vec(&file)?)?;
    Ok(SetupLink::Issued(url))
}

/// `proofup setup-url`: prints a valid setup link, issuing a new one when the
/// store is free; reads the saved one when the server is running.
pub fn setup_url(args: SetupUrlArgs) -> CliResult<String> {
    let base = public_url(args.public_url.as_deref(), args.listen);
    // A running server answers for its store, whichever engine it uses (on PostgreSQL the data
    // directory holds no store this command could open).
    let socket = args.data_dir.join(super::CONTROL_SOCKET);
    if args.database_url.is_none() && std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return setup_url_from_server(&args.data_dir);
    }
    let at = super::one_off_store(&args.data_dir, args.database_url.as_deref());
    match open(&at) {
        // Straight to the nodes' database: a fresh link, whichever node serves it.
        Ok(Opened::Postgres(store)) => {
            if store.setup_done()? {
                return Err(ALREADY_SET_UP.into());
            }
            let token = setup::Bootstrap::new(store.as_ref(), &SystemClock).issue_setup_token()?;
            Ok(format!("{base}/setup?token={token}"))
        }
        Ok(Opened::Embedded(store)) => {
            if store.setup_done()? {
                return Err(ALREADY_SET_UP.into());
            }
            ensure_setup_link(store.as_ref(), &SystemClock, &args.data_dir, &base, true)?;
            read_setup_file(&std::fs::read(setup_file(&args.data_dir))?)
        }
        Err(OpenFailure::Locked(_)) => setup_url_from_server(&args.data_dir),
        Err(e) => Err(e.into()),
    }
}

fn read_setup_file(bytes: &[u8]) -> CliResult<String> {
    let file: SetupFile = serde_json::from_slice(bytes)?;
    if file.expires_at <= OffsetDateTime::now_utc() {
        return Err(
            "The saved setup link has expired. The running server renews it within a minute; run this again shortly."
                .into(),
        );
    }
    Ok(file.url)
}

/// The running server holds the store: ask it (control socket) whether setup is done, and for its link.
fn setup_url_from_server(data_dir: &Path) -> CliResult<String> {
    let reply = ask_server(data_dir, "setup-url")?;
    match reply.split_once(' ').unwrap_or((reply.as_str(), "")) {
        ("done", _) => Err(ALREADY_SET_UP.into()),
        ("pending", "") => Err("Proofup is running but has no setup link to show. Run this again in a minute.".into()),
        ("pending", file) => read_setup_file(file.as_bytes()),
        ("error", e) => Err(e.to_owned().into()),
        _ => Err(format!("unexpected answer from the server: {reply}").into()),
    }
}

const ALREADY_SET_UP: &str = "Proofup is already set up: sign in as an administrator.";
