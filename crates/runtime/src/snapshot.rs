//! Snapshots: each layer unpacked once into `<root>/snapshots/<chainID hex>/`
//! (with overlayfs whiteouts) and shared read-only by every container whose
//! image has that layer chain. Unpacking goes to a temp dir renamed into place,
//! so concurrent first uses never see a half-unpacked layer and never clash.

use hoist_oci::oci_spec::image::Descriptor;
use hoist_oci::Digest;
use hoist_store::layer::{unpack, UnpackOptions};
use hoist_store::{Image, Store};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, RuntimeError};

/// `<root>/snapshots`.
pub fn snapshots_dir(root: &Path) -> PathBuf {
    root.join("snapshots")
}

/// The OCI chain IDs of a layer stack (bottom first).
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => Digest::sha256_of(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

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
    for (layer, chain) in layers.iter().zip(chain_ids(diff_ids)) {
        let target = dir.join(chain.hex());
        if !target.exists() {
            unpack_into_place(store, layer, &target)?;
        }
        out.push(target);
    }
    Ok(out)
}

/// The snapshots of a loaded image.
pub fn image_snapshots(store: &Store, image: &Image) -> Result<Vec<PathBuf>> {
    ensure_snapshots(store, image.layers(), &image.diff_ids())
}

fn unpack_into_place(store: &Store, layer: &Descriptor, target: &Path) -> Result<()> {
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
        unpack(reader, &tmp, &UnpackOptions::for_overlay()).map_err(|e| RuntimeError::Image {
            name: digest.to_string(),
            message: format!("unpacking the layer: {e}"),
        })?;
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

    #[test]
    fn chain_id_follows_the_oci_definition() {
        let a: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        let b: Digest = format!("sha256:{}", "b".repeat(64)).parse().unwrap();
        let ids = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::sha256_of(format!("{a} {b}").as_bytes()));
    }
}
