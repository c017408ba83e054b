//! Sharing the step cache between stores (`--cache-to` / `--cache-from`).
//!
//! The format is hoist's own, carried in an ordinary OCI image manifest so
//! that any registry (or an OCI layout directory) stores it and keeps its
//! blobs alive: the config blob (media type [`CONFIG_MEDIA_TYPE`]) lists
//! `(step key, layer)` pairs, and the manifest's layers are those layers.
//! BuildKit's `cacheconfig.v0` was not chosen: its records are keyed by
//! digests of BuildKit's LLB operations, which hoist does not compute, so a
//! cache written in that format would never hit in buildx nor buildx's in
//! hoist — sharing the envelope without the keys would only mislead.
//!
//! The builder never talks to a registry: the CLI reads and writes these
//! manifests through the client and hands the builder an [`ImportHook`].

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::cache::{CacheEntry, LayerRecord, StepKey};

/// Media type of the cache manifest's config blob.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.hoist.build-cache.config.v1+json";
/// The manifest's `artifactType` (OCI 1.1), for tools that list artifacts.
pub const ARTIFACT_TYPE: &str = "application/vnd.hoist.build-cache.v1";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// One step a build used or made, as the builder reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedStep {
    pub key: StepKey,
    pub entry: CacheEntry,
}

/// Which steps `--cache-to` exports (BuildKit's `mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportMode {
    /// The steps whose layers make the result (and steps with no layer).
    #[default]
    Min,
    /// Every step of every stage the build ran.
    Max,
}

/// The config blob: the cache's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheConfig {
    pub steps: Vec<CacheStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStep {
    pub key: String,
    pub layer: Option<LayerRecord>,
}

/// A cache manifest ready to be written: its config and manifest bytes and
/// the layers it references (to be copied or pushed first).
#[derive(Debug, Clone)]
pub struct CacheManifest {
    pub config: Vec<u8>,
    pub config_digest: String,
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
    pub layers: Vec<LayerRecord>,
}

/// Why a manifest is not a hoist build cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheFormatError {
    #[error("its config is {0:?}, not a hoist build cache ({CONFIG_MEDIA_TYPE}): is it an image? point --cache-from at a ref written by --cache-to")]
    NotACache(String),
    #[error("it is an image index, not a hoist build cache: point --cache-from at a ref written by --cache-to")]
    Index,
    #[error("unreadable cache manifest: {0}")]
    Malformed(String),
}

/// The steps to export: all of them (max), or those whose layer is in the
/// result (min); each key once.
pub fn select(used: &[UsedStep], image_layers: &[String], mode: ExportMode) -> Vec<UsedStep> {
    let in_image: BTreeSet<&str> = image_layers.iter().map(String::as_str).collect();
    let mut seen = BTreeSet::new();
    used.iter()
        .filter(|s| match (&s.entry.layer, mode) {
            (_, ExportMode::Max) | (None, _) => true,
            (Some(l), ExportMode::Min) => in_image.contains(l.digest.as_str()),
        })
        .filter(|s| seen.insert(s.key.0.clone()))
        .cloned()
        .collect()
}

/// The manifest and config that describe `steps`.
pub fn cache_manifest(steps: &[UsedStep]) -> CacheManifest {
    let config = CacheConfig {
        steps: steps
            .iter()
            .map(|s| CacheStep {
                key: s.key.0.clone(),
                layer: s.entry.layer.clone(),
            })
            .collect(),
    };
    let config = serde_json::to_vec(&config).expect("serializable");
    let config_digest = sha256(&config);
    let mut layers: Vec<LayerRecord> = Vec::new();
    for layer in steps.iter().filter_map(|s| s.entry.layer.as_ref()) {
        if !layers.iter().any(|l| l.digest == layer.digest) {
            layers.push(layer.clone());
        }
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "digest": config_digest,
            "size": config.len(),
        },
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": l.media_type,
            "digest": l.digest,
            "size": l.size,
        })).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec(&manifest).expect("serializable");
    CacheManifest {
        manifest_digest: sha256(&manifest),
        manifest,
        config,
        config_digest,
        layers,
    }
}

/// The config descriptor's digest and size of a cache manifest, after
/// checking that it is one.
pub fn config_of(manifest: &[u8]) -> Result<(String, u64), CacheFormatError> {
    let v: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| CacheFormatError::Malformed(e.to_string()))?;
    if v.get("manifests").is_some() {
        return Err(CacheFormatError::Index);
    }
    let config = v
        .get("config")
        .ok_or_else(|| CacheFormatError::Malformed("no config descriptor".into()))?;
    let media_type = config
        .get("mediaType")
        .and_then(|m| m.as_str())
        .unwrap_or_default();
    if media_type != CONFIG_MEDIA_TYPE {
        return Err(CacheFormatError::NotACache(media_type.to_string()));
    }
    let digest = config
        .get("digest")
        .and_then(|d| d.as_str())
        .ok_or_else(|| CacheFormatError::Malformed("config has no digest".into()))?;
    let size = config
        .get("size")
        .and_then(|d| d.as_u64())
        .ok_or_else(|| CacheFormatError::Malformed("config has no size".into()))?;
    Ok((digest.to_string(), size))
}

/// Parses a config blob.
pub fn parse_config(bytes: &[u8]) -> Result<CacheConfig, CacheFormatError> {
    serde_json::from_slice(bytes).map_err(|e| CacheFormatError::Malformed(e.to_string()))
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Asked for a step the local cache lacks: the entry from an imported
/// cache, with its layer already brought into the store, or None.
#[derive(Clone)]
pub struct ImportHook(pub Arc<ImportFn>);

pub type ImportFn = dyn Fn(&StepKey) -> Option<CacheEntry> + Send + Sync;

impl std::fmt::Debug for ImportHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImportHook(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(key: &str, layer: Option<&str>) -> UsedStep {
        UsedStep {
            key: StepKey(key.into()),
            entry: CacheEntry {
                layer: layer.map(|d| LayerRecord {
                    digest: d.into(),
                    diff_id: format!("{d}-diff"),
                    size: 1,
                    media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                }),
            },
        }
    }

    #[test]
    fn min_keeps_the_result_s_layers_and_round_trips() {
        let used = vec![
            step("a", Some("sha256:1")),
            step("b", None),
            step("c", Some("sha256:2")),
            step("a", Some("sha256:1")),
        ];
        let min = select(&used, &["sha256:1".into()], ExportMode::Min);
        assert_eq!(min, vec![used[0].clone(), used[1].clone()]);
        let max = select(&used, &["sha256:1".into()], ExportMode::Max);
        assert_eq!(max.len(), 3);

        let m = cache_manifest(&max);
        assert_eq!(m.layers.len(), 2);
        assert_eq!(
            config_of(&m.manifest).unwrap(),
            (m.config_digest.clone(), m.config.len() as u64)
        );
        let config = parse_config(&m.config).unwrap();
        assert_eq!(config.steps.len(), 3);
        assert_eq!(config.steps[2].layer, max[2].entry.layer);
    }

    #[test]
    fn images_and_indexes_are_not_caches() {
        let image = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0","size":1},"layers":[]}"#;
        assert!(matches!(
            config_of(image),
            Err(CacheFormatError::NotACache(_))
        ));
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(config_of(index), Err(CacheFormatError::Index)));
        assert!(matches!(
            config_of(b"nope"),
            Err(CacheFormatError::Malformed(_))
        ));
    }
}
