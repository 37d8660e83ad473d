//! The binary's subcommands, one file each. `main.rs` parses the command line and calls one of
//! these; they open the store, wire the runtime and print what the operator needs.
//!
//! Rule: this layer may use every other (config, http, service, store engines); nothing but
//! `main.rs` uses it. It is the one place outside `store/` that names an engine.

use std::path::Path;

pub mod backup;
pub mod control;
pub mod keys;
pub mod mail;
pub mod maintenance;
pub mod migrate;
pub mod probe;
pub mod seed;
pub mod serve;
pub mod setup_url;

pub use maintenance::Retention;

use crate::store::sled::{OpenError, SledStore};

/// What a subcommand answers: a line for the operator, or an error for stderr.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The socket in the data directory through which commands reach the running server.
pub const CONTROL_SOCKET: &str = "control.sock";

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

/// Where a one-off command finds the store: the embedded one in `data_dir`, or the nodes'
/// database (one connection).
fn one_off_store<'a>(data_dir: &'a Path, database_url: Option<&'a str>) -> crate::store::open::Location<'a> {
    crate::store::open::Location {
        data_dir,
        database_url,
        cache_mib: 16,
        pg: crate::store::postgres::PgOptions { pool_size: 1, ..Default::default() },
    }
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

/// The key that seals secrets at rest (TOTP seeds, signing keys). Created (0600) when missing
/// only if `create`: a command that seals with a new key would make the server's records unopenable.
pub(super) fn load_key(path: &Path, create: bool) -> CliResult<crate::domain::secretbox::SecretBox> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                format!(
                    "the secret key file {} must hold exactly 32 bytes; restore it from your backup",
                    path.display()
                )
            })?;
            Ok(crate::domain::secretbox::SecretBox::new(&key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => Err(format!(
            "the secret key file {} does not exist; name the server's key with --secret-key-file",
            path.display()
        )
        .into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
            write_private(path, &key)
                .map_err(|e| format!("cannot create the secret key file {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "created the key that encrypts TOTP secrets; back it up separately");
            Ok(crate::domain::secretbox::SecretBox::new(&key))
        }
        Err(e) => Err(format!("cannot read the secret key file {}: {e}", path.display()).into()),
    }
}

/// The secret key for a store, checked against the key check stored with its data: a node whose
/// key differs refuses to start (it could open none of the TOTP secrets, ceremonies or signing
/// keys sealed before), and says which file to use. A missing key file is created only for a
/// store whose secrets no key sealed yet; on a shared database, with a warning that every other
/// node needs a copy. Returns the key and whether its check is still to be recorded (by
/// [`record_secret_key`], once the signing keys opened with it).
pub(super) fn open_secret_key(
    store: &dyn crate::store::Store,
    path: &Path,
    shared_database: bool,
) -> CliResult<(crate::domain::secretbox::SecretBox, bool)> {
    use crate::service::setup::{Bootstrap, KeyCheck};
    let exists = path.exists();
    if !exists && store.secret_key_check()?.is_some() {
        return Err(format!(
            "the secret key file {} does not exist, but this store's secrets are sealed with a key: {}",
            path.display(),
            if shared_database {
                "copy the key file of the node that first served this database here, or name it with --secret-key-file"
            } else {
                "restore secret.key from your backup, or name it with --secret-key-file"
            }
        )
        .into());
    }
    let key = load_key(path, true)?;
    if !exists && shared_database {
        tracing::warn!(
            path = %path.display(),
            "created the secret key for this new database: start every other node with a copy of this file (--secret-key-file)"
        );
    }
    match Bootstrap::new(store, &crate::domain::clock::SystemClock).check_secret_key(&key)? {
        KeyCheck::Matches => Ok((key, false)),
        KeyCheck::Unrecorded => Ok((key, true)),
        KeyCheck::Differs => Err(wrong_key(path, shared_database)),
    }
}

/// Records the key's check once what the store holds opened with it.
pub(super) fn record_secret_key(
    check: crate::service::setup::KeyCheck,
    path: &Path,
    shared_database: bool,
) -> CliResult<()> {
    match check {
        crate::service::setup::KeyCheck::Differs => Err(wrong_key(path, shared_database)),
        _ => Ok(()),
    }
}

fn wrong_key(path: &Path, shared_database: bool) -> Box<dyn std::error::Error + Send + Sync> {
    format!(
        "the secret key file {} is not the key this store's secrets are sealed with; start with \
         --secret-key-file naming the right one ({}). Nothing was changed.",
        path.display(),
        if shared_database { "the key file of the other nodes" } else { "the backup of this server's secret.key" }
    )
    .into()
}

/// `proofup hash-rate`: how many password hashes per second this machine sustains.
pub fn hash_rate(args: &crate::config::HashRateArgs) -> CliResult<()> {
    crate::hashing::hash_rate(args.threads, args.seconds);
    Ok(())
}
