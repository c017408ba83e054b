//! Upload sessions kept in the byte store: an `info` object marks the session
//! (its start time and hash algorithm). On drivers that append (the
//! filesystem) the chunks go into one file (`upload_file.rs`); on the others
//! each PATCH lands as one `chunk-<offset>` object written atomically. The
//! session's offset is what the listed chunks add up to, so a server that
//! restarts (or another replica) resumes exactly where the last acknowledged
//! chunk ended, and a chunk cut off half-way simply is not there.

use super::hash_state::ResumableHash;
use super::{paths, Storage};
use crate::digests::{self, Digest};
use crate::driver::{ByteStream, DriverError};
use crate::error::{RegistryError, Result};
use bytes::Bytes;
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where an upload session stands.
#[derive(Debug, Clone, Copy)]
pub struct UploadStatus {
    /// Bytes received so far (the next chunk must start here).
    pub offset: u64,
}

/// Marker inside an io::Error: the body went past the upload size cap.
#[derive(Debug)]
pub(super) struct LimitExceeded;
impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upload size limit exceeded")
    }
}
impl std::error::Error for LimitExceeded {}

impl Storage {
    /// Opens a new upload session and returns its id. `algorithm` is the
    /// one the client said it will finish with (the spec's
    /// `digest-algorithm`; sha256 otherwise): the chunks are hashed with it
    /// as they arrive instead of being re-read at completion.
    pub async fn start_upload(&self, repo: &str, algorithm: Option<&str>) -> Result<String> {
        let parts = self.driver.multipart_geometry().is_some();
        self.open_session(repo, algorithm, parts).await
    }

    /// A new session; `parts` makes its PATCHes multipart parts
    /// (`upload_parts.rs`) rather than one object each.
    async fn open_session(
        &self,
        repo: &str,
        algorithm: Option<&str>,
        parts: bool,
    ) -> Result<String> {
        let algorithm = algorithm.unwrap_or("sha256");
        hash_for(algorithm)?;
        let id = hex::encode(rand::random::<[u8; 16]>());
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.driver
            .put(
                &paths::upload_info(repo, &id),
                Bytes::from(format!(
                    "{{\"started\":{started},\"algorithm\":\"{algorithm}\"{}}}",
                    if parts { ",\"layout\":\"parts\"" } else { "" }
                )),
            )
            .await?;
        Ok(id)
    }

    /// The hash algorithm a session was opened with; BLOB_UPLOAD_UNKNOWN
    /// when there is no such session.
    pub(super) async fn session_algorithm(&self, repo: &str, id: &str) -> Result<String> {
        Ok(self.session_info(repo, id).await?.0)
    }

    /// The session's hash algorithm, and whether its PATCHes are multipart
    /// parts (sessions opened before that layout keep one object per PATCH).
    pub(super) async fn session_info(&self, repo: &str, id: &str) -> Result<(String, bool)> {
        let unknown = || RegistryError::BlobUploadUnknown(id.to_string());
        if !paths::valid_upload_id(id) {
            return Err(unknown());
        }
        let info = self
            .driver
            .get(&paths::upload_info(repo, id))
            .await
            .map_err(|e| RegistryError::not_found_as(e, unknown))?;
        let info = serde_json::from_slice::<serde_json::Value>(&info).ok();
        let field = |name: &str| {
            info.as_ref()
                .and_then(|v| v.get(name)?.as_str().map(str::to_string))
        };
        // Sessions from before the algorithm was recorded are sha256.
        let algorithm = field("algorithm").unwrap_or_else(|| "sha256".to_string());
        Ok((algorithm, field("layout").as_deref() == Some("parts")))
    }

