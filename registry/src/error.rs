//! The registry's one error type. Each variant is one of the OCI Distribution
//! Spec's error codes (or a server fault), so the HTTP layer can answer with
//! the right status, code and message without guessing.

use crate::driver::DriverError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("blob unknown to registry: {0}")]
    BlobUnknown(String),
    #[error("blob upload unknown to registry: {0}")]
    BlobUploadUnknown(String),
    #[error("blob upload invalid: {0}")]
    BlobUploadInvalid(String),
    #[error("provided digest did not match uploaded content: {0}")]
    DigestInvalid(String),
    #[error("manifest references a blob unknown to this repository: {0}")]
    ManifestBlobUnknown(String),
    #[error("manifest invalid: {0}")]
    ManifestInvalid(String),
    #[error("manifest unknown: {0}")]
    ManifestUnknown(String),
    #[error("invalid repository name: {0}")]
    NameInvalid(String),
    #[error("repository name not known to registry: {0}")]
    NameUnknown(String),
    #[error("provided length did not match content length: {0}")]
    SizeInvalid(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("invalid content range: {0}")]
    RangeInvalid(String),
    #[error("requested range not satisfiable: {0}")]
    RangeNotSatisfiable(String),
    #[error("invalid tag: {0}")]
    TagInvalid(String),
    #[error("the operation is unsupported: {0}")]
    Unsupported(String),
    #[error("storage error: {0}")]
    Storage(#[from] DriverError),
}

pub type Result<T> = std::result::Result<T, RegistryError>;

impl RegistryError {
    /// The spec's error code for the JSON body.
    pub fn code(&self) -> &'static str {
        use RegistryError::*;
        match self {
            BlobUnknown(_) => "BLOB_UNKNOWN",
            BlobUploadUnknown(_) => "BLOB_UPLOAD_UNKNOWN",
            BlobUploadInvalid(_) => "BLOB_UPLOAD_INVALID",
            DigestInvalid(_) => "DIGEST_INVALID",
            ManifestBlobUnknown(_) => "MANIFEST_BLOB_UNKNOWN",
            ManifestInvalid(_) => "MANIFEST_INVALID",
            ManifestUnknown(_) => "MANIFEST_UNKNOWN",
            NameInvalid(_) => "NAME_INVALID",
            NameUnknown(_) => "NAME_UNKNOWN",
            SizeInvalid(_) | TooLarge(_) => "SIZE_INVALID",
            RangeInvalid(_) | RangeNotSatisfiable(_) => "RANGE_INVALID",
            TagInvalid(_) => "TAG_INVALID",
            Unsupported(_) => "UNSUPPORTED",
            Storage(DriverError::Unavailable { .. }) => "UNAVAILABLE",
            Storage(_) => "UNKNOWN",
        }
    }

    /// The HTTP status the spec gives this error.
    pub fn status(&self) -> u16 {
        use RegistryError::*;
        match self {
            BlobUnknown(_) | BlobUploadUnknown(_) | ManifestUnknown(_) | NameUnknown(_) => 404,
            RangeInvalid(_) | RangeNotSatisfiable(_) => 416,
            TooLarge(_) => 413,
            Unsupported(_) => 405,
            Storage(DriverError::NotFound(_)) => 404,
            Storage(DriverError::Unavailable { .. }) => 503,
            Storage(_) => 500,
            _ => 400,
        }
    }

    /// Maps a driver "not found" to the given spec error, keeping other faults.
    pub fn not_found_as(err: DriverError, as_err: impl FnOnce() -> RegistryError) -> Self {
        match err {
            DriverError::NotFound(_) => as_err(),
            other => RegistryError::Storage(other),
        }
    }
}
