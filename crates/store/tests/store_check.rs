//! `Store::check` on a real temp root: corrupt blobs, a truncated index and
//! tampered snapshots are found, and repaired on request.

use hoist_oci::oci_spec::image::{Descriptor, MediaType};
use hoist_oci::Digest;
use hoist_store::layer::{pack_dir_to, unpack, PackOptions, UnpackOptions};
use hoist_store::{CheckOptions, ProblemKind, Repair, Store, StoreError};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Packs `tree` as a layer into the store and commits a one-layer image
/// named `name`; returns the layer digest and the snapshot dir it would use.
fn image_from_tree(store: &Store, tree: &Path, name: &str) -> (Digest, PathBuf) {
    let mut w = store.blob_writer().unwrap();
    let packed = pack_dir_to(tree, &PackOptions::default(), &mut w).unwrap();
    let (layer, size) = w.finish(None).unwrap();
    assert_eq!(layer.to_string(), packed.digest);
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [packed.diff_id]},
    });
    let desc = Descriptor::new(MediaType::from(packed.media_type), size, &layer);
    let manifest = store.commit_image(&config, vec![desc]).unwrap();
    store.set_name(name, manifest).unwrap();
    // One layer: its chain ID is its diffID.
    let chain: Digest = packed.diff_id.parse().unwrap();
    let snapshot = store.root().join("snapshots").join(chain.hex());
    (layer, snapshot)
}

fn sample_tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::write(dir.join("bin/tool"), vec![7u8; 100_000]).unwrap();
    std::fs::set_permissions(dir.join("bin/tool"), PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("readme"), b"hello").unwrap();
    std::os::unix::fs::symlink("tool", dir.join("bin/alias")).unwrap();
}

/// Unpacks the layer the way the runtime does, into its snapshot dir.
fn make_snapshot(store: &Store, layer: &Digest, snapshot: &Path) {
    std::fs::create_dir_all(snapshot).unwrap();
    let blob = store.open_blob(layer).unwrap();
    let mut opts = UnpackOptions::for_overlay();
    opts.allow_devices = false; // whiteouts only matter as root; this tree has none
    unpack(blob, snapshot, &opts).unwrap();
}

fn flip_a_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    let mode = std::fs::metadata(path).unwrap().permissions();
    std::fs::set_permissions(path, PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, mode).unwrap();
}

#[test]
fn a_clean_store_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tree) = (
        Store::open(dir.path().join("root")).unwrap(),
        dir.path().join("t"),
    );
    sample_tree(&tree);
    let (layer, snapshot) = image_from_tree(&store, &tree, "app:1");
    make_snapshot(&store, &layer, &snapshot);
    let report = store.check(&CheckOptions::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.blobs_checked, 3); // layer, config, manifest
    assert_eq!(report.snapshots_checked, 1);
    assert!(report.all_repaired());
}

