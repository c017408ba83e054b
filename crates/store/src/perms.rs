//! Modes of the store root and its state directories.
//!
//! Image layers legitimately hold setuid-root binaries, file capabilities,
//! world-writable directories and device nodes. Unpacked under a traversable
//! path, any user on the host could run them, open a host disk through a 0666
//! node, or write into a lower layer shared by every container
//! (CVE-2021-41091 / CVE-2021-41103). So the root and every state directory are
//! 0700: only the store's owner gets in. Containers never reach their files
//! through these paths: their rootfs, volumes and the registry's storage are
//! mounted or opened by the owner (root) before anything drops privileges.

use crate::error::io_err;
use crate::{paths, Result, Store};
use std::fs::{DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

/// The only mode the root and its state directories may have.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

impl Store {
    /// Creates the root and every state directory 0700, and tightens them when
    /// they already exist with looser modes (a store made by an older hoist).
    /// On the common path this is one stat per directory.
    pub(crate) fn secure_dirs(&self) -> Result<()> {
        let root = self.root();
        match std::fs::metadata(root) {
            Ok(meta) => {
                // A root the user pointed at that holds other files (say
                // `--root /srv`, or /tmp) keeps its mode: chmod-ing someone
                // else's directory is not ours to do. The state dirs below it
                // are still private, which is what keeps image content unreachable.
                if meta.mode() & 0o7777 != PRIVATE_DIR_MODE && holds_only_hoist_entries(root) {
                    set_private(root)?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_private(root)?,
            Err(e) => return Err(io_err(root)(e)),
        }
        for name in paths::STATE_DIRS {
            let dir = root.join(name);
            match std::fs::metadata(&dir) {
                Ok(meta) if meta.mode() & 0o7777 == PRIVATE_DIR_MODE => {}
                Ok(_) => set_private(&dir)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_private(&dir)?,
                Err(e) => return Err(io_err(&dir)(e)),
            }
        }
        for name in paths::OPTIONAL_STATE_DIRS {
            let dir = root.join(name);
            if let Ok(meta) = std::fs::metadata(&dir) {
                if meta.is_dir() && meta.mode() & 0o7777 != PRIVATE_DIR_MODE {
                    set_private(&dir)?;
                }
            }
        }
        Ok(())
    }
}

/// Creates `dir` (and missing parents, with the default mode) as 0700,
/// whatever the umask; another process creating it first is fine.
fn create_private(dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    match DirBuilder::new().mode(PRIVATE_DIR_MODE).create(dir) {
        Ok(()) => set_private(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(io_err(dir)(e)),
    }
}

fn set_private(dir: &Path) -> Result<()> {
    std::fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR_MODE)).map_err(io_err(dir))
}

/// Whether every entry of `root` is one hoist makes (an empty dir counts):
/// then the directory is hoist's own and its mode is hoist's to set.
fn holds_only_hoist_entries(root: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(root) else {
        return false;
    };
    entries.flatten().all(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        paths::STATE_DIRS.contains(&name.as_ref())
            || paths::OPTIONAL_STATE_DIRS.contains(&name.as_ref())
            || paths::ROOT_FILES.contains(&name.as_ref())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn a_new_store_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b/store");
        let store = Store::open(&root).unwrap();
        assert_eq!(mode(store.root()), 0o700);
        for name in paths::STATE_DIRS {
            assert_eq!(mode(&root.join(name)), 0o700, "{name}");
        }
    }

    #[test]
    fn an_old_loose_store_is_tightened_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        Store::open(&root).unwrap();
        for p in [root.clone(), root.join("snapshots"), root.join("content")] {
            std::fs::set_permissions(&p, Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::create_dir(root.join("build-cache")).unwrap();
        std::fs::set_permissions(root.join("build-cache"), Permissions::from_mode(0o777)).unwrap();
        Store::open(&root).unwrap();
        for p in [&root, &root.join("snapshots"), &root.join("content")] {
            assert_eq!(mode(p), 0o700, "{}", p.display());
        }
        assert_eq!(mode(&root.join("build-cache")), 0o700);
    }

    #[test]
    fn a_foreign_root_keeps_its_mode_but_state_dirs_are_private() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.path().join("someone-elses-file"), b"x").unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(mode(store.root()), 0o755);
        let store = Store::open(dir.path()).unwrap(); // now it also holds content/
        assert_eq!(mode(store.root()), 0o755);
        assert_eq!(mode(&store.content_dir()), 0o700);
        assert_eq!(mode(&dir.path().join("snapshots")), 0o700);
    }
}
