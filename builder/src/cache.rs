//! The step cache: `<root>/build-cache/steps/<key>.json`, one small file per
//! finished layer-making step, each written whole to a temp file and renamed.
//! A step's key is the hash of its parent's key, the expanded instruction and
//! the digests of everything it reads, so a hit can reuse the layer as is.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// A layer a step made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// Digest of the (compressed) blob.
    pub digest: String,
    /// Digest of the uncompressed tar.
    pub diff_id: String,
    pub size: u64,
    pub media_type: String,
}

/// What a cached step left: its layer, or none when it changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    pub layer: Option<LayerRecord>,
}

/// A chain of step keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepKey(pub String);

impl StepKey {
    /// The key of a stage's start: its base image's identity.
    pub fn root(base: &str) -> StepKey {
        StepKey(hash_parts(&["hoist-build-cache-v1", base]))
    }

    /// The key of the next step: this key, the step's description and its inputs.
    pub fn child(&self, description: &str, inputs: &str) -> StepKey {
        StepKey(hash_parts(&[&self.0, description, inputs]))
    }
}

fn hash_parts(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed so that no two part lists hash the same.
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The cache index under a store root.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn open(store_root: &Path) -> std::io::Result<Cache> {
        let dir = store_root.join("build-cache").join("steps");
        fs::create_dir_all(&dir)?;
        Ok(Cache { dir })
    }

    fn path(&self, key: &StepKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.0))
    }

    /// The entry for `key`, if any (an unreadable entry counts as a miss).
    pub fn get(&self, key: &StepKey) -> Option<CacheEntry> {
        let bytes = fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Records `entry` under `key`, atomically.
    pub fn put(&self, key: &StepKey, entry: &CacheEntry) -> std::io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        // No fsync: a torn entry after a crash reads as a miss, never as a wrong hit
        // (it is JSON that must parse), and rebuilds stay fast.
        tmp.write_all(&serde_json::to_vec(entry).expect("serializable"))?;
        tmp.persist(self.path(key)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Forgets every step record; returns how many there were.
    pub fn clear(&self) -> std::io::Result<usize> {
        let mut n = 0;
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                fs::remove_file(&path)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// A scratch directory for one step (removed by the caller's TempDir).
    pub fn scratch_dir(&self, prefix: &str) -> std::io::Result<tempfile::TempDir> {
        let parent = self.dir.parent().expect("build-cache").join("tmp");
        fs::create_dir_all(&parent)?;
        tempfile::Builder::new().prefix(prefix).tempdir_in(parent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_chain_and_entries_round_trip() {
        let root = StepKey::root("sha256:base");
        let a = root.child("RUN x", "");
        assert_ne!(a, root.child("RUN y", ""));
        assert_ne!(a, root.child("RUN x", "in"));
        assert_eq!(a, StepKey::root("sha256:base").child("RUN x", ""));
        assert_ne!(root.child("ab", "c"), root.child("a", "bc"));

        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        assert!(cache.get(&a).is_none());
        let entry = CacheEntry {
            layer: Some(LayerRecord {
                digest: "sha256:1".into(),
                diff_id: "sha256:2".into(),
                size: 3,
                media_type: "m".into(),
            }),
        };
        cache.put(&a, &entry).unwrap();
        assert_eq!(cache.get(&a), Some(entry));
        fs::write(cache.path(&a), "garbage").unwrap();
        assert!(cache.get(&a).is_none());
    }
}