    /// The chunks of a session as (offset, key, size), in order and
    /// contiguous from 0; unknown session is BLOB_UPLOAD_UNKNOWN. A chunk
    /// that does not start where the previous ended (a racing duplicate, or
    /// one past a gap) is not part of the upload and is ignored.
    async fn chunks(&self, repo: &str, id: &str) -> Result<Vec<(u64, String, u64)>> {
        if !paths::valid_upload_id(id)
            || self
                .driver
                .stat(&paths::upload_info(repo, id))
                .await?
                .is_none()
        {
            return Err(RegistryError::BlobUploadUnknown(id.to_string()));
        }
        let dir = paths::upload_dir(repo, id);
        let mut chunks = Vec::new();
        let mut expected = 0u64;
        for name in self.driver.list(&dir).await? {
            let Some(offset) = paths::chunk_offset(&name) else {
                continue;
            };
            if offset != expected {
                continue;
            }
            let key = format!("{dir}/{name}");
            let Some(meta) = self.driver.stat(&key).await? else {
                continue;
            };
            if meta.size == 0 {
                continue;
            }
            expected += meta.size;
            chunks.push((offset, key, meta.size));
        }
        Ok(chunks)
    }

    pub async fn upload_status(&self, repo: &str, id: &str) -> Result<UploadStatus> {
        if self.driver.can_append() {
            return self.file_upload_status(repo, id).await;
        }
        if self.session_info(repo, id).await?.1 {
            return self.parts_status(repo, id).await;
        }
        let chunks = self.chunks(repo, id).await?;
        Ok(UploadStatus {
            offset: chunks.last().map(|(o, _, s)| o + s).unwrap_or(0),
        })
    }

    /// Appends a body to a session. `start` is the first byte's offset when
    /// the client sent `Content-Range` (it must equal the current offset);
    /// `declared` is its `Content-Length` (the body must match it).
    pub async fn append_upload(
        &self,
        repo: &str,
        id: &str,
        start: Option<u64>,
        declared: Option<u64>,
        body: ByteStream,
    ) -> Result<UploadStatus> {
        if self.driver.can_append() {
            return self.append_file(repo, id, start, declared, body).await;
        }
        let (algorithm, parts) = self.session_info(repo, id).await?;
        if parts {
            return self
                .append_parts(repo, id, &algorithm, start, declared, body)
                .await;
        }
        let chunks = self.chunks(repo, id).await?;
        let keys: Vec<String> = chunks.iter().map(|c| c.1.clone()).collect();
        let offset = chunks.last().map(|(o, _, s)| o + s).unwrap_or(0);
        self.check_append(start, offset, declared)?;
        let cap = self.limits.max_upload_bytes;
        // Continue this process's running hash when it covers exactly the
        // chunks stored now, else the state recorded after the last chunk
        // (written by whichever replica stored it).
        let cached = self.hashers.lock().unwrap().remove(id);
        let hasher = match cached {
            Some((covered, h)) if covered == keys => Some(h),
            _ if offset == 0 => Some(hash_for(&self.session_algorithm(repo, id).await?)?),
            _ => self.recorded_hash(keys.last(), offset).await,
        };
        let hasher = Arc::new(Mutex::new(hasher));
        let body = {
            let hasher = hasher.clone();
            limit_body(body, cap - offset)
                .map(move |chunk| {
                    if let Ok(chunk) = &chunk {
                        if let Some(h) = hasher.lock().unwrap().as_mut() {
                            h.update(chunk);
                        }
                    }
                    chunk
                })
                .boxed()
        };
        let nonce = hex::encode(rand::random::<[u8; 6]>());
        let key = paths::upload_chunk(repo, id, offset, &nonce);
        let written = match self.driver.put_stream(&key, body).await {
            Ok(n) => n,
            Err(e) => return Err(self.body_error(e, cap)),
        };
        if let Some(declared) = declared {
            if declared != written {
                self.driver.delete(&key).await?;
                return Err(RegistryError::SizeInvalid(format!(
                    "Content-Length says {declared} bytes but the body had {written}"
                )));
            }
        }
        if written == 0 {
            // An empty chunk adds nothing; keep the listing free of it.
            self.driver.delete(&key).await?;
        }
        let new_offset = offset + written;
        let hasher = hasher.lock().unwrap().take();
        if let Some(h) = hasher {
            if written > 0 {
                // Best effort: without it a replica re-reads the chunks.
                let state = Bytes::from(h.checkpoint());
                if let Err(e) = self.driver.put(&paths::chunk_hash_state(&key), state).await {
                    tracing::warn!(key, error = %e, "recording the upload's hash state failed");
                }
            }
            let mut covered = keys;
            if written > 0 {
                covered.push(key);
            }
            self.hashers
                .lock()
                .unwrap()
                .insert(id.to_string(), (covered, h));
        }
        Ok(UploadStatus { offset: new_offset })
    }

