//! Errors of layer pack/unpack. Every error that concerns one tar entry names
//! it, so a refused layer says exactly which entry was bad and why.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// An entry would escape the target or is otherwise refused as hostile.
    #[error("unsafe tar entry {entry:?}: {reason}")]
    Unsafe { entry: String, reason: String },

    /// The stream is not a tar we can read (corrupt, truncated, wrong format).
    #[error("invalid layer: {0}")]
    Invalid(String),

    /// A size or entry-count limit was exceeded (a likely decompression bomb).
    #[error("layer exceeds limit at entry {entry:?}: {reason}")]
    Limit { entry: String, reason: String },

    /// Unpacking would leave less free space than the reserve on the target's
    /// filesystem.
    #[error("not enough free space for entry {entry:?} ({needed}): {free} free on the filesystem of {path}, and {reserve} must stay free (the free-space reserve, HOIST_MIN_FREE_SPACE); free some space or lower the reserve")]
    NoSpace {
        entry: String,
        path: PathBuf,
        needed: String,
        free: String,
        reserve: String,
    },

    /// A limit configured from the environment does not parse.
    #[error("{0}")]
    Config(String),

    /// Unknown compression name (from `FromStr`).
    #[error("unknown compression {0:?} (expected gzip, zstd or none)")]
    UnknownCompression(String),

    /// An I/O error on a named file while packing or unpacking.
    #[error("{path}: {source}")]
    Path {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// An I/O error while extracting a named entry.
    #[error("extracting {entry:?}: {source}")]
    Entry {
        entry: String,
        #[source]
        source: io::Error,
    },

    /// Any other I/O error (reading the stream, writing the output).
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl LayerError {
    pub(crate) fn unsafe_entry(entry: impl Into<String>, reason: impl Into<String>) -> Self {
        LayerError::Unsafe {
            entry: entry.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn entry_io(entry: impl Into<String>, source: io::Error) -> Self {
        LayerError::Entry {
            entry: entry.into(),
            source,
        }
    }

    pub(crate) fn path_io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        LayerError::Path {
            path: path.into(),
            source,
        }
    }
}
