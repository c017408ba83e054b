//! Downloading one blob into the local store: streamed into the store's
//! blob writer (which hashes as it writes and renames into place only after
//! the digest checks out), resumed with `Range: bytes=N-` when the connection
//! drops midway, skipped when the store already has it. The writing, hashing
//! and, for a layer, the tar check (`hoist import`'s) run on the blob's own
//! thread (`blob_thread.rs`); this task only moves the received bytes there.
//! The writer's digest is compared as soon as the last byte arrived, so
//! a layer damaged in transit is reported as a digest mismatch, not as a
//! hostile layer. Every byte is hashed once for its digest (by the writer)
//! and, only when the layer is compressed, once more for its diff ID (an
//! uncompressed layer's diff ID is its digest). The blob is published only
//! when the caller says so ([`Downloaded::publish`]), so a pull can drop
//! every blob of an image it refuses.

use crate::auth::repository_scope;
use crate::blob_thread::{BlobThread, Stopped, Verdict};
use crate::error::{ClientError, Result, Site};
use crate::local::{FinishError, Local, LocalWriter};
use crate::manifest::BlobRef;
use crate::progress::{BlobKind, Event, Sink};
use crate::retry;
use crate::transport::{classify_send_error, header_str, Registry};
use futures::StreamExt;
use hoist_oci::Digest;
use hoist_store::layer::{LayerError, ValidateOptions};
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;

/// A downloaded blob, complete but not yet visible in the store (or one
/// the store already had).
pub struct Downloaded {
    digest: String,
    site: Site,
    /// None when the store already had the blob.
    writer: Option<LocalWriter>,
    /// The sha256 of the uncompressed tar, when the layer was checked.
    diff_id: Option<String>,
    /// The bytes of a downloaded config (small: kept to compare diff IDs).
    content: Option<Vec<u8>>,
}

/// Image configs larger than this are refused (hostile or broken registry).
const MAX_CONFIG: usize = 16 << 20;

impl Downloaded {
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The layer's diff ID as the checker computed it (None for blobs not
    /// checked or already in the store).
    pub fn diff_id(&self) -> Option<&str> {
        self.diff_id.as_deref()
    }

    /// A downloaded config's bytes (None for other blobs or when the store
    /// already had it).
    pub fn content(&self) -> Option<&[u8]> {
        self.content.as_deref()
    }

    /// Verifies the digest, makes the blob durable and visible.
    pub fn publish(self) -> Result<()> {
        let Some(writer) = self.writer else {
            return Ok(());
        };
        match writer.finish(&self.digest) {
            Ok(()) => Ok(()),
            Err(FinishError::Mismatch { actual }) => Err(ClientError::DigestMismatch {
                site: self.site,
                expected: self.digest,
                actual,
            }),
            Err(FinishError::Other(e)) => Err(*e),
        }
    }
}

