//! The data directory is private to the server's user, whatever the umask: the directory 0700,
//! every file in it 0600. The binary also sets its umask to 077 at start, so files the engine
//! creates later (snapshots, blobs) are born private; this module fixes what exists, and says so.

use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;

/// Creates `dir` (and missing parents) mode 0700.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Makes `dir` 0700 and everything under it 0700 (directories) or 0600 (files). Returns one line
/// per path that was wider than that (which the caller logs as a warning).
pub fn make_private(dir: &Path) -> Vec<String> {
    let mut changed = Vec::new();
    fix(dir, true, &mut changed);
    changed
}

fn fix(path: &Path, is_dir: bool, changed: &mut Vec<String>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return };
    if meta.file_type().is_symlink() {
        return;
    }
    let mode = meta.permissions().mode() & 0o777;
    let want = if is_dir { 0o700 } else { 0o600 };
    // Sockets keep their own mode (the control socket is made 0600 by the server).
    if mode & 0o077 != 0 && !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(want)) {
            Ok(()) => changed.push(format!("{} was {mode:03o}, now {want:03o}", path.display())),
            Err(e) => changed.push(format!("{} is {mode:03o} and could not be made {want:03o}: {e}", path.display())),
        }
    }
    if is_dir {
        let Ok(entries) = std::fs::read_dir(path) else { return };
        for e in entries.flatten() {
            let dir = e.file_type().is_ok_and(|t| t.is_dir());
            fix(&e.path(), dir, changed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn wide_modes_are_narrowed_and_reported() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("data");
        create_private_dir(&dir.join("blobs")).unwrap();
        std::fs::write(dir.join("db"), b"x").unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.join("db"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let changed = make_private(&dir);
        assert_eq!(changed.len(), 2, "{changed:?}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("db")), 0o600);
        assert_eq!(mode(&dir.join("blobs")), 0o700);
        assert!(make_private(&dir).is_empty(), "nothing left to change");
    }
}
