//! Cache mounts (`RUN --mount=type=cache`): directories that outlive builds,
//! under `<root>/build-cache/mounts/<sha256(id)>/` as `data/` (what steps
//! see), `id` (the id, for people) and `lock` (a flock: shared while a step
//! uses the cache with sharing=shared, exclusive with locked or private, and
//! exclusive while `hoist builder prune` removes it, so prune never pulls a
//! cache from under a running step).

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::dockerfile::Sharing;

/// Where cache mounts live under a store root.
pub fn mounts_dir(store_root: &Path) -> PathBuf {
    store_root.join("build-cache").join("mounts")
}

/// A cache directory in use by one step; the lock goes when this is dropped.
pub struct CacheInUse {
    pub path: PathBuf,
    _lock: Option<File>,
    /// A private cache that found the shared one busy: thrown away after.
    _throwaway: Option<tempfile::TempDir>,
}

/// Who owns a new cache directory, and its mode (BuildKit: 0:0, 0755).
#[derive(Debug, Clone, Copy)]
pub struct Ownership {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Opens (creating when new) the cache `id`, locked as `sharing` says.
/// `scratch` is where a private step's throw-away directory goes.
pub fn acquire(
    store_root: &Path,
    id: &str,
    sharing: Sharing,
    owner: Ownership,
    scratch: &Path,
) -> std::io::Result<CacheInUse> {
    let dir = mounts_dir(store_root).join(hex::encode(Sha256::digest(id.as_bytes())));
    fs::create_dir_all(&dir)?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))?;
    let locked = match sharing {
        Sharing::Shared => flock(&lock, libc::LOCK_SH)?,
        Sharing::Locked => flock(&lock, libc::LOCK_EX)?,
        Sharing::Private => flock(&lock, libc::LOCK_EX | libc::LOCK_NB)?,
    };
    if !locked {
        // BuildKit gives a private step that finds the cache busy a new one.
        let throwaway = tempfile::Builder::new()
            .prefix("cache-private-")
            .tempdir_in(scratch)?;
        let path = throwaway.path().join("data");
        make_data_dir(&path, owner)?;
        return Ok(CacheInUse {
            path,
            _lock: None,
            _throwaway: Some(throwaway),
        });
    }
    let data = dir.join("data");
    if !data.is_dir() {
        fs::write(dir.join("id"), id)?;
        // Made aside and renamed, so a half-made cache is never used.
        let tmp = dir.join("data.new");
        let _ = fs::remove_dir_all(&tmp);
        make_data_dir(&tmp, owner)?;
        fs::rename(&tmp, &data)?;
    }
    Ok(CacheInUse {
        path: data,
        _lock: Some(lock),
        _throwaway: None,
    })
}

fn make_data_dir(path: &Path, owner: Ownership) -> std::io::Result<()> {
    fs::create_dir(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(owner.mode))?;
    std::os::unix::fs::chown(path, Some(owner.uid), Some(owner.gid)).or_else(|e| {
        // Without root the owner cannot change; the cache stays ours.
        if e.raw_os_error() == Some(libc::EPERM) {
            Ok(())
        } else {
            Err(e)
        }
    })
}

/// Takes a flock; Ok(false) when LOCK_NB found it held.
fn flock(file: &File, how: i32) -> std::io::Result<bool> {
    loop {
        // SAFETY: a valid open file descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), how) };
        if rc == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if how & libc::LOCK_NB != 0 => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// What `prune` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// The ids of the caches removed.
    pub removed: Vec<String>,
    /// Bytes their files took.
    pub bytes: u64,
    /// Caches a running step holds, left alone.
    pub busy: Vec<String>,
}

/// Removes every cache mount no step is using.
pub fn prune(store_root: &Path) -> std::io::Result<PruneReport> {
    let mut report = PruneReport::default();
    let dir = mounts_dir(store_root);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(report),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let id = fs::read_to_string(path.join("id")).unwrap_or_else(|_| {
            path.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().to_string())
        });
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join("lock"))?;
        if !flock(&lock, libc::LOCK_EX | libc::LOCK_NB)? {
            report.busy.push(id);
            continue;
        }
        report.bytes += disk_usage(&path);
        // The lock file goes last: a step that opens it meanwhile re-creates
        // the cache directory, empty, as if new.
        fs::remove_dir_all(path.join("data")).or_else(ignore_missing)?;
        fs::remove_dir_all(&path)?;
        report.removed.push(id);
    }
    report.removed.sort();
    Ok(report)
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    walkdir::WalkDir::new(path)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.blocks() * 512)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: Ownership = Ownership {
        mode: 0o755,
        uid: 0,
        gid: 0,
    };

    #[test]
    fn caches_persist_until_pruned_and_busy_ones_stay() {
        let root = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let a = acquire(
            root.path(),
            "/root/.cache",
            Sharing::Shared,
            OWNER,
            scratch.path(),
        )
        .unwrap();
        fs::write(a.path.join("f"), "kept").unwrap();
        drop(a);
        let again = acquire(
            root.path(),
            "/root/.cache",
            Sharing::Locked,
            OWNER,
            scratch.path(),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(again.path.join("f")).unwrap(), "kept");
        // Held exclusively: a private step gets a throw-away directory, prune skips it.
        let private = acquire(
            root.path(),
            "/root/.cache",
            Sharing::Private,
            OWNER,
            scratch.path(),
        )
        .unwrap();
        assert!(!private.path.join("f").exists());
        assert!(private.path.starts_with(scratch.path()));
        let report = prune(root.path()).unwrap();
        assert_eq!(report.busy, vec!["/root/.cache".to_string()]);
        drop(again);
        drop(private);
        let report = prune(root.path()).unwrap();
        assert_eq!(report.removed, vec!["/root/.cache".to_string()]);
        assert!(report.bytes > 0);
        let fresh = acquire(
            root.path(),
            "/root/.cache",
            Sharing::Shared,
            OWNER,
            scratch.path(),
        )
        .unwrap();
        assert!(!fresh.path.join("f").exists());
    }
}
