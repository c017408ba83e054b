//! Uploading one blob: HEAD first (skip what the registry has), a
//! cross-repository mount when another repository on the same registry is
//! known to hold it, else an upload session. The strategy is picked for
//! speed: a blob up to `chunk_size` goes in one request (POST, then PUT
//! `?digest=` carrying the bytes: no PATCH round trip); a larger one is
//! PATCHed in `chunk_size` pieces with `Content-Range`, then completed by an
//! empty PUT. When a request's connection drops (or the registry answers 416:
//! another request moved the upload on), the registry is asked how far it got
//! (GET on the session → `Range: 0-N`) and the upload goes on from there; a
//! registry that cannot resume (the session is gone or invalid) gets a fresh
//! session from byte 0. A completing PUT whose answer was lost is confirmed
//! by a HEAD of the blob.

use crate::auth::repository_scope;
use crate::error::{ClientError, Result, Site};
use crate::local::Local;
use crate::manifest::BlobRef;
use crate::progress::{BlobKind, Event, Sink};
use crate::retry;
use crate::sources::BlobSources;
use crate::transport::{header_str, Registry};
use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{StatusCode, Url};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// How large each read from the local blob file is.
const READ_SIZE: usize = 1 << 20;

/// What happened to a blob on push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    Existed,
    Mounted(String),
    Uploaded,
}

pub async fn push_blob(
    reg: &Registry,
    repository: &str,
    blob: &BlobRef,
    kind: BlobKind,
    local: &Local,
    sources: &BlobSources,
    sink: &Sink,
) -> Result<Pushed> {
    let digest = &blob.digest;
    let scopes = vec![repository_scope(repository, "pull,push")];
    let site = Site::new(&reg.host, repository, format!("checking blob {digest}"));
    let url = reg.url(&format!("/v2/{repository}/blobs/{digest}"));
    let resp = reg
        .send(&site, &scopes, true, |h| h.head(url.clone()))
        .await?;
    match resp.status() {
        s if s.is_success() => {
            sink(Event::BlobSkipped {
                digest: digest.clone(),
                size: blob.size,
                how: "exists".into(),
            });
            return Ok(Pushed::Existed);
        }
        StatusCode::NOT_FOUND => {}
        _ => return Err(reg.error_for(&site, resp, &format!("blob {digest}")).await),
    }

    let mut session = None;
    for from in sources
        .repositories_on(digest, &reg.host, repository)
        .into_iter()
        .take(2)
    {
        match try_mount(reg, repository, digest, &from, &scopes).await {
            Ok(MountResult::Mounted) => {
                sink(Event::BlobSkipped {
                    digest: digest.clone(),
                    size: blob.size,
                    how: format!("mounted from {from}"),
                });
                return Ok(Pushed::Mounted(from));
            }
            Ok(MountResult::Session(loc)) => {
                session = Some(loc);
                break;
            }
            Err(e) => tracing::debug!(error = %e, %from, "mount failed, uploading"),
        }
    }

    sink(Event::BlobStart {
        digest: digest.clone(),
        size: blob.size,
        kind,
    });
    upload(reg, repository, blob, local, session, &scopes, sink).await?;
    sink(Event::BlobDone {
        digest: digest.clone(),
        size: blob.size,
    });
    Ok(Pushed::Uploaded)
}

enum MountResult {
    Mounted,
    /// The registry could not mount but opened an upload session instead.
    Session(Url),
}

async fn try_mount(
    reg: &Registry,
    repository: &str,
    digest: &str,
    from: &str,
    push_scopes: &[String],
) -> Result<MountResult> {
    let site = Site::new(
        &reg.host,
        repository,
        format!("mounting blob {digest} from {from}"),
    );
    let mut scopes = push_scopes.to_vec();
    scopes.push(repository_scope(from, "pull"));
    let mut url = reg.url(&format!("/v2/{repository}/blobs/uploads/"));
    url.query_pairs_mut()
        .append_pair("mount", digest)
        .append_pair("from", from);
    let resp = reg
        .send(&site, &scopes, true, |h| {
            h.post(url.clone()).header(CONTENT_LENGTH, 0)
        })
        .await?;
    match resp.status() {
        StatusCode::CREATED => Ok(MountResult::Mounted),
        StatusCode::ACCEPTED => Ok(MountResult::Session(session_location(reg, &site, &resp)?)),
        _ => Err(reg.error_for(&site, resp, "mount").await),
    }
}

async fn start_session(
    reg: &Registry,
    site: &Site,
    repository: &str,
    scopes: &[String],
) -> Result<Url> {
    let url = reg.url(&format!("/v2/{repository}/blobs/uploads/"));
    let resp = reg
        .send(site, scopes, true, |h| {
            h.post(url.clone()).header(CONTENT_LENGTH, 0)
        })
        .await?;
    if resp.status() != StatusCode::ACCEPTED {
        return Err(reg.error_for(site, resp, "upload session").await);
    }
    session_location(reg, site, &resp)
}

