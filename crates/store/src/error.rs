use std::path::{Path, PathBuf};
use thiserror::Error;

/// What went wrong in the store, phrased so the user knows what to do.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("content does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("blob {0} is not in the store")]
    BlobNotFound(String),
    #[error("no image named {0:?} in the store (see `hoist images`)")]
    ImageNotFound(String),
    #[error("{0:?} matches more than one image; use more of the ID or a full name")]
    Ambiguous(String),
    #[error(transparent)]
    Oci(#[from] hoist_oci::OciError),
    #[error(
        "{} is corrupt ({reason}); run `hoist system check --repair` to restore its last good copy",
        path.display()
    )]
    IndexCorrupt { path: PathBuf, reason: String },
    #[error("{what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("no image for platform {wanted} in the index (it has: {available})")]
    NoMatchingPlatform { wanted: String, available: String },
}

/// Maps an io::Error to `StoreError::Io` naming `path`.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}
