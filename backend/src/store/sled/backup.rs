//! Backups of the sled store: every tree but the live sessions, in one file with a
//! SHA-256 trailer. `restore` checks the whole file before it writes anything, and
//! only into an empty data directory.
//!
//! Format: `PROOFUP-BACKUP 1\n`, then records — `T` u32 len, tree name; `E` u32 len,
//! key, u32 len, value — and `Z` with the SHA-256 of every byte before it.

use crate::store::Conflict;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::SledStore;
use crate::store::{StoreError, StoreResult};

const MAGIC: &[u8] = b"PROOFUP-BACKUP 1\n";
/// Restoring sessions would bring back sign-ins: everyone signs in again after a restore.
pub const NOT_BACKED_UP: &[&str] = &["sessions", "logins"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackupStats {
    pub trees: u64,
    pub entries: u64,
    pub bytes: u64,
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("backup file: {e}"))
}

struct HashingWriter<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.hash.update(b);
        self.bytes += b.len() as u64;
        self.inner.write_all(b)
    }

    fn chunk(&mut self, b: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(b.len()).map_err(|_| std::io::Error::other("record larger than 4 GiB"))?;
        self.put(&len.to_be_bytes())?;
        self.put(b)
    }
}

/// Writes the store to `to` (through `to.partial`, renamed when complete and synced).
pub fn write_backup(store: &SledStore, to: &Path) -> StoreResult<BackupStats> {
    let partial = to.with_extension("partial");
    // 0600 whatever the umask, also when the file already existed: a backup holds every hash.
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let file = opts.open(&partial).map_err(io)?;
    std::fs::set_permissions(&partial, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(io)?;
    let mut w = HashingWriter { inner: BufWriter::new(file), hash: Sha256::new(), bytes: 0 };
    let mut stats = BackupStats::default();
    w.put(MAGIC).map_err(io)?;
    for (name, tree) in store.trees_for_backup()? {
        if NOT_BACKED_UP.iter().any(|s| s.as_bytes() == name.as_slice()) {
            continue;
        }
        stats.trees += 1;
        w.put(b"T").map_err(io)?;
        w.chunk(&name).map_err(io)?;
        for kv in tree.iter() {
            let (k, v) = kv.map_err(|e| StoreError::Backend(e.to_string()))?;
            w.put(b"E").map_err(io)?;
            w.chunk(&k).map_err(io)?;
            w.chunk(&v).map_err(io)?;
            stats.entries += 1;
        }
    }
    let digest = w.hash.clone().finalize();
    w.inner.write_all(b"Z").map_err(io)?;
    w.inner.write_all(&digest).map_err(io)?;
    stats.bytes = w.bytes + 33;
    let file = w.inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&partial, to).map_err(io)?;
    Ok(stats)
}

enum Record {
    Tree(Vec<u8>),
    Entry(Vec<u8>, Vec<u8>),
    End([u8; 32]),
}

struct Reader<R: Read> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Reader<R> {
    fn take(&mut self, n: usize) -> StoreResult<Vec<u8>> {
        let mut b = vec![0; n];
        self.inner.read_exact(&mut b).map_err(|_| bad("the file ends early"))?;
        self.hash.update(&b);
        Ok(b)
    }

    fn chunk(&mut self) -> StoreResult<Vec<u8>> {
        let len = u32::from_be_bytes(self.take(4)?.try_into().map_err(|_| bad("length"))?) as usize;
        if len > 64 << 20 {
            return Err(bad("a record is implausibly large"));
        }
        self.take(len)
    }

    fn next(&mut self) -> StoreResult<Record> {
        let mut kind = [0u8; 1];
        self.inner.read_exact(&mut kind).map_err(|_| bad("the file ends early"))?;
        match kind[0] {
            b'Z' => {
                let mut d = [0u8; 32];
                self.inner.read_exact(&mut d).map_err(|_| bad("the checksum is cut off"))?;
                Ok(Record::End(d))
            }
            b'T' => {
                self.hash.update(kind);
                Ok(Record::Tree(self.chunk()?))
            }
            b'E' => {
                self.hash.update(kind);
                let k = self.chunk()?;
                Ok(Record::Entry(k, self.chunk()?))
            }
            _ => Err(bad("unknown record")),
        }
    }
}

fn bad(why: &str) -> StoreError {
    StoreError::Backend(format!("not a valid Proofup backup: {why}"))
}

/// Reads the whole file once; `apply` sees each record only after the checksum was checked
/// when `verify_only` is false (second pass).
fn read_backup(from: &Path, mut apply: impl FnMut(&Record) -> StoreResult<()>) -> StoreResult<BackupStats> {
    let mut r = Reader { inner: BufReader::new(File::open(from).map_err(io)?), hash: Sha256::new() };
    if r.take(MAGIC.len())? != MAGIC {
        return Err(bad("it does not start with the backup header"));
    }
    let mut stats = BackupStats::default();
    let mut in_tree = false;
    loop {
        let rec = r.next()?;
        match &rec {
            Record::End(d) => {
                if r.hash.clone().finalize().as_slice() != d {
                    return Err(bad("the checksum does not match (damaged or cut short)"));
                }
                let mut rest = [0u8; 1];
                if r.inner.read(&mut rest).map_err(io)? != 0 {
                    return Err(bad("data after the checksum"));
                }
                return Ok(stats);
            }
            Record::Tree(_) => {
                stats.trees += 1;
                in_tree = true;
            }
            Record::Entry(..) if !in_tree => return Err(bad("an entry outside a tree")),
            Record::Entry(..) => stats.entries += 1,
        }
        apply(&rec)?;
    }
}

/// Checks a backup file completely (header, records, checksum).
pub fn verify_backup(from: &Path) -> StoreResult<BackupStats> {
    read_backup(from, |_| Ok(()))
}

/// Restores a checked backup into `dir`, which must be empty or missing.
pub fn restore_backup(from: &Path, dir: &Path, cache_bytes: u64) -> StoreResult<BackupStats> {
    verify_backup(from)?;
    if dir.exists() && std::fs::read_dir(dir).map_err(io)?.next().is_some() {
        return Err(StoreError::Conflict(Conflict::NotEmpty(dir.display().to_string())));
    }
    super::files::create_private_dir(dir).map_err(io)?;
    let db = ::sled::Config::new()
        .path(dir)
        .cache_capacity(cache_bytes)
        .open()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut tree: Option<::sled::Tree> = None;
    let stats = read_backup(from, |rec| {
        match rec {
            Record::Tree(name) => tree = Some(db.open_tree(name).map_err(|e| StoreError::Backend(e.to_string()))?),
            Record::Entry(k, v) => {
                if let Some(t) = &tree {
                    t.insert(k.as_slice(), v.as_slice()).map_err(|e| StoreError::Backend(e.to_string()))?;
                }
            }
            Record::End(_) => {}
        }
        Ok(())
    })?;
    db.flush().map_err(|e| StoreError::Backend(e.to_string()))?;
    drop(tree);
    // It is a Proofup store this binary understands (schema check), on the same handle.
    SledStore::from_db(db, &dir.display().to_string()).map_err(|e| StoreError::Backend(e.to_string()))?;
    super::files::make_private(dir);
    Ok(stats)
}