fn session_location(reg: &Registry, site: &Site, resp: &reqwest::Response) -> Result<Url> {
    let loc = header_str(resp.headers(), LOCATION)
        .ok_or_else(|| ClientError::protocol(site, "upload answer has no Location header"))?;
    reg.location(site, &loc)
}

async fn upload(
    reg: &Registry,
    repository: &str,
    blob: &BlobRef,
    local: &Local,
    session: Option<Url>,
    scopes: &[String],
    sink: &Sink,
) -> Result<()> {
    let digest = &blob.digest;
    let site = Site::new(&reg.host, repository, format!("uploading blob {digest}"));
    let file = Arc::new(local.open_blob(digest)?);
    let mut location = match session {
        Some(l) => l,
        None => start_session(reg, &site, repository, scopes).await?,
    };
    if blob.size <= reg.opts.chunk_size {
        return put_whole(reg, repository, blob, &file, location, scopes, sink).await;
    }
    let mut offset = 0u64;
    let mut drops = 0u32;
    loop {
        match send_chunks(
            reg,
            &site,
            scopes,
            &file,
            blob,
            &mut location,
            &mut offset,
            sink,
        )
        .await
        {
            Ok(()) => break,
            Err(e) if (e.is_transient() || moved_on(&e)) && drops < reg.opts.retries => {
                drops += 1;
                tracing::info!(%site, offset, error = %e, "upload interrupted, resuming");
                tokio::time::sleep(retry::delay(drops - 1)).await;
                match session_status(reg, &site, scopes, &location).await {
                    Ok((registry_offset, loc)) if registry_offset <= blob.size => {
                        offset = registry_offset;
                        location = loc;
                    }
                    other => {
                        tracing::info!(%site, status = ?other.err(), "upload session lost, starting over");
                        location = start_session(reg, &site, repository, scopes).await?;
                        offset = 0;
                    }
                }
                sink(Event::BlobResume {
                    digest: digest.clone(),
                    offset,
                });
            }
            Err(e) => return Err(e),
        }
    }
    complete(reg, repository, blob, &location, scopes, None).await
}

/// A small blob in one request: PUT `?digest=` with all its bytes. A
/// dropped request is sent again on a fresh session (it is small).
async fn put_whole(
    reg: &Registry,
    repository: &str,
    blob: &BlobRef,
    file: &Arc<std::fs::File>,
    mut location: Url,
    scopes: &[String],
    sink: &Sink,
) -> Result<()> {
    let site = Site::new(
        &reg.host,
        repository,
        format!("uploading blob {}", blob.digest),
    );
    let mut drops = 0u32;
    loop {
        let body = Some((file.clone(), sink.clone()));
        match complete(reg, repository, blob, &location, scopes, body).await {
            Err(e) if e.is_transient() && drops < reg.opts.retries => {
                drops += 1;
                tracing::info!(%site, error = %e, "upload interrupted, sending it again");
                tokio::time::sleep(retry::delay(drops - 1)).await;
                location = start_session(reg, &site, repository, scopes).await?;
                sink(Event::BlobResume {
                    digest: blob.digest.clone(),
                    offset: 0,
                });
            }
            other => return other,
        }
    }
}

/// Whether a PATCH was refused because the upload is not where the client
/// thought (416): another request moved it on, or an interrupted one left
/// more than the client counted. Asking for the status settles it.
fn moved_on(e: &ClientError) -> bool {
    matches!(e, ClientError::Status { status: 416, .. })
}

/// The completing PUT `?digest=`, empty or (for a small blob) carrying the
/// whole blob. A lost answer whose upload did complete is recognised by a
/// HEAD of the blob: the session is gone but the blob is there.
async fn complete(
    reg: &Registry,
    repository: &str,
    blob: &BlobRef,
    location: &Url,
    scopes: &[String],
    body: Option<(Arc<std::fs::File>, Sink)>,
) -> Result<()> {
    let digest = &blob.digest;
    let mut url = location.clone();
    url.query_pairs_mut().append_pair("digest", digest);
    let site = Site::new(
        &reg.host,
        repository,
        format!("completing upload of blob {digest}"),
    );
    // A body can be sent once per request; retries are the caller's.
    let retry = body.is_none();
    let resp = reg
        .send(&site, scopes, retry, |h| match &body {
            None => h.put(url.clone()).header(CONTENT_LENGTH, 0),
            Some((file, sink)) => h
                .put(url.clone())
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, blob.size)
                .body(file_body(file.clone(), 0, blob.size, digest, sink.clone())),
        })
        .await?;
    match resp.status() {
        StatusCode::CREATED | StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
        StatusCode::BAD_REQUEST => {
            let err = reg.error_for(&site, resp, "upload").await;
            if err.to_string().contains("DIGEST_INVALID") {
                return Err(ClientError::DigestMismatch {
                    site,
                    expected: digest.clone(),
                    actual: "something else on the registry's side".into(),
                });
            }
            Err(err)
        }
        StatusCode::NOT_FOUND if retry && blob_present(reg, repository, digest, scopes).await => {
            Ok(())
        }
        _ => Err(reg.error_for(&site, resp, "upload session").await),
    }
}

