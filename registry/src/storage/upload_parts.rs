//! Upload sessions on object stores (S3): PATCH bodies become the parts of
//! one multipart upload, completed at the final PUT, so the bytes are
//! written once and never read back or re-sent by the registry.
//!
//! S3 refuses parts under 5 MiB except the last, and clients send chunks of
//! any size. So the bytes of the session that do not yet fill a part stay in
//! a staged `tail` object: each PATCH reads that tail back (under 5 MiB),
//! continues it with its body, uploads every full part (`part_size_bytes`,
//! up to `part_concurrency` at once) and stages what is left as the new
//! tail. A leftover of at least 5 MiB becomes a (shorter) part right away.
//! The final PUT uploads the tail as the last part and completes.
//!
//! Each PATCH ends by creating `step-<its start offset>` only where absent
//! (`If-None-Match: *`): the session's whole state after it (multipart id,
//! the parts' ETags, the tail, the hash state of every byte so far), so any
//! replica continues it with no data read, and of two PATCHes at one offset
//! exactly one lands; the other gets 416. Two such PATCHes also write the
//! same part numbers: when their bodies were the same bytes (a retry) the
//! parts are identical; when not, the loser may have replaced a part the
//! winner recorded, and completion fails on the ETag S3 checks (the session
//! is then discarded: a wrong blob never becomes visible). In one process a
//! second PATCH to a busy session gets 416 at once.

use super::hash_state::ResumableHash;
use super::uploads::{hash_for, limit_body, UploadStatus};
use super::{paths, Storage};
use crate::digests::{self, Digest};
use crate::driver::{ByteStream, Driver, DriverError, MIN_PART_SIZE};
use crate::error::{RegistryError, Result};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// The session's state after one PATCH (the `step-<offset>` object).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Step {
    /// Bytes acknowledged so far.
    end: u64,
    /// The multipart upload, once the first part was needed.
    upload: Option<String>,
    /// ETags of parts 0..n, in order.
    parts: Vec<String>,
    /// Bytes in those parts; `end - parts_len` are in `tail`.
    parts_len: u64,
    /// The staged object holding bytes parts_len..end, if any.
    tail: Option<String>,
    /// Hash state of bytes 0..end (`hash_state.rs` checkpoint).
    hash: String,
}

/// This process's claim on a session, released when dropped.
pub(super) struct Busy<'a> {
    storage: &'a Storage,
    id: String,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.storage.busy.lock().unwrap().remove(&self.id);
    }
}

