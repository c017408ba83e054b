//! `hoist system prune`: remove blobs that no image name and no container
//! uses, the unpacked layer snapshots that nothing left needs, and networks
//! no container uses.

use super::list::human_size;
use crate::cli::GlobalArgs;
use hoist_oci::Digest;
use hoist_store::Store;
use std::collections::HashSet;

pub fn run(store: &Store, _global: &GlobalArgs) -> anyhow::Result<i32> {
    // Networks no container uses, with their bridges and rules (docker's
    // system prune does the same).
    for name in crate::commands::network::prune_unused(store.root())? {
        println!("Deleted network {name}");
    }
    images(store)
}

/// `hoist image prune`: the blobs and snapshots only (networks are `system prune`'s).
pub fn images(store: &Store) -> anyhow::Result<i32> {
    let live: Vec<Digest> = hoist_runtime::live_image_digests(store.root())
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect();
    let report = store.gc(&live)?;
    let (snapshots, snapshot_bytes) = prune_snapshots(store, &live)?;
    println!(
        "Deleted {} blobs and {} snapshots. Total reclaimed space: {}",
        report.blobs_removed,
        snapshots,
        human_size(report.bytes_freed + snapshot_bytes)
    );
    Ok(0)
}

/// Removes snapshot dirs whose chain ID no named image and no container's
/// image has. Temp dirs of unpacks in progress (dot-names) are left alone.
fn prune_snapshots(store: &Store, live: &[Digest]) -> anyhow::Result<(usize, u64)> {
    let dir = hoist_runtime::snapshot::snapshots_dir(store.root());
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok((0, 0));
    };
    let keep = needed_chains(store, live)?;
    // The copies of layers made for `--userns=keep-id` (rootless) go with
    // their snapshots.
    let (mut removed, mut bytes) = hoist_runtime::keepid::remove_unused(&dir, &keep);
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || keep.contains(&name) || name.parse::<Digest>().is_ok() {
            continue;
        }
        if !(name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())) {
            continue;
        }
        let size = hoist_runtime::fsutil::tree_size(&e.path());
        if std::fs::remove_dir_all(e.path()).is_ok() {
            removed += 1;
            bytes += size;
        }
    }
    Ok((removed, bytes))
}

/// The chain IDs (snapshot names) a named image or a container's image has.
fn needed_chains(store: &Store, live: &[Digest]) -> anyhow::Result<HashSet<String>> {
    let mut keep = HashSet::new();
    let mut roots: Vec<_> = store.names()?.into_iter().map(|n| n.descriptor).collect();
    for d in live {
        if let Ok(found) = store.resolve(&d.to_string()) {
            roots.push(found.descriptor);
        }
    }
    for desc in roots {
        if let Ok(img) = store.load_image(&desc) {
            for chain in hoist_runtime::snapshot::chain_ids(&img.diff_ids()) {
                keep.insert(chain.hex().to_string());
            }
        }
    }
    Ok(keep)
}

/// `rmi`: the keep-id copies (rootless) of layers no image or container
/// needs any more; each is a whole copy of a layer per id map, unlike a
/// snapshot, which a later pull of the same layer reuses.
pub fn unused_layer_copies(store: &Store) -> anyhow::Result<()> {
    let live: Vec<Digest> = hoist_runtime::live_image_digests(store.root())
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect();
    let keep = needed_chains(store, &live)?;
    let dir = hoist_runtime::snapshot::snapshots_dir(store.root());
    hoist_runtime::keepid::remove_unused(&dir, &keep);
    Ok(())
}
