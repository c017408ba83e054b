//! Upload sessions on drivers that append (the filesystem): every PATCH
//! appends to one `data` file at the offset it was checked against, hashing
//! the bytes as they arrive; `progress` beside it records the acknowledged
//! length with the hash state of exactly those bytes (`hash_state.rs`), so a
//! restarted server (or another process on the same root) continues both
//! without re-reading anything. The final PUT finishes the hash, and only a
//! matching digest moves the file into place: one fsync, one rename, no copy.
//!
//! A request holds the file exclusively (`Driver::open_append`) while it
//! reads the progress, writes and records, so two PATCHes at one offset
//! cannot both land: the second finds the upload busy or already past its
//! offset, and gets 416 with the offset to resume from.

use super::hash_state::ResumableHash;
use super::uploads::{hash_for, limit_body, UploadStatus};
use super::{paths, Storage};
use crate::digests::{self, Digest};
use crate::driver::{Appender, ByteStream, DriverError};
use crate::error::{RegistryError, Result};
use bytes::Bytes;
use futures::StreamExt;

impl Storage {
    pub(super) async fn file_upload_status(&self, repo: &str, id: &str) -> Result<UploadStatus> {
        self.session_algorithm(repo, id).await?;
        let offset = match self.driver.get(&paths::upload_progress(repo, id)).await {
            Ok(note) => parse_progress(&note).map_or(0, |h| h.len()),
            Err(DriverError::NotFound(_)) => 0,
            Err(e) => return Err(e.into()),
        };
        Ok(UploadStatus { offset })
    }

    /// The session's file, held exclusively until the handle is dropped.
    async fn hold_upload(&self, repo: &str, id: &str) -> Result<Box<dyn Appender>> {
        self.driver
            .open_append(
                &paths::upload_data(repo, id),
                &paths::upload_progress(repo, id),
            )
            .await?
            .ok_or_else(|| {
                RegistryError::RangeInvalid(
                    "another request is writing to this upload; ask for its status (GET) \
                     and resume from the offset it reports"
                        .into(),
                )
            })
    }

    /// The recorded progress, when the data still backs it. After a power
    /// loss the note can be ahead of the data (neither is synced before the
    /// final PUT); the upload then starts over from byte 0.
    async fn progress(&self, file: &mut dyn Appender, algorithm: &str) -> Result<ResumableHash> {
        let recorded = file.note().await?.as_deref().and_then(parse_progress);
        match recorded {
            Some(hash) if hash.algorithm() == algorithm && file.data_len().await? >= hash.len() => {
                Ok(hash)
            }
            Some(hash) => {
                tracing::warn!(
                    recorded = hash.len(),
                    "upload data is shorter than its recorded progress; restarting it"
                );
                let fresh = hash_for(algorithm)?;
                file.set_note(Bytes::from(fresh.checkpoint())).await?;
                Ok(fresh)
            }
            None => hash_for(algorithm),
        }
    }

    pub(super) async fn append_file(
        &self,
        repo: &str,
        id: &str,
        start: Option<u64>,
        declared: Option<u64>,
        body: ByteStream,
    ) -> Result<UploadStatus> {
        let algorithm = self.session_algorithm(repo, id).await?;
        let mut file = self.hold_upload(repo, id).await?;
        let mut hash = self.progress(file.as_mut(), &algorithm).await?;
        let offset = hash.len();
        self.check_append(start, offset, declared)?;
        let cap = self.limits.max_upload_bytes;
        let body = limit_body(body, cap - offset);
        let result = file
            .append(offset, body, &mut |bytes: &[u8]| hash.update(bytes))
            .await;
        match result {
            Ok(written) => {
                if let Some(declared) = declared.filter(|d| *d != written) {
                    // Not recorded: the next append cuts these bytes off.
                    return Err(RegistryError::SizeInvalid(format!(
                        "Content-Length says {declared} bytes but the body had {written}"
                    )));
                }
                if written > 0 {
                    file.set_note(Bytes::from(hash.checkpoint())).await?;
                }
                Ok(UploadStatus {
                    offset: offset + written,
                })
            }
            // Nothing of a cut-off chunk counts (the next append cuts it
            // off): the session stays at its last acknowledged byte.
            Err((_, e)) => Err(self.body_error(e, cap)),
        }
    }