impl Storage {
    fn claim(&self, id: &str) -> Result<Busy<'_>> {
        if !self.busy.lock().unwrap().insert(id.to_string()) {
            return Err(RegistryError::RangeInvalid(
                "another request is writing to this upload; ask for its status (GET) and \
                 resume from the offset it reports"
                    .into(),
            ));
        }
        Ok(Busy {
            storage: self,
            id: id.to_string(),
        })
    }

    /// The latest step (the one with the highest start offset: every step
    /// starts where the one before ended), or the empty session's state.
    async fn latest_step(&self, repo: &str, id: &str, algorithm: &str) -> Result<Step> {
        let dir = paths::upload_dir(repo, id);
        let last = self
            .driver
            .list(&dir)
            .await?
            .iter()
            .filter_map(|name| paths::step_offset(name))
            .max();
        let Some(offset) = last else {
            return Ok(Step {
                end: 0,
                upload: None,
                parts: Vec::new(),
                parts_len: 0,
                tail: None,
                hash: hash_for(algorithm)?.checkpoint(),
            });
        };
        let key = paths::upload_step(repo, id, offset);
        let raw = self.driver.get(&key).await?;
        serde_json::from_slice(&raw).map_err(|e| {
            RegistryError::Storage(DriverError::Io {
                path: key,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })
        })
    }

    pub(super) async fn parts_status(&self, repo: &str, id: &str) -> Result<UploadStatus> {
        let (algorithm, _) = self.session_info(repo, id).await?;
        let step = self.latest_step(repo, id, &algorithm).await?;
        Ok(UploadStatus { offset: step.end })
    }

    pub(super) async fn append_parts(
        &self,
        repo: &str,
        id: &str,
        algorithm: &str,
        start: Option<u64>,
        declared: Option<u64>,
        body: ByteStream,
    ) -> Result<UploadStatus> {
        let _busy = self.claim(id)?;
        let step = self.latest_step(repo, id, algorithm).await?;
        self.check_append(start, step.end, declared)?;
        let mut hash = resume(&step)?;
        let (part_size, concurrency) = self
            .driver
            .multipart_geometry()
            .expect("parts sessions are opened only on multipart drivers");
        let cap = self.limits.max_upload_bytes;
        let mut writer = PartWriter {
            driver: self.driver.clone(),
            key: paths::upload_data(repo, id),
            upload: step.upload.clone(),
            created_upload: false,
            parts: step.parts.clone(),
            parts_len: step.parts_len,
            in_flight: VecDeque::new(),
            concurrency,
        };
        let mut buffer = BytesMut::new();
        if let Some(tail) = &step.tail {
            buffer.extend_from_slice(&self.driver.get(tail).await?);
        }
        let mut received = 0u64;
        let mut body = limit_body(body, cap - step.end);
        let streamed: Result<()> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|source| {
                    self.body_error(
                        DriverError::Io {
                            path: writer.key.clone(),
                            source,
                        },
                        cap,
                    )
                })?;
                hash.update(&chunk);
                received += chunk.len() as u64;
                buffer.extend_from_slice(&chunk);
                while buffer.len() >= part_size {
                    writer.send(buffer.split_to(part_size).freeze()).await?;
                }
            }
            if let Some(declared) = declared.filter(|d| *d != received) {
                return Err(RegistryError::SizeInvalid(format!(
                    "Content-Length says {declared} bytes but the body had {received}"
                )));
            }
            if received > 0 && buffer.len() >= MIN_PART_SIZE {
                writer.send(buffer.split().freeze()).await?;
            }
            writer.drain().await
        }
        .await;
        if let Err(e) = streamed {
            // Nothing recorded: parts sent past the recorded ones are
            // replaced by the next PATCH or left out at completion.
            writer.abandon().await;
            return Err(e);
        }
        if received == 0 {
            return Ok(UploadStatus { offset: step.end });
        }
        let end = step.end + received;
        let tail = if buffer.is_empty() {
            None
        } else {
            let nonce = hex::encode(rand::random::<[u8; 6]>());
            let key = paths::upload_tail(repo, id, step.end, &nonce);
            if let Err(e) = self.driver.put(&key, buffer.freeze()).await {
                writer.abandon().await;
                return Err(e.into());
            }
            Some(key)
        };
        let next = Step {
            end,
            upload: writer.upload.clone(),
            parts: std::mem::take(&mut writer.parts),
            parts_len: writer.parts_len,
            tail: tail.clone(),
            hash: hash.checkpoint(),
        };
        let encoded = Bytes::from(serde_json::to_vec(&next).expect("a step serialises"));
        let landed = self
            .driver
            .put_if_absent(&paths::upload_step(repo, id, step.end), encoded)
            .await;
        match landed {
            Ok(true) => {
                if let Some(old) = step.tail.filter(|old| Some(old) != tail.as_ref()) {
                    // Best effort: a stale tail is removed with the session.
                    let _ = self.driver.delete(&old).await;
                }
                Ok(UploadStatus { offset: end })
            }
            lost => {
                if let Some(tail) = &tail {
                    let _ = self.driver.delete(tail).await;
                }
                writer.abandon().await;
                lost?;
                Err(RegistryError::RangeInvalid(format!(
                    "another request stored the chunk at byte {} first; ask for the upload's \
                     status (GET) and resume from the offset it reports",
                    step.end
                )))
            }
        }
    }

    pub(super) async fn complete_parts(
        &self,
        repo: &str,
        id: &str,
        expected: &Digest,
    ) -> Result<u64> {
        let _busy = self.claim(id)?;
        let (algorithm, _) = self.session_info(repo, id).await?;
        let wanted = digests::parts(expected).0;
        hash_for(&wanted)?;
        let step = self.latest_step(repo, id, &algorithm).await?;
        let hash = resume(&step)?;
        let same_algorithm = hash.algorithm() == wanted;
        if same_algorithm {
            let actual = hash.finish();
            if &actual != expected {
                self.discard_step(repo, id, &step).await?;
                return Err(RegistryError::DigestInvalid(format!(
                    "the upload's content is {actual}, not {expected}"
                )));
            }
        }
        let dest = paths::blob_data(expected);
        if same_algorithm && self.driver.stat(&dest).await?.is_some() {
            // Already stored (another push of the same blob): only link it.
            self.discard_step(repo, id, &step).await?;
            self.link_blob(repo, expected).await?;
            return Ok(step.end);
        }
        let whole = match self.assemble(repo, id, &step).await {
            Ok(key) => key,
            Err(e) => {
                let _ = self.discard_step(repo, id, &step).await;
                return Err(e);
            }
        };
        if !same_algorithm {
            // Opened with one algorithm, finished with another: the one
            // case that reads the data back.
            let mut hash = hash_for(&wanted)?;
            let mut stream = self.driver.get_range(&whole, None).await?;
            while let Some(bytes) = stream.next().await {
                hash.update(&bytes.map_err(|e| DriverError::io(&whole, e))?);
            }
            let actual = hash.finish();
            if &actual != expected {
                self.driver.delete(&paths::upload_dir(repo, id)).await?;
                return Err(RegistryError::DigestInvalid(format!(
                    "the upload's content is {actual}, not {expected}"
                )));
            }
        }
        if self.driver.stat(&dest).await?.is_none() {
            self.driver.rename(&whole, &dest).await?;
        }
        self.link_blob(repo, expected).await?;
        self.driver.delete(&paths::upload_dir(repo, id)).await?;
        Ok(step.end)
    }

    /// The session's bytes as one object: the tail becomes the last part
    /// and the multipart upload is completed into the session's `data`
    /// (a session that never filled a part is just its tail). Returns its key.
    async fn assemble(&self, repo: &str, id: &str, step: &Step) -> Result<String> {
        let data = paths::upload_data(repo, id);
        let Some(upload) = &step.upload else {
            return match &step.tail {
                Some(tail) => Ok(tail.clone()),
                None => {
                    self.driver.put(&data, Bytes::new()).await?;
                    Ok(data)
                }
            };
        };
        let mut parts = step.parts.clone();
        if let Some(tail) = &step.tail {
            let bytes = self.driver.get(tail).await?;
            let etag = self
                .driver
                .put_part(&data, upload, parts.len(), bytes)
                .await?;
            parts.push(etag);
        }
        if let Err(e) = self.driver.complete_multipart(&data, upload, parts).await {
            // Completed before (a PUT retried after its reply was lost)?
            match self.driver.stat(&data).await? {
                Some(meta) if meta.size == step.end => {}
                _ => {
                    return Err(RegistryError::BlobUploadInvalid(format!(
                        "assembling the upload's parts failed ({e}); a part was replaced by \
                         a concurrent PATCH with other bytes: start the upload over"
                    )))
                }
            }
        }
        Ok(data)
    }

    /// Removes an abandoned session of any layout (GC), aborting its
    /// multipart upload if it has one.
    pub async fn purge_upload(&self, repo: &str, id: &str) -> Result<()> {
        if !self.driver.can_append() {
            if let Ok((_, true)) = self.session_info(repo, id).await {
                return self.discard_parts(repo, id).await;
            }
        }
        self.driver.delete(&paths::upload_dir(repo, id)).await?;
        Ok(())
    }

    /// Removes a parts session whose state is not known yet.
    pub(super) async fn discard_parts(&self, repo: &str, id: &str) -> Result<()> {
        let (algorithm, _) = self.session_info(repo, id).await?;
        let step = self.latest_step(repo, id, &algorithm).await?;
        self.discard_step(repo, id, &step).await
    }

    /// Aborts the multipart upload (its parts are not objects, so deleting
    /// the session's keys would not remove them) and deletes the session.
    async fn discard_step(&self, repo: &str, id: &str, step: &Step) -> Result<()> {
        if let Some(upload) = &step.upload {
            let data = paths::upload_data(repo, id);
            if let Err(e) = self.driver.abort_multipart(&data, upload).await {
                tracing::warn!(key = data, error = %e, "aborting a multipart upload failed");
            }
        }
        self.driver.delete(&paths::upload_dir(repo, id)).await?;
        Ok(())
    }
}

