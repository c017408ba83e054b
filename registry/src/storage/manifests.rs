//! Manifests, tags and referrers. A manifest is stored as an ordinary blob
//! plus a revision link in its repository that records its media type; a tag
//! is a small object naming a digest; a manifest with a `subject` also leaves
//! its descriptor under the subject, which is what the referrers API lists.

use super::read_cache::{Resolved, Validity, REPLICA_BOUND};
use super::{paths, Storage};
use crate::digests::{self, Digest};
use crate::error::{RegistryError, Result};
use crate::media;
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

/// A manifest reference from a URL: a tag or a digest.
#[derive(Debug, Clone)]
pub enum ManifestRef {
    Tag(String),
    Digest(Digest),
}

impl ManifestRef {
    /// Parses the `<reference>` of `/v2/<name>/manifests/<reference>`.
    pub fn parse(s: &str) -> Result<Self> {
        if s.contains(':') {
            Ok(ManifestRef::Digest(digests::parse(s)?))
        } else if crate::names::validate_tag(s).is_ok() {
            Ok(ManifestRef::Tag(s.to_string()))
        } else {
            Err(RegistryError::TagInvalid(format!(
                "{s:?} (a tag is up to 128 characters of [A-Za-z0-9_.-], not starting with . or -)"
            )))
        }
    }
}

/// A manifest as read back.
pub struct StoredManifest {
    /// Digest, media type and the headers naming them.
    pub resolved: Arc<Resolved>,
    pub body: Bytes,
}

/// What PUT of a manifest stored.
pub struct PutManifest {
    pub digest: Digest,
    pub subject: Option<Digest>,
}

impl Storage {
    /// The digest a reference names in `repo`, or MANIFEST_UNKNOWN.
    pub async fn resolve(&self, repo: &str, reference: &ManifestRef) -> Result<Digest> {
        match reference {
            ManifestRef::Digest(d) => Ok(d.clone()),
            ManifestRef::Tag(tag) => {
                let raw = self
                    .driver
                    .get(&paths::tag_link(repo, tag))
                    .await
                    .map_err(|e| {
                        RegistryError::not_found_as(e, || {
                            RegistryError::ManifestUnknown(format!("{repo}:{tag}"))
                        })
                    })?;
                digests::parse(String::from_utf8_lossy(&raw).trim())
            }
        }
    }

    /// A manifest by tag or digest. Served from the read cache when the
    /// link it came from is still current (`read_cache.rs`), else read from
    /// the store and remembered.
    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<StoredManifest> {
        let resolved = self.resolve_manifest(repo, reference).await?;
        let body = match self.cache.manifest(&resolved.digest) {
            Some(body) => body,
            None => {
                let body = self.blob_bytes(&resolved.digest).await.map_err(|_| {
                    RegistryError::ManifestUnknown(format!("{repo}@{}", resolved.digest))
                })?;
                self.cache.put_manifest(&resolved.digest, body.clone());
                body
            }
        };
        Ok(StoredManifest { resolved, body })
    }

    /// The digest and media type a reference names in `repo`.
    async fn resolve_manifest(&self, repo: &str, reference: &ManifestRef) -> Result<Arc<Resolved>> {
        let (link_key, text) = match reference {
            ManifestRef::Tag(tag) => (paths::tag_link(repo, tag), std::borrow::Cow::from(tag)),
            ManifestRef::Digest(d) => (
                paths::revision_link(repo, d),
                std::borrow::Cow::from(d.to_string()),
            ),
        };
        if let Some((resolved, validity)) = self.cache.link(repo, &text) {
            let current = match validity {
                Validity::Until(deadline) => Instant::now() < deadline,
                Validity::Stamp(stamp) => self.driver.stamp(&link_key) == Some(Some(stamp)),
            };
            if current {
                return Ok(resolved);
            }
        }
        // Taken before the link is read: a link replaced while it is read
        // then fails the next check, never the other way round.
        let stamp = self.driver.stamp(&link_key);
        let deadline = Instant::now() + REPLICA_BOUND;
        let digest = self.resolve(repo, reference).await?;
        let unknown = || RegistryError::ManifestUnknown(format!("{repo}@{digest}"));
        let media_type = self
            .driver
            .get(&paths::revision_link(repo, &digest))
            .await
            .map_err(|e| RegistryError::not_found_as(e, unknown))?;
        let resolved = Resolved::new(
            digest,
            Arc::from(String::from_utf8_lossy(&media_type).as_ref()),
        );
        let validity = match stamp {
            Some(Some(stamp)) => Some(Validity::Stamp(stamp)),
            Some(None) => None,
            None => Some(Validity::Until(deadline)),
        };
        if let Some(validity) = validity {
            self.cache.put_link(repo, &text, resolved.clone(), validity);
        }
        Ok(resolved)
    }

