//! `pull`: resolve a reference to a manifest (through an index for the wanted
//! platform), download its config and layers in parallel, checking each layer
//! as it streams (the checks and limits of `hoist import`), then publish the
//! blobs, store the manifest's original bytes and name the image. The
//! manifest is written last, so an interrupted pull never leaves a named
//! image with missing blobs; blobs become visible only once every layer has
//! passed, so a refused image leaves nothing in the store.

use crate::auth::repository_scope;
use crate::download::{download_blob, Downloaded};
use crate::error::{ClientError, Result, Site};
use crate::layer_check::{check_diff_ids, is_tar_layer};
use crate::local::Local;
use crate::manifest::{self, BlobRef, Parsed, Platform};
use crate::mirrors::{Mirrors, Source};
use crate::progress::{BlobKind, Event, Sink};
use crate::sources::BlobSources;
use crate::transport::{header_str, ClientOptions, Registry};
use bytes::Bytes;
use futures::StreamExt;
use hoist_oci::{Digest, Reference};
use hoist_store::layer::{LayerLimits, ValidateOptions};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;

/// Manifests larger than this are refused (hostile or broken registry).
const MAX_MANIFEST: usize = 4 << 20;

/// What a pull produced.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The name the image is stored under (empty when pulled by digest only).
    pub name: String,
    /// The image manifest's digest (the platform's, when the tag is an index).
    pub digest: String,
    pub media_type: String,
    /// The index's digest when the reference named one.
    pub index_digest: Option<String>,
}

/// A manifest as the registry sent it.
pub struct Fetched {
    pub bytes: Bytes,
    pub media_type: String,
    pub digest: String,
}

/// Pulls with the layer limits of the environment (`HOIST_MAX_LAYER_SIZE`,
/// see `hoist_store::layer::LayerLimits::from_env`).
pub async fn pull(
    reference: &Reference,
    local: &Local,
    opts: &ClientOptions,
    platform: Option<&Platform>,
    sink: Sink,
) -> Result<Pulled> {
    let limits = LayerLimits::from_env().map_err(|e| ClientError::Limits(e.to_string()))?;
    // Device nodes are kept, as `hoist import` and docker keep them: the
    // container's devices cgroup decides what opens.
    let checks = ValidateOptions {
        allow_devices: true,
        limits,
    };
    pull_with(reference, local, opts, platform, &checks, sink).await
}

/// Pulls, checking every tar layer with `checks` while it downloads. The
/// configured mirrors (`mirrors.rs`) are tried first, in order; a mirror
/// that fails for any reason but the image's own content (a refused layer,
/// no such platform) passes the pull on to the next, and the origin last.
pub async fn pull_with(
    reference: &Reference,
    local: &Local,
    opts: &ClientOptions,
    platform: Option<&Platform>,
    checks: &ValidateOptions,
    sink: Sink,
) -> Result<Pulled> {
    let sources = Mirrors::from_env()?.sources(reference.registry(), reference.repository());
    for source in &sources {
        let mut source_opts = opts.clone();
        if source.insecure {
            source_opts.tls_verify = false;
        }
        let result = pull_from(
            source,
            reference,
            local,
            &source_opts,
            platform,
            checks,
            sink.clone(),
        )
        .await;
        match result {
            Err(e) if source.mirror && mirror_may_fall_back(&e) => {
                tracing::warn!(mirror = %source.host, error = %e, "mirror failed; trying the next source");
            }
            other => return other,
        }
    }
    unreachable!("the origin is always the last source")
}

/// Whether another source might succeed where a mirror failed: not when
/// the image itself is refused or the local side failed.
fn mirror_may_fall_back(e: &ClientError) -> bool {
    !matches!(
        e,
        ClientError::LayerRefused { .. }
            | ClientError::Limits(_)
            | ClientError::NoPlatform { .. }
            | ClientError::LocalImage { .. }
            | ClientError::Store(_)
            | ClientError::Io { .. }
            | ClientError::MirrorConfig { .. }
    )
}

