//! `hoist build --output type=local,dest=DIR`: the image's root filesystem
//! written into a directory, layer by layer (deletions applied), with the
//! same hostile-input checks as a pull.

use std::path::Path;

use hoist_store::layer::{self, UnpackOptions};
use hoist_store::Store;

use crate::error::{BuildError, Result};

/// Unpacks the image `manifest_digest`'s layers into `dest` (created when
/// missing; files already there are overwritten by the image's).
pub fn export_rootfs(store: &Store, manifest_digest: &str, dest: &Path) -> Result<()> {
    let store_err = |e: hoist_store::StoreError| BuildError::Store(e.to_string());
    let named = store.resolve(manifest_digest).map_err(store_err)?;
    let image = store.load_image(&named.descriptor).map_err(store_err)?;
    std::fs::create_dir_all(dest)
        .map_err(BuildError::io(format!("cannot create {}", dest.display())))?;
    for l in image.layers() {
        let digest: hoist_oci::Digest = l
            .digest()
            .to_string()
            .parse()
            .map_err(|e| BuildError::Store(format!("bad layer digest: {e}")))?;
        let blob = store.open_blob(&digest).map_err(store_err)?;
        layer::unpack(blob, dest, &UnpackOptions::default()).map_err(|e| {
            BuildError::Store(format!(
                "cannot write layer {digest} into {}: {e}",
                dest.display()
            ))
        })?;
    }
    Ok(())
}