/// Whether the registry serves `digest` in `repository` now.
async fn blob_present(reg: &Registry, repository: &str, digest: &str, scopes: &[String]) -> bool {
    let site = Site::new(&reg.host, repository, format!("checking blob {digest}"));
    let url = reg.url(&format!("/v2/{repository}/blobs/{digest}"));
    reg.send(&site, scopes, true, |h| h.head(url.clone()))
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// PATCHes the blob from `offset` to the end in chunks of the configured size.
#[allow(clippy::too_many_arguments)]
async fn send_chunks(
    reg: &Registry,
    site: &Site,
    scopes: &[String],
    file: &Arc<std::fs::File>,
    blob: &BlobRef,
    location: &mut Url,
    offset: &mut u64,
    sink: &Sink,
) -> Result<()> {
    // An empty blob needs no PATCH at all: the PUT completes it.
    while *offset < blob.size {
        let start = *offset;
        let end = (start + reg.opts.chunk_size.max(1)).min(blob.size);
        let loc = location.clone();
        let resp = reg
            .send(site, scopes, false, |h| {
                h.patch(loc.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_RANGE, format!("{start}-{}", end - 1))
                    .header(CONTENT_LENGTH, end - start)
                    .body(file_body(
                        file.clone(),
                        start,
                        end,
                        &blob.digest,
                        sink.clone(),
                    ))
            })
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(reg.error_for(site, resp, "upload session").await);
        }
        *offset = match header_str(resp.headers(), RANGE).and_then(|r| range_end(&r)) {
            Some(last) => last + 1,
            None => end,
        };
        *location = session_location(reg, site, &resp)?;
    }
    Ok(())
}

/// Where the registry's copy of the upload ends, and the session's location.
async fn session_status(
    reg: &Registry,
    site: &Site,
    scopes: &[String],
    location: &Url,
) -> Result<(u64, Url)> {
    let resp = reg
        .send(site, scopes, true, |h| h.get(location.clone()))
        .await?;
    if resp.status() != StatusCode::NO_CONTENT && resp.status() != StatusCode::OK {
        return Err(reg.error_for(site, resp, "upload session").await);
    }
    let offset = header_str(resp.headers(), RANGE)
        .and_then(|r| range_end(&r))
        .map_or(0, |last| last + 1);
    let loc = match header_str(resp.headers(), LOCATION) {
        Some(l) => reg.location(site, &l)?,
        None => location.clone(),
    };
    Ok((offset, loc))
}

/// The last byte of a `Range: 0-N` (or `bytes=0-N`) upload status header.
/// Registries answer `0-0` for an empty session too; it is read as "nothing
/// stored" (`None`): resending one byte is harmless, skipping one is not.
fn range_end(v: &str) -> Option<u64> {
    let v = v.trim().trim_start_matches("bytes=");
    let (start, end) = v.split_once('-')?;
    if start.trim() != "0" {
        return None;
    }
    end.trim().parse().ok().filter(|&n| n > 0)
}

/// A request body streaming bytes `start..end` of `file`, reporting progress.
/// Reads run on the blocking pool one piece ahead of the sending: while
/// hyper writes one piece to the socket the next is already being read.
fn file_body(
    file: Arc<std::fs::File>,
    start: u64,
    end: u64,
    digest: &str,
    sink: Sink,
) -> reqwest::Body {
    type Read = tokio::task::JoinHandle<std::io::Result<Vec<u8>>>;
    let read_at = move |file: &Arc<std::fs::File>, pos: u64| -> Option<Read> {
        if pos >= end {
            return None;
        }
        let len = ((end - pos) as usize).min(READ_SIZE);
        let file = file.clone();
        Some(tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; len];
            file.read_exact_at(&mut buf, pos).map(|_| buf)
        }))
    };
    let digest = digest.to_string();
    let first = read_at(&file, start);
    let stream = futures::stream::unfold((start, first), move |(pos, pending)| {
        let file = file.clone();
        let sink = sink.clone();
        let digest = digest.clone();
        async move {
            let read = pending?
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            match read {
                Ok(buf) => {
                    let next_pos = pos + buf.len() as u64;
                    let next = read_at(&file, next_pos);
                    sink(Event::BlobBytes {
                        digest,
                        bytes: buf.len() as u64,
                    });
                    Some((
                        Ok::<Bytes, std::io::Error>(Bytes::from(buf)),
                        (next_pos, next),
                    ))
                }
                Err(e) => Some((Err(e), (end, None))),
            }
        }
    });
    reqwest::Body::wrap_stream(stream)
}

#[cfg(test)]
mod tests {
    #[test]
    fn upload_range_header() {
        assert_eq!(super::range_end("0-1023"), Some(1023));
        assert_eq!(super::range_end("bytes=0-9"), Some(9));
        assert_eq!(super::range_end("5-9"), None);
        assert_eq!(super::range_end("0-0"), None);
        assert_eq!(super::range_end("junk"), None);
    }
}
