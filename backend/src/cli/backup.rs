//! `proofup backup` (through the running server, or from a stopped store) and `proofup restore`.

use super::{ask_server, CliResult};
use crate::store::sled::{backup, OpenError, SledStore};

/// `proofup backup`: through the running server's control socket, or directly from a stopped store.
pub fn backup(args: &crate::config::BackupArgs) -> CliResult<String> {
    if !args.data_dir.join("db").exists() {
        return Err(format!("{} holds no Proofup store", args.data_dir.display()).into());
    }
    let to = std::path::absolute(&args.to)?;
    match SledStore::open(&args.data_dir, 16 << 20) {
        Ok(store) => {
            let s = backup::write_backup(&store, &to)?;
            Ok(format!(
                "backup written to {} ({} trees, {} entries, {} bytes)",
                to.display(),
                s.trees,
                s.entries,
                s.bytes
            ))
        }
        Err(OpenError::Locked { .. }) => {
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