/// One pull from one source (a mirror or the origin); the image is named
/// by `reference` whichever it came from.
async fn pull_from(
    source: &Source,
    reference: &Reference,
    local: &Local,
    opts: &ClientOptions,
    platform: Option<&Platform>,
    checks: &ValidateOptions,
    sink: Sink,
) -> Result<Pulled> {
    let reg = Registry::connect(&source.host, opts, None).await?;
    let repo = source.repository.as_str();
    let mut fetched =
        fetch_manifest(&reg, repo, &reference.tag_or_digest(), reference.digest()).await?;
    let mut index_digest = None;
    let mut index = None;
    if manifest::is_index(&fetched.media_type) {
        let site = Site::new(&reg.host, repo, "reading the index");
        let Parsed::Index { manifests } =
            manifest::parse(&fetched.bytes, &fetched.media_type, &site)?
        else {
            unreachable!("index media type parses as an index")
        };
        let want = platform.cloned().unwrap_or_else(Platform::host);
        let child = manifest::select_platform(&manifests, &want, &reference.to_string())?;
        let child_digest: Digest = child
            .digest
            .parse()
            .map_err(|e| ClientError::protocol(&site, format!("bad digest in index: {e}")))?;
        let child_fetched = fetch_manifest(&reg, repo, &child.digest, Some(&child_digest)).await?;
        index_digest = Some(fetched.digest.clone());
        index = Some(fetched);
        fetched = child_fetched;
    }

    let site = Site::new(
        &reg.host,
        repo,
        format!("reading manifest {}", fetched.digest),
    );
    let Parsed::Image { config, layers } =
        manifest::parse(&fetched.bytes, &fetched.media_type, &site)?
    else {
        return Err(ClientError::protocol(
            &site,
            "an index inside an index is not an image",
        ));
    };
    let mut blobs: Vec<(BlobRef, BlobKind)> = vec![(config, BlobKind::Config)];
    blobs.extend(layers.into_iter().map(|l| (l, BlobKind::Layer)));
    sink(Event::Plan {
        blobs: blobs.len(),
        bytes: blobs.iter().map(|(b, _)| b.size).sum(),
    });
    let downloaded = download_all(&reg, repo, &blobs, local, checks, opts, &sink).await?;
    verify_diff_ids(&reg, repo, &blobs, &downloaded, local)?;
    publish_all(downloaded).await?;
    if let Some(index) = &index {
        local.store_manifest(&index.bytes, &index.digest)?;
    }
    local.store_manifest(&fetched.bytes, &fetched.digest)?;
    // Named by tag (a reference with both tag and digest is named by its
    // tag); an image pulled by digest alone stays reachable by digest.
    let name = if let Some(tag) = reference.tag() {
        local.set_name(
            &format!("{}:{tag}", reference.name()),
            &fetched.media_type,
            &fetched.digest,
            fetched.bytes.len() as u64,
        )?
    } else {
        String::new()
    };
    let digests: Vec<String> = blobs.iter().map(|(b, _)| b.digest.clone()).collect();
    BlobSources::new(local.root()).record(&digests, &reg.host, repo);
    sink(Event::Finished {
        digest: fetched.digest.clone(),
    });
    Ok(Pulled {
        name,
        digest: fetched.digest,
        media_type: fetched.media_type,
        index_digest,
    })
}

