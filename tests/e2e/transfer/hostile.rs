//! Hostile images pulled from a real registry (`hoist registry serve` on
//! 127.0.0.1): each layer is checked while it downloads, so the pull itself
//! fails with the message `hoist import` gives for the same tar, and the
//! store keeps nothing of the image — no name, no blob of the bad layer,
//! nor of its good sibling layer, config or manifest. A good image still
//! pulls afterwards.

use super::hoist_registry::HoistRegistry;
use super::peers::make_image;
use super::{digest_of, fails, hoist, ok};
use crate::layers::tars;
use hoist_oci::Digest;
use hoist_store::Store;
use hoist_testkit::TempRoot;
use std::path::Path;

/// What `hoist import` says about `layer` (the part naming the entry).
fn import_message(layer: &[u8]) -> String {
    let scratch = TempRoot::new();
    let file = scratch.join("layer.tar.gz");
    std::fs::write(&file, layer).unwrap();
    let out = crate::common::hoist(&scratch.join("root"))
        .args(["import", "-t", "x:1", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "import accepted the hostile layer");
    let err = String::from_utf8_lossy(&out.stderr);
    let at = err
        .find("unsafe tar entry")
        .or_else(|| err.find("layer exceeds limit"))
        .unwrap_or_else(|| panic!("no entry named in: {err}"));
    err[at..].lines().next().unwrap().to_string()
}

/// The digests an image's manifest refers to (config and layers) plus its own.
fn image_blobs(root: &Path, name: &str) -> Vec<Digest> {
    let s = Store::open(root).unwrap();
    let img = s.load_image(&s.resolve(name).unwrap().descriptor).unwrap();
    let mut out = vec![img.manifest_digest.clone(), img.config_digest.clone()];
    out.extend(
        img.layers()
            .iter()
            .map(|l| Digest::try_from(l.digest()).unwrap()),
    );
    out
}

/// A refused pull leaves nothing: no name, none of the image's blobs, no
/// temp file, no snapshot.
fn assert_nothing_kept(root: &Path, name: &str, blobs: &[Digest]) {
    let store = Store::open(root).unwrap();
    assert!(store.resolve(name).is_err(), "{name} was named");
    for b in blobs {
        assert!(!store.has_blob(b), "blob {b} of {name} was kept");
    }
    let tmp: Vec<_> = std::fs::read_dir(root.join("tmp"))
        .map(|rd| rd.collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "temp files left: {tmp:?}");
    let snapshots: Vec<_> = std::fs::read_dir(root.join("snapshots"))
        .map(|rd| rd.collect())
        .unwrap_or_default();
    assert!(snapshots.is_empty(), "snapshots made: {snapshots:?}");
}

#[test]
fn hostile_layers_are_refused_at_pull_with_imports_message() {
    if !HoistRegistry::available() {
        return;
    }
    let reg = HoistRegistry::start(None);
    let host = format!("127.0.0.1:{}", reg.peer.port);
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let good = tars::gzip(&tars::tar(&[("hello", b"hello")]));
    let long_name = format!("d/{}", "n".repeat(300));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "escape",
            tars::gzip(&tars::tar(&[("ok", b"fine"), ("../escape", b"evil")])),
            "unsafe tar entry \"../escape\"",
        ),
        (
            "symlink",
            tars::gzip(&tars::tar(&[
                ("evil -> /etc", b""),
                ("evil/passwd", b"root::0:0::/:/bin/sh\n"),
            ])),
            "unsafe tar entry \"evil/passwd\"",
        ),
        (
            "long-name",
            tars::gzip(&tars::tar_long_name(&long_name)),
            "path component of 300 bytes",
        ),
        (
            "many-entries",
            tars::gzip_many_entries(1_000_001),
            "more than 1000000 entries",
        ),
    ];
    for (what, layer, expected) in cases {
        let message = import_message(&layer);
        assert!(message.contains(expected), "{what}: import said {message}");
        let name = format!("{host}/evil/{what}:1");
        let digests = tars::store_image(src.path(), &name, None, &[good.clone(), layer]);
        ok(
            src.path(),
            auth.path(),
            &["push", "--tls-verify=false", &name],
        );
        let started = std::time::Instant::now();
        let err = fails(
            dst.path(),
            auth.path(),
            &["pull", "--tls-verify=false", &name],
        );
        eprintln!("{what}: refused in {:?}", started.elapsed());
        assert!(
            err.contains(&message) && err.contains("layer refused") && err.contains(&digests[1]),
            "{what}: pull should say {message:?} about {}:\n{err}",
            digests[1]
        );
        assert_nothing_kept(dst.path(), &name, &image_blobs(src.path(), &name));
    }

    // A good image still pulls, into the same store.
    let name = format!("{host}/fine/app:1");
    let want = make_image(src.path(), &name, &[100_000, 5_000], 31);
    ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    let (stdout, _) = ok(
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", &name],
    );
    assert_eq!(digest_of(&stdout), want);
    let mut stored = Store::open(dst.path()).unwrap().all_blobs().unwrap();
    let mut expected = image_blobs(src.path(), &name);
    stored.sort_by_key(|d| d.to_string());
    expected.sort_by_key(|d| d.to_string());
    assert_eq!(stored, expected, "only the good image's blobs are stored");
}

/// A layer that is not what the image config's diff IDs say is refused
/// (snapshots are named by the config's diff IDs: such a layer could stand
/// in for another image's), and nothing of the image is kept.
#[test]
fn a_layer_that_is_not_its_configs_diff_id_is_refused_at_pull() {
    if !HoistRegistry::available() {
        return;
    }
    let reg = HoistRegistry::start(None);
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let tar = tars::tar(&[("bin/sh", b"not the shell you expect")]);
    // Compressed: the diff ID is hashed from the inflated tar. Uncompressed:
    // it is the blob's digest, taken from the download's own check.
    for (what, layer) in [("gzip", tars::gzip(&tar)), ("plain", tar.clone())] {
        let name = format!("127.0.0.1:{}/liar/{what}:1", reg.peer.port);
        // store_image names stand-in diff IDs, not the layer's own.
        let digests = tars::store_image(src.path(), &name, None, &[layer]);
        ok(
            src.path(),
            auth.path(),
            &["push", "--tls-verify=false", &name],
        );
        let err = fails(
            dst.path(),
            auth.path(),
            &["pull", "--tls-verify=false", &name],
        );
        assert!(
            err.contains(&format!("checking layer {}", digests[0]))
                && err.contains("rootfs.diff_ids[0]")
                && err.contains("layer refused"),
            "{what}: {err}"
        );
        assert_nothing_kept(dst.path(), &name, &image_blobs(src.path(), &name));
    }
}

/// A gzip bomb over the configured size limit is refused at pull, naming
/// the layer and the limit, before it is inflated any further.
#[test]
fn a_gzip_bomb_over_the_size_limit_is_refused_at_pull() {
    if !HoistRegistry::available() {
        return;
    }
    let reg = HoistRegistry::start(None);
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let name = format!("127.0.0.1:{}/bomb/app:1", reg.peer.port);
    let bomb = tars::gzip_bomb(8 << 10);
    let digests = tars::store_image(src.path(), &name, None, &[bomb]);
    ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    let out = hoist(dst.path(), auth.path())
        .env("HOIST_MAX_LAYER_SIZE", "64M")
        .args(["pull", "--tls-verify=false", &name])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&digests[0])
            && err.contains("\"bomb\"")
            && err.contains("larger than the limit of 64 MiB"),
        "{err}"
    );
    assert_nothing_kept(dst.path(), &name, &image_blobs(src.path(), &name));
}
