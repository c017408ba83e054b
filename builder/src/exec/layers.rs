//! Layers in and out of the store: packing a directory (a staging tree or an
//! overlay upper dir) into a layer blob, and a read-only view of an image's
//! root filesystem for COPY and WORKDIR to look at.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use hoist_store::layer::{self, PackOptions};

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
    let opts = pack_options(shared, overlay_whiteouts);
    write_layer(shared, |writer| layer::pack_dir_to(dir, &opts, writer)).map(Some)
}

/// Packs a layer listed in memory (COPY's `LayerTree`) into the store.
pub(crate) fn pack_list_into_store(
    shared: &Shared,
    entries: &[layer::ListedEntry],
) -> Result<LayerRecord> {
    let opts = pack_options(shared, false);
    write_layer(shared, |writer| layer::pack_list_to(entries, &opts, writer))
}

fn pack_options(shared: &Shared, overlay_whiteouts: bool) -> PackOptions {
    PackOptions {
        compression: shared.opts.compression,
        source_date_epoch: Some(shared.opts.source_date_epoch),
        overlay_whiteouts,
    }
}

/// Writes a blob with `pack` and checks it landed under the digest it reports.
fn write_layer(
    shared: &Shared,
    pack: impl FnOnce(
        &mut hoist_store::BlobWriter,
    ) -> std::result::Result<layer::PackedLayer, layer::LayerError>,
) -> Result<LayerRecord> {
    let mut writer = shared
        .store
        .blob_writer()
        .map_err(|e| BuildError::Store(e.to_string()))?;
    let packed =
        pack(&mut writer).map_err(|e| BuildError::Store(format!("cannot pack the layer: {e}")))?;
    let expected: hoist_oci::Digest = packed
        .digest
        .parse()
        .map_err(|e| BuildError::Store(format!("packer gave a bad digest: {e}")))?;
    writer
        .finish(Some(&expected))
        .map_err(|e| BuildError::Store(e.to_string()))?;
    Ok(LayerRecord {
        digest: packed.digest,
        diff_id: packed.diff_id,
        size: packed.size,
        media_type: packed.media_type.to_string(),
    })
}

/// The runtime's snapshot directories of `layers`, bottom first (unpacked once, shared).
pub(crate) fn snapshots(shared: &Shared, layers: &[LayerRecord]) -> Result<Vec<PathBuf>> {
    write_pending(shared, layers);
    let descriptors = layers
        .iter()
        .map(super::image::descriptor)
        .collect::<Result<Vec<_>>>()?;
    let diff_ids = layers
        .iter()
        .map(|l| {
            l.diff_id
                .parse::<hoist_oci::Digest>()
                .map_err(|e| BuildError::Cache(format!("bad diff ID {}: {e}", l.diff_id)))
        })
        .collect::<Result<Vec<_>>>()?;
    hoist_runtime::ensure_snapshots(shared.store, &descriptors, &diff_ids)
        .map_err(|e| BuildError::Runtime(format!("cannot unpack the layers: {e}")))
}

/// A read-only root filesystem of some layers: the one snapshot itself, or a
/// read-only overlay of several, unmounted when dropped.
pub(crate) struct RootView {
    path: PathBuf,
    mounted: bool,
    _scratch: Option<tempfile::TempDir>,
}

