//! Which registry repositories hold a blob, as far as this store knows: a
//! blob pulled from or pushed to `host/repo` is recorded, so a later push of
//! it to another repository on the same host can ask the registry to mount it
//! (`POST ?mount=&from=`) instead of uploading its bytes again.
//!
//! Kept in `<store root>/client/blob-sources.json` (digest -> list of
//! `host/repo`). It is only a hint: a lost update (two hoists writing at
//! once) costs an upload, never correctness, so it is written atomically but
//! without a lock.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// At most this many repositories are remembered per blob.
const MAX_PER_BLOB: usize = 8;

pub struct BlobSources {
    path: PathBuf,
}

impl BlobSources {
    pub fn new(store_root: &Path) -> Self {
        BlobSources {
            path: store_root.join("client").join("blob-sources.json"),
        }
    }

    fn load(&self) -> BTreeMap<String, Vec<String>> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Repositories on `host` other than `except` known to hold `digest`.
    pub fn repositories_on(&self, digest: &str, host: &str, except: &str) -> Vec<String> {
        let prefix = format!("{host}/");
        self.load()
            .remove(digest)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.strip_prefix(&prefix).map(str::to_string))
            .filter(|repo| repo != except)
            .collect()
    }

    /// Records that `host/repository` holds each of `digests`.
    pub fn record(&self, digests: &[String], host: &str, repository: &str) {
        let mut map = self.load();
        let entry = format!("{host}/{repository}");
        for d in digests {
            let list = map.entry(d.clone()).or_default();
            list.retain(|e| e != &entry);
            list.insert(0, entry.clone());
            list.truncate(MAX_PER_BLOB);
        }
        if let Err(e) = self.save(&map) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot record blob sources");
        }
    }

    fn save(&self, map: &BTreeMap<String, Vec<String>>) -> std::io::Result<()> {
        let dir = self.path.parent().expect("path has a parent");
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&serde_json::to_vec(map).expect("map serializes"))?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_filters_by_host_and_repo() {
        let dir = tempfile::tempdir().unwrap();
        let s = BlobSources::new(dir.path());
        let d = vec!["sha256:aa".to_string()];
        s.record(&d, "127.0.0.1:5000", "one");
        s.record(&d, "127.0.0.1:5000", "two");
        s.record(&d, "other:1", "three");
        assert_eq!(
            s.repositories_on("sha256:aa", "127.0.0.1:5000", "two"),
            vec!["one"]
        );
        assert_eq!(
            s.repositories_on("sha256:aa", "127.0.0.1:5000", "x"),
            vec!["two", "one"]
        );
        assert!(s
            .repositories_on("sha256:bb", "127.0.0.1:5000", "x")
            .is_empty());
    }
}
