//! `GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>`.

use super::reply::{self, ApiResult};
use super::Ctx;
use crate::error::RegistryError;
use crate::media;
use crate::storage::ManifestRef;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use futures::StreamExt;

pub async fn handle(
    ctx: &Ctx<'_>,
    method: &Method,
    headers: &HeaderMap,
    reference: &ManifestRef,
    body: Body,
) -> ApiResult {
    let storage = &ctx.app.storage;
    let name = ctx.name();
    match *method {
        Method::GET | Method::HEAD => {
            let m = storage.get_manifest(name, reference).await?;
            if !acceptable(headers, &m.media_type) {
                return Err(RegistryError::ManifestUnknown(format!(
                    "{name}@{} is {}, which the request's Accept header excludes",
                    m.digest, m.media_type
                ))
                .into());
            }
            let len = m.body.len();
            let body = if *method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(m.body)
            };
            let mut r = axum::response::Response::builder()
                .status(StatusCode::OK)
                .body(body)
                .expect("valid response");
            reply::set(&mut r, "content-length", len);
            reply::set(&mut r, "content-type", &m.media_type);
            reply::set(&mut r, "docker-content-digest", &m.digest);
            reply::set(&mut r, "etag", format!("\"{}\"", m.digest));
            Ok(r)
        }
        Method::PUT => {
            let limit = storage.limits().max_manifest_bytes;
            let body = read_limited(body, limit).await?;
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let put = storage
                .put_manifest(name, reference, content_type, body)
                .await?;
            let mut r = reply::empty(StatusCode::CREATED);
            reply::set(
                &mut r,
                "location",
                format!("/v2/{name}/manifests/{}", put.digest),
            );
            reply::set(&mut r, "docker-content-digest", &put.digest);
            if let Some(subject) = put.subject {
                reply::set(&mut r, "oci-subject", subject);
            }
            Ok(r)
        }
        Method::DELETE => {
            storage.delete_manifest(name, reference).await?;
            Ok(reply::empty(StatusCode::ACCEPTED))
        }
        _ => Err(RegistryError::Unsupported("method not allowed".into()).into()),
    }
}

/// Whether the Accept header (if any) admits `media_type`. A request that
/// names no manifest type at all (curl's `*/*`, or none) gets what is stored.
fn acceptable(headers: &HeaderMap, media_type: &str) -> bool {
    let accepted: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    let names_manifests = accepted.iter().any(|t| media::ACCEPTED.contains(t));
    !names_manifests || accepted.iter().any(|t| *t == media_type || *t == "*/*")
}

/// Reads a body up to `limit` bytes; more is SIZE_INVALID (413).
async fn read_limited(body: Body, limit: u64) -> Result<bytes::Bytes, RegistryError> {
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| RegistryError::ManifestInvalid(format!("reading body: {e}")))?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(RegistryError::TooLarge(format!(
                "manifest exceeds the {limit}-byte limit (max_manifest_bytes)"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
