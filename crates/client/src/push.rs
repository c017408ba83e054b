//! `push`: send a local image's blobs (in parallel, skipping or mounting what
//! the registry already has) and then its manifest, byte for byte as stored,
//! with its original media type. An index is pushed child by child (each
//! by digest), then the index itself under the tag.

use crate::auth::repository_scope;
use crate::error::{ClientError, Result, Site};
use crate::local::Local;
use crate::manifest::{self, BlobRef, Parsed};
use crate::progress::{BlobKind, Event, Sink};
use crate::sources::BlobSources;
use crate::transport::{header_str, ClientOptions, Registry};
use crate::upload::{push_blob, Pushed};
use futures::{StreamExt, TryStreamExt};
use hoist_oci::Reference;
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;

/// What a push did.
#[derive(Debug, Clone, Default)]
pub struct PushReport {
    /// Digest of the manifest (or index) pushed under the tag.
    pub digest: String,
    pub uploaded: usize,
    pub existed: usize,
    pub mounted: usize,
}

/// Pushes local image `source` to `dest`.
pub async fn push(
    local: &Local,
    source: &str,
    dest: &Reference,
    opts: &ClientOptions,
    sink: Sink,
) -> Result<PushReport> {
    let image = local.resolve(source)?;
    let reg = Registry::connect(dest.registry(), opts, None).await?;
    let repo = dest.repository();
    let target = dest.tag_or_digest();
    if let Some(d) = dest.digest() {
        if d.to_string() != image.digest {
            return Err(ClientError::LocalImage {
                name: source.to_string(),
                detail: format!(
                    "its digest is {}, not {d} as the destination says",
                    image.digest
                ),
            });
        }
    }
    let bytes = local.read_blob(&image.digest)?;
    let mut report = PushReport {
        digest: image.digest.clone(),
        ..Default::default()
    };
    let site = Site::new(
        &reg.host,
        repo,
        format!("reading local manifest {}", image.digest),
    );
    if manifest::is_index(&image.media_type) {
        let Parsed::Index { manifests } = manifest::parse(&bytes, &image.media_type, &site)? else {
            unreachable!("index media type parses as an index")
        };
        for child in &manifests {
            if !local.has_blob(&child.digest)? {
                return Err(ClientError::LocalImage {
                    name: source.to_string(),
                    detail: format!(
                        "its index lists manifest {} which is not in the local store; pull it first",
                        child.digest
                    ),
                });
            }
            let child_bytes = local.read_blob(&child.digest)?;
            let media_type = if child.media_type.is_empty() {
                manifest::media_type_of(&child_bytes, None).unwrap_or_default()
            } else {
                child.media_type.clone()
            };
            push_image(
                &reg,
                repo,
                local,
                &child_bytes,
                &media_type,
                &child.digest,
                &child.digest,
                opts,
                &sink,
                &mut report,
            )
            .await?;
        }
        put_manifest(
            &reg,
            repo,
            &target,
            &bytes,
            &image.media_type,
            &image.digest,
        )
        .await?;
    } else {
        push_image(
            &reg,
            repo,
            local,
            &bytes,
            &image.media_type,
            &image.digest,
            &target,
            opts,
            &sink,
            &mut report,
        )
        .await?;
    }
    sink(Event::Finished {
        digest: image.digest.clone(),
    });
    Ok(report)
}

/// Pushes an image manifest's blobs, then the manifest under `target`.
#[allow(clippy::too_many_arguments)]
async fn push_image(
    reg: &Registry,
    repo: &str,
    local: &Local,
    bytes: &[u8],
    media_type: &str,
    digest: &str,
    target: &str,
    opts: &ClientOptions,
    sink: &Sink,
    report: &mut PushReport,
) -> Result<()> {
    let site = Site::new(&reg.host, repo, format!("reading local manifest {digest}"));
    let Parsed::Image { config, layers } = manifest::parse(bytes, media_type, &site)? else {
        return Err(ClientError::protocol(
            &site,
            "an index inside an index is not an image",
        ));
    };
    let mut blobs: Vec<(BlobRef, BlobKind)> = vec![(config, BlobKind::Config)];
    blobs.extend(layers.into_iter().map(|l| (l, BlobKind::Layer)));
    for (b, _) in &blobs {
        if !local.has_blob(&b.digest)? {
            return Err(ClientError::LocalImage {
                name: digest.to_string(),
                detail: format!("blob {} is missing from the local store", b.digest),
            });
        }
    }
    sink(Event::Plan {
        blobs: blobs.len(),
        bytes: blobs.iter().map(|(b, _)| b.size).sum(),
    });
    let sources = BlobSources::new(local.root());
    let outcomes: Vec<Pushed> = futures::stream::iter(blobs.iter())
        .map(|(blob, kind)| push_blob(reg, repo, blob, *kind, local, &sources, sink))
        .buffer_unordered(opts.concurrency.max(1))
        .try_collect()
        .await?;
    for o in &outcomes {
        match o {
            Pushed::Existed => report.existed += 1,
            Pushed::Mounted(_) => report.mounted += 1,
            Pushed::Uploaded => report.uploaded += 1,
        }
    }
    let digests: Vec<String> = blobs.iter().map(|(b, _)| b.digest.clone()).collect();
    sources.record(&digests, &reg.host, repo);
    put_manifest(reg, repo, target, bytes, media_type, digest).await
}

/// PUTs manifest bytes unchanged with their media type, and checks the
/// registry computed the same digest.
async fn put_manifest(
    reg: &Registry,
    repo: &str,
    target: &str,
    bytes: &[u8],
    media_type: &str,
    digest: &str,
) -> Result<()> {
    let site = Site::new(&reg.host, repo, format!("pushing manifest {target}"));
    let scopes = [repository_scope(repo, "pull,push")];
    let url = reg.url(&format!("/v2/{repo}/manifests/{target}"));
    let body = bytes::Bytes::copy_from_slice(bytes);
    let resp = reg
        .send(&site, &scopes, true, |h| {
            h.put(url.clone())
                .header(CONTENT_TYPE, media_type)
                .body(body.clone())
        })
        .await?;
    if resp.status() != StatusCode::CREATED && resp.status() != StatusCode::OK {
        return Err(reg.error_for(&site, resp, "manifest").await);
    }
    if let Some(got) = header_str(resp.headers(), "docker-content-digest") {
        if got != digest {
            return Err(ClientError::DigestMismatch {
                site,
                expected: digest.to_string(),
                actual: format!("{got} (the registry's digest of the manifest)"),
            });
        }
    }
    Ok(())
}