#[test]
fn a_flipped_byte_in_a_layer_is_found_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tree) = (
        Store::open(dir.path().join("root")).unwrap(),
        dir.path().join("t"),
    );
    sample_tree(&tree);
    let (layer, _) = image_from_tree(&store, &tree, "app:1");
    flip_a_byte(&store.blob_path(&layer));

    let report = store.check(&CheckOptions::default()).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let p = &report.problems[0];
    match &p.kind {
        ProblemKind::CorruptBlob { digest, images, .. } => {
            assert_eq!(digest, &layer);
            assert_eq!(images, &["docker.io/library/app:1".to_string()]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(p.repair, Repair::NotAsked));
    assert!(
        store.has_blob(&layer),
        "a check without --repair changes nothing"
    );

    let repaired = store
        .check(&CheckOptions {
            repair: true,
            ..Default::default()
        })
        .unwrap();
    assert!(repaired.all_repaired(), "{:?}", repaired.problems);
    assert!(!store.has_blob(&layer));
    assert!(repaired.needs_pull.contains("docker.io/library/app:1"));

    // Afterwards the name still stands but its layer is missing: a new pull is due.
    let after = store.check(&CheckOptions::default()).unwrap();
    assert!(matches!(
        after.problems.as_slice(),
        [p] if matches!(&p.kind, ProblemKind::MissingBlob { role: "layer", .. })
    ));
}

#[test]
fn a_truncated_index_names_the_fix_and_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tree) = (
        Store::open(dir.path().join("root")).unwrap(),
        dir.path().join("t"),
    );
    sample_tree(&tree);
    image_from_tree(&store, &tree, "app:1");
    image_from_tree(&store, &tree, "app:2"); // a second write, so a previous copy names app:1
    let index = store.content_dir().join("index.json");
    let bytes = std::fs::read(&index).unwrap();
    std::fs::write(&index, &bytes[..bytes.len() / 2]).unwrap();

    let err = store.names().unwrap_err();
    assert!(matches!(err, StoreError::IndexCorrupt { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("index.json") && msg.contains("hoist system check --repair"),
        "{msg}"
    );
    let report = store.check(&CheckOptions::default()).unwrap();
    assert!(matches!(
        report.problems[0].kind,
        ProblemKind::CorruptIndex { .. }
    ));

    let repaired = store
        .check(&CheckOptions {
            repair: true,
            ..Default::default()
        })
        .unwrap();
    assert!(repaired.all_repaired(), "{:?}", repaired.problems);
    let names: Vec<String> = store.names().unwrap().into_iter().map(|n| n.name).collect();
    assert_eq!(names, ["docker.io/library/app:1"]);
    assert!(store
        .check(&CheckOptions::default())
        .unwrap()
        .problems
        .is_empty());
}

#[test]
fn a_corrupt_index_without_a_good_copy_is_not_papered_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("root")).unwrap();
    let index = store.content_dir().join("index.json");
    std::fs::write(&index, b"{\"schemaVersion\":2,\"manif").unwrap();
    let report = store
        .check(&CheckOptions {
            repair: true,
            ..Default::default()
        })
        .unwrap();
    assert!(!report.all_repaired());
    assert!(matches!(report.problems[0].repair, Repair::Failed(_)));
    assert_eq!(
        std::fs::read(&index).unwrap(),
        b"{\"schemaVersion\":2,\"manif"
    );
}

#[test]
fn a_tampered_snapshot_is_found_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tree) = (
        Store::open(dir.path().join("root")).unwrap(),
        dir.path().join("t"),
    );
    sample_tree(&tree);
    let (layer, snapshot) = image_from_tree(&store, &tree, "app:1");
    for tamper in [
        |s: &Path| flip_a_byte(&s.join("bin/tool")),
        |s: &Path| {
            std::fs::set_permissions(s.join("bin/tool"), PermissionsExt::from_mode(0o4755)).unwrap()
        },
        |s: &Path| std::fs::write(s.join("bin/planted"), b"x").unwrap(),
        |s: &Path| std::fs::remove_file(s.join("readme")).unwrap(),
    ] {
        make_snapshot(&store, &layer, &snapshot);
        tamper(&snapshot);
        let report = store.check(&CheckOptions::default()).unwrap();
        let [p] = report.problems.as_slice() else {
            panic!("{:?}", report.problems)
        };
        let ProblemKind::CorruptSnapshot { differences, .. } = &p.kind else {
            panic!("{p:?}")
        };
        assert_eq!(differences.len(), 1, "{differences:?}");
        let repaired = store
            .check(&CheckOptions {
                repair: true,
                ..Default::default()
            })
            .unwrap();
        assert!(repaired.all_repaired(), "{:?}", repaired.problems);
        assert!(!snapshot.exists());
    }
}

#[test]
fn a_snapshot_of_an_image_in_use_is_left_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tree) = (
        Store::open(dir.path().join("root")).unwrap(),
        dir.path().join("t"),
    );
    sample_tree(&tree);
    let (layer, snapshot) = image_from_tree(&store, &tree, "app:1");
    make_snapshot(&store, &layer, &snapshot);
    std::fs::write(snapshot.join("readme"), b"changed").unwrap();
    let in_use = vec![store.resolve("app:1").unwrap().digest()];
    let report = store
        .check(&CheckOptions {
            repair: true,
            in_use,
        })
        .unwrap();
    assert!(matches!(report.problems[0].repair, Repair::NotPossible(_)));
    assert!(!report.all_repaired());
    assert!(snapshot.join("readme").exists());
}

#[test]
fn a_deleted_index_is_not_replaced_by_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let (root, tree) = (dir.path().join("root"), dir.path().join("t"));
    let store = Store::open(&root).unwrap();
    sample_tree(&tree);
    image_from_tree(&store, &tree, "app:1");
    image_from_tree(&store, &tree, "app:2");
    std::fs::remove_file(store.content_dir().join("index.json")).unwrap();
    let store = Store::open(&root).unwrap();
    let err = store.names().unwrap_err();
    assert!(err.to_string().contains("it is missing"), "{err}");
    let repaired = store
        .check(&CheckOptions {
            repair: true,
            ..Default::default()
        })
        .unwrap();
    assert!(repaired.all_repaired(), "{:?}", repaired.problems);
    assert_eq!(store.names().unwrap().len(), 1);
}

