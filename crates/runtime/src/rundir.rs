//! The run directory: where the transient files of containers live (state
//! of a run, monitor socket, OCI spec, generated /etc files, the rootfs mount
//! point, and everything of a `--rm` container), as podman keeps them in its
//! runroot and docker in its exec-root. It is a tmpfs: files that are
//! created and deleted on every run cost no disk metadata (on this machine's
//! journal-less ext4, every inode deleted in the last 5 s makes the next
//! allocation slower), and a reboot empties it, which is right for them.
//!
//! As root it is `/run/hoist` where that is on a tmpfs (`/run` is one on
//! systemd machines). Where `/run` is on disk, it is `/dev/shm/hoist`: a
//! tmpfs every Linux system has, so hoist mounts nothing (a tmpfs hoist
//! mounted itself would outlive every container, and would be seen only in
//! the mount namespace that mounted it: `unshare -m`, `ip netns exec` and
//! private-/tmp services each got a run directory of their own). Only where
//! neither is usable (no tmpfs /dev/shm, or one mounted noexec) is a tmpfs
//! mounted on `/run/hoist`, on first use, and left mounted like podman's
//! runroot. Without root it is `$XDG_RUNTIME_DIR/hoist` (a tmpfs the session
//! manager provides). Each store root has its own subdirectory, named by a
//! hash of its canonical path, so two stores (tests use temporary roots)
//! never share one; it is removed when its last container goes.

use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::{IoContext, Result, RuntimeError};

/// The run directory of every store root of this user.
pub fn base() -> PathBuf {
    if !nix::unistd::geteuid().is_root() || crate::rootless::active() {
        // Rootless, the binary's entry (src/rootless) has made sure
        // XDG_RUNTIME_DIR is the user's own private directory (or set it to
        // a checked /tmp/hoist-run-UID) before entering the namespace.
        return match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d).join("hoist"),
            _ => std::env::temp_dir().join(format!("hoist-run-{}", outer_uid())),
        };
    }
    // Decided once per process: every process of one machine decides the
    // same, as long as nobody mounts or unmounts /run or /dev/shm meanwhile.
    static CHOSEN: OnceLock<PathBuf> = OnceLock::new();
    CHOSEN
        .get_or_init(|| {
            let run = Path::new(RUN);
            let place = choose(
                is_tmpfs(run) || is_tmpfs(Path::new("/run")),
                shm_usable(Path::new(SHM_PARENT)),
            );
            match place {
                Place::Run | Place::MountedOnRun => run.to_path_buf(),
                Place::Shm => Path::new(SHM_PARENT).join("hoist"),
            }
        })
        .clone()
}

/// The user's id outside hoist's namespace (the entry exports it), else ours.
fn outer_uid() -> u32 {
    std::env::var("HOIST_ROOTLESS_UID")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| nix::unistd::geteuid().as_raw())
}

const RUN: &str = "/run/hoist";
const SHM_PARENT: &str = "/dev/shm";

/// Where root's run directory goes.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// `/run/hoist`, on a tmpfs already (`/run` is one, or an earlier hoist
    /// mounted one there: the containers it holds stay reachable).
    Run,
    /// `/dev/shm/hoist`.
    Shm,
    /// `/run/hoist` with a tmpfs hoist mounts: the last resort.
    MountedOnRun,
}

fn choose(run_on_tmpfs: bool, shm_ok: bool) -> Place {
    if run_on_tmpfs {
        Place::Run
    } else if shm_ok {
        Place::Shm
    } else {
        Place::MountedOnRun
    }
}

/// /dev/shm can hold run directories: a tmpfs where programs may run (the
/// upper dirs of `--rm` containers live in the run directory).
fn shm_usable(dir: &Path) -> bool {
    is_tmpfs(dir)
        && nix::sys::statvfs::statvfs(dir)
            .is_ok_and(|s| !s.flags().contains(nix::sys::statvfs::FsFlags::ST_NOEXEC))
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

/// Makes the run directory usable: created (mode 0700), owned by us and, as
/// root, on a tmpfs. Checked once per process.
pub fn ensure() -> Result<()> {
    static READY: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| prepare(&base()).map_err(|e| e.to_string()))
        .clone()
        .map_err(RuntimeError::Invalid)
}

fn prepare(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .ctx(|| format!("creating the run directory {}", dir.display()))?;
    check_private(dir)?;
    // Rootless, nothing is mounted: a tmpfs mounted in hoist's namespace
    // would be seen there only and hide the directory's files from the user.
    if is_tmpfs(dir) || !nix::unistd::geteuid().is_root() || crate::rootless::active() {
        return Ok(());
    }
    mount_tmpfs(dir)
}

/// The run directory holds monitor sockets and container specs: in a
/// world-writable parent (/dev/shm, /tmp) someone else may have made it
/// first, as a symlink or as a directory of theirs. Refused, not followed.
fn check_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = dir
        .symlink_metadata()
        .ctx(|| format!("reading the run directory {}", dir.display()))?;
    let me = nix::unistd::geteuid().as_raw();
    let problem = if !meta.file_type().is_dir() {
        Some("it is not a directory (a symlink?)".to_string())
    } else if meta.uid() != me {
        Some(format!("it belongs to uid {}, not to uid {me}", meta.uid()))
    } else if meta.permissions().mode() & 0o077 != 0 {
        Some(format!(
            "others may use it (mode {:o})",
            meta.permissions().mode() & 0o7777
        ))
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(why) => Err(RuntimeError::Invalid(format!(
            "refusing the run directory {}: {why}; remove it (hoist makes it again, mode 0700)",
            dir.display()
        ))),
    }
}

fn mount_tmpfs(dir: &Path) -> Result<()> {
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

    #[test]
    fn a_tmpfs_run_wins_then_shm_then_a_mount_of_our_own() {
        assert_eq!(choose(true, true), Place::Run);
        assert_eq!(choose(true, false), Place::Run);
        assert_eq!(choose(false, true), Place::Shm);
        assert_eq!(choose(false, false), Place::MountedOnRun);
    }

    #[test]
    fn dev_shm_is_usable_here_and_a_disk_directory_is_not() {
        let t = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        assert!(!shm_usable(t.path()), "a directory on disk is not a tmpfs");
        if is_tmpfs(Path::new("/dev/shm")) {
            assert!(shm_usable(Path::new("/dev/shm")) || noexec("/dev/shm"));
        }
    }

    fn noexec(dir: &str) -> bool {
        nix::sys::statvfs::statvfs(dir)
            .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_NOEXEC))
    }

    #[test]
    fn a_run_dir_others_could_use_or_made_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let open = t.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = prepare(&open).unwrap_err().to_string();
        assert!(err.contains("others may use it"), "{err}");

        let target = t.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = check_private(&link).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");

        let mine = t.path().join("mine");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&mine)
            .unwrap();
        check_private(&mine).unwrap();
    }
}