impl RootView {
    /// The merged filesystem of `layers` (bottom first).
    pub fn open(shared: &Shared, layers: &[LayerRecord]) -> Result<RootView> {
        let dirs = snapshots(shared, layers)?;
        if let [only] = dirs.as_slice() {
            return Ok(RootView {
                path: only.clone(),
                mounted: false,
                _scratch: None,
            });
        }
        let scratch = shared
            .cache
            .scratch_dir("rootfs-")
            .map_err(BuildError::io("cannot make a scratch directory"))?;
        let lowers: Vec<String> = dirs.iter().rev().map(|d| d.display().to_string()).collect();
        let options = format!("lowerdir={}", lowers.join(":"));
        mount_overlay_ro(scratch.path(), &options)
            .map_err(BuildError::io("cannot mount a read-only view of the image"))?;
        Ok(RootView {
            path: scratch.path().to_path_buf(),
            mounted: true,
            _scratch: Some(scratch),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RootView {
    fn drop(&mut self) {
        if self.mounted {
            if let Ok(target) = CString::new(self.path.as_os_str().as_bytes()) {
                // SAFETY: a valid NUL-terminated path; MNT_DETACH never blocks.
                unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
            }
        }
    }
}

fn mount_overlay_ro(target: &Path, options: &str) -> std::io::Result<()> {
    mount_overlay(target, options, libc::MS_RDONLY).map(std::mem::forget)
}

/// An overlay mount on the host, unmounted (lazily) when dropped.
pub(crate) struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Ok(target) = CString::new(self.0.as_os_str().as_bytes()) {
            // SAFETY: a valid NUL-terminated path; MNT_DETACH never blocks.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Mounts an overlay at `target` with `options` and mount `flags`.
pub(crate) fn mount_overlay(
    target: &Path,
    options: &str,
    flags: libc::c_ulong,
) -> std::io::Result<Mounted> {
    let target_c = CString::new(target.as_os_str().as_bytes())?;
    let data = CString::new(options)?;
    let fstype = c"overlay";
    // SAFETY: all pointers are valid NUL-terminated strings for the call's duration.
    let rc = unsafe {
        libc::mount(
            fstype.as_ptr(),
            target_c.as_ptr(),
            fstype.as_ptr(),
            flags,
            data.as_ptr().cast(),
        )
    };
    if rc == 0 {
        Ok(Mounted(target.to_path_buf()))
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Writes out the snapshots of `layers` that COPY packed straight from the
/// build context (`LayerTree`), instead of unpacking them from their blobs.
/// Best effort: on failure the snapshot is unpacked from the blob.
fn write_pending(shared: &Shared, layers: &[LayerRecord]) {
    let mut pending = shared.pending_snapshots.lock().expect("pending lock");
    if pending.is_empty() {
        return;
    }
    let diff_ids: Option<Vec<hoist_oci::Digest>> =
        layers.iter().map(|l| l.diff_id.parse().ok()).collect();
    let Some(chains) = diff_ids.map(|d| hoist_runtime::snapshot::chain_ids(&d)) else {
        return;
    };
    for (i, chain) in chains.iter().enumerate() {
        let Some(tree) = pending.remove(chain.hex()) else {
            continue;
        };
        let Ok(scratch) = shared.cache.scratch_dir("copy-") else {
            continue;
        };
        match tree.write_to(scratch.path()) {
            Ok(()) => adopt_snapshot(shared, &layers[..=i], scratch.path()),
            Err(e) => tracing::debug!(error = %e, "writing a COPY's snapshot failed; unpacking it"),
        }
    }
}

/// Keeps a step's finished directory (an overlay upper dir, or a COPY staging
/// tree) as the runtime's snapshot of the new layer stack, so the next RUN or
/// COPY does not unpack the layer that was just packed from it. `layers`
/// includes the new layer. Best effort: on any failure the snapshot is simply
/// unpacked from the blob when needed.
pub(crate) fn adopt_snapshot(shared: &Shared, layers: &[LayerRecord], dir: &Path) {
    let diff_ids: Option<Vec<hoist_oci::Digest>> =
        layers.iter().map(|l| l.diff_id.parse().ok()).collect();
    let Some(chain) = diff_ids.and_then(|d| hoist_runtime::snapshot::chain_ids(&d).pop()) else {
        return;
    };
    let snapshots = hoist_runtime::snapshot::snapshots_dir(shared.store.root());
    let target = snapshots.join(chain.hex());
    if target.exists() || std::fs::create_dir_all(&snapshots).is_err() {
        return;
    }
    // A concurrent unpack of the same chain wins the rename; ours is then dropped.
    if let Err(e) = std::fs::rename(dir, &target) {
        tracing::debug!(error = %e, "keeping a step's directory as its snapshot failed");
    }
}
