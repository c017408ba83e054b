//! Manifests through the proxy. By digest: fetched once (verified against
//! the digest), then always local. By tag: served locally for `tag_ttl`
//! after upstream last confirmed it; after that upstream is asked with a
//! HEAD (Docker Hub does not count HEADs against pull limits) and only a
//! moved tag is fetched again. When upstream cannot answer, whatever is
//! cached is served; only upstream's "not found" is passed on.

use super::upstream::{header_str, Upstream, UpstreamError};
use super::Proxy;
use crate::digests::{self, Digest, StreamHasher};
use crate::error::{RegistryError, Result};
use crate::media;
use crate::storage::{paths, ManifestRef};
use bytes::Bytes;
use reqwest::Method;
use std::sync::Arc;
use std::time::SystemTime;

impl Proxy {
    /// Makes sure the manifest `reference` names in `name` is stored and
    /// current enough to serve; the ordinary handler then serves it.
    pub async fn manifest(&self, name: &str, reference: &ManifestRef) -> Result<()> {
        let Some((up, repo)) = self.route(name) else {
            return Ok(());
        };
        let key = match reference {
            ManifestRef::Tag(t) => format!("{name}:{t}"),
            ManifestRef::Digest(d) => format!("{name}@{d}"),
        };
        let lock = self.manifest_lock(&key);
        let result = {
            let _one_at_a_time = lock.lock().await;
            match reference {
                ManifestRef::Digest(d) => self.by_digest(&up, &repo, name, d).await,
                ManifestRef::Tag(t) => self.by_tag(&up, &repo, name, t).await,
            }
        };
        self.release_manifest_lock(&key, lock);
        result
    }

    async fn by_digest(&self, up: &Upstream, repo: &str, name: &str, d: &Digest) -> Result<()> {
        if self
            .driver
            .stat(&paths::revision_link(name, d))
            .await?
            .is_some()
        {
            self.counters.hit();
            return Ok(());
        }
        let unknown = || RegistryError::ManifestUnknown(format!("{name}@{d}"));
        let (body, media_type) = self
            .fetch(up, repo, &d.to_string())
            .await
            .map_err(|e| e.into_registry(unknown))?;
        let mut h = StreamHasher::for_digest(d)?;
        h.update(&body);
        let actual = h.finish();
        if &actual != d {
            return Err(upstream_invalid(format!("{repo}@{d} is {actual}")));
        }
        self.counters.miss();
        self.store(name, d, &media_type, body, None).await
    }

    async fn by_tag(&self, up: &Upstream, repo: &str, name: &str, tag: &str) -> Result<()> {
        let tag_key = paths::tag_link(name, tag);
        let cached = match self.driver.stat(&tag_key).await? {
            Some(meta) => {
                let raw = self.driver.get(&tag_key).await?;
                let digest = digests::parse(String::from_utf8_lossy(&raw).trim())?;
                Some((meta.modified, digest))
            }
            None => None,
        };
        let unknown = || RegistryError::ManifestUnknown(format!("{name}:{tag}"));
        if let Some((confirmed, digest)) = &cached {
            let age = SystemTime::now()
                .duration_since(*confirmed)
                .unwrap_or_default();
            if age < self.tag_ttl {
                self.counters.hit();
                return Ok(());
            }
            // Revalidate: has the tag moved?
            let head = up
                .request(
                    Method::HEAD,
                    repo,
                    &format!("manifests/{tag}"),
                    &media::ACCEPTED,
                )
                .await;
            match head {
                Ok(resp)
                    if header_str(&resp, "docker-content-digest")
                        == Some(digest.to_string().as_str()) =>
                {
                    // Same manifest: the link is rewritten so its mtime says
                    // "confirmed now".
                    self.driver
                        .put(&tag_key, Bytes::from(digest.to_string()))
                        .await?;
                    self.counters.hit();
                    return Ok(());
                }
                Ok(_) => {}
                Err(UpstreamError::NotFound) => return Err(unknown()),
                Err(e) => return self.serve_stale(name, tag, e),
            }
        }
        match self.fetch(up, repo, tag).await {
            Ok((body, media_type)) => {
                let digest = digests::sha256_of(&body);
                self.counters.miss();
                self.store(name, &digest, &media_type, body, Some(tag))
                    .await
            }
            Err(UpstreamError::NotFound) => Err(unknown()),
            Err(e) if cached.is_some() => self.serve_stale(name, tag, e),
            Err(e) => Err(e.into_registry(unknown)),
        }
    }

