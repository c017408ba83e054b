use thiserror::Error;

/// Why a reference, digest or manifest was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OciError {
    #[error("invalid reference {input:?}: {reason}")]
    InvalidReference { input: String, reason: String },
    #[error("invalid digest {input:?}: {reason}")]
    InvalidDigest { input: String, reason: String },
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
}