/// Fetches `blob` from `repository` unless the store has it; with `check`,
/// validates it as a layer tar while it streams. Dropping the result
/// unpublished leaves nothing behind.
pub async fn download_blob(
    reg: &Registry,
    repository: &str,
    blob: &BlobRef,
    kind: BlobKind,
    local: &Local,
    check: Option<&ValidateOptions>,
    sink: &Sink,
) -> Result<Downloaded> {
    let digest = &blob.digest;
    let site = Site::new(&reg.host, repository, format!("downloading blob {digest}"));
    if local.has_blob(digest)? {
        sink(Event::BlobSkipped {
            digest: digest.clone(),
            size: blob.size,
            how: "exists".into(),
        });
        return Ok(Downloaded {
            digest: digest.clone(),
            site,
            writer: None,
            diff_id: None,
            content: None,
        });
    }
    let parsed = digest
        .parse::<Digest>()
        .map_err(|e| ClientError::protocol(&site, format!("bad digest {digest}: {e}")))?;
    // The blob's own thread writes, hashes and (for a layer) checks it.
    let start = || -> Result<BlobThread> {
        let writer = local.blob_writer_for(digest)?;
        let check = check.map(|opts| (opts.clone(), parsed.clone()));
        BlobThread::start(writer, check)
            .map_err(|e| ClientError::io("starting the blob writer thread", e))
    };
    let scopes = [repository_scope(repository, "pull")];
    let url = reg.url(&format!("/v2/{repository}/blobs/{digest}"));
    sink(Event::BlobStart {
        digest: digest.clone(),
        size: blob.size,
        kind,
    });

    let mut thread = start()?;
    // The checker's verdict once it has one; a corrupt stream seen
    // mid-download is judged only once the digest is known.
    let mut verdict: Option<Verdict> = None;
    let keep_content = kind == BlobKind::Config;
    let mut content = Vec::new();
    let mut written: u64 = 0;
    let mut drops: u32 = 0;
    loop {
        let offset = written;
        let resp = reg
            .send(&site, &scopes, true, |h| {
                let r = h.get(url.clone());
                if offset > 0 {
                    r.header(RANGE, format!("bytes={offset}-"))
                } else {
                    r
                }
            })
            .await?;
        match resp.status() {
            StatusCode::OK if offset > 0 => {
                // The registry ignored the range: start over.
                tracing::debug!(%site, "range ignored, downloading from the start");
                thread = start()?; // the old one ends when dropped
                verdict = None;
                content.clear();
                written = 0;
            }
            StatusCode::OK => {}
            StatusCode::PARTIAL_CONTENT if offset > 0 => {
                let cr = header_str(resp.headers(), CONTENT_RANGE).unwrap_or_default();
                if range_start(&cr) != Some(offset) {
                    return Err(ClientError::protocol(
                        &site,
                        format!("asked for bytes from {offset}, got Content-Range {cr:?}"),
                    ));
                }
            }
            _ => return Err(reg.error_for(&site, resp, &format!("blob {digest}")).await),
        }
        let mut body = resp.bytes_stream();
        let mut failure = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) => {
                    written += bytes.len() as u64;
                    if written > blob.size {
                        return Err(ClientError::DigestMismatch {
                            site,
                            expected: format!("{digest} ({} bytes)", blob.size),
                            actual: format!("more than {} bytes", blob.size),
                        });
                    }
                    if keep_content {
                        if content.len() + bytes.len() > MAX_CONFIG {
                            return Err(ClientError::protocol(
                                &site,
                                "image config larger than 16 MiB",
                            ));
                        }
                        content.extend_from_slice(&bytes);
                    }
                    let n = bytes.len() as u64;
                    if let Err(Stopped) = thread.feed(bytes).await {
                        // Writing failed: finish says why.
                        return Err(write_failed(thread, digest).await);
                    }
                    if verdict.is_none() {
                        // A refused layer stops the download now, unless the
                        // data may just be damaged (judged by the digest).
                        match thread.early_verdict() {
                            Some(Err(e)) if !matches!(e, LayerError::Invalid(_)) => {
                                return Err(refused(&site, e))
                            }
                            v => verdict = v,
                        }
                    }
                    sink(Event::BlobBytes {
                        digest: digest.clone(),
                        bytes: n,
                    });
                }
                Err(e) => {
                    failure = Some(classify_send_error(&site, &e));
                    break;
                }
            }
        }
        match failure {
            None if written == blob.size => break,
            // A body that ends short without an error is a dropped
            // connection too (the server closed it).
            None => {}
            Some(e) if !e.is_transient() => return Err(e),
            Some(_) => {}
        }
        drops += 1;
        if drops > reg.opts.retries {
            return Err(ClientError::Unreachable {
                site,
                detail: format!("connection dropped {drops} times; stopped at byte {written}"),
            });
        }
        tracing::info!(%site, written, "connection dropped, resuming");
        sink(Event::BlobResume {
            digest: digest.clone(),
            offset: written,
        });
        tokio::time::sleep(retry::delay(drops - 1)).await;
    }
    let (mut writer, last) = thread
        .finish()
        .await
        .map_err(|e| ClientError::io(format!("writing blob {digest}"), e))?;
    let verdict = verdict.or(last);
    // Before the checker's verdict counts: a layer damaged in transit is a
    // mismatch, not a hostile layer. This also vouches for the diff ID the
    // checker takes from the digest (an uncompressed layer is its tar).
    let actual = writer.digest();
    if actual != parsed {
        return Err(ClientError::DigestMismatch {
            site,
            expected: digest.clone(),
            actual: actual.to_string(),
        });
    }
    let diff_id = match verdict {
        Some(v) => Some(v.map_err(|e| refused(&site, e))?.diff_id),
        None => None,
    };
    sink(Event::BlobDone {
        digest: digest.clone(),
        size: blob.size,
    });
    Ok(Downloaded {
        digest: digest.clone(),
        site,
        writer: Some(writer),
        diff_id,
        content: keep_content.then_some(content),
    })
}

/// Why the blob thread stopped taking bytes.
async fn write_failed(thread: BlobThread, digest: &str) -> ClientError {
    let e = match thread.finish().await {
        Err(e) => e,
        Ok(_) => std::io::Error::other("the blob writer thread stopped"),
    };
    ClientError::io(format!("writing blob {digest}"), e)
}

fn refused(site: &Site, e: LayerError) -> ClientError {
    ClientError::LayerRefused {
        site: site.clone(),
        detail: e.to_string(),
    }
}

/// The first byte of a `Content-Range: bytes START-END/TOTAL` value.
fn range_start(v: &str) -> Option<u64> {
    v.trim()
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_range_start() {
        assert_eq!(super::range_start("bytes 100-199/200"), Some(100));
        assert_eq!(super::range_start("bytes */200"), None);
        assert_eq!(super::range_start("items 1-2/3"), None);
    }
}
