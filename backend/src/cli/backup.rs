//! `proofup backup` (through the running server, or from a stopped store) and `proofup restore`.

use super::{ask_server, CliResult};
use crate::store::open::{open, Location, OpenFailure};
use crate::store::sled::backup;

/// `proofup backup`: through the running server's control socket, or directly from a stopped store.
pub fn backup(args: &crate::config::BackupArgs) -> CliResult<String> {
    if args.database_url.is_some() {
        return Err("on PostgreSQL every node's state is in the database: back it up with pg_dump \
                    (`pg_dump --format=custom --file proofup.dump DATABASE`) and keep the nodes' secret key \
                    file with it; `proofup backup` copies the embedded store of one data directory"
            .into());
    }
    if !args.data_dir.join("db").exists() {
        return Err(format!("{} holds no Proofup store", args.data_dir.display()).into());
    }
    let to = std::path::absolute(&args.to)?;
    let at = Location { data_dir: &args.data_dir, database_url: None, cache_mib: 16, pg: Default::default() };
    match open(&at) {
        Ok(opened) => {
            let store = opened.embedded().ok_or("not the embedded store")?;
            let s = backup::write_backup(store, &to)?;
            Ok(format!(
                "backup written to {} ({} trees, {} entries, {} bytes)",
                to.display(),
                s.trees,
                s.entries,
                s.bytes
            ))
        }
        Err(OpenFailure::Locked(_)) => {
            let reply = ask_server(&args.data_dir, &format!("backup {}", to.display()))?;
            match reply.split_once(' ') {
                Some(("ok", detail)) => {
                    Ok(format!("backup written to {} by the running server ({detail})", to.display()))
                }
                Some(("error", e)) => Err(e.to_owned().into()),
                _ => Err(format!("unexpected answer from the server: {reply}").into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// `proofup restore`: checks the whole file, then restores into an empty directory.
pub fn restore(args: &crate::config::RestoreArgs) -> CliResult<String> {
    let s = backup::restore_backup(&args.from, &args.data_dir, 16 << 20)?;
    Ok(format!(
        "restored {} trees, {} entries into {}. Sessions are not restored: everyone signs in again. \
         Put the secret key file (secret.key) of the backed-up server next to it.",
        s.trees,
        s.entries,
        args.data_dir.display()
    ))
}
