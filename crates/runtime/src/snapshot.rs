//! Snapshots: each layer unpacked once into `<root>/snapshots/<chainID hex>/`
//! (with overlayfs whiteouts) and shared read-only by every container whose
//! image has that layer chain. Unpacking goes to a temp dir renamed into place,
//! so concurrent first uses never see a half-unpacked layer and never clash.
//! The unpacked files are made durable (syncfs of the snapshot filesystem)
//! before the rename: a snapshot under its final name never holds empty or
//! partial files after a power loss. Unpacking applies the layer limits of
//! the environment (`HOIST_MAX_LAYER_SIZE`, `HOIST_MIN_FREE_SPACE`).

use hoist_oci::oci_spec::image::Descriptor;
use hoist_oci::Digest;
use hoist_store::layer::{unpack, LayerLimits, UnpackOptions};
use hoist_store::{Image, Store};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, RuntimeError};

/// `<root>/snapshots`.
pub fn snapshots_dir(root: &Path) -> PathBuf {
    root.join("snapshots")
}

/// The OCI chain IDs of a layer stack (bottom first); the store's `system check`
/// names snapshots by the same definition.
pub use hoist_store::chain_ids;

/// Unpacks whatever is missing and returns the snapshot dirs, bottom first.
/// `layers` and `diff_ids` are the image's, in the same order. An image
/// without layers gets one shared empty snapshot (overlay needs a lower dir).
pub fn ensure_snapshots(
    store: &Store,
    layers: &[Descriptor],
    diff_ids: &[Digest],
) -> Result<Vec<PathBuf>> {
    if layers.len() != diff_ids.len() {
        return Err(RuntimeError::Invalid(format!(
            "the image has {} layers but {} diff IDs",
            layers.len(),
            diff_ids.len()
        )));
    }
    let dir = snapshots_dir(store.root());
    std::fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
    if layers.is_empty() {
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).ctx(|| format!("creating {}", empty.display()))?;
        return Ok(vec![empty]);
    }
    let mut out = Vec::with_capacity(layers.len());
    let mut opts = None;
    for (layer, chain) in layers.iter().zip(chain_ids(diff_ids)) {
        let target = dir.join(chain.hex());
        if !target.exists() {
            if opts.is_none() {
                let limits =
                    LayerLimits::from_env().map_err(|e| RuntimeError::Invalid(e.to_string()))?;
                opts = Some(UnpackOptions {
                    limits,
                    // The snapshot is synced before the rename: let large
                    // files go to the disk while the rest is unpacked.
                    start_writeback: true,
                    ..UnpackOptions::for_overlay()
                });
            }
            let opts = opts.as_ref().expect("set above");
            unpack_into_place(store, layer, &target, opts, sync_filesystem)?;
        }
        out.push(target);
    }
    Ok(out)
}

/// The snapshots of a loaded image.
pub fn image_snapshots(store: &Store, image: &Image) -> Result<Vec<PathBuf>> {
    ensure_snapshots(store, image.layers(), &image.diff_ids())
}

/// Writes everything cached for the filesystem holding `dir` to disk
/// (syncfs: one call for the whole snapshot, instead of an fsync per file
/// that would wait for the disk once per file).
fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    let d = std::fs::File::open(dir)?;
    // SAFETY: syncfs only reads the descriptor, which stays open for the call.
    if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Unpacks `layer` into a temp dir beside `target`, makes it durable with
/// `sync` (a seam for tests), then renames it to `target`.
fn unpack_into_place(
    store: &Store,
    layer: &Descriptor,
    target: &Path,
    opts: &UnpackOptions,
    sync: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    let digest = Digest::try_from(layer.digest()).map_err(|e| RuntimeError::Image {
        name: layer.digest().to_string(),
        message: format!("bad layer digest: {e}"),
    })?;
    let parent = target.parent().unwrap_or(Path::new("/"));
    let tmp = parent.join(format!(".tmp-{:016x}", rand::random::<u64>()));
    std::fs::create_dir(&tmp).ctx(|| format!("creating {}", tmp.display()))?;
    let result = (|| {
        let blob = store.open_blob(&digest).map_err(|e| RuntimeError::Image {
            name: digest.to_string(),
            message: e.to_string(),
        })?;
        let reader = std::io::BufReader::with_capacity(1 << 20, blob);
        // "image layer sha256:...: unpacking: <what and which limit>"
        unpack(reader, &tmp, opts).map_err(|e| RuntimeError::Image {
            name: format!("layer {digest}"),
            message: format!("unpacking: {e}"),
        })?;
        sync(&tmp).ctx(|| format!("syncing the unpacked layer {digest} to disk"))?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // Another process may have won the race: then keep theirs.
    if std::fs::rename(&tmp, target).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        if !target.exists() {
            return Err(RuntimeError::Invalid(format!(
                "could not move the unpacked layer to {}",
                target.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_oci::oci_spec::image::MediaType;
    use hoist_store::layer::{pack_dir_to, PackOptions};
    use std::cell::Cell;

    /// A store holding one layer with `file` = `content`; its descriptor.
    fn store_with_layer(root: &Path, content: &[u8]) -> (Store, Descriptor) {
        let store = Store::open(root).unwrap();
        let src = root.join("src");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(src.join("file"), content).unwrap();
        let mut blob = Vec::new();
        let packed = pack_dir_to(&src, &PackOptions::default(), &mut blob).unwrap();
        let digest = store.write_blob(&blob).unwrap();
        let desc = Descriptor::new(MediaType::from(packed.media_type), packed.size, &digest);
        (store, desc)
    }

    /// The unpacked files are synced before the snapshot gets its name: the
    /// sync step runs while only the temp dir exists, with the content in
    /// it, and the rename happens only after it returned.
    #[test]
    fn a_snapshot_is_synced_before_it_becomes_visible() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, layer) = store_with_layer(tmp.path(), b"durable");
        let target = tmp.path().join("snapshots").join("snap");
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let synced = Cell::new(false);
        let opts = UnpackOptions::default();
        unpack_into_place(&store, &layer, &target, &opts, |dir| {
            assert!(!target.exists(), "visible before the sync");
            assert_eq!(std::fs::read(dir.join("file")).unwrap(), b"durable");
            synced.set(true);
            sync_filesystem(dir)
        })
        .unwrap();
        assert!(synced.get(), "the sync step was not called");
        assert_eq!(std::fs::read(target.join("file")).unwrap(), b"durable");
    }

    /// A failed sync publishes nothing and leaves no temp dir.
    #[test]
    fn a_failed_sync_leaves_no_snapshot() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, layer) = store_with_layer(tmp.path(), b"x");
        let snaps = tmp.path().join("snapshots");
        std::fs::create_dir_all(&snaps).unwrap();
        let target = snaps.join("snap");
        let opts = UnpackOptions::default();
        let err = unpack_into_place(&store, &layer, &target, &opts, |_| {
            Err(std::io::Error::from_raw_os_error(libc::EIO))
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("syncing the unpacked layer"),
            "{err}"
        );
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(&snaps).unwrap().count(), 0);
    }

    #[test]
    fn chain_id_follows_the_oci_definition() {
        let a: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        let b: Digest = format!("sha256:{}", "b".repeat(64)).parse().unwrap();
        let ids = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::sha256_of(format!("{a} {b}").as_bytes()));
    }
}
