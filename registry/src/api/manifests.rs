//! `GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>`.

use super::reply::{self, ApiError, ApiResult};
use super::Ctx;
use crate::error::RegistryError;
use crate::media;
use crate::notify::{Action, Target};
use crate::storage::ManifestRef;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use futures::StreamExt;

static DOCKER_CONTENT_DIGEST: header::HeaderName =
    header::HeaderName::from_static("docker-content-digest");

/// `?tag=` parameters accepted on one manifest PUT (the spec asks for at
/// least 10); more is 414.
const MAX_TAG_PARAMS: usize = 100;

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
            if let Some(proxy) = &ctx.app.proxy {
                // Fetched, or revalidated after its TTL, before it is served.
                proxy.manifest(name, reference).await?;
            }
            let stored = storage.get_manifest(name, reference).await?;
            let m = &*stored.resolved;
            if !acceptable(headers, &m.media_type) {
                return Err(RegistryError::ManifestUnknown(format!(
                    "{name}@{} is {}, which the request's Accept header excludes",
                    m.digest, m.media_type
                ))
                .into());
            }
            let len = stored.body.len();
            let body = if *method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(stored.body)
            };
            let mut r = axum::response::Response::builder()
                .status(StatusCode::OK)
                .body(body)
                .expect("valid response");
            let h = r.headers_mut();
            h.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
            if let Some(v) = &m.content_type {
                h.insert(header::CONTENT_TYPE, v.clone());
            }
            h.insert(&DOCKER_CONTENT_DIGEST, m.digest_header.clone());
            h.insert(header::ETAG, m.etag.clone());
            // Only a GET is a pull: a HEAD is a client checking what it may
            // already hold (docker and containerd HEAD before each pull), and
            // distribution sends nothing for a blob HEAD either.
            if *method == Method::GET {
                ctx.notify(Action::Pull, "manifests", || Target {
                    media_type: m.media_type.to_string(),
                    size: len as u64,
                    length: len as u64,
                    digest: m.digest.to_string(),
                    tag: tag_of(reference),
                    ..Target::default()
                });
            }
            Ok(r)
        }
        Method::PUT => {
            let limit = storage.limits().max_manifest_bytes;
            let body = read_limited(body, limit).await?;
            ctx.app
                .limits
                .check_json_depth(&body)
                .map_err(RegistryError::ManifestInvalid)?;
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let extra_tags = ctx.query.all("tag");
            if extra_tags.len() > MAX_TAG_PARAMS {
                return Err(ApiError::status(
                    StatusCode::URI_TOO_LONG,
                    "TAG_INVALID",
                    &format!("at most {MAX_TAG_PARAMS} ?tag= parameters per request"),
                ));
            }
            let size = body.len() as u64;
            // For the event only, and read before the body is handed over.
            let media_type = ctx.request.is_some().then(|| {
                content_type
                    .map(str::to_string)
                    .unwrap_or_else(|| declared_media_type(&body))
            });
            let put = storage
                .put_manifest(name, reference, content_type, body, &extra_tags)
                .await?;
            ctx.notify(Action::Push, "manifests", || Target {
                media_type: media_type.unwrap_or_default(),
                size,
                length: size,
                digest: put.digest.to_string(),
                tag: tag_of(reference),
                ..Target::default()
            });
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
            // One OCI-Tag header per tag the `?tag=` parameters created.
            for tag in &extra_tags {
                if let Ok(v) = header::HeaderValue::from_str(tag) {
                    r.headers_mut().append("oci-tag", v);
                }
            }
            Ok(r)
        }
        Method::DELETE => {
            storage.delete_manifest(name, reference).await?;
            // As distribution: a manifest delete names the digest, a tag
            // delete names the tag.
            let target = match reference {
                ManifestRef::Digest(d) => Target {
                    digest: d.to_string(),
                    ..Target::default()
                },
                ManifestRef::Tag(t) => Target {
                    tag: t.clone(),
                    ..Target::default()
                },
            };
            ctx.notify(Action::Delete, "manifests", || target);
            Ok(reply::empty(StatusCode::ACCEPTED))
        }
        _ => Err(RegistryError::Unsupported("method not allowed".into()).into()),
    }
}

/// The answer for a `<reference>` that is neither a tag nor a digest: a PUT
/// is refused with the parse error (TAG_INVALID, DIGEST_INVALID); anything
/// else is 404 MANIFEST_UNKNOWN, as the spec says for a manifest that does
/// not exist — no manifest can exist under such a reference.
pub fn bad_reference(
    ctx: &Ctx<'_>,
    method: &Method,
    reference: &str,
    error: &ApiError,
) -> ApiError {
    if *method == Method::PUT {
        return error.clone();
    }
    RegistryError::ManifestUnknown(format!(
        "{}:{reference:?} (not a valid tag or digest)",
        ctx.name()
    ))
    .into()
}

fn tag_of(reference: &ManifestRef) -> String {
    match reference {
        ManifestRef::Tag(t) => t.clone(),
        ManifestRef::Digest(_) => String::new(),
    }
}

/// The `mediaType` a manifest body declares (for a PUT without Content-Type).
fn declared_media_type(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("mediaType")?.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Whether the Accept header (if any) admits `media_type`. A request that
/// names no manifest type at all (curl's `*/*`, or none) gets what is stored.
fn acceptable(headers: &HeaderMap, media_type: &str) -> bool {
    // Walked twice instead of collected: no allocation on every GET.
    let accepted = || {
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.split(';').next().unwrap_or("").trim())
    };
    let names_manifests = accepted().any(|t| media::ACCEPTED.contains(&t));
    !names_manifests || accepted().any(|t| t == media_type || t == "*/*")
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
