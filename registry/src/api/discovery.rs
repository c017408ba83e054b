//! Content discovery: tags list and catalog (with `n`/`last` pagination and
//! `Link` headers) and the referrers API.

use super::reply::{self, ApiError, ApiResult};
use super::Ctx;
use crate::digests::Digest;
use crate::media;
use axum::http::StatusCode;
use serde_json::json;

/// Applies `last` and `n` to a sorted list; returns the page and whether more follow.
fn page(all: Vec<String>, ctx: &Ctx<'_>) -> Result<(Vec<String>, Option<usize>), ApiError> {
    let n = match ctx.query.get("n") {
        Some(v) => Some(v.parse::<usize>().map_err(|_| {
            ApiError::status(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID",
                "n must be a number",
            )
        })?),
        None => None,
    };
    let mut items: Vec<String> = match ctx.query.get("last") {
        Some(last) => all.into_iter().filter(|t| t.as_str() > last).collect(),
        None => all,
    };
    match n {
        Some(n) if items.len() > n => {
            items.truncate(n);
            Ok((items, Some(n)))
        }
        _ => Ok((items, None)),
    }
}

fn with_link(
    mut r: axum::response::Response,
    path: &str,
    items: &[String],
    more: Option<usize>,
) -> axum::response::Response {
    if let (Some(n), Some(last)) = (more, items.last()) {
        reply::set(
            &mut r,
            "link",
            format!("<{path}?last={last}&n={n}>; rel=\"next\""),
        );
    }
    r
}

pub async fn tags(ctx: &Ctx<'_>) -> ApiResult {
    // A proxied repository lists upstream's tags; the local ones only when
    // upstream cannot answer (proxy/tags.rs).
    let upstream = match &ctx.app.proxy {
        Some(proxy) => proxy.upstream_tags(ctx.name()).await,
        None => None,
    };
    let all = match upstream {
        Some(tags) => tags,
        None => ctx.app.storage.tags(ctx.name()).await?,
    };
    let (tags, more) = page(all, ctx)?;
    let r = reply::json(
        StatusCode::OK,
        "application/json",
        &json!({ "name": ctx.name(), "tags": tags }),
    );
    Ok(with_link(
        r,
        &format!("/v2/{}/tags/list", ctx.name()),
        &tags,
        more,
    ))
}

/// Local repositories only, with a proxy too (pulled-through ones are
/// stored like pushed ones): distribution's proxy mode answers the same.
pub async fn catalog(ctx: &Ctx<'_>) -> ApiResult {
    let all: Vec<String> = ctx
        .app
        .storage
        .catalog()
        .await?
        .into_iter()
        .filter(|repo| ctx.app.auth.can_list(&ctx.identity, repo))
        .collect();
    let (repos, more) = page(all, ctx)?;
    let r = reply::json(
        StatusCode::OK,
        "application/json",
        &json!({ "repositories": repos }),
    );
    Ok(with_link(r, "/v2/_catalog", &repos, more))
}

pub async fn referrers(ctx: &Ctx<'_>, subject: &Digest) -> ApiResult {
    let filter = ctx.query.get("artifactType").filter(|s| !s.is_empty());
    let found = ctx
        .app
        .storage
        .referrers(ctx.name(), subject, filter)
        .await?;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": found,
    });
    let mut r = reply::json(StatusCode::OK, media::OCI_INDEX, &index);
    if filter.is_some() {
        reply::set(&mut r, "oci-filters-applied", "artifactType");
    }
    Ok(r)
}
