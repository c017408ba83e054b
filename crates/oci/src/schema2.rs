//! Manifests of either family: OCI (manifest, index) and Docker schema2
//! (manifest, manifest list). The two are the same JSON shape with other media
//! types, so both parse into `oci-spec` types and convert by renaming types.

use crate::media_types::*;
use crate::OciError;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};

/// A parsed manifest of any supported kind, with the media type it was read as.
#[derive(Debug, Clone)]
pub enum AnyManifest {
    Manifest(Box<ImageManifest>),
    Index(Box<ImageIndex>),
}

/// Parses manifest bytes. `declared` is the Content-Type or descriptor media
/// type when known; otherwise the body's `mediaType` (or its shape) decides.
/// Returns the media type used and the manifest.
pub fn parse_manifest(
    declared: Option<&str>,
    bytes: &[u8],
) -> Result<(String, AnyManifest), OciError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| OciError::InvalidManifest(format!("not JSON: {e}")))?;
    let body_type = value.get("mediaType").and_then(|v| v.as_str());
    let schema = value.get("schemaVersion").and_then(|v| v.as_u64());
    if schema != Some(2) {
        return Err(OciError::InvalidManifest(format!(
            "schemaVersion must be 2 (Docker schema1 is not supported), got {schema:?}"
        )));
    }
    let media_type = match (declared, body_type) {
        (Some(d), Some(b)) if d != b && !d.is_empty() => {
            return Err(OciError::InvalidManifest(format!(
                "declared media type {d:?} differs from the body's {b:?}"
            )))
        }
        (Some(d), _) if !d.is_empty() => d.to_string(),
        (_, Some(b)) => b.to_string(),
        _ if value.get("manifests").is_some() => OCI_INDEX.to_string(),
        _ => OCI_MANIFEST.to_string(),
    };
    let parsed = if is_index(&media_type) {
        let idx: ImageIndex = serde_json::from_value(value)
            .map_err(|e| OciError::InvalidManifest(format!("bad index: {e}")))?;
        AnyManifest::Index(Box::new(idx))
    } else if is_manifest(&media_type) {
        let m: ImageManifest = serde_json::from_value(value)
            .map_err(|e| OciError::InvalidManifest(format!("bad manifest: {e}")))?;
        AnyManifest::Manifest(Box::new(m))
    } else {
        return Err(OciError::UnsupportedMediaType(media_type));
    };
    Ok((media_type, parsed))
}

fn rename(mt: &MediaType, to_oci: bool) -> MediaType {
    let s = mt.to_string();
    let mapped = match (to_oci, s.as_str()) {
        (true, DOCKER_CONFIG) => OCI_CONFIG,
        (true, DOCKER_LAYER_GZIP) => OCI_LAYER_GZIP,
        (true, DOCKER_MANIFEST) => OCI_MANIFEST,
        (true, DOCKER_MANIFEST_LIST) => OCI_INDEX,
        (false, OCI_CONFIG) => DOCKER_CONFIG,
        (false, OCI_LAYER_GZIP) => DOCKER_LAYER_GZIP,
        (false, OCI_MANIFEST) => DOCKER_MANIFEST,
        (false, OCI_INDEX) => DOCKER_MANIFEST_LIST,
        _ => return mt.clone(),
    };
    MediaType::from(mapped)
}

fn rename_descriptor(d: &Descriptor, to_oci: bool) -> Descriptor {
    let mut out = d.clone();
    out.set_media_type(rename(d.media_type(), to_oci));
    out
}

/// Converts a Docker schema2 manifest to an OCI manifest (config and layer types renamed).
pub fn docker_to_oci_manifest(m: &ImageManifest) -> ImageManifest {
    convert_manifest(m, true)
}

/// Converts an OCI manifest to Docker schema2. Fails for zstd layers, which schema2 lacks.
pub fn oci_to_docker_manifest(m: &ImageManifest) -> Result<ImageManifest, OciError> {
    if let Some(l) = m
        .layers()
        .iter()
        .find(|l| l.media_type().to_string() == OCI_LAYER_ZSTD)
    {
        return Err(OciError::UnsupportedMediaType(format!(
            "{} (layer {}) has no Docker schema2 equivalent",
            OCI_LAYER_ZSTD,
            l.digest()
        )));
    }
    Ok(convert_manifest(m, false))
}

fn convert_manifest(m: &ImageManifest, to_oci: bool) -> ImageManifest {
    let mut out = m.clone();
    out.set_media_type(Some(MediaType::from(if to_oci {
        OCI_MANIFEST
    } else {
        DOCKER_MANIFEST
    })));
    out.set_config(rename_descriptor(m.config(), to_oci));
    out.set_layers(
        m.layers()
            .iter()
            .map(|l| rename_descriptor(l, to_oci))
            .collect(),
    );
    out
}

/// Converts a Docker manifest list to an OCI index.
pub fn docker_to_oci_index(i: &ImageIndex) -> ImageIndex {
    let mut out = i.clone();
    out.set_media_type(Some(MediaType::from(OCI_INDEX)));
    out.set_manifests(
        i.manifests()
            .iter()
            .map(|d| rename_descriptor(d, true))
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = r#"{
      "schemaVersion": 2,
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                 "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
      "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3,
                 "digest": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]
    }"#;

    #[test]
    fn reads_docker_schema2_and_converts() {
        let (mt, m) = parse_manifest(None, DOCKER.as_bytes()).unwrap();
        assert_eq!(mt, DOCKER_MANIFEST);
        let AnyManifest::Manifest(m) = m else {
            panic!("not a manifest")
        };
        let oci = docker_to_oci_manifest(&m);
        assert_eq!(oci.config().media_type().to_string(), OCI_CONFIG);
        assert_eq!(oci.layers()[0].media_type().to_string(), OCI_LAYER_GZIP);
        let back = oci_to_docker_manifest(&oci).unwrap();
        assert_eq!(back.layers()[0].media_type().to_string(), DOCKER_LAYER_GZIP);
    }

    #[test]
    fn reads_manifest_lists() {
        let list = r#"{"schemaVersion":2,
          "mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
          "manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,
            "digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "platform":{"architecture":"amd64","os":"linux"}}]}"#;
        let (mt, m) = parse_manifest(None, list.as_bytes()).unwrap();
        assert_eq!(mt, DOCKER_MANIFEST_LIST);
        let AnyManifest::Index(i) = m else {
            panic!("not an index")
        };
        let oci = docker_to_oci_index(&i);
        assert_eq!(oci.manifests()[0].media_type().to_string(), OCI_MANIFEST);
    }

    #[test]
    fn refuses_bad_manifests() {
        assert!(parse_manifest(None, b"not json").is_err());
        assert!(parse_manifest(None, br#"{"schemaVersion":1,"name":"x"}"#).is_err());
        assert!(parse_manifest(Some(OCI_INDEX), DOCKER.as_bytes()).is_err());
        assert!(parse_manifest(None, br#"{"schemaVersion":2,"mediaType":"text/plain"}"#).is_err());
        assert!(parse_manifest(None, br#"{"schemaVersion":2,"config":{}}"#).is_err());
    }
}
