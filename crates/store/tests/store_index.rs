//! The store's names, resolution, image loading and GC, on a real temp root.

use hoist_oci::oci_spec::image::{Descriptor, MediaType};
use hoist_oci::Digest;
use hoist_store::{Store, StoreError};
use serde_json::json;

fn image_with_layer(store: &Store, content: &[u8]) -> Descriptor {
    let layer = store.write_blob(content).unwrap();
    let layer_desc = Descriptor::new(
        MediaType::from(hoist_oci::media_types::OCI_LAYER_TAR),
        content.len() as u64,
        &layer,
    );
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Healthcheck": {"Test": ["CMD", "true"]}},
        "rootfs": {"type": "layers", "diff_ids": [layer.to_string()]},
    });
    store.commit_image(&config, vec![layer_desc]).unwrap()
}

#[test]
fn names_resolve_like_docker() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let desc = image_with_layer(&store, b"layer one");
    let full = store.set_name("busybox", desc.clone()).unwrap();
    assert_eq!(full, "docker.io/library/busybox:latest");
    for query in [
        "busybox",
        "busybox:latest",
        "docker.io/library/busybox:latest",
    ] {
        let found = store.resolve(query).unwrap();
        assert_eq!(found.descriptor.digest(), desc.digest(), "{query}");
    }
    let digest = Digest::try_from(desc.digest()).unwrap();
    assert_eq!(store.resolve(&digest.to_string()).unwrap().name, full);
    assert_eq!(store.resolve(&digest.hex()[..8]).unwrap().name, full);
    let image = store.load_image(&desc).unwrap();
    assert_eq!(
        image.config_json["config"]["Healthcheck"]["Test"][1],
        "true"
    );
    assert_eq!(image.diff_ids().len(), 1);
    assert!(matches!(
        store.resolve("nothere"),
        Err(StoreError::ImageNotFound(_))
    ));
    assert!(store.resolve("Not A Name").is_err());
}

#[test]
fn retagging_replaces_and_removing_keeps_other_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = image_with_layer(&store, b"a");
    let b = image_with_layer(&store, b"b");
    store.set_name("app:1", a.clone()).unwrap();
    store.set_name("app:2", a.clone()).unwrap();
    store.set_name("app:1", b.clone()).unwrap();
    let names = store.names().unwrap();
    assert_eq!(names.len(), 2);
    assert_eq!(
        store.resolve("app:1").unwrap().descriptor.digest(),
        b.digest()
    );
    store.remove_name("app:1").unwrap();
    assert!(store.resolve("app:1").is_err());
    assert_eq!(
        store.resolve("app:2").unwrap().descriptor.digest(),
        a.digest()
    );
}

#[test]
fn concurrent_names_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let desc = image_with_layer(&store, b"shared");
    std::thread::scope(|s| {
        for i in 0..16 {
            let store = store.clone();
            let desc = desc.clone();
            s.spawn(move || store.set_name(&format!("app:{i}"), desc).unwrap());
        }
    });
    assert_eq!(store.names().unwrap().len(), 16);
}

#[test]
fn gc_sweeps_only_unreferenced_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let kept = image_with_layer(&store, b"kept layer");
    let dropped = image_with_layer(&store, b"dropped layer");
    let pinned = image_with_layer(&store, b"pinned layer");
    store.set_name("kept", kept.clone()).unwrap();
    store.set_name("dropped", dropped).unwrap();
    store.remove_name("dropped").unwrap();
    let pinned_digest = Digest::try_from(pinned.digest()).unwrap();
    let before = store.all_blobs().unwrap().len();
    let report = store.gc(std::slice::from_ref(&pinned_digest)).unwrap();
    assert_eq!(
        report.blobs_removed, 3,
        "manifest, config and layer of the dropped image"
    );
    assert!(report.bytes_freed > 0);
    assert_eq!(store.all_blobs().unwrap().len(), before - 3);
    assert!(store.load_image(&kept).is_ok());
    assert!(store.load_image(&pinned).is_ok());
    assert!(!store.has_blob(&Digest::sha256_of(b"dropped layer")));
}

#[test]
fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let desc = {
        let store = Store::open(dir.path()).unwrap();
        let d = image_with_layer(&store, b"x");
        store.set_name("x", d.clone()).unwrap();
        d
    };
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.resolve("x").unwrap().descriptor.digest(),
        desc.digest()
    );
    let layout = std::fs::read_to_string(store.content_dir().join("oci-layout")).unwrap();
    assert!(layout.contains("imageLayoutVersion"));
}
