//! The responder's pidfile ("PID START_TIME", the start time guarding against a reused
//! PID) and the lock file that serializes starting, stopping and idle exit.

use super::error::DnsError;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Field 22 of /proc/PID/stat (start time in clock ticks since boot); None for a process
/// that is gone or a zombie.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.get(stat.rfind(')')? + 2..)?;
    if after.starts_with('Z') || after.starts_with('X') {
        return None;
    }
    after.split(' ').nth(19)?.parse().ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidRecord {
    pub pid: i32,
    pub start: u64,
}

impl PidRecord {
    pub fn of_self() -> PidRecord {
        let pid = std::process::id() as i32;
        PidRecord {
            pid,
            start: process_start_time(pid).unwrap_or(0),
        }
    }

    pub fn alive(&self) -> bool {
        self.pid > 0 && process_start_time(self.pid) == Some(self.start)
    }
}

pub fn read(path: &Path) -> Option<PidRecord> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut words = text.split_whitespace();
    Some(PidRecord {
        pid: words.next()?.parse().ok()?,
        start: words.next()?.parse().ok()?,
    })
}

/// Written whole (temporary file, then rename): a reader sees the old file or the new.
pub fn write(path: &Path, rec: PidRecord) -> Result<(), DnsError> {
    let tmp = path.with_extension("pid.tmp");
    std::fs::write(&tmp, format!("{} {}\n", rec.pid, rec.start))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| DnsError::io("writing", path, e))
}

/// Removes the pidfile only when it still names `rec` (a newer responder's is kept).
pub fn remove_if_ours(path: &Path, rec: PidRecord) {
    if read(path) == Some(rec) {
        let _ = std::fs::remove_file(path);
    }
}

/// An exclusive flock, released when dropped (or when the process ends).
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Waits for the lock.
    pub fn acquire(path: &Path) -> Result<Lock, DnsError> {
        Self::take(path, libc::LOCK_EX)?.ok_or_else(|| {
            DnsError::io(
                "locking",
                path.to_path_buf(),
                std::io::Error::last_os_error(),
            )
        })
    }

    /// None when someone else holds it.
    pub fn try_acquire(path: &Path) -> Result<Option<Lock>, DnsError> {
        Self::take(path, libc::LOCK_EX | libc::LOCK_NB)
    }

    fn take(path: &Path, op: libc::c_int) -> Result<Option<Lock>, DnsError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| DnsError::io("opening", PathBuf::from(path), e))?;
        loop {
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
                return Ok(Some(Lock { _file: file }));
            }
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EWOULDBLOCK) => return Ok(None),
                _ => return Err(DnsError::io("locking", PathBuf::from(path), err)),
            }
        }
    }
}
