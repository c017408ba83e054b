//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (monolithic with
//! `?digest=`, cross-repository mount with `?mount=&from=`, or a new session),
//! then `PATCH` chunks, `PUT ?digest=` to finish, `GET` for the status and
//! `DELETE` to abandon.

use super::reply::{self, ApiError, ApiResult};
use super::{body_stream, Ctx};
use crate::auth::Action;
use crate::digests;
use crate::error::RegistryError;
use crate::metrics::Metrics;
use crate::notify;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// A blob stored by upload (push) or cross-repository mount, as
/// distribution's listener reports them (BlobPushed, BlobMounted).
fn notify_blob(
    ctx: &Ctx<'_>,
    action: notify::Action,
    digest: &digests::Digest,
    size: u64,
    from: &str,
) {
    ctx.notify(action, "blobs", || notify::Target {
        media_type: "application/octet-stream".into(),
        size,
        length: size,
        digest: digest.to_string(),
        from_repository: from.to_string(),
        ..notify::Target::default()
    });
}

fn created(name: &str, digest: &digests::Digest) -> Response {
    let mut r = reply::empty(StatusCode::CREATED);
    reply::set(&mut r, "location", format!("/v2/{name}/blobs/{digest}"));
    reply::set(&mut r, "docker-content-digest", digest);
    r
}

/// 202 with where the session is and how far it got.
fn in_progress(status: StatusCode, name: &str, id: &str, offset: u64) -> Response {
    let mut r = reply::empty(status);
    reply::set(&mut r, "location", format!("/v2/{name}/blobs/uploads/{id}"));
    // distribution's convention: an empty session reports 0-0.
    reply::set(&mut r, "range", format!("0-{}", offset.saturating_sub(1)));
    reply::set(&mut r, "docker-upload-uuid", id);
    r
}

