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

    pub(crate) fn init_layout(&self) -> Result<()> {
        let content = self.content_dir();
        for dir in [
            content.join("blobs/sha256"),
            content.join("blobs/sha512"),
            self.tmp_dir(),
        ] {
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        }
        let layout = content.join(LAYOUT);
        if !layout.exists() {
            crate::blobs::write_file_atomic(self, &layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let index = self.index_path();
        if !index.exists() {
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