    /// Validates and stores a manifest under a tag or digest, and points
    /// `extra_tags` (the spec's `?tag=` parameters) at it too. A manifest
    /// pushed by digest is stored under that digest's algorithm (sha256 or
    /// sha512), so it is fetched, listed and referred to by the digest the
    /// client chose; one pushed by tag is stored under sha256.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
        content_type: Option<&str>,
        body: Bytes,
        extra_tags: &[String],
    ) -> Result<PutManifest> {
        for tag in extra_tags {
            crate::names::validate_tag(tag)
                .map_err(|e| RegistryError::TagInvalid(format!("?tag={tag:?}: {e}")))?;
        }
        let limit = self.limits.max_manifest_bytes;
        if body.len() as u64 > limit {
            return Err(RegistryError::TooLarge(format!(
                "manifest is {} bytes; the limit is {limit} (registry.max_manifest_bytes)",
                body.len()
            )));
        }
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| RegistryError::ManifestInvalid(format!("not JSON: {e}")))?;
        let media_type = manifest_media_type(&value, content_type)?;
        let refs = referenced(&value, &media_type)?;
        let digest = match reference {
            ManifestRef::Digest(expected) => {
                let mut h = digests::StreamHasher::for_digest(expected)?;
                h.update(&body);
                let actual = h.finish();
                if &actual != expected {
                    return Err(RegistryError::DigestInvalid(format!(
                        "manifest content is {actual}, not {expected}"
                    )));
                }
                actual
            }
            ManifestRef::Tag(_) => digests::sha256_of(&body),
        };
        for (digest, is_manifest) in &refs.required {
            let present = if *is_manifest {
                self.driver
                    .stat(&paths::revision_link(repo, digest))
                    .await?
                    .is_some()
            } else {
                self.blob_stat_for_reference(repo, digest).await?.is_some()
            };
            if !present {
                return Err(RegistryError::ManifestBlobUnknown(digest.to_string()));
            }
        }
        let size = body.len() as u64;
        self.put_small_blob(repo, &digest, body).await?;
        self.driver
            .put(
                &paths::revision_link(repo, &digest),
                Bytes::from(media_type.clone()),
            )
            .await?;
        if let Some(subject) = &refs.subject {
            let descriptor = referrer_descriptor(&value, &media_type, &digest, size);
            self.driver
                .put(
                    &paths::referrer(repo, subject, &digest),
                    Bytes::from(descriptor.to_string()),
                )
                .await?;
        }
        let named_tag = match reference {
            ManifestRef::Tag(tag) => Some(tag),
            ManifestRef::Digest(_) => None,
        };
        // Dropped from the read cache before the write as well as after:
        // a read racing the write then caches at worst the link it saw,
        // which the stamp check (or the bound) retires.
        self.cache.forget_link(repo, &digest.to_string());
        for tag in named_tag.into_iter().chain(extra_tags) {
            self.cache.forget_link(repo, tag);
            self.driver
                .put(&paths::tag_link(repo, tag), Bytes::from(digest.to_string()))
                .await?;
            self.cache.forget_link(repo, tag);
        }
        self.cache.forget_link(repo, &digest.to_string());
        Ok(PutManifest {
            digest,
            subject: refs.subject,
        })
    }

    /// Deletes a manifest (by digest: the revision, every tag naming it and
    /// its referrer entry) or just a tag.
    pub async fn delete_manifest(&self, repo: &str, reference: &ManifestRef) -> Result<()> {
        let result = self.delete_manifest_links(repo, reference).await;
        self.cache.forget_repository(repo);
        result
    }

    async fn delete_manifest_links(&self, repo: &str, reference: &ManifestRef) -> Result<()> {
        let digest = match reference {
            ManifestRef::Tag(tag) => {
                self.resolve(repo, reference).await?;
                let dir = format!("{}/{tag}", paths::tags_dir(repo));
                return Ok(self.driver.delete(&dir).await?);
            }
            ManifestRef::Digest(d) => d.clone(),
        };
        let stored = self.get_manifest(repo, reference).await?;
        for tag in self.tags(repo).await.unwrap_or_default() {
            let named = self
                .resolve(repo, &ManifestRef::Tag(tag.clone()))
                .await
                .ok();
            if named.as_ref() == Some(&digest) {
                self.driver
                    .delete(&format!("{}/{tag}", paths::tags_dir(repo)))
                    .await?;
            }
        }
        if let Ok(value) = serde_json::from_slice::<Value>(&stored.body) {
            if let Some(subject) = value
                .pointer("/subject/digest")
                .and_then(Value::as_str)
                .and_then(|s| digests::parse(s).ok())
            {
                self.driver
                    .delete(&paths::referrer(repo, &subject, &digest))
                    .await?;
            }
        }
        let (alg, hex) = digests::parts(&digest);
        self.driver
            .delete(&format!("{}/{alg}/{hex}", paths::revisions_dir(repo)))
            .await?;
        Ok(())
    }

    /// The repository's tags, sorted; NAME_UNKNOWN for an unknown repository.
    pub async fn tags(&self, repo: &str) -> Result<Vec<String>> {
        if !self.repo_exists(repo).await? {
            return Err(RegistryError::NameUnknown(repo.to_string()));
        }
        let mut tags = self.driver.list(&paths::tags_dir(repo)).await?;
        tags.sort();
        Ok(tags)
    }

    /// Descriptors of manifests whose subject is `subject`, optionally only
    /// those of one artifact type.
    pub async fn referrers(
        &self,
        repo: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Value>> {
        let dir = paths::referrers_dir(repo, subject);
        let mut out = Vec::new();
        for name in self.driver.list(&dir).await? {
            let raw = match self.driver.get(&format!("{dir}/{name}")).await {
                Ok(raw) => raw,
                Err(crate::driver::DriverError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            let Ok(desc) = serde_json::from_slice::<Value>(&raw) else {
                continue;
            };
            let matches = artifact_type
                .is_none_or(|want| desc.get("artifactType").and_then(Value::as_str) == Some(want));
            if matches {
                out.push(desc);
            }
        }
        Ok(out)
    }
}

/// The manifest's media type from its body and the request's Content-Type,
/// which must agree when both are given.
fn manifest_media_type(value: &Value, content_type: Option<&str>) -> Result<String> {
    if value.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(RegistryError::ManifestInvalid(
            "schemaVersion must be 2 (schema 1 manifests are not supported)".into(),
        ));
    }
    let in_body = value.get("mediaType").and_then(Value::as_str);
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim())
        .filter(|c| media::ACCEPTED.contains(c));
    let media_type = match (in_body, header) {
        (Some(b), Some(h)) if b != h => {
            return Err(RegistryError::ManifestInvalid(format!(
                "mediaType {b} in the body disagrees with Content-Type {h}"
            )))
        }
        (Some(b), _) => b.to_string(),
        (None, Some(h)) => h.to_string(),
        (None, None) if value.get("manifests").is_some() => media::OCI_INDEX.to_string(),
        (None, None) => media::OCI_MANIFEST.to_string(),
    };
    if !media::ACCEPTED.contains(&media_type.as_str()) {
        return Err(RegistryError::ManifestInvalid(format!(
            "unsupported manifest media type {media_type}"
        )));
    }
    Ok(media_type)
}

