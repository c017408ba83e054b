//! The free-space reserve of an unpack: before an entry is written, its size
//! is claimed against the target filesystem's free space (statvfs), and the
//! unpack stops while the filesystem still has the reserve left — a layer
//! that inflates to more than the disk holds fails with a clear error
//! instead of filling the disk for everything else on it.
//!
//! statvfs is asked again after every `RECHECK` bytes claimed (and before
//! any refusal), so other writers on the filesystem are noticed without a
//! system call per entry.

use super::limits::{human_size, FreeSpaceReserve};
use super::LayerError;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

/// Bytes claimed between two statvfs calls.
const RECHECK: u64 = 64 << 20;
/// What an entry costs besides its content (inode, directory entry, the
/// last partial block).
const PER_ENTRY: u64 = 4096;

pub(crate) struct FreeSpace {
    /// The reserve in bytes (0: no checking at all).
    reserve: u64,
    /// Free bytes as of the last statvfs, less what was claimed since.
    free: u64,
    /// Bytes claimed since the last statvfs.
    since_check: u64,
    path: PathBuf,
}

impl FreeSpace {
    /// Reads the filesystem of `dir` (the unpack target, shown as `path`).
    pub(crate) fn new(
        dir: BorrowedFd,
        path: &Path,
        reserve: FreeSpaceReserve,
    ) -> Result<FreeSpace, LayerError> {
        let (size, free) = stat(dir, path)?;
        Ok(FreeSpace {
            reserve: reserve.bytes(size),
            free,
            since_check: 0,
            path: path.to_path_buf(),
        })
    }

    /// Claims room for an entry of `size` content bytes, or refuses it.
    pub(crate) fn claim(
        &mut self,
        dir: BorrowedFd,
        size: u64,
        entry: &str,
    ) -> Result<(), LayerError> {
        if self.reserve == 0 {
            return Ok(());
        }
        let needed = size.saturating_add(PER_ENTRY);
        let short = self.free < needed.saturating_add(self.reserve);
        if short || self.since_check >= RECHECK {
            self.free = stat(dir, &self.path)?.1;
            self.since_check = 0;
        }
        if self.free < needed.saturating_add(self.reserve) {
            return Err(LayerError::NoSpace {
                entry: entry.to_string(),
                path: self.path.clone(),
                needed: human_size(size),
                free: human_size(self.free),
                reserve: human_size(self.reserve),
            });
        }
        self.free -= needed;
        self.since_check = self.since_check.saturating_add(needed);
        Ok(())
    }
}

/// (filesystem size, bytes available to unprivileged writers).
fn stat(dir: BorrowedFd, path: &Path) -> Result<(u64, u64), LayerError> {
    let st = nix::sys::statvfs::fstatvfs(dir.as_fd())
        .map_err(|e| LayerError::path_io(path, std::io::Error::from(e)))?;
    let unit = st.fragment_size() as u64;
    Ok((
        (st.blocks() as u64).saturating_mul(unit),
        (st.blocks_available() as u64).saturating_mul(unit),
    ))
}
