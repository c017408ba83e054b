//! Downloading one blob into the local store: streamed into the store's
//! blob writer (which hashes as it writes and renames into place only after
//! the digest checks out), resumed with `Range: bytes=N-` when the connection
//! drops midway, skipped when the store already has it.

use crate::auth::repository_scope;
use crate::error::{ClientError, Result, Site};
use crate::local::{FinishError, Local};
use crate::manifest::BlobRef;
use crate::progress::{BlobKind, Event, Sink};
use crate::retry;
use crate::transport::{classify_send_error, header_str, Registry};
use futures::StreamExt;
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;

/// Fetches `blob` from `repository` into the store unless it is there.
pub async fn download_blob(
    reg: &Registry,
    repository: &str,
    blob: &BlobRef,
    kind: BlobKind,
    local: &Local,
    sink: &Sink,
) -> Result<()> {
    let digest = &blob.digest;
    if local.has_blob(digest)? {
        sink(Event::BlobSkipped {
            digest: digest.clone(),
            size: blob.size,
            how: "exists".into(),
        });
        return Ok(());
    }
    let site = Site::new(&reg.host, repository, format!("downloading blob {digest}"));
    let scopes = [repository_scope(repository, "pull")];
    let url = reg.url(&format!("/v2/{repository}/blobs/{digest}"));
    sink(Event::BlobStart {
        digest: digest.clone(),
        size: blob.size,
        kind,
    });

    let mut writer = local.blob_writer_for(digest)?;
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
                    sink(Event::BlobBytes {
                        digest: digest.clone(),
                        bytes: bytes.len() as u64,
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
    match writer.finish(digest) {
        Ok(()) => {}
        Err(FinishError::Mismatch { actual }) => {
            return Err(ClientError::DigestMismatch {
                site,
                expected: digest.clone(),
                actual,
            })
        }
        Err(FinishError::Other(e)) => return Err(*e),
    }
    sink(Event::BlobDone {
        digest: digest.clone(),
        size: blob.size,
    });
    Ok(())
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