    pub(super) async fn complete_file(
        &self,
        repo: &str,
        id: &str,
        expected: &Digest,
    ) -> Result<u64> {
        let algorithm = self.session_algorithm(repo, id).await?;
        let wanted = digests::parts(expected).0;
        hash_for(&wanted)?;
        let mut file = self.hold_upload(repo, id).await?;
        let mut hash = self.progress(file.as_mut(), &algorithm).await?;
        let size = hash.len();
        let data = paths::upload_data(repo, id);
        if hash.algorithm() != wanted {
            // Opened with one algorithm, finished with another: the one
            // case that reads the data back.
            hash = hash_for(&wanted)?;
            let mut stream = self.driver.get_range(&data, Some((0, size))).await?;
            while let Some(bytes) = stream.next().await {
                hash.update(&bytes.map_err(|e| DriverError::io(&data, e))?);
            }
        }
        let actual = hash.finish();
        if &actual != expected {
            self.driver.delete(&paths::upload_dir(repo, id)).await?;
            return Err(RegistryError::DigestInvalid(format!(
                "the upload's content is {actual}, not {expected}"
            )));
        }
        if file.data_len().await? != size {
            // Bytes of an append that was never acknowledged.
            file.append(size, futures::stream::empty().boxed(), &mut |_: &[u8]| {})
                .await
                .map_err(|(_, e)| e)?;
        }
        let dest = paths::blob_data(expected);
        if self.driver.stat(&dest).await?.is_none() {
            self.driver.persist(&data, &dest).await?;
        }
        self.link_blob(repo, expected).await?;
        self.driver.delete(&paths::upload_dir(repo, id)).await?;
        drop(file);
        Ok(size)
    }

    /// A monolithic upload: received into a scratch file while hashed,
    /// moved into place only when the digest matches.
    pub(super) async fn put_blob_file(
        &self,
        repo: &str,
        expected: &Digest,
        declared: Option<u64>,
        body: ByteStream,
    ) -> Result<u64> {
        let mut hash = hash_for(&digests::parts(expected).0)?;
        self.check_append(None, 0, declared)?;
        let cap = self.limits.max_upload_bytes;
        let scratch = paths::monolithic_upload(&hex::encode(rand::random::<[u8; 16]>()));
        let mut file = self
            .driver
            .open_append(&scratch, &format!("{scratch}.progress"))
            .await?
            .ok_or_else(|| RegistryError::BlobUploadInvalid("scratch file busy".into()))?;
        let mut persisted = false;
        let result = async {
            let written = file
                .append(0, limit_body(body, cap), &mut |bytes: &[u8]| {
                    hash.update(bytes)
                })
                .await
                .map_err(|(_, e)| self.body_error(e, cap))?;
            if let Some(declared) = declared.filter(|d| *d != written) {
                return Err(RegistryError::SizeInvalid(format!(
                    "Content-Length says {declared} bytes but the body had {written}"
                )));
            }
            let actual = hash.finish();
            if &actual != expected {
                return Err(RegistryError::DigestInvalid(format!(
                    "the upload's content is {actual}, not {expected}"
                )));
            }
            let dest = paths::blob_data(expected);
            if self.driver.stat(&dest).await?.is_none() {
                self.driver.persist(&scratch, &dest).await?;
                persisted = true;
            }
            self.link_blob(repo, expected).await?;
            Ok(written)
        }
        .await;
        drop(file);
        if !persisted {
            let _ = self.driver.delete(&scratch).await;
        }
        result
    }
}

fn parse_progress(note: &[u8]) -> Option<ResumableHash> {
    ResumableHash::resume(std::str::from_utf8(note).ok()?)
}
