//! The run directory: where the transient files of containers live (state
//! of a run, monitor socket, OCI spec, generated /etc files, the rootfs mount
//! point, and everything of a `--rm` container), as podman keeps them in its
//! runroot and docker in its exec-root. It is a tmpfs: files that are
//! created and deleted on every run cost no disk metadata (on this machine's
//! journal-less ext4, every inode deleted in the last 5 s makes the next
//! allocation slower), and a reboot empties it, which is right for them.
//!
//! As root it is `/run/hoist`; `/run` is not always a tmpfs, so a tmpfs
//! (mode 0700) is mounted there on first use and left mounted, like
//! podman's runroot. Without root it is `$XDG_RUNTIME_DIR/hoist` (a tmpfs
//! the session manager provides). Each store root has its own subdirectory,
//! named by a hash of its canonical path, so two stores (tests use temporary
//! roots) never share one; it is removed when its last container goes.

use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::{IoContext, Result, RuntimeError};

/// The run directory of every store root of this user.
pub fn base() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/run/hoist");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("hoist"),
        _ => std::env::temp_dir().join(format!("hoist-run-{}", nix::unistd::geteuid())),
    }
}

/// The run directory of the store at `root` (it may not exist yet).
pub fn for_root(root: &Path) -> PathBuf {
    // One store root per process in practice: the canonical path is cached.
    static LAST: Mutex<Option<(PathBuf, PathBuf)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((r, dir)) = last.as_ref() {
        if r == root {
            return dir.clone();
        }
    }
    let canonical = std::fs::canonicalize(root)
        .or_else(|_| std::path::absolute(root))
        .unwrap_or_else(|_| root.to_path_buf());
    let dir = base().join(key(&canonical));
    *last = Some((root.to_path_buf(), dir.clone()));
    dir
}

/// FNV-1a of the path: stable across hoist versions (std's hasher is not
/// promised to be), 64 bits, so two roots on one machine do not collide.
fn key(canonical: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canonical.as_os_str().as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Makes the run directory usable: created (mode 0700) and, as root, a
/// tmpfs. Checked once per process.
pub fn ensure() -> Result<()> {
    static READY: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| ensure_tmpfs(&base()).map_err(|e| e.to_string()))
        .clone()
        .map_err(RuntimeError::Invalid)
}

fn ensure_tmpfs(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .ctx(|| format!("creating the run directory {}", dir.display()))?;
    if is_tmpfs(dir) || !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    // Two first users at once: the lock is on the directory under the
    // mount, so the second sees the tmpfs once it has the lock.
    let under = std::fs::File::open(dir).ctx(|| format!("opening {}", dir.display()))?;
    // SAFETY: flock on our own descriptor, released when it closes.
    if unsafe { libc::flock(under.as_raw_fd(), libc::LOCK_EX) } < 0 {
        return Err(RuntimeError::io(
            format!("locking {}", dir.display()),
            std::io::Error::last_os_error(),
        ));
    }
    if is_tmpfs(dir) {
        return Ok(());
    }
    use nix::mount::{mount, MsFlags};
    // No noexec/nodev/nosuid: the upper dirs of `--rm` containers live here,
    // and what the container writes must behave as on any filesystem.
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("mode=0700"),
    )
    .map_err(|e| {
        RuntimeError::io(
            format!(
                "mounting a tmpfs on the run directory {} (hoist keeps transient container state there)",
                dir.display()
            ),
            std::io::Error::from(e),
        )
    })
}

/// Whether `dir` is on a tmpfs.
pub fn is_tmpfs(dir: &Path) -> bool {
    nix::sys::statfs::statfs(dir)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_get_distinct_stable_keys() {
        let a = key(Path::new("/var/lib/hoist"));
        assert_eq!(a, key(Path::new("/var/lib/hoist")));
        assert_ne!(a, key(Path::new("/var/lib/hoist2")));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn a_root_and_its_symlink_share_a_run_dir() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("store");
        std::fs::create_dir(&real).unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let via_link = for_root(&link);
        assert_eq!(via_link, for_root(&real));
        assert!(via_link.starts_with(base()));
    }
}
