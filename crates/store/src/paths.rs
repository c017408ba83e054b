//! Where things live under a store root.

use crate::error::io_err;
use crate::{Result, Store};
use hoist_oci::Digest;
use std::path::PathBuf;

pub const CONTENT: &str = "content";
pub const TMP: &str = "tmp";
pub const INDEX: &str = "index.json";
pub const LAYOUT: &str = "oci-layout";
pub const INDEX_LOCK: &str = "index.lock";
/// The runtime's unpacked layers, `snapshots/<chain ID hex>`.
pub const SNAPSHOTS: &str = "snapshots";
/// The index as it was before the last write (a hard link to the old file),
/// kept outside `content/` so the OCI layout holds only what the spec names.
pub const INDEX_PREV: &str = "index.json.prev";

/// Directories under the root that hold state; each is created 0700 on open.
/// `snapshots`, `containers`, `volumes` and `pods` are the runtime's; they are
/// made here so no code path ever creates them with a looser mode.
pub const STATE_DIRS: &[&str] = &[CONTENT, TMP, SNAPSHOTS, "containers", "volumes", "pods"];
/// Directories other parts of hoist make under the root when they need them;
/// tightened to 0700 on open when present.
pub const OPTIONAL_STATE_DIRS: &[&str] = &["build-cache", "registry", "networks", "client"];
/// Files hoist keeps directly under the root.
pub const ROOT_FILES: &[&str] = &[INDEX_LOCK, INDEX_PREV];

impl Store {
    /// Where the blob with `digest` lives (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.content_dir()
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    pub(crate) fn index_path(&self) -> PathBuf {
        self.content_dir().join(INDEX)
    }

    pub(crate) fn index_prev_path(&self) -> PathBuf {
        self.root().join(INDEX_PREV)
    }

    pub(crate) fn init_layout(&self) -> Result<()> {
        self.secure_dirs()?;
        let content = self.content_dir();
        for dir in [content.join("blobs/sha256"), content.join("blobs/sha512")] {
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        }
        let layout = content.join(LAYOUT);
        if !layout.exists() {
            crate::blobs::write_file_atomic(self, &layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let index = self.index_path();
        // A missing index with a previous copy beside it lost its names: leave
        // it missing so commands say so (and `system check --repair` restores
        // it) rather than start over with an empty one.
        if !index.exists() && !self.index_prev_path().exists() {
            let _lock = self.lock_index()?;
            if !index.exists() {
                crate::blobs::write_file_atomic(
                    self,
                    &index,
                    br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
                )?;
            }
        }
        Ok(())
    }
}
