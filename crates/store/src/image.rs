//! Images in the store: a manifest (reached directly or through an index for
//! the wanted platform), its config, and its layers; and writing new images.

use crate::{Result, Store, StoreError};
use hoist_oci::media_types::{OCI_CONFIG, OCI_MANIFEST};
use hoist_oci::oci_spec::image::{
    Descriptor, ImageConfiguration, ImageManifest, ImageManifestBuilder, MediaType,
};
use hoist_oci::{parse_manifest, AnyManifest, Digest};
use std::fmt;

/// An OS/architecture pair, as in image indexes (`linux/amd64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: parts.get(2).map(|v| v.to_string()),
            }),
            _ => Err(format!(
                "platform {s:?} is not OS/ARCH[/VARIANT], e.g. linux/amd64"
            )),
        }
    }
}

/// The platform this machine runs, in OCI's words.
pub fn host_platform() -> Platform {
    let architecture = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    Platform {
        os: "linux".into(),
        architecture: architecture.into(),
        variant: None,
    }
}

/// A loaded image: manifest and config, with their digests.
#[derive(Debug, Clone)]
pub struct Image {
    pub manifest_digest: Digest,
    pub manifest_media_type: String,
    pub manifest: ImageManifest,
    pub config_digest: Digest,
    pub config: ImageConfiguration,
    /// The config as JSON, keeping keys oci-spec does not model (docker's `Healthcheck`, ...).
    pub config_json: serde_json::Value,
}

impl Image {
    /// Layer descriptors, bottom first.
    pub fn layers(&self) -> &[Descriptor] {
        self.manifest.layers()
    }

    /// The uncompressed digests of the layers, bottom first.
    pub fn diff_ids(&self) -> Vec<Digest> {
        self.config
            .rootfs()
            .diff_ids()
            .iter()
            .filter_map(|d| d.parse().ok())
            .collect()
    }
}

impl Store {
    /// Loads the image `desc` points at, picking the host platform from an index.
    pub fn load_image(&self, desc: &Descriptor) -> Result<Image> {
        self.load_image_for(desc, &host_platform())
    }

    /// Loads the image `desc` points at, picking `platform` from an index.
    pub fn load_image_for(&self, desc: &Descriptor, platform: &Platform) -> Result<Image> {
        let digest = Digest::try_from(desc.digest())?;
        let bytes = self.read_blob(&digest)?;
        let declared = desc.media_type().to_string();
        match parse_manifest(Some(&declared), &bytes)? {
            (media_type, AnyManifest::Manifest(m)) => self.finish_load(digest, media_type, *m),
            (_, AnyManifest::Index(idx)) => {
                let pick = idx.manifests().iter().find(|d| {
                    d.platform().as_ref().is_some_and(|p| {
                        p.os().to_string() == platform.os
                            && p.architecture().to_string() == platform.architecture
                            && (platform.variant.is_none()
                                || p.variant().as_deref() == platform.variant.as_deref())
                    })
                });
                let Some(pick) = pick else {
                    let available: Vec<String> = idx
                        .manifests()
                        .iter()
                        .filter_map(|d| d.platform().as_ref())
                        .map(|p| format!("{}/{}", p.os(), p.architecture()))
                        .collect();
                    return Err(StoreError::NoMatchingPlatform {
                        wanted: platform.to_string(),
                        available: available.join(", "),
                    });
                };
                self.load_image_for(pick, platform)
            }
        }
    }

    fn finish_load(&self, digest: Digest, media_type: String, m: ImageManifest) -> Result<Image> {
        let config_digest = Digest::try_from(m.config().digest())?;
        let config_bytes = self.read_blob(&config_digest)?;
        let corrupt = |e: serde_json::Error| StoreError::Corrupt {
            what: format!("image config {config_digest}"),
            reason: e.to_string(),
        };
        let config_json: serde_json::Value =
            serde_json::from_slice(&config_bytes).map_err(corrupt)?;
        let config: ImageConfiguration = serde_json::from_slice(&config_bytes).map_err(corrupt)?;
        Ok(Image {
            manifest_digest: digest,
            manifest_media_type: media_type,
            manifest: m,
            config_digest,
            config,
            config_json,
        })
    }

    /// Writes a config (as JSON, so docker-only keys survive) and an OCI
    /// manifest over `layers` (already in the store). Returns the manifest's descriptor.
    pub fn commit_image(
        &self,
        config_json: &serde_json::Value,
        layers: Vec<Descriptor>,
    ) -> Result<Descriptor> {
        let config_bytes = serde_json::to_vec(config_json).expect("JSON serializes");
        self.commit_image_bytes(&config_bytes, layers)
    }

    /// Like [`Store::commit_image`] with the config's exact bytes (its digest
    /// is the image ID, so an imported config must keep them).
    pub fn commit_image_bytes(
        &self,
        config_bytes: &[u8],
        layers: Vec<Descriptor>,
    ) -> Result<Descriptor> {
        let config_digest = self.write_blob(config_bytes)?;
        let config_desc = Descriptor::new(
            MediaType::from(OCI_CONFIG),
            config_bytes.len() as u64,
            &config_digest,
        );
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::from(OCI_MANIFEST))
            .config(config_desc)
            .layers(layers)
            .build()
            .expect("all manifest fields set");
        let bytes = serde_json::to_vec(&manifest).expect("a manifest serializes");
        let digest = self.write_blob(&bytes)?;
        Ok(Descriptor::new(
            MediaType::from(OCI_MANIFEST),
            bytes.len() as u64,
            &digest,
        ))
    }
}
