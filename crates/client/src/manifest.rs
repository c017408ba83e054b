//! Manifests as the client needs them: what an image manifest references
//! (config, layers) and what an index lists (child manifests per platform),
//! read from the registry's original bytes so digests stay byte-for-byte.
//! Handles OCI and Docker schema2 alike; the JSON is hostile input, so every
//! digest is validated before it becomes part of a URL or a path.

use crate::error::{ClientError, Result, Site};
use serde::Deserialize;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The `Accept` header for manifest requests: every form we understand.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

/// A reference to content: digest, size, media type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobRef {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl Platform {
    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut it = s.split('/');
        let os = it.next().filter(|x| !x.is_empty())?;
        let arch = it.next().filter(|x| !x.is_empty())?;
        let variant = it.next().map(str::to_string);
        if it.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.into(),
            architecture: arch.into(),
            variant,
        })
    }

    /// The platform this binary runs on, in OCI's names.
    pub fn host() -> Platform {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform {
            os: std::env::consts::OS.into(),
            architecture: arch.into(),
            variant: None,
        }
    }

    fn matches(&self, candidate: &Platform) -> bool {
        self.os == candidate.os
            && self.architecture == candidate.architecture
            && (self.variant.is_none() || self.variant == candidate.variant)
    }
}

/// A parsed manifest: an image or an index.
#[derive(Debug, Clone)]
pub enum Parsed {
    Image {
        config: BlobRef,
        layers: Vec<BlobRef>,
    },
    Index {
        manifests: Vec<BlobRef>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<BlobRef>,
    #[serde(default)]
    layers: Option<Vec<BlobRef>>,
    #[serde(default)]
    manifests: Option<Vec<BlobRef>>,
}

/// The media type of manifest `bytes`: the body's own `mediaType` when
/// present, else the `Content-Type` the registry sent, else by shape.
pub fn media_type_of(bytes: &[u8], content_type: Option<&str>) -> Option<String> {
    let raw: Raw = serde_json::from_slice(bytes).ok()?;
    if let Some(mt) = raw.media_type.filter(|m| !m.is_empty()) {
        return Some(mt);
    }
    let ct = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
        .filter(|c| [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].contains(&c.as_str()));
    if ct.is_some() {
        return ct;
    }
    if raw.manifests.is_some() {
        Some(OCI_INDEX.into())
    } else {
        Some(OCI_MANIFEST.into())
    }
}

/// Parses manifest bytes of `media_type`, validating every digest.
pub fn parse(bytes: &[u8], media_type: &str, site: &Site) -> Result<Parsed> {
    let raw: Raw = serde_json::from_slice(bytes)
        .map_err(|e| ClientError::protocol(site, format!("manifest is not valid JSON: {e}")))?;
    let check = |b: &BlobRef| -> Result<()> {
        if valid_digest(&b.digest) {
            Ok(())
        } else {
            Err(ClientError::protocol(
                site,
                format!("manifest references an invalid digest {:?}", b.digest),
            ))
        }
    };
    if is_index(media_type) {
        let manifests = raw.manifests.unwrap_or_default();
        manifests.iter().try_for_each(check)?;
        return Ok(Parsed::Index { manifests });
    }
    if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
        let detail = format!("unsupported manifest media type {media_type:?} (not an image)");
        return Err(ClientError::protocol(site, detail));
    }
    let config = raw
        .config
        .ok_or_else(|| ClientError::protocol(site, "image manifest has no config"))?;
    let layers = raw.layers.unwrap_or_default();
    check(&config)?;
    layers.iter().try_for_each(check)?;
    Ok(Parsed::Image { config, layers })
}

/// Picks the manifest for `want` from an index's entries.
pub fn select_platform<'a>(
    manifests: &'a [BlobRef],
    want: &Platform,
    reference: &str,
) -> Result<&'a BlobRef> {
    manifests
        .iter()
        .find(|m| m.platform.as_ref().is_some_and(|p| want.matches(p)))
        .ok_or_else(|| ClientError::NoPlatform {
            reference: reference.to_string(),
            wanted: want.to_string(),
            available: manifests
                .iter()
                .filter_map(|m| m.platform.as_ref().map(|p| p.to_string()))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// `sha256:<64 hex>` or `sha512:<128 hex>`, lower case.
pub fn valid_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::new("r", "a", "test")
    }

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn image_and_index_parse() {
        let img = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"x","digest":"{D1}","size":3}},"layers":[{{"mediaType":"y","digest":"{D2}","size":5}}]}}"#
        );
        let mt = media_type_of(img.as_bytes(), None).unwrap();
        assert_eq!(mt, DOCKER_MANIFEST);
        let Parsed::Image { config, layers } = parse(img.as_bytes(), &mt, &site()).unwrap() else {
            panic!("not an image")
        };
        assert_eq!((config.digest.as_str(), layers[0].size), (D1, 5));

        let idx = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"digest":"{D1}","size":1,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},{{"digest":"{D2}","size":2,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#
        );
        let mt = media_type_of(
            idx.as_bytes(),
            Some("application/vnd.oci.image.index.v1+json; x=y"),
        )
        .unwrap();
        let Parsed::Index { manifests } = parse(idx.as_bytes(), &mt, &site()).unwrap() else {
            panic!("not an index")
        };
        let amd = Platform::parse("linux/amd64").unwrap();
        assert_eq!(select_platform(&manifests, &amd, "x").unwrap().digest, D2);
        let arm = Platform::parse("linux/arm64").unwrap();
        assert_eq!(select_platform(&manifests, &arm, "x").unwrap().digest, D1);
        let err = select_platform(&manifests, &Platform::parse("linux/s390x").unwrap(), "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("linux/arm64/v8, linux/amd64"), "{err}");
    }

    #[test]
    fn hostile_digests_are_refused() {
        for bad in ["sha256:../../etc/passwd", "md5:abcd", "sha256:ABCDEF", ""] {
            assert!(!valid_digest(bad), "{bad}");
            let img = format!(
                r#"{{"mediaType":"{OCI_MANIFEST}","config":{{"digest":"{bad}","size":3}},"layers":[]}}"#
            );
            assert!(parse(img.as_bytes(), OCI_MANIFEST, &site()).is_err());
        }
        assert!(valid_digest(D1));
        assert!(Platform::parse("linux").is_none());
        assert!(Platform::parse("linux/arm/v7/x").is_none());
    }
}