    fn serve_stale(&self, name: &str, tag: &str, e: UpstreamError) -> Result<()> {
        tracing::warn!(repository = name, tag, error = %e, "proxy: upstream unavailable; serving the cached manifest");
        self.counters.hit();
        Ok(())
    }

    /// GETs a manifest; its bytes and media type.
    async fn fetch(
        &self,
        up: &Upstream,
        repo: &str,
        reference: &str,
    ) -> std::result::Result<(Bytes, String), UpstreamError> {
        let resp = up
            .request(
                Method::GET,
                repo,
                &format!("manifests/{reference}"),
                &media::ACCEPTED,
            )
            .await?;
        let content_type = header_str(&resp, "content-type")
            .map(|t| t.split(';').next().unwrap_or("").trim().to_string());
        if resp.content_length().unwrap_or(0) > self.max_manifest_bytes {
            return Err(UpstreamError::Refused(format!(
                "manifest {repo}:{reference} exceeds max_manifest_bytes"
            )));
        }
        let body = resp.bytes().await.map_err(|e| {
            UpstreamError::Unavailable(format!("reading manifest {repo}:{reference}: {e}"))
        })?;
        crate::metrics::Metrics::add(&self.counters.upstream_bytes, body.len() as u64);
        if body.len() as u64 > self.max_manifest_bytes {
            return Err(UpstreamError::Refused(format!(
                "manifest {repo}:{reference} exceeds max_manifest_bytes"
            )));
        }
        let media_type = content_type
            .filter(|t| media::ACCEPTED.contains(&t.as_str()))
            .or_else(|| {
                serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()?
                    .get("mediaType")?
                    .as_str()
                    .filter(|t| media::ACCEPTED.contains(t))
                    .map(str::to_string)
            })
            .ok_or_else(|| {
                UpstreamError::Refused(format!(
                    "manifest {repo}:{reference} is not an OCI or Docker v2 manifest or index"
                ))
            })?;
        Ok((body, media_type))
    }

    /// Writes the manifest under the usual keys: bytes, revision, tag.
    async fn store(
        &self,
        name: &str,
        digest: &Digest,
        media_type: &str,
        body: Bytes,
        tag: Option<&str>,
    ) -> Result<()> {
        let data = paths::blob_data(digest);
        if self.driver.stat(&data).await?.is_none() {
            self.driver.put(&data, body).await?;
        }
        self.driver
            .put(
                &paths::revision_link(name, digest),
                Bytes::from(media_type.to_string()),
            )
            .await?;
        if let Some(tag) = tag {
            self.driver
                .put(&paths::tag_link(name, tag), Bytes::from(digest.to_string()))
                .await?;
        }
        Ok(())
    }

    fn manifest_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.manifest_locks
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    /// Forgets a key's lock when no one else holds or waits on it.
    fn release_manifest_lock(&self, key: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.manifest_locks.lock().unwrap();
        drop(lock);
        if locks.get(key).is_some_and(|l| Arc::strong_count(l) == 1) {
            locks.remove(key);
        }
    }
}

/// Upstream served something that is not what was asked for: 503, as for
/// any upstream fault (a retry may reach a healthy upstream).
fn upstream_invalid(message: String) -> RegistryError {
    RegistryError::Storage(crate::driver::DriverError::Unavailable {
        path: "proxy".into(),
        message: format!("upstream served a wrong manifest: {message}"),
    })
}
