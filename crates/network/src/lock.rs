//! An exclusive flock on a file, released on drop: one network's leases and
//! bridge are changed by one process at a time.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::error::{IoContext, Result};

pub struct Lock(#[allow(dead_code)] File);

impl Lock {
    pub fn exclusive(path: &Path) -> Result<Lock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .ctx(|| format!("opening {}", path.display()))?;
        loop {
            // SAFETY: flock on our own descriptor.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Lock(f));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e).ctx(|| format!("locking {}", path.display()));
            }
        }
    }
}