pub async fn start(ctx: &Ctx<'_>, headers: &HeaderMap, body: Body) -> ApiResult {
    let app = ctx.app;
    let name = ctx.name();
    if let (Some(mount), Some(from)) = (ctx.query.get("mount"), ctx.query.get("from")) {
        let digest = digests::parse(mount)?;
        let from_ok = crate::names::validate_repository_name(from).is_ok()
            && app.auth.can(&ctx.identity, from, Action::Pull);
        if from_ok {
            if let Some(size) = app.storage.mount_blob(from, name, &digest).await? {
                notify_blob(ctx, notify::Action::Mount, &digest, size, from);
                return Ok(created(name, &digest));
            }
        }
        // Not mountable: fall through to an ordinary session, as the spec says.
    }
    Metrics::add(&app.metrics.uploads_started, 1);
    if let Some(d) = ctx.query.get("digest") {
        let digest = digests::parse(d)?;
        let size = app
            .storage
            .put_blob(name, &digest, content_length(headers), body_stream(body))
            .await?;
        Metrics::add(&app.metrics.uploads_completed, 1);
        notify_blob(ctx, notify::Action::Push, &digest, size, "");
        return Ok(created(name, &digest));
    }
    let algorithm = ctx.query.get("digest-algorithm");
    let place = app.limits.reserve_session(name).map_err(|message| {
        ApiError::status(StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS", &message)
    })?;
    let id = app.storage.start_upload(name, algorithm).await?;
    place.commit(&id);
    Ok(in_progress(StatusCode::ACCEPTED, name, &id, 0))
}

/// A request to session `id`, kept in the open-session count (limits/)
/// until the session is completed, cancelled or gone.
pub async fn handle(
    ctx: &Ctx<'_>,
    method: &Method,
    headers: &HeaderMap,
    id: &str,
    body: Body,
) -> ApiResult {
    let sessions = &ctx.app.limits.sessions;
    sessions.touch(id);
    let result = session_request(ctx, method, headers, id, body).await;
    let over = match &result {
        Ok(_) => *method == Method::PUT || *method == Method::DELETE,
        Err(_) => matches!(
            ctx.app.storage.upload_status(ctx.name(), id).await,
            Err(RegistryError::BlobUploadUnknown(_))
        ),
    };
    if over {
        sessions.close(id);
    }
    result
}

async fn session_request(
    ctx: &Ctx<'_>,
    method: &Method,
    headers: &HeaderMap,
    id: &str,
    body: Body,
) -> ApiResult {
    let storage = &ctx.app.storage;
    let name = ctx.name();
    match *method {
        Method::GET => {
            let status = storage.upload_status(name, id).await?;
            Ok(in_progress(StatusCode::NO_CONTENT, name, id, status.offset))
        }
        Method::DELETE => {
            storage.cancel_upload(name, id).await?;
            Ok(reply::empty(StatusCode::NO_CONTENT))
        }
        Method::PATCH => {
            let range = content_range(headers)?;
            let declared = content_length(headers);
            check_range_length(range, declared)?;
            let result = storage
                .append_upload(name, id, range.map(|r| r.0), declared, body_stream(body))
                .await;
            match result {
                Ok(status) => Ok(in_progress(StatusCode::ACCEPTED, name, id, status.offset)),
                Err(e @ RegistryError::RangeInvalid(_)) => {
                    // Tell the client where to resume.
                    let offset = storage.upload_status(name, id).await?.offset;
                    Err(ApiError::from(e)
                        .with_header(header::RANGE, format!("0-{}", offset.saturating_sub(1)))
                        .with_header(header::LOCATION, format!("/v2/{name}/blobs/uploads/{id}")))
                }
                Err(e) => Err(e.into()),
            }
        }
        Method::PUT => {
            let digest = ctx
                .query
                .get("digest")
                .ok_or_else(|| RegistryError::DigestInvalid("PUT needs ?digest=".into()))?;
            let digest = digests::parse(digest)?;
            let declared = content_length(headers);
            if declared != Some(0) {
                let range = content_range(headers)?;
                storage
                    .append_upload(name, id, range.map(|r| r.0), declared, body_stream(body))
                    .await?;
            }
            let size = storage.complete_upload(name, id, &digest).await?;
            Metrics::add(&ctx.app.metrics.uploads_completed, 1);
            notify_blob(ctx, notify::Action::Push, &digest, size, "");
            Ok(created(name, &digest))
        }
        _ => Err(ApiError::status(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "method not allowed",
        )),
    }
}

/// A PATCH's `Content-Range` must cover exactly its `Content-Length`.
/// `0-18446744073709551615` covers 2^64 bytes: `end + 1 - start` overflowed
/// (a panic in debug builds) before this was checked arithmetic.
pub(super) fn check_range_length(
    range: Option<(u64, u64)>,
    declared: Option<u64>,
) -> Result<(), RegistryError> {
    if let (Some((start, end)), Some(len)) = (range, declared) {
        let covered = (end - start).checked_add(1);
        if covered != Some(len) {
            return Err(RegistryError::RangeInvalid(format!(
                "Content-Range {start}-{end} is {} bytes but Content-Length is {len}",
                u128::from(end - start) + 1
            )));
        }
    }
    Ok(())
}

/// `Content-Range: <start>-<end>` (inclusive; an optional `bytes ` prefix and
/// `/total` suffix are tolerated).
pub(super) fn content_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(v) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let invalid = || RegistryError::RangeInvalid(format!("malformed Content-Range {v:?}"));
    let s = v.to_str().map_err(|_| invalid())?;
    let s = s.trim().trim_start_matches("bytes").trim();
    let s = s.split('/').next().unwrap_or("");
    let (a, b) = s.split_once('-').ok_or_else(invalid)?;
    let start: u64 = a.trim().parse().map_err(|_| invalid())?;
    let end: u64 = b.trim().parse().map_err(|_| invalid())?;
    if end < start {
        return Err(invalid().into());
    }
    Ok(Some((start, end)))
}

#[cfg(test)]
mod tests {
    use super::check_range_length;

    #[test]
    fn range_length_check_never_overflows() {
        assert!(check_range_length(Some((0, 9)), Some(10)).is_ok());
        assert!(check_range_length(Some((0, 9)), Some(9)).is_err());
        assert!(check_range_length(Some((0, u64::MAX)), Some(0)).is_err());
        assert!(check_range_length(Some((0, u64::MAX)), Some(u64::MAX)).is_err());
        assert!(check_range_length(Some((1, u64::MAX)), Some(u64::MAX)).is_ok());
        assert!(check_range_length(None, Some(5)).is_ok());
    }
}
