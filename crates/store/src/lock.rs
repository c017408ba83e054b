//! The index lock: an advisory file lock held while index.json is read,
//! changed and rewritten, so concurrent hoist processes never lose an update.

use crate::error::io_err;
use crate::{paths, Result, Store};
use std::fs::File;

/// Held while alive; the lock is released when the file closes.
pub struct IndexLock {
    _file: File,
}

impl Store {
    pub(crate) fn lock_index(&self) -> Result<IndexLock> {
        let path = self.root().join(paths::INDEX_LOCK);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        file.lock().map_err(io_err(&path))?;
        Ok(IndexLock { _file: file })
    }
}
