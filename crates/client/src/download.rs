//! Downloading one blob into the local store: streamed into the store's
//! blob writer (which hashes as it writes and renames into place only after
//! the digest checks out), resumed with `Range: bytes=N-` when the connection
//! drops midway, skipped when the store already has it. A layer is checked
//! while it streams (`layer_check.rs`), exactly as `hoist import` checks a
//! tar; the writer's digest is compared as soon as the last byte arrived, so
//! a layer damaged in transit is reported as a digest mismatch, not as a
//! hostile layer. Every byte is hashed once for its digest (by the writer)
//! and, only when the layer is compressed, once more for its diff ID (an
//! uncompressed layer's diff ID is its digest). The blob is published only
//! when the caller says so ([`Downloaded::publish`]), so a pull can drop
//! every blob of an image it refuses.

use crate::auth::repository_scope;
use crate::error::{ClientError, Result, Site};
use crate::layer_check::LayerCheck;
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
    let start_check = || match check {
        Some(opts) => LayerCheck::start(opts.clone(), parsed.clone())
            .map(Some)
            .map_err(|e| ClientError::io("starting the layer checker thread", e)),
        None => Ok(None),
    };
    let scopes = [repository_scope(repository, "pull")];
    let url = reg.url(&format!("/v2/{repository}/blobs/{digest}"));
    sink(Event::BlobStart {
        digest: digest.clone(),
        size: blob.size,
        kind,
    });

    let mut writer = local.blob_writer_for(digest)?;
    let mut checker = start_check()?;
    // A corrupt stream seen mid-download: judged once the digest is known.
    let mut unreadable: Option<LayerError> = None;
    let mut diff_id = None;
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
                writer = local.blob_writer_for(digest)?;
                checker = start_check()?; // the old one ends when dropped
                unreadable = None;
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
                    writer
                        .write_all(&bytes)
                        .map_err(|e| ClientError::io(format!("writing blob {digest}"), e))?;
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
                    if let Some(c) = checker.as_mut() {
                        if c.feed(bytes).await.is_err() {
                            // The checker stopped reading: it has seen the
                            // whole tar, or it refused the layer: then stop
                            // now, unless the data may just be damaged.
                            let c = checker.take().expect("checker present");
                            match c.finish().await {
                                Ok(summary) => diff_id = Some(summary.diff_id),
                                Err(e @ LayerError::Invalid(_)) => unreadable = Some(e),
                                Err(e) => return Err(refused(&site, e)),
                            }
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
    if let Some(e) = unreadable {
        return Err(refused(&site, e));
    }
    if let Some(c) = checker {
        let summary = c.finish().await.map_err(|e| refused(&site, e))?;
        diff_id = Some(summary.diff_id);
    }
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
