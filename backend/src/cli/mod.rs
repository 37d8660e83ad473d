//! The binary's subcommands, one file each. `main.rs` parses the command line and calls one of
//! these; they open the store, wire the runtime and print what the operator needs.
//!
//! Rule: this layer may use every other (config, http, service, store engines); nothing but
//! `main.rs` uses it. It is the one place outside `store/` that names an engine.

use std::path::Path;

pub mod backup;
pub mod control;
pub mod keys;
pub mod maintenance;
pub mod seed;
pub mod serve;
pub mod setup_url;

pub use maintenance::{prune_logs, Retention};

use crate::store::sled::{OpenError, SledStore};

/// What a subcommand answers: a line for the operator, or an error for stderr.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The socket in the data directory through which commands reach the running server.
pub const CONTROL_SOCKET: &str = control::CONTROL_SOCKET;

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(contents)
}

pub fn open_store(dir: &Path, cache_mib: u64) -> Result<SledStore, OpenError> {
    SledStore::open(dir, cache_mib << 20)
}

/// Sends one command line to the running server's control socket and returns its answer.
fn ask_server(data_dir: &Path, command: &str) -> CliResult<String> {
    use std::io::{BufRead, BufReader, Write};
    let sock = data_dir.join(CONTROL_SOCKET);
    let mut conn = std::os::unix::net::UnixStream::connect(&sock)
        .map_err(|e| format!("the store is in use but its server does not answer on {}: {e}", sock.display()))?;
    conn.write_all(format!("{command}\n").as_bytes())?;
    let mut reply = String::new();
    BufReader::new(conn).read_line(&mut reply)?;
    Ok(reply.trim_end().to_owned())
}

/// `proofup hash-rate`: how many password hashes per second this machine sustains.
pub fn hash_rate(args: &crate::config::HashRateArgs) -> CliResult<()> {
    crate::hashing::hash_rate(args.threads, args.seconds);
    Ok(())
}
