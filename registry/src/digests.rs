//! Digests as the registry uses them: parsed with hoist-oci's `Digest`, split
//! into algorithm and hex for storage keys, and computed while streaming.

use crate::error::{RegistryError, Result};

pub use hoist_oci::Digest;
use sha2::Digest as _;

/// Parses a digest from a URL or manifest, as the spec's DIGEST_INVALID.
pub fn parse(s: &str) -> Result<Digest> {
    s.parse::<Digest>()
        .map_err(|e| RegistryError::DigestInvalid(format!("{s:?}: {e}")))
}

/// ("sha256", "<hex>") — both already validated by `Digest`'s parser, so safe
/// as path components.
pub fn parts(d: &Digest) -> (String, String) {
    let s = d.to_string();
    let (alg, hex) = s.split_once(':').expect("a digest has an algorithm");
    (alg.to_string(), hex.to_string())
}

/// A streaming hasher for the algorithm of an expected digest.
#[derive(Clone)]
pub enum StreamHasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl StreamHasher {
    pub fn sha256() -> Self {
        StreamHasher::Sha256(sha2::Sha256::new())
    }

    /// A hasher for the same algorithm as `d`.
    pub fn for_digest(d: &Digest) -> Result<Self> {
        match parts(d).0.as_str() {
            "sha256" => Ok(StreamHasher::Sha256(sha2::Sha256::new())),
            "sha512" => Ok(StreamHasher::Sha512(sha2::Sha512::new())),
            other => Err(RegistryError::Unsupported(format!(
                "digest algorithm {other} (use sha256 or sha512)"
            ))),
        }
    }

    /// A hasher for an algorithm by name (the spec's `digest-algorithm`
    /// upload parameter); another name is DIGEST_INVALID.
    pub fn for_algorithm(name: &str) -> Result<Self> {
        match name {
            "sha256" => Ok(StreamHasher::Sha256(sha2::Sha256::new())),
            "sha512" => Ok(StreamHasher::Sha512(sha2::Sha512::new())),
            other => Err(RegistryError::DigestInvalid(format!(
                "digest-algorithm {other:?} is not supported (use sha256 or sha512)"
            ))),
        }
    }

    pub fn same_algorithm(&self, other: &StreamHasher) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            StreamHasher::Sha256(h) => h.update(data),
            StreamHasher::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Digest {
        let s = match self {
            StreamHasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            StreamHasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        };
        s.parse().expect("a computed digest parses")
    }
}

/// The sha256 digest of a byte slice.
pub fn sha256_of(data: &[u8]) -> Digest {
    let mut h = StreamHasher::sha256();
    h.update(data);
    h.finish()
}