/// Downloads every blob (`concurrency` at a time), none published yet. On a
/// refused layer the others are dropped unpublished: nothing of a hostile
/// image is kept. On other failures (network, registry) the blobs already
/// complete and checked are published, so pulling again skips them.
async fn download_all(
    reg: &Registry,
    repo: &str,
    blobs: &[(BlobRef, BlobKind)],
    local: &Local,
    checks: &ValidateOptions,
    opts: &ClientOptions,
    sink: &Sink,
) -> Result<Vec<Downloaded>> {
    let mut done = Vec::with_capacity(blobs.len());
    let mut failure = None;
    {
        let mut downloads = futures::stream::iter(blobs.iter())
            .map(|(blob, kind)| {
                let check =
                    (*kind == BlobKind::Layer && is_tar_layer(&blob.media_type)).then_some(checks);
                download_blob(reg, repo, blob, *kind, local, check, sink)
            })
            .buffer_unordered(opts.concurrency.max(1));
        // The first error stops the rest (dropping their futures ends their
        // transfers and checker threads and removes their temp files).
        while let Some(result) = downloads.next().await {
            match result {
                Ok(d) => done.push(d),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
    }
    match failure {
        None => Ok(done),
        Some(e @ ClientError::LayerRefused { .. }) => Err(e),
        Some(e) => {
            for d in done {
                if let Err(publish) = d.publish() {
                    tracing::debug!(error = %publish, "keeping a downloaded blob failed");
                }
            }
            Err(e)
        }
    }
}

/// Publishes the blobs side by side on the blocking pool: each publish
/// syncs its file, and the disk writes them faster together than one after
/// another (a raw `curl` pull syncs each file as it lands, also in parallel).
async fn publish_all(downloaded: Vec<Downloaded>) -> Result<()> {
    let tasks: Vec<_> = downloaded
        .into_iter()
        .map(|blob| tokio::task::spawn_blocking(move || blob.publish()))
        .collect();
    let mut first = None;
    for task in tasks {
        let result = task.await.unwrap_or_else(|e| {
            Err(ClientError::io(
                "publishing a blob",
                std::io::Error::other(e),
            ))
        });
        if let Err(e) = result {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// Refuses the image when a checked layer is not what its config's
/// `rootfs.diff_ids` says (nothing has been published yet).
fn verify_diff_ids(
    reg: &Registry,
    repo: &str,
    blobs: &[(BlobRef, BlobKind)],
    downloaded: &[Downloaded],
    local: &Local,
) -> Result<()> {
    let find = |digest: &str| downloaded.iter().find(|d| d.digest() == digest);
    let config_digest = &blobs[0].0.digest;
    let config = match find(config_digest).and_then(|d| d.content()) {
        Some(bytes) => bytes.to_vec(),
        None => local.read_blob(config_digest)?,
    };
    let layers: Vec<(&str, Option<&str>)> = blobs[1..]
        .iter()
        .map(|(b, _)| (b.digest.as_str(), find(&b.digest).and_then(|d| d.diff_id())))
        .collect();
    check_diff_ids(&config, &layers).map_err(|(digest, detail)| ClientError::LayerRefused {
        site: Site::new(
            &reg.host,
            repo,
            format!("checking layer {digest} against the image config"),
        ),
        detail,
    })
}

/// GETs a manifest by tag or digest and checks its digest: against the one
/// asked for, and against `Docker-Content-Digest` when the registry sends it.
pub async fn fetch_manifest(
    reg: &Registry,
    repository: &str,
    tag_or_digest: &str,
    expected: Option<&Digest>,
) -> Result<Fetched> {
    let site = Site::new(
        &reg.host,
        repository,
        format!("fetching manifest {tag_or_digest}"),
    );
    let scopes = [repository_scope(repository, "pull")];
    let url = reg.url(&format!("/v2/{repository}/manifests/{tag_or_digest}"));
    let resp = reg
        .send(&site, &scopes, true, |h| {
            h.get(url.clone()).header(ACCEPT, manifest::ACCEPT)
        })
        .await?;
    if resp.status() != StatusCode::OK {
        let what = if resp.status() == StatusCode::NOT_FOUND {
            format!("repository or tag {repository}:{tag_or_digest}")
        } else {
            "manifest".to_string()
        };
        return Err(reg.error_for(&site, resp, &what).await);
    }
    let content_type = header_str(resp.headers(), CONTENT_TYPE);
    let header_digest = header_str(resp.headers(), "docker-content-digest");
    if resp
        .content_length()
        .is_some_and(|n| n as usize > MAX_MANIFEST)
    {
        return Err(ClientError::protocol(&site, "manifest larger than 4 MiB"));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| crate::transport::classify_send_error(&site, &e))?;
    if bytes.len() > MAX_MANIFEST {
        return Err(ClientError::protocol(&site, "manifest larger than 4 MiB"));
    }
    let actual = match expected {
        Some(d) => d.of_same_kind(&bytes),
        None => Digest::sha256_of(&bytes),
    };
    let claimed = expected
        .map(|d| d.to_string())
        .or(header_digest.filter(|h| h.starts_with("sha256:")));
    if let Some(claimed) = claimed {
        if claimed != actual.to_string() {
            return Err(ClientError::DigestMismatch {
                site,
                expected: claimed,
                actual: actual.to_string(),
            });
        }
    }
    let media_type = manifest::media_type_of(&bytes, content_type.as_deref())
        .ok_or_else(|| ClientError::protocol(&site, "manifest is not valid JSON"))?;
    Ok(Fetched {
        bytes,
        media_type,
        digest: actual.to_string(),
    })
}
