//! After a build: `--output` exports, `--iidfile` and `--metadata-file`.
//! The image is always in the store first; exports are written from there,
//! each to a temp file or directory renamed into place, so a failure leaves
//! no half-written output.

use std::path::Path;

use anyhow::Context as _;
use hoist_builder::Built;
use hoist_store::Store;
use serde_json::json;

use super::options::Output;
use crate::cli::image::{ImageCommand, SaveArgs};
use crate::cli::GlobalArgs;

/// Writes the file-like outputs (registry pushes are the caller's).
pub(super) fn export(
    store: &Store,
    global: &GlobalArgs,
    built: &Built,
    outputs: &[Output],
) -> anyhow::Result<()> {
    for output in outputs {
        match output {
            Output::Image | Output::Registry => {}
            // One archive serves both: an OCI layout with docker's
            // manifest.json beside it, as `hoist save` (and docker since 25) write.
            Output::Oci(dest) | Output::Docker(dest) => {
                let names = if built.names.is_empty() {
                    vec![built.digest.clone()]
                } else {
                    built.names.clone()
                };
                crate::commands::image::run(
                    ImageCommand::Save(SaveArgs {
                        output: dest.clone(),
                        names,
                    }),
                    global,
                )
                .with_context(|| {
                    format!("the image is built, but writing {} failed", dest.display())
                })?;
            }
            Output::Local(dest) => local(store, &built.digest, dest)?,
        }
    }
    Ok(())
}

/// The root filesystem into `dest`, through a sibling temp dir renamed into
/// place (an existing empty `dest` is replaced; a non-empty one refused).
fn local(store: &Store, digest: &str, dest: &Path) -> anyhow::Result<()> {
    if let Ok(mut entries) = std::fs::read_dir(dest) {
        if entries.next().is_some() {
            anyhow::bail!(
                "--output type=local,dest={}: the directory is not empty; give a new or empty one",
                dest.display()
            );
        }
    }
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".hoist-output-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write into {}", parent.display()))?;
    hoist_builder::export::export_rootfs(store, digest, tmp.path())?;
    let _ = std::fs::remove_dir(dest);
    let made = tmp.keep();
    std::fs::rename(&made, dest).with_context(|| {
        let _ = std::fs::remove_dir_all(&made);
        format!("cannot create {}", dest.display())
    })?;
    Ok(())
}

/// `--iidfile`: the image's digest (its manifest's, the id hoist prints).
pub(super) fn iidfile(path: &Path, built: &Built) -> anyhow::Result<()> {
    write_atomic(path, built.digest.as_bytes())
}

/// `--metadata-file`: buildx's keys for what was built.
pub(super) fn metadata_file(path: &Path, store: &Store, built: &Built) -> anyhow::Result<()> {
    let digest: hoist_oci::Digest = built.digest.parse()?;
    let size = store.read_blob(&digest)?.len();
    // A multi-platform build made an index, which has no config (buildx).
    let media_type = if built.platforms.is_empty() {
        hoist_oci::media_types::OCI_MANIFEST
    } else {
        hoist_oci::media_types::OCI_INDEX
    };
    let mut value = json!({
        "containerimage.digest": built.digest,
        "containerimage.descriptor": {
            "mediaType": media_type,
            "digest": built.digest,
            "size": size,
        },
        "image.name": built.names.join(","),
    });
    if built.platforms.is_empty() {
        value["containerimage.config.digest"] = json!(built.config_digest);
    }
    write_atomic(path, &serde_json::to_vec_pretty(&value)?)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write into {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