struct References {
    /// Digests that must exist in the repository; `true` for manifests.
    required: Vec<(Digest, bool)>,
    subject: Option<Digest>,
}

/// Checks a manifest's shape and collects what it references.
fn referenced(value: &Value, media_type: &str) -> Result<References> {
    let mut required = Vec::new();
    if media::is_index(media_type) {
        let list = value
            .get("manifests")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                RegistryError::ManifestInvalid("an index needs a manifests array".into())
            })?;
        for d in list {
            required.push((descriptor_digest(d, "manifests[]")?, true));
        }
    } else {
        let config = value
            .get("config")
            .ok_or_else(|| RegistryError::ManifestInvalid("a manifest needs a config".into()))?;
        required.push((descriptor_digest(config, "config")?, false));
        let layers = value
            .get("layers")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                RegistryError::ManifestInvalid("a manifest needs a layers array".into())
            })?;
        for layer in layers {
            let digest = descriptor_digest(layer, "layers[]")?;
            // Foreign (non-distributable) layers live elsewhere by design.
            let media = layer.get("mediaType").and_then(Value::as_str).unwrap_or("");
            if !(media.contains("foreign") || media.contains("nondistributable")) {
                required.push((digest, false));
            }
        }
    }
    let subject = match value.get("subject") {
        Some(s) => Some(descriptor_digest(s, "subject")?),
        None => None,
    };
    Ok(References { required, subject })
}

fn descriptor_digest(d: &Value, what: &str) -> Result<Digest> {
    if !d.get("size").is_some_and(Value::is_u64) {
        return Err(RegistryError::ManifestInvalid(format!(
            "{what} descriptor lacks a size"
        )));
    }
    let s = d.get("digest").and_then(Value::as_str).ok_or_else(|| {
        RegistryError::ManifestInvalid(format!("{what} descriptor lacks a digest"))
    })?;
    s.parse::<Digest>()
        .map_err(|e| RegistryError::ManifestInvalid(format!("{what} digest {s:?}: {e}")))
}

/// The descriptor the referrers API lists for a manifest.
fn referrer_descriptor(value: &Value, media_type: &str, digest: &Digest, size: u64) -> Value {
    let artifact_type = value
        .get("artifactType")
        .and_then(Value::as_str)
        .or_else(|| value.pointer("/config/mediaType").and_then(Value::as_str));
    let mut d = json!({
        "mediaType": media_type,
        "digest": digest.to_string(),
        "size": size,
    });
    if let Some(t) = artifact_type {
        d["artifactType"] = json!(t);
    }
    if let Some(a) = value.get("annotations") {
        d["annotations"] = a.clone();
    }
    d
}
