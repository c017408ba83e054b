//! The run directory: where the transient files of containers live (state
//! of a run, monitor socket, OCI spec, generated /etc files, the rootfs mount
//! point, and everything of a `--rm` container), as podman keeps them in its
//! runroot and docker in its exec-root. It is a tmpfs: files that are
//! created and deleted on every run cost no disk metadata (on this machine's
//! journal-less ext4, every inode deleted in the last 5 s makes the next
//! allocation slower), and a reboot empties it, which is right for them.
//!
//! As root it is `/run/hoist`; `/run` is not always a tmpfs, so a tmpfs
//! (mode 0700) is mounted there when a container needs it and unmounted
//! when the last container of every store is gone (`enter`,
//! `release_if_empty`). Without root it is `$XDG_RUNTIME_DIR/hoist` (a tmpfs
//! the session manager provides). Each store root has its own subdirectory,
//! named by a hash of its canonical path, so two stores (tests use temporary
//! roots) never share one; it is removed when its last container goes.

use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

/// Held while new entries are made in the run directory (a name, a
/// container's directories): as root the tmpfs under it is mounted on
/// demand and unmounted by `release_if_empty` once it holds nothing, and
/// that never happens while someone is between `enter` and the entry it
/// makes. Dropping it lets go.
pub struct Entering {
    _lock: Option<std::fs::File>,
}

/// Makes the run directory usable for new entries: created (mode 0700) and,
/// as root, a tmpfs, kept mounted until the returned guard is dropped.
pub fn enter() -> Result<Entering> {
    enter_at(&base())
}

/// Unmounts the run directory's tmpfs (as root) when it holds nothing any
/// more: the last container of the last store is gone, so nothing of hoist
/// stays mounted. Mounting it again costs ~60 µs at the next start.
pub fn release_if_empty() {
    release_if_empty_at(&base())
}

fn lock_path(dir: &Path) -> PathBuf {
    // Beside the mount point, not under it: the lock must outlive the tmpfs.
    dir.with_extension("lock")
}

fn open_lock(dir: &Path) -> Result<std::fs::File> {
    let path = lock_path(dir);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .ctx(|| format!("opening {}", path.display()))
}

fn flock(file: &std::fs::File, how: libc::c_int, what: &Path) -> Result<()> {
    // SAFETY: flock on our own descriptor, released when it closes.
    if unsafe { libc::flock(file.as_raw_fd(), how) } < 0 {
        return Err(RuntimeError::io(
            format!("locking {}", lock_path(what).display()),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

fn enter_at(dir: &Path) -> Result<Entering> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .ctx(|| format!("creating the run directory {}", dir.display()))?;
    if !nix::unistd::geteuid().is_root() {
        // Without root $XDG_RUNTIME_DIR is a tmpfs already; nothing is mounted.
        return Ok(Entering { _lock: None });
    }
    let lock = open_lock(dir)?;
    loop {
        flock(&lock, libc::LOCK_SH, dir)?;
        if is_tmpfs(dir) {
            return Ok(Entering { _lock: Some(lock) });
        }
        // Converting to exclusive (and back, at the top of the loop) is not
        // atomic, so the mount is checked again under each lock.
        flock(&lock, libc::LOCK_EX, dir)?;
        if !is_tmpfs(dir) {
            mount_tmpfs(dir)?;
        }
    }
}

fn release_if_empty_at(dir: &Path) {
    if !nix::unistd::geteuid().is_root() || !is_empty(dir) {
        return;
    }
    let Ok(lock) = open_lock(dir) else { return };
    if flock(&lock, libc::LOCK_EX, dir).is_err() {
        return;
    }
    // Under the exclusive lock nobody is between `enter` and its entry.
    if is_tmpfs(dir) && is_empty(dir) {
        // Detached, not unmounted: the monitor that removed the last
        // container may still hold descriptors of its deleted files (its log,
        // its directory), which would make a plain umount fail with EBUSY.
        // Nothing can be reached by name any more; the kernel frees the
        // tmpfs when those descriptors close.
        let _ = nix::mount::umount2(dir, nix::mount::MntFlags::MNT_DETACH);
    }
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

fn mount_tmpfs(dir: &Path) -> Result<()> {
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
    fn the_tmpfs_is_mounted_while_needed_and_unmounted_when_empty() {
        if !nix::unistd::geteuid().is_root() {
            hoist_testkit::skip_or_fail("rundir tmpfs", "needs root (mounts a tmpfs)");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("run");
        let held = enter_at(&dir).unwrap();
        assert!(is_tmpfs(&dir), "entered: mounted");
        std::fs::create_dir(dir.join("store-a")).unwrap();
        drop(held);
        release_if_empty_at(&dir);
        assert!(is_tmpfs(&dir), "an entry is left: still mounted");
        // While someone is entering, an empty run dir stays mounted too.
        std::fs::remove_dir(dir.join("store-a")).unwrap();
        let held = enter_at(&dir).unwrap();
        // release_if_empty needs the lock exclusively: it cannot have it now.
        let other = open_lock(&dir).unwrap();
        // SAFETY: flock on our own descriptor.
        let got = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(got, -1, "the lock is free while someone is entering");
        std::fs::create_dir(dir.join("store-b")).unwrap();
        drop(held);
        release_if_empty_at(&dir);
        assert!(is_tmpfs(&dir), "the entry made while held keeps it");
        std::fs::remove_dir(dir.join("store-b")).unwrap();
        release_if_empty_at(&dir);
        assert!(!is_tmpfs(&dir), "empty and nobody entering: unmounted");
        // And mounted again for the next user.
        drop(enter_at(&dir).unwrap());
        assert!(is_tmpfs(&dir));
        release_if_empty_at(&dir);
        assert!(!is_tmpfs(&dir));
    }

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
