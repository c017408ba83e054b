//! Remembered content hashes of build-context files, so that a rebuild does
//! not read every file again: an entry is reused only while the file's inode,
//! size, mtime and ctime are unchanged (any write or metadata change moves
//! ctime). One JSON file per context directory under
//! `<root>/build-cache/files/`, written whole through a temp file.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    sha256: String,
}

impl Entry {
    fn matches(&self, meta: &fs::Metadata) -> bool {
        let (mtime, ctime) = times(meta);
        self.ino == meta.ino()
            && self.size == meta.size()
            && self.mtime_ns == mtime
            && self.ctime_ns == ctime
    }
}

fn times(meta: &fs::Metadata) -> (i128, i128) {
    let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
    (
        ns(meta.mtime(), meta.mtime_nsec()),
        ns(meta.ctime(), meta.ctime_nsec()),
    )
}

/// The memo for one context directory.
#[derive(Debug, Default)]
pub struct FileHashes {
    file: Option<PathBuf>,
    entries: Mutex<(HashMap<String, Entry>, bool)>,
}

impl FileHashes {
    /// Loads the memo of `context` kept under `cache_dir` (empty if none or unreadable).
    pub fn load(cache_dir: &Path, context: &Path) -> FileHashes {
        let dir = cache_dir.join("files");
        let name = hex::encode(Sha256::digest(context.as_os_str().as_encoded_bytes()));
        let file = dir.join(format!("{name}.json"));
        let map = fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        FileHashes {
            file: Some(file),
            entries: Mutex::new((map, false)),
        }
    }

    /// The sha256 (hex) of a regular file's content, from the memo when still valid.
    pub fn sha256(&self, path: &Path, meta: &fs::Metadata) -> std::io::Result<String> {
        let key = path.to_string_lossy().to_string();
        if let Some(e) = self.entries.lock().expect("hash memo").0.get(&key) {
            if e.matches(meta) {
                return Ok(e.sha256.clone());
            }
        }
        let mut f = fs::File::open(path)?;
        let mut h = Sha256::new();
        std::io::copy(&mut f, &mut h)?;
        let sha256 = hex::encode(h.finalize());
        // The file may have changed while it was read; then its ctime moved
        // too and the entry will simply not match next time.
        let (mtime_ns, ctime_ns) = times(meta);
        let mut guard = self.entries.lock().expect("hash memo");
        guard.0.insert(
            key,
            Entry {
                ino: meta.ino(),
                size: meta.size(),
                mtime_ns,
                ctime_ns,
                sha256: sha256.clone(),
            },
        );
        guard.1 = true;
        Ok(sha256)
    }

    /// Writes the memo back if it changed (best effort: it is only a speed-up).
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        let guard = self.entries.lock().expect("hash memo");
        if !guard.1 {
            return;
        }
        let Some(dir) = file.parent() else { return };
        let write = || -> std::io::Result<()> {
            fs::create_dir_all(dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            tmp.write_all(&serde_json::to_vec(&guard.0).expect("serializable"))?;
            tmp.persist(file).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::debug!(error = %e, "cannot save the file hash memo");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::write(&f, "one").unwrap();
        let memo = FileHashes::load(dir.path(), Path::new("/ctx"));
        let first = memo.sha256(&f, &fs::metadata(&f).unwrap()).unwrap();
        assert_eq!(first, hex::encode(Sha256::digest(b"one")));
        memo.save();
        let memo = FileHashes::load(dir.path(), Path::new("/ctx"));
        assert_eq!(memo.sha256(&f, &fs::metadata(&f).unwrap()).unwrap(), first);
        fs::write(&f, "two").unwrap();
        let second = memo.sha256(&f, &fs::metadata(&f).unwrap()).unwrap();
        assert_eq!(second, hex::encode(Sha256::digest(b"two")));
    }
}
