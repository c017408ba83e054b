//! `GET/HEAD/DELETE /v2/<name>/blobs/<digest>`, with single byte ranges.

use super::reply::{self, ApiError, ApiResult};
use super::Ctx;
use crate::digests::Digest;
use crate::error::RegistryError;
use crate::notify::{Action, Target};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};

pub async fn handle(
    ctx: &Ctx<'_>,
    method: &Method,
    headers: &HeaderMap,
    digest: &Digest,
) -> ApiResult {
    let storage = &ctx.app.storage;
    if *method == Method::DELETE {
        storage.delete_blob(ctx.name(), digest).await?;
        ctx.notify(Action::Delete, "blobs", || Target {
            digest: digest.to_string(),
            ..Target::default()
        });
        return Ok(reply::empty(StatusCode::ACCEPTED));
    }
    if let Some(proxy) = &ctx.app.proxy {
        // Not held yet: streamed from upstream while it is stored.
        if let Some(r) = proxy
            .blob(ctx.name(), digest, *method == Method::HEAD)
            .await?
        {
            if *method == Method::GET {
                let size = r
                    .headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .unwrap_or(0);
                notify_pull(ctx, digest, size);
            }
            return Ok(r);
        }
    }
    let size = storage
        .blob_stat(ctx.name(), digest)
        .await?
        .ok_or_else(|| RegistryError::BlobUnknown(digest.to_string()))?;
    if *method == Method::GET {
        // distribution sends a pull for a blob GET (ServeBlob), not a HEAD (Stat).
        notify_pull(ctx, digest, size);
        // S3 `redirect = true`: the client fetches the bytes from the store.
        let key = crate::storage::paths::blob_data(digest);
        if let Some(url) = storage
            .driver()
            .presign_get(&key)
            .await
            .map_err(RegistryError::Storage)?
        {
            let mut r = reply::empty(StatusCode::TEMPORARY_REDIRECT);
            reply::set(&mut r, "location", url);
            reply::set(&mut r, "docker-content-digest", digest);
            return Ok(r);
        }
    }
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(spec) => Some(parse_range(spec, size).ok_or_else(|| {
            ApiError::from(RegistryError::RangeNotSatisfiable(format!(
                "{spec} of {size} bytes"
            )))
            .with_header(header::CONTENT_RANGE, format!("bytes */{size}"))
        })?),
        None => None,
    };
    let (status, len) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, end - start),
        None => (StatusCode::OK, size),
    };
    let body = if *method == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(storage.blob_read(digest, range).await?)
    };
    let mut r = axum::response::Response::builder()
        .status(status)
        .body(body)
        .expect("valid response");
    reply::set(&mut r, "content-length", len);
    reply::set(&mut r, "content-type", "application/octet-stream");
    reply::set(&mut r, "docker-content-digest", digest);
    reply::set(&mut r, "etag", format!("\"{digest}\""));
    reply::set(&mut r, "accept-ranges", "bytes");
    if let Some((start, end)) = range {
        reply::set(
            &mut r,
            "content-range",
            format!("bytes {start}-{}/{size}", end - 1),
        );
    }
    Ok(r)
}

fn notify_pull(ctx: &Ctx<'_>, digest: &Digest, size: u64) {
    ctx.notify(Action::Pull, "blobs", || Target {
        media_type: "application/octet-stream".into(),
        size,
        length: size,
        digest: digest.to_string(),
        ..Target::default()
    });
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` as a half-open range within `size`.
pub(super) fn parse_range(spec: &str, size: u64) -> Option<(u64, u64)> {
    let spec = spec.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (size.saturating_sub(n), size)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            size
        } else {
            // `bytes=0-18446744073709551615` overflowed `+ 1` (found by fuzz/registry_http).
            b.parse::<u64>().ok()?.saturating_add(1).min(size)
        };
        (start, end)
    };
    (start < end && start < size).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 10)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 100)));
        assert_eq!(parse_range("bytes=-5", 100), Some((95, 100)));
        assert_eq!(parse_range("bytes=95-200", 100), Some((95, 100)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-2", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=0-1,4-5", 100), None);
        assert_eq!(
            parse_range("bytes=0-18446744073709551615", 100),
            Some((0, 100))
        );
    }
}
