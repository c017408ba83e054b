//! The local content store: an OCI Image Layout under `<root>/content`
//! (readable by skopeo and umoci as `oci:<root>/content:<name>`), with atomic,
//! digest-verified blob writes, names kept as `org.opencontainers.image.ref.name`
//! annotations in a locked `index.json`, image loading, and garbage collection.
//! `layer` packs directories into deterministic layer tars and unpacks them safely.
//! The root and its state directories are private (0700, see `perms`), and
//! `check` verifies blobs, the index and unpacked snapshots, repairing on request.

mod blobs;
mod check;
mod error;
mod gc;
mod image;
mod index;
pub mod layer;
mod lock;
mod paths;
mod perms;
pub mod rootless;
mod snapshot_check;

pub use blobs::BlobWriter;
pub use check::{chain_ids, CheckOptions, CheckReport, Problem, ProblemKind, Repair};
pub use error::StoreError;
pub use gc::GcReport;
pub use image::{host_platform, Image, Platform};
pub use index::{NamedImage, REF_NAME_ANNOTATION};
pub use perms::PRIVATE_DIR_MODE;

use std::path::{Path, PathBuf};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on a store root. Cheap to clone; every operation is safe to run
/// from several processes at once (blob writes are atomic renames, index
/// updates hold a file lock).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The default root: `/var/lib/hoist` for root, else (an ordinary user,
    /// or root of hoist's per-user namespace: rootless) `$XDG_DATA_HOME/hoist`
    /// (or `~/.local/share/hoist`).
    pub fn default_root() -> PathBuf {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 && !rootless::active() {
            return PathBuf::from("/var/lib/hoist");
        }
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(x).join("hoist");
        }
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
        PathBuf::from(home).join(".local/share/hoist")
    }

    /// Opens (creating when missing) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let store = Store { root: root.into() };
        store.init_layout()?;
        Ok(store)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The OCI Image Layout directory (`<root>/content`).
    pub fn content_dir(&self) -> PathBuf {
        self.root.join(paths::CONTENT)
    }

    /// Scratch space on the same filesystem as the blobs (for atomic renames).
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join(paths::TMP)
    }
}
