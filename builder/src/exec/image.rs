//! The store side of a build: loading base images, and writing the finished
//! image (config, manifest, names).

use hoist_oci::oci_spec::image::{Descriptor, MediaType};
use hoist_oci::Digest;
use hoist_store::Platform;

use crate::cache::LayerRecord;
use crate::config::ImageConfig;
use crate::error::{BuildError, Result};

use super::{Built, Shared, StageOutput};

/// A base image from the store.
pub(crate) struct BaseImage {
    pub manifest_digest: String,
    pub layers: Vec<LayerRecord>,
    pub config: ImageConfig,
}

/// Loads `name` for `platform` from the store (an index's entry for it, or
/// an image of that platform), pulling it first when it is missing — or
/// only there for other platforms — and the build may pull; the error text
/// says what to do.
pub(crate) fn load_base(
    shared: &Shared,
    name: &str,
    platform: &Platform,
) -> std::result::Result<BaseImage, String> {
    let store = shared.store;
    let local = match store.resolve(name) {
        Err(hoist_store::StoreError::ImageNotFound(_)) => None,
        Err(e) => return Err(format!("base image {name}: {e}")),
        Ok(named) => match store.load_image_for(&named.descriptor, platform) {
            Ok(image) if platform_matches(&image.config_json, platform) => Some(image),
            Ok(_) | Err(hoist_store::StoreError::NoMatchingPlatform { .. }) => None,
            // An index whose entry for the platform was never pulled.
            Err(hoist_store::StoreError::BlobNotFound(_)) => None,
            Err(e) => return Err(format!("base image {name}: {e}")),
        },
    };
    let image = match local {
        Some(image) => image,
        None => {
            // The host's platform keeps the words of a build without one.
            let (which, flag) = if *platform == hoist_store::host_platform() {
                (String::new(), String::new())
            } else {
                (
                    format!(" for {platform}"),
                    format!("--platform {platform} "),
                )
            };
            let digest = match &shared.opts.pull_missing {
                Some(pull) => pull.0(name, platform).map_err(|e| {
                    format!(
                        "base image {name}{which} is not in the local store and pulling it failed: {e}"
                    )
                })?,
                None => {
                    return Err(format!(
                        "base image {name}{which} is not in the local store: pull it first (hoist pull {flag}{name}) or import it"
                    ))
                }
            };
            let named = store
                .resolve(&digest)
                .map_err(|e| format!("base image {name}: {e}"))?;
            let image = store
                .load_image_for(&named.descriptor, platform)
                .map_err(|e| format!("base image {name}: {e}"))?;
            if !platform_matches(&image.config_json, platform) {
                return Err(format!(
                    "base image {name} was pulled for {platform} but is {}",
                    config_platform(&image.config_json)
                ));
            }
            image
        }
    };
    let diff_ids = image.diff_ids();
    if diff_ids.len() != image.layers().len() {
        return Err(format!(
            "base image {name} is inconsistent: {} layers but {} diff_ids",
            image.layers().len(),
            diff_ids.len()
        ));
    }
    let layers = image
        .layers()
        .iter()
        .zip(diff_ids)
        .map(|(d, diff_id)| LayerRecord {
            digest: d.digest().to_string(),
            diff_id: diff_id.to_string(),
            size: d.size(),
            media_type: d.media_type().to_string(),
        })
        .collect();
    let config_bytes = serde_json::to_vec(&image.config_json).expect("JSON serializes");
    let config = ImageConfig::from_slice(&config_bytes)
        .map_err(|e| format!("base image {name}: its config is not a JSON object: {e}"))?;
    Ok(BaseImage {
        manifest_digest: image.manifest_digest.to_string(),
        layers,
        config,
    })
}

/// The OS/architecture[/variant] an image config names.
pub(crate) fn config_platform(config: &serde_json::Value) -> String {
    let field = |k: &str| config.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let mut s = format!("{}/{}", field("os"), field("architecture"));
    if !field("variant").is_empty() {
        s.push('/');
        s.push_str(field("variant"));
    }
    s
}

/// Whether an image config is for `platform` (a config without a platform,
/// or without a variant, matches).
fn platform_matches(config: &serde_json::Value, platform: &Platform) -> bool {
    let field = |k: &str| config.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let arch = field("architecture");
    if arch.is_empty() {
        return true;
    }
    let os = if field("os").is_empty() {
        "linux"
    } else {
        field("os")
    };
    let Ok(found) = crate::platform::parse(&format!("{os}/{arch}")) else {
        return false;
    };
    found.os == platform.os
        && found.architecture == platform.architecture
        && (field("variant").is_empty()
            || platform.variant.is_none()
            || Some(field("variant")) == platform.variant.as_deref())
}

/// Like the store's `commit_image`, with `--annotation`s on the manifest.
fn commit_annotated(shared: &Shared, config: &[u8], layers: Vec<Descriptor>) -> Result<Descriptor> {
    use hoist_oci::media_types::{OCI_CONFIG, OCI_MANIFEST};
    let store_err = |e: hoist_store::StoreError| BuildError::Store(e.to_string());
    let config_digest = shared.store.write_blob(config).map_err(store_err)?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": Descriptor::new(MediaType::from(OCI_CONFIG), config.len() as u64, &config_digest),
        "layers": layers,
        "annotations": shared.opts.annotations,
    });
    let bytes = serde_json::to_vec(&manifest).expect("a manifest serializes");
    let digest = shared.store.write_blob(&bytes).map_err(store_err)?;
    Ok(Descriptor::new(
        MediaType::from(OCI_MANIFEST),
        bytes.len() as u64,
        &digest,
    ))
}

/// A layer's descriptor for a manifest.
pub(crate) fn descriptor(layer: &LayerRecord) -> Result<Descriptor> {
    let digest: Digest = layer
        .digest
        .parse()
        .map_err(|e| BuildError::Cache(format!("bad layer digest {}: {e}", layer.digest)))?;
    Ok(Descriptor::new(
        MediaType::from(layer.media_type.as_str()),
        layer.size,
        &digest,
    ))
}

/// Writes the target stage's image and names it.
pub(crate) fn write_image(shared: &Shared, mut output: StageOutput) -> Result<Built> {
    output.config.set_created(&shared.created);
    for (k, v) in &shared.opts.labels {
        output.config.set_label(k, v);
    }
    let layers = output
        .layers
        .iter()
        .map(descriptor)
        .collect::<Result<Vec<_>>>()?;
    let config = serde_json::Value::Object(output.config.json.clone());
    let manifest = if shared.opts.annotations.is_empty() {
        shared
            .store
            .commit_image(&config, layers)
            .map_err(|e| BuildError::Store(e.to_string()))?
    } else {
        commit_annotated(shared, &output.config.to_vec(), layers)?
    };
    let config_digest = Digest::sha256_of(&output.config.to_vec()).to_string();
    let mut names = Vec::new();
    for tag in &shared.opts.tags {
        let full = shared
            .store
            .set_name(tag, manifest.clone())
            .map_err(|e| BuildError::Store(format!("cannot name the image {tag}: {e}")))?;
        names.push(full);
    }
    Ok(Built {
        digest: manifest.digest().to_string(),
        config_digest,
        names,
        layers: output.layers.iter().map(|l| l.digest.clone()).collect(),
        steps: std::mem::take(&mut *shared.used.lock().expect("used lock")),
        platforms: Vec::new(),
    })
}
