//! Layers in and out of the store: packing a directory (a staging tree or an
//! overlay upper dir) into a layer blob, and a read-only view of an image's
//! root filesystem for COPY and WORKDIR to look at.

use std::path::{Path, PathBuf};

use hoist_store::layer::{self, PackOptions, UnpackOptions};

use crate::cache::LayerRecord;
use crate::error::{BuildError, Result};

use super::Shared;

/// Packs `dir` into a layer in the store; None when `dir` is empty.
pub(crate) fn pack_into_store(
    shared: &Shared,
    dir: &Path,
    overlay_whiteouts: bool,
) -> Result<Option<LayerRecord>> {
    let empty = std::fs::read_dir(dir)
        .map_err(BuildError::io(format!("cannot read {}", dir.display())))?
        .next()
        .is_none();
    if empty {
        return Ok(None);
    }
    let opts = PackOptions {
        compression: shared.opts.compression,
        source_date_epoch: Some(shared.opts.source_date_epoch),
        overlay_whiteouts,
    };
    let mut writer = shared
        .store
        .blob_writer()
        .map_err(|e| BuildError::Store(e.to_string()))?;
    let packed = layer::pack_dir_to(dir, &opts, &mut writer)
        .map_err(|e| BuildError::Store(format!("cannot pack the layer: {e}")))?;
    let expected: hoist_oci::Digest = packed
        .digest
        .parse()
        .map_err(|e| BuildError::Store(format!("packer gave a bad digest: {e}")))?;
    writer
        .finish(Some(&expected))
        .map_err(|e| BuildError::Store(e.to_string()))?;
    Ok(Some(LayerRecord {
        digest: packed.digest,
        diff_id: packed.diff_id,
        size: packed.size,
        media_type: packed.media_type.to_string(),
    }))
}

/// A read-only root filesystem of some layers, gone when dropped.
pub(crate) struct RootView {
    path: PathBuf,
    _scratch: Option<tempfile::TempDir>,
}

impl RootView {
    /// The merged filesystem of `layers` (bottom first).
    pub fn open(shared: &Shared, layers: &[LayerRecord]) -> Result<RootView> {
        let scratch = shared
            .cache
            .scratch_dir("rootfs-")
            .map_err(BuildError::io("cannot make a scratch directory"))?;
        // Flattened: each layer unpacked over the last, whiteouts applied.
        for l in layers {
            let digest: hoist_oci::Digest = l
                .digest
                .parse()
                .map_err(|e| BuildError::Store(format!("bad layer digest {}: {e}", l.digest)))?;
            let blob = shared
                .store
                .open_blob(&digest)
                .map_err(|e| BuildError::Store(e.to_string()))?;
            layer::unpack(blob, scratch.path(), &UnpackOptions::default())
                .map_err(|e| BuildError::Store(format!("cannot unpack layer {}: {e}", l.digest)))?;
        }
        Ok(RootView {
            path: scratch.path().to_path_buf(),
            _scratch: Some(scratch),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
