//! What the registry's bytes mean: content-addressed blobs shared by every
//! repository, per-repository links that say which blobs a repository may
//! serve, manifests, tags, referrers and upload sessions. Everything goes
//! through a `Driver`, and nothing here is kept only in memory, so any number
//! of server processes can share one store.

pub mod hash_state;
mod manifests;
pub mod paths;
pub mod read_cache;
mod upload_file;
mod upload_parts;
mod uploads;

pub use manifests::{ManifestRef, StoredManifest};
pub use uploads::UploadStatus;

use crate::digests::Digest;
use crate::driver::{ByteStream, Driver, Meta};
use crate::error::{RegistryError, Result};
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Size limits the storage layer enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_manifest_bytes: u64,
    pub max_upload_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: 4 * 1024 * 1024,
            max_upload_bytes: 64 * 1024 * 1024 * 1024,
        }
    }
}

pub struct Storage {
    driver: Arc<dyn Driver>,
    limits: Limits,
    /// Drivers without appendable files only (object stores): running hash
    /// of uploads this process has been appending to, keyed by
    /// upload id, with the exact chunk keys it covers; used only while the
    /// session's chunks are still exactly those. An optimisation that saves
    /// re-reading the data at completion; without it (another replica, a
    /// restart, a racing write) the data is re-hashed from storage.
    hashers: Mutex<HashMap<String, (Vec<String>, hash_state::ResumableHash)>>,
    /// Manifests and tag/revision links read recently (`read_cache.rs`).
    cache: read_cache::ReadCache,
    /// Multipart upload sessions a request of this process is writing
    /// (`upload_parts.rs`): a second request to one of them gets 416.
    busy: Mutex<HashSet<String>>,
    /// When this process last refreshed a blob link for GC's grace period
    /// (`retention::touch`).
    touches: crate::retention::touch::Touches,
}

impl Storage {
    pub fn new(driver: Arc<dyn Driver>, limits: Limits) -> Self {
        Storage {
            driver,
            limits,
            hashers: Mutex::new(HashMap::new()),
            cache: read_cache::ReadCache::new(),
            busy: Mutex::new(HashSet::new()),
            touches: Default::default(),
        }
    }

    /// The blob-reference touches, to set their interval from GC's grace.
    pub fn touches(&self) -> &crate::retention::touch::Touches {
        &self.touches
    }

    /// What the read cache holds: (bytes of manifests, link entries).
    pub fn cache_usage(&self) -> (usize, usize) {
        self.cache.usage()
    }