fn resume(step: &Step) -> Result<ResumableHash> {
    ResumableHash::resume(&step.hash)
        .filter(|h| h.len() == step.end)
        .ok_or_else(|| {
            RegistryError::BlobUploadInvalid(
                "the upload's recorded hash state is damaged; start the upload over".into(),
            )
        })
}

/// Sends full parts of one PATCH, a bounded number at a time, each on its
/// own task so they progress while the body is still being read.
struct PartWriter {
    driver: Arc<dyn Driver>,
    key: String,
    upload: Option<String>,
    /// Whether this PATCH created `upload` (aborted if the PATCH fails).
    created_upload: bool,
    parts: Vec<String>,
    parts_len: u64,
    in_flight: VecDeque<JoinHandle<std::result::Result<String, DriverError>>>,
    concurrency: usize,
}

impl PartWriter {
    async fn send(&mut self, part: Bytes) -> Result<()> {
        let upload = match &self.upload {
            Some(u) => u.clone(),
            None => {
                let u = self.driver.create_multipart(&self.key).await?;
                self.upload = Some(u.clone());
                self.created_upload = true;
                u
            }
        };
        if self.in_flight.len() >= self.concurrency {
            self.finish_one().await?;
        }
        let index = self.parts.len() + self.in_flight.len();
        self.parts_len += part.len() as u64;
        let driver = self.driver.clone();
        let key = self.key.clone();
        self.in_flight.push_back(tokio::spawn(async move {
            driver.put_part(&key, &upload, index, part).await
        }));
        Ok(())
    }

    async fn finish_one(&mut self) -> Result<()> {
        if let Some(task) = self.in_flight.pop_front() {
            let etag = task
                .await
                .map_err(|e| DriverError::io(&self.key, std::io::Error::other(e)))??;
            self.parts.push(etag);
        }
        Ok(())
    }

    async fn drain(&mut self) -> Result<()> {
        while !self.in_flight.is_empty() {
            self.finish_one().await?;
        }
        Ok(())
    }

    /// After a failed PATCH: waits for the parts in flight and aborts the
    /// multipart upload when this PATCH created it (nothing refers to it).
    async fn abandon(&mut self) {
        while let Some(task) = self.in_flight.pop_front() {
            let _ = task.await;
        }
        if let (true, Some(upload)) = (self.created_upload, &self.upload) {
            if let Err(e) = self.driver.abort_multipart(&self.key, upload).await {
                tracing::warn!(key = self.key, error = %e, "aborting a multipart upload failed");
            }
        }
    }
}
