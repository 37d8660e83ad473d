//! The control socket: how `proofup backup` and `proofup setup-url` reach a running server.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::setup_url::{SetupLink, SetupLinks};
use super::CONTROL_SOCKET;
use crate::config::setup_file;
use crate::http::AppState;
use crate::store::sled::{backup, SledStore};

/// A Unix socket in the data directory (0600: only the server's own user) through which
/// `proofup backup` asks the running server for a consistent snapshot.
pub(super) fn spawn_control_socket(
    state: AppState,
    links: SetupLinks,
    engine: Option<Arc<SledStore>>,
    data_dir: &Path,
) -> std::io::Result<PathBuf> {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::fs::PermissionsExt;
    let path = data_dir.join(CONTROL_SOCKET);
    let dir = data_dir.to_path_buf();
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    std::thread::Builder::new().name("control".into()).spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut line = String::new();
            if BufReader::new(&conn).read_line(&mut line).is_err() {
                continue;
            }
            let reply = match line.trim_end().split_once(' ').unwrap_or((line.trim_end(), "")) {
                ("setup-url", _) => {
                    // This node's live link, or, when another node's is live, a fresh one (asked for).
                    let link = match links.ensure(false) {
                        Ok(SetupLink::Elsewhere(_)) => links.ensure(true),
                        other => other,
                    };
                    match link {
                        Ok(SetupLink::Done) => "done\n".to_owned(),
                        Ok(_) => match std::fs::read(setup_file(&dir)) {
                            Ok(bytes) => format!("pending {}\n", String::from_utf8_lossy(&bytes).trim()),
                            Err(_) => "pending\n".to_owned(),
                        },
                        Err(e) => format!("error {e}\n"),
                    }
                }
                ("backup", to) => {
                    // Wait for state-changing requests in flight; hold new ones while copying.
                    let _exclusive = state.write_gate.blocking_write();
                    match &engine {
                        Some(engine) => match backup::write_backup(engine, Path::new(to)) {
                            Ok(s) => format!("ok {} trees, {} entries, {} bytes\n", s.trees, s.entries, s.bytes),
                            Err(e) => format!("error {e}\n"),
                        },
                        None => "error this server keeps its data in PostgreSQL: back it up with pg_dump\n".to_owned(),
                    }
                }
                ("rotate-keys", _) => match state.core.rotate_signing_keys(None) {
                    Ok(keys) => format!("ok {}\n", crate::service::oidc::keys::summary(&keys)),
                    Err(e) => format!("error {e}\n"),
                },
                _ => "error unknown command\n".to_owned(),
            };
            if let Some(to) = line.trim_end().strip_prefix("backup ") {
                tracing::info!(to, result = reply.trim_end(), "backup");
            }
            let _ = conn.write_all(reply.as_bytes());
        }
    })?;
    Ok(path)
}