    /// The hash state recorded after `last_chunk`, when it covers exactly
    /// `offset` bytes.
    async fn recorded_hash(
        &self,
        last_chunk: Option<&String>,
        offset: u64,
    ) -> Option<ResumableHash> {
        let raw = self
            .driver
            .get(&paths::chunk_hash_state(last_chunk?))
            .await
            .ok()?;
        ResumableHash::resume(std::str::from_utf8(&raw).ok()?).filter(|h| h.len() == offset)
    }

    /// The checks before any byte of a chunk is taken: it starts where the
    /// upload ends, and the declared length fits under the size cap.
    pub(super) fn check_append(
        &self,
        start: Option<u64>,
        offset: u64,
        declared: Option<u64>,
    ) -> Result<()> {
        if let Some(start) = start {
            if start != offset {
                return Err(RegistryError::RangeInvalid(format!(
                    "chunk starts at byte {start} but the upload has {offset} bytes; \
                     resume from {offset}"
                )));
            }
        }
        let cap = self.limits.max_upload_bytes;
        if offset + declared.unwrap_or(0) > cap {
            return Err(RegistryError::TooLarge(format!(
                "upload exceeds the {cap}-byte limit (registry.max_upload_bytes)"
            )));
        }
        Ok(())
    }

    pub(super) fn body_error(&self, e: DriverError, cap: u64) -> RegistryError {
        let inner = e.io_source().and_then(|s| s.get_ref());
        if inner.is_some_and(|i| i.is::<LimitExceeded>()) {
            RegistryError::TooLarge(format!(
                "upload exceeds the {cap}-byte limit (registry.max_upload_bytes)"
            ))
        } else if let Some(client) = inner.and_then(|i| i.downcast_ref::<ClientBody>()) {
            RegistryError::BlobUploadInvalid(format!("request body ended early: {}", client.0))
        } else {
            RegistryError::Storage(e)
        }
    }

    /// Finishes a session: verifies the data against `expected`, makes the
    /// blob visible and links it into `repo`. On a mismatch the session is
    /// discarded and nothing becomes visible.
    pub async fn complete_upload(&self, repo: &str, id: &str, expected: &Digest) -> Result<u64> {
        if self.driver.can_append() {
            return self.complete_file(repo, id, expected).await;
        }
        if self.session_info(repo, id).await?.1 {
            return self.complete_parts(repo, id, expected).await;
        }
        let chunks = self.chunks(repo, id).await?;
        let size: u64 = chunks.iter().map(|c| c.2).sum();
        let keys: Vec<String> = chunks.iter().map(|c| c.1.clone()).collect();
        let cached = self.hashers.lock().unwrap().remove(id);
        let mut hasher = hash_for(&digests::parts(expected).0)?;
        let known = match cached {
            Some((covered, h)) if covered == keys => Some(h),
            _ => self.recorded_hash(keys.last(), size).await,
        };
        let actual = match known {
            Some(h) if h.algorithm() == hasher.algorithm() => h.finish(),
            _ => {
                for (_, key, _) in &chunks {
                    let mut stream = self.driver.get_range(key, None).await?;
                    while let Some(bytes) = stream.next().await {
                        let bytes = bytes.map_err(|e| DriverError::io(key, e))?;
                        hasher.update(&bytes);
                    }
                }
                hasher.finish()
            }
        };
        if &actual != expected {
            self.driver.delete(&paths::upload_dir(repo, id)).await?;
            return Err(RegistryError::DigestInvalid(format!(
                "the upload's content is {actual}, not {expected}"
            )));
        }
        let dest = paths::blob_data(expected);
        if self.driver.stat(&dest).await?.is_none() {
            if chunks.len() == 1 {
                self.driver.rename(&chunks[0].1, &dest).await?;
            } else {
                self.driver.put_stream(&dest, self.concat(chunks)).await?;
            }
        }
        self.link_blob(repo, expected).await?;
        self.driver.delete(&paths::upload_dir(repo, id)).await?;
        Ok(size)
    }