    pub fn driver(&self) -> &Arc<dyn Driver> {
        &self.driver
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The blob's size if `repo` may serve it (linked there and present).
    /// Every HEAD, GET, mount and manifest reference comes through here, so
    /// this is where a found blob's link is refreshed for GC's grace period
    /// (at most once per interval per blob and repository).
    pub async fn blob_stat(&self, repo: &str, digest: &Digest) -> Result<Option<u64>> {
        let size = self.blob_stat_quiet(repo, digest).await?;
        if size.is_some() && self.touches.due(repo, digest.hex()) {
            if let Err(e) = self.refresh_link(repo, digest).await {
                // The read stays good; GC may then treat the blob as idle.
                tracing::warn!(%repo, %digest, error = %e, "could not refresh a blob link");
            }
        }
        Ok(size)
    }

    /// The blob's size if `repo` may serve it, for a manifest PUT that
    /// references it. The order is the point: the link is refreshed FIRST
    /// (when `repo` links the blob at all), and the blob is looked for after.
    /// GC's sweep does the mirror image (hides the blob's data, then reads
    /// the links' times: `gc::Gc::sweep`), so of a PUT and a sweep racing
    /// over one blob at least one sees the other: either GC finds the fresh
    /// link and puts the blob back, or this finds the data gone and the PUT
    /// fails with MANIFEST_BLOB_UNKNOWN (the client uploads the blob again).
    /// A touch that fails fails the PUT: without it GC could not see the
    /// reference.
    pub async fn blob_stat_for_reference(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<u64>> {
        if self
            .driver
            .stat(&paths::layer_link(repo, digest))
            .await?
            .is_none()
        {
            return Ok(None);
        }
        self.refresh_link(repo, digest).await?;
        self.blob_stat_quiet(repo, digest).await
    }

    /// Rewrites the link unless it is already fresh (just uploaded, linked
    /// or touched by another replica), so a push costs no extra write.
    async fn refresh_link(&self, repo: &str, digest: &Digest) -> Result<()> {
        let link = paths::layer_link(repo, digest);
        if let Some(meta) = self.driver.stat(&link).await? {
            let age = std::time::SystemTime::now()
                .duration_since(meta.modified)
                .unwrap_or_default();
            if age < self.touches.interval() {
                return Ok(());
            }
        }
        self.link_blob(repo, digest).await
    }

    async fn blob_stat_quiet(&self, repo: &str, digest: &Digest) -> Result<Option<u64>> {
        // Two local stats, no file opened, nothing handed to a thread, when
        // the driver can (the filesystem).
        if let Some(link) = self.driver.stamp(&paths::layer_link(repo, digest)) {
            if link.is_none() {
                return Ok(None);
            }
            if let Some(data) = self.driver.stamp(&paths::blob_data(digest)) {
                return Ok(data.map(|d| d.size));
            }
        }
        if self
            .driver
            .stat(&paths::layer_link(repo, digest))
            .await?
            .is_none()
        {
            return Ok(None);
        }
        Ok(self.global_blob(digest).await?.map(|m| m.size))
    }

    /// The stored blob regardless of repository.
    pub async fn global_blob(&self, digest: &Digest) -> Result<Option<Meta>> {
        Ok(self.driver.stat(&paths::blob_data(digest)).await?)
    }

    /// Streams a blob (or a byte range of it) that `repo` may serve.
    pub async fn blob_read(
        &self,
        digest: &Digest,
        range: Option<(u64, u64)>,
    ) -> Result<ByteStream> {
        self.driver
            .get_range(&paths::blob_data(digest), range)
            .await
            .map_err(|e| {
                RegistryError::not_found_as(e, || RegistryError::BlobUnknown(digest.to_string()))
            })
    }

    /// Reads a small blob whole (manifests, configs).
    pub async fn blob_bytes(&self, digest: &Digest) -> Result<Bytes> {
        self.driver
            .get(&paths::blob_data(digest))
            .await
            .map_err(|e| {
                RegistryError::not_found_as(e, || RegistryError::BlobUnknown(digest.to_string()))
            })
    }

    /// Lets `repo` serve a blob that is already stored.
    pub async fn link_blob(&self, repo: &str, digest: &Digest) -> Result<()> {
        self.driver
            .put(
                &paths::layer_link(repo, digest),
                Bytes::from(digest.to_string()),
            )
            .await?;
        Ok(())
    }

    /// Cross-repository mount: links `digest` into `to` when `from` has it.
    pub async fn mount_blob(&self, from: &str, to: &str, digest: &Digest) -> Result<Option<u64>> {
        match self.blob_stat(from, digest).await? {
            Some(size) => {
                self.link_blob(to, digest).await?;
                Ok(Some(size))
            }
            None => Ok(None),
        }
    }

    /// Unlinks a blob from a repository (the data stays until GC).
    pub async fn delete_blob(&self, repo: &str, digest: &Digest) -> Result<()> {
        if self.blob_stat(repo, digest).await?.is_none() {
            return Err(RegistryError::BlobUnknown(digest.to_string()));
        }
        let (alg, hex) = crate::digests::parts(digest);
        self.driver
            .delete(&format!("{}/{alg}/{hex}", paths::layers_dir(repo)))
            .await?;
        Ok(())
    }

    /// Whether any data for the repository exists.
    pub async fn repo_exists(&self, repo: &str) -> Result<bool> {
        Ok(!self.driver.list(&paths::repo(repo)).await?.is_empty())
    }

    /// Every repository name, sorted. Repository names nest (`a/b/c`), so
    /// this walks down until it meets the `_`-prefixed parts of a repository.
    pub async fn catalog(&self) -> Result<Vec<String>> {
        self.repositories_having(&["_manifests", "_layers"]).await
    }

    /// Repositories with upload sessions, including ones that hold nothing
    /// else yet (GC purges abandoned sessions there too).
    pub async fn repositories_with_uploads(&self) -> Result<Vec<String>> {
        self.repositories_having(&["_uploads"]).await
    }

    /// Repository names whose directory holds one of `markers`.
    async fn repositories_having(&self, markers: &[&str]) -> Result<Vec<String>> {
        let mut found = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(prefix) = pending.pop() {
            let dir = if prefix.is_empty() {
                paths::REPOSITORIES.to_string()
            } else {
                paths::repo(&prefix)
            };
            let children = self.driver.list(&dir).await?;
            if children.iter().any(|c| markers.contains(&c.as_str())) {
                found.push(prefix.clone());
            }
            for child in children.into_iter().filter(|c| !c.starts_with('_')) {
                pending.push(if prefix.is_empty() {
                    child
                } else {
                    format!("{prefix}/{child}")
                });
            }
        }
        found.sort();
        Ok(found)
    }

    /// Whether the backend answers (for /readyz).
    pub async fn ready(&self) -> Result<()> {
        Ok(self.driver.ready().await?)
    }
}