/// A layer with what real images carry: hard links, a whiteout, an opaque
/// directory, a setuid file, a capability, a device node and a fifo.
fn rich_layer_tar() -> Vec<u8> {
    fn add(
        b: &mut tar::Builder<Vec<u8>>,
        path: &str,
        kind: tar::EntryType,
        mode: u32,
        data: &[u8],
        link: Option<&str>,
    ) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_uid(0);
        h.set_gid(0);
        if kind == tar::EntryType::Block {
            h.set_device_major(7).unwrap();
            h.set_device_minor(3).unwrap();
        }
        match link {
            Some(l) => b.append_link(&mut h, path, l).unwrap(),
            None => b.append_data(&mut h, path, data).unwrap(),
        }
    }
    use tar::EntryType::{Block, Directory, Fifo, Link, Regular, Symlink};
    let mut b = tar::Builder::new(Vec::new());
    add(&mut b, "./", Directory, 0o755, b"", None);
    add(&mut b, "usr/", Directory, 0o755, b"", None);
    add(&mut b, "usr/bin/", Directory, 0o755, b"", None);
    add(
        &mut b,
        "usr/bin/su",
        Regular,
        0o4755,
        b"not really su",
        None,
    );
    add(&mut b, "usr/bin/su2", Link, 0o4755, b"", Some("usr/bin/su"));
    add(&mut b, "usr/bin/sh", Symlink, 0o777, b"", Some("su"));
    add(&mut b, "opaque/", Directory, 0o700, b"", None);
    add(&mut b, "opaque/.wh..wh..opq", Regular, 0o644, b"", None);
    add(&mut b, ".wh.gone", Regular, 0o644, b"", None);
    add(&mut b, "disk", Block, 0o660, b"", None);
    add(&mut b, "pipe", Fifo, 0o600, b"", None);
    // cap_net_raw+ep as a v2 vfs_cap_data.
    let cap: [u8; 20] = [
        1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    b.append_pax_extensions([("SCHILY.xattr.security.capability", &cap[..])])
        .unwrap();
    add(
        &mut b,
        "usr/bin/ping",
        Regular,
        0o755,
        b"not really ping",
        None,
    );
    b.into_inner().unwrap()
}

#[test]
fn a_layer_with_links_whiteouts_devices_and_capabilities_checks_clean() {
    hoist_testkit::require_root!();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("root")).unwrap();
    let tar = rich_layer_tar();
    let layer = store.write_blob(&tar).unwrap();
    let desc = Descriptor::new(
        MediaType::from(hoist_oci::media_types::OCI_LAYER_TAR),
        tar.len() as u64,
        &layer,
    );
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer.to_string()]},
    });
    let manifest = store.commit_image(&config, vec![desc]).unwrap();
    store.set_name("rich:1", manifest).unwrap();
    let snapshot = store.root().join("snapshots").join(layer.hex());
    std::fs::create_dir_all(&snapshot).unwrap();
    unpack(&tar[..], &snapshot, &UnpackOptions::for_overlay()).unwrap();

    let report = store.check(&CheckOptions::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.snapshots_checked, 1);

    // Each change an attacker (or a bad disk) could make is seen.
    let cap = xattr::get(snapshot.join("usr/bin/ping"), "security.capability").unwrap();
    assert!(cap.is_some(), "the unpack restored the capability");
    xattr::set(
        snapshot.join("usr/bin/su"),
        "security.capability",
        &cap.unwrap(),
    )
    .unwrap();
    std::fs::write(snapshot.join("usr/bin/su3"), b"x").unwrap();
    std::fs::remove_file(snapshot.join("gone")).unwrap();
    let report = store.check(&CheckOptions::default()).unwrap();
    let ProblemKind::CorruptSnapshot { differences, .. } = &report.problems[0].kind else {
        panic!("{:?}", report.problems)
    };
    assert_eq!(differences.len(), 3, "{differences:?}");
    for what in [
        "/gone: the whiteout is gone",
        "/usr/bin/su3: not in the layer",
        "/usr/bin/su: file capabilities changed",
    ] {
        assert!(
            differences.iter().any(|d| d == what),
            "{what} in {differences:?}"
        );
    }
}