    /// All chunks as one stream, read one after the other.
    fn concat(&self, chunks: Vec<(u64, String, u64)>) -> ByteStream {
        let driver = self.driver.clone();
        futures::stream::iter(chunks)
            .then(move |(_, key, _)| {
                let driver = driver.clone();
                async move {
                    driver
                        .get_range(&key, None)
                        .await
                        .map_err(std::io::Error::other)
                }
            })
            .map(|r| match r {
                Ok(s) => s,
                Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
            })
            .flatten()
            .boxed()
    }

    /// Abandons a session and its data.
    pub async fn cancel_upload(&self, repo: &str, id: &str) -> Result<()> {
        if !self.driver.can_append() && self.session_info(repo, id).await?.1 {
            return self.discard_parts(repo, id).await;
        }
        self.chunks(repo, id).await?;
        self.hashers.lock().unwrap().remove(id);
        self.driver.delete(&paths::upload_dir(repo, id)).await?;
        Ok(())
    }

    /// Stores a blob whose digest is known up front (monolithic POST or
    /// the final PUT of a one-request upload).
    pub async fn put_blob(
        &self,
        repo: &str,
        expected: &Digest,
        declared: Option<u64>,
        body: ByteStream,
    ) -> Result<u64> {
        if self.driver.can_append() {
            return self.put_blob_file(repo, expected, declared, body).await;
        }
        let algorithm = digests::parts(expected).0;
        hash_for(&algorithm)?;
        // One request: its body becomes one object (a multipart upload of
        // its own when large), moved into place once verified.
        let id = self.open_session(repo, Some(&algorithm), false).await?;
        let result = async {
            self.append_upload(repo, &id, None, declared, body).await?;
            self.complete_upload(repo, &id, expected).await
        }
        .await;
        if result.is_err() {
            let _ = self.driver.delete(&paths::upload_dir(repo, &id)).await;
            self.hashers.lock().unwrap().remove(&id);
        }
        result
    }

    /// Stores a small blob from memory (manifests) under `digest`, which
    /// the caller has verified, and links it.
    pub async fn put_small_blob(&self, repo: &str, digest: &Digest, data: Bytes) -> Result<()> {
        let dest = paths::blob_data(digest);
        if self.driver.stat(&dest).await?.is_none() {
            self.driver.put(&dest, data).await?;
        }
        self.link_blob(repo, digest).await
    }
}

/// Marker inside an io::Error: reading the client's body failed (connection
/// reset, body cut short), as opposed to the disk failing.
#[derive(Debug)]
struct ClientBody(String);
impl std::fmt::Display for ClientBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ClientBody {}

/// A fresh hash for an algorithm by name; another name is DIGEST_INVALID.
pub(super) fn hash_for(algorithm: &str) -> Result<ResumableHash> {
    match algorithm {
        "sha256" => Ok(ResumableHash::sha256()),
        "sha512" => Ok(ResumableHash::sha512()),
        other => Err(RegistryError::DigestInvalid(format!(
            "digest algorithm {other:?} is not supported (use sha256 or sha512)"
        ))),
    }
}

/// The body with its errors marked as the client's, ending in
/// `LimitExceeded` once it passes `room` bytes.
pub(super) fn limit_body(body: ByteStream, room: u64) -> ByteStream {
    let mut counted = 0u64;
    body.map(move |chunk| {
        let chunk = chunk.map_err(|e| std::io::Error::other(ClientBody(e.to_string())))?;
        counted += chunk.len() as u64;
        if counted > room {
            return Err(std::io::Error::other(LimitExceeded));
        }
        Ok(chunk)
    })
    .boxed()
}
