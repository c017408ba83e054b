//! The API's parsers of outside input, reachable from the fuzz targets
//! (fuzz/) without making the parsers themselves public API.

use axum::http::{HeaderMap, HeaderValue};

/// Routes a request path as the server does: Ok when it names an endpoint.
pub fn route(path: &str) -> bool {
    super::route::parse(path).is_ok()
}

/// Decodes a query string as the server does; returns how many pairs it held.
pub fn query(q: &str) -> usize {
    let q = super::route::Query::parse(Some(q));
    q.all("tag").len() + usize::from(q.get("digest").is_some())
}

/// A `Range` request header against a blob of `size` bytes.
pub fn range(spec: &str, size: u64) -> Option<(u64, u64)> {
    super::blobs::parse_range(spec, size)
}

/// A `Content-Range` upload header: `Some(Ok(..))` when well formed.
pub fn content_range(value: &[u8]) -> Option<Result<Option<(u64, u64)>, ()>> {
    let value = HeaderValue::from_bytes(value).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(axum::http::header::CONTENT_RANGE, value);
    let range = super::uploads::content_range(&headers).map_err(|_| ());
    if let Ok(r) = range {
        // With every Content-Length the range could be checked against.
        for declared in [0, 1, u64::MAX] {
            let _ = super::uploads::check_range_length(r, Some(declared));
        }
        if let Some((start, end)) = r {
            let _ = super::uploads::check_range_length(r, (end - start).checked_add(1));
        }
    }
    Some(range)
}
