//! `--platform a,b,...`: the build once per platform (each a complete image
//! in the store, its RUN steps under qemu-user when the platform is
//! foreign), then one OCI image index listing them, which the tags name.
//! Every platform is checked (the Dockerfile planned for it, each stage's
//! platform given an interpreter) before the first one builds.

use hoist_oci::media_types::{OCI_INDEX, OCI_MANIFEST};
use hoist_oci::Digest;
use hoist_store::{Platform, Store};
use serde_json::json;

use crate::error::{BuildError, Result};
use crate::exec::{build, BuildOptions, Built, Event, Events};

/// Builds `opts` for every platform and writes the index (named by
/// `opts.tags`). One platform is an ordinary build for it, with no index.
pub fn build_platforms(
    store: &Store,
    opts: &BuildOptions,
    platforms: &[Platform],
    events: Events,
) -> Result<Built> {
    for p in platforms {
        crate::exec::check_platform(opts, p)?;
    }
    if let [only] = platforms {
        let opts = BuildOptions {
            platform: Some(only.clone()),
            ..opts.clone()
        };
        return build(store, &opts, events);
    }
    let mut images: Vec<(Platform, Built)> = Vec::new();
    for p in platforms {
        let label = p.to_string();
        // Each platform's steps are told apart in the progress lines.
        let prefixed = |e: Event| {
            events(match e {
                Event::Step {
                    stage,
                    number,
                    total,
                    text,
                } => Event::Step {
                    stage: format!("{label} {stage}"),
                    number,
                    total,
                    text,
                },
                Event::Cached { stage, number } => Event::Cached {
                    stage: format!("{label} {stage}"),
                    number,
                },
                Event::Output { stage, line } => Event::Output {
                    stage: format!("{label} {stage}"),
                    line,
                },
                other => other,
            })
        };
        let one = BuildOptions {
            platform: Some(p.clone()),
            tags: Vec::new(),
            ..opts.clone()
        };
        images.push((p.clone(), build(store, &one, &prefixed)?));
    }
    write_index(store, opts, images)
}

fn store_err(e: hoist_store::StoreError) -> BuildError {
    BuildError::Store(e.to_string())
}

/// The index over the platforms' manifests, named by every tag.
fn write_index(
    store: &Store,
    opts: &BuildOptions,
    images: Vec<(Platform, Built)>,
) -> Result<Built> {
    let mut manifests = Vec::new();
    for (p, built) in &images {
        let digest: Digest = built
            .digest
            .parse()
            .map_err(|e| BuildError::Store(format!("bad manifest digest {}: {e}", built.digest)))?;
        let mut platform = json!({"architecture": p.architecture, "os": p.os});
        if let Some(v) = &p.variant {
            platform["variant"] = json!(v);
        }
        manifests.push(json!({
            "mediaType": OCI_MANIFEST,
            "digest": built.digest,
            "size": store.blob_size(&digest).map_err(store_err)?,
            "platform": platform,
        }));
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    });
    let bytes = serde_json::to_vec(&index).expect("an index serializes");
    let digest = store.write_blob(&bytes).map_err(store_err)?;
    let descriptor = hoist_oci::oci_spec::image::Descriptor::new(
        hoist_oci::oci_spec::image::MediaType::from(OCI_INDEX),
        bytes.len() as u64,
        &digest,
    );
    let mut names = Vec::new();
    for tag in &opts.tags {
        names.push(
            store
                .set_name(tag, descriptor.clone())
                .map_err(|e| BuildError::Store(format!("cannot name the image {tag}: {e}")))?,
        );
    }
    let mut layers: Vec<String> = Vec::new();
    let mut steps = Vec::new();
    let mut platforms = Vec::new();
    for (p, built) in images {
        for l in built.layers {
            if !layers.contains(&l) {
                layers.push(l);
            }
        }
        steps.extend(built.steps);
        platforms.push((p, built.digest));
    }
    Ok(Built {
        digest: digest.to_string(),
        config_digest: String::new(),
        names,
        layers,
        steps,
        platforms,
    })
}
