//! `hoist system check [--repair]` and `hoist save` against a damaged store:
//! the real binary on a temp root.

use crate::common::{hoist_ok, hoist_out, import_busybox};
use hoist_testkit::{free_port, require_root, Peer, TempRoot};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Imports a one-file rootfs as `name`; returns the path of its layer blob.
fn import_small(work: &TempRoot, root: &Path, name: &str) -> PathBuf {
    let rootfs = work.join(format!("rootfs-{}", name.replace([':', '/'], "-")));
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    // Content of its own, so no two test images share a blob.
    std::fs::write(rootfs.join("etc/data"), name.repeat(8 * 1024)).unwrap();
    hoist_ok(root, &["import", rootfs.to_str().unwrap(), "-t", name]);
    layer_blob(root, name)
}

fn layer_blob(root: &Path, name: &str) -> PathBuf {
    let index: Value =
        serde_json::from_slice(&std::fs::read(root.join("content/index.json")).unwrap()).unwrap();
    let wanted = if name.contains('/') {
        name.to_string()
    } else {
        format!("docker.io/library/{name}")
    };
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == wanted.as_str())
        .expect("the name is in the index");
    let blob = |d: &str| {
        root.join("content/blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(blob(entry["digest"].as_str().unwrap())).unwrap())
            .unwrap();
    blob(manifest["layers"][0]["digest"].as_str().unwrap())
}

fn flip_a_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_clean_store_checks_clean() {
    let work = TempRoot::new();
    let root = work.join("store");
    import_small(&work, &root, "app:1");
    let out = hoist_ok(&root, &["system", "check"]);
    assert!(
        out.contains("Checked 3 blobs and 0 snapshots: no problems"),
        "{out}"
    );
}

#[test]
fn a_flipped_byte_is_found_and_repaired_naming_the_image() {
    let work = TempRoot::new();
    let root = work.join("store");
    let layer = import_small(&work, &root, "app:1");
    import_small(&work, &root, "other:1");
    flip_a_byte(&layer);
    let digest = format!("sha256:{}", layer.file_name().unwrap().to_string_lossy());

    let out = hoist_out(&root, &["system", "check"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("blob {digest}: corrupt")),
        "{stdout}"
    );
    assert!(stdout.contains("used by app:1"), "{stdout}");
    assert!(stdout.contains("--repair"), "{stdout}");
    assert!(layer.exists(), "a check without --repair changes nothing");

    let out = hoist_out(&root, &["system", "check", "--repair"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("Needs a new pull (or build/import): app:1\n"),
        "{stdout}"
    );
    assert!(!layer.exists());
    // The other image is untouched and still whole.
    let other = hoist_ok(&root, &["images"]);
    assert!(other.contains("other"), "{other}");
    let after = hoist_out(&root, &["system", "check"]);
    let (stdout, _) = text(&after);
    assert_eq!(after.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(": missing; used by app:1\n"), "{stdout}");
}

#[test]
fn a_truncated_index_fails_clearly_and_is_restored() {
    let work = TempRoot::new();
    let root = work.join("store");
    import_small(&work, &root, "app:1");
    import_small(&work, &root, "app:2");
    let index = root.join("content/index.json");
    let bytes = std::fs::read(&index).unwrap();
    std::fs::write(&index, &bytes[..bytes.len() / 3]).unwrap();

    let out = hoist_out(&root, &["images"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&index.display().to_string())
            && stderr.contains("hoist system check --repair"),
        "{stderr}"
    );
    assert_eq!(
        hoist_out(&root, &["system", "check"]).status.code(),
        Some(1)
    );
    let repaired = hoist_ok(&root, &["system", "check", "--repair"]);
    assert!(repaired.contains("restored from"), "{repaired}");
    let images = hoist_ok(&root, &["images"]);
    assert!(images.contains("app"), "{images}");
    hoist_ok(&root, &["system", "check"]);
}

#[test]
fn save_refuses_a_corrupt_blob_and_leaves_no_file() {
    let work = TempRoot::new();
    let root = work.join("store");
    let layer = import_small(&work, &root, "app:1");
    flip_a_byte(&layer);
    let outdir = work.join("out");
    std::fs::create_dir(&outdir).unwrap();
    let archive = outdir.join("app.tar");
    let out = hoist_out(&root, &["save", "-o", archive.to_str().unwrap(), "app:1"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("corrupt") && stderr.contains("system check"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&outdir).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn a_tampered_snapshot_is_found_and_unpacked_again_after_repair() {
    require_root!();
    let work = TempRoot::new();
    let root = work.join("store");
    if !import_busybox(&root, "busybox:latest") {
        return;
    }
    hoist_ok(
        &root,
        &["run", "--rm", "--network", "none", "busybox", "true"],
    );
    let snapshot = std::fs::read_dir(root.join("snapshots"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .expect("a snapshot");
    let clean = hoist_ok(&root, &["system", "check"]);
    assert!(clean.contains("1 snapshots: no problems"), "{clean}");
    std::fs::write(snapshot.join("etc/planted"), b"x").unwrap();

    let out = hoist_out(&root, &["system", "check"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("/etc/planted: not in the layer"),
        "{stdout}"
    );
    let repaired = hoist_ok(&root, &["system", "check", "--repair"]);
    assert!(
        repaired.contains("the next run unpacks it again"),
        "{repaired}"
    );
    assert!(!snapshot.exists());
    let ran = hoist_ok(
        &root,
        &["run", "--rm", "--network", "none", "busybox", "ls", "/etc"],
    );
    assert!(!ran.contains("planted"), "{ran}");
    hoist_ok(&root, &["system", "check"]);
}

#[test]
fn a_repaired_pulled_image_is_whole_again_after_a_new_pull() {
    let work = TempRoot::new();
    let port = free_port();
    let mut serve = crate::common::hoist(&work.join("registry-root"));
    serve
        .args(["registry", "serve", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--storage-root")
        .arg(work.join("registry-data"));
    let _registry = Peer::start(&mut serve, port, &work.join("registry.log"));
    let name = format!("127.0.0.1:{port}/team/app:1");
    let builder = work.join("builder");
    import_small(&work, &builder, &name);
    hoist_ok(&builder, &["push", "--tls-verify=false", &name]);

    let root = work.join("store");
    hoist_ok(&root, &["pull", "--tls-verify=false", &name]);
    let layer = layer_blob(&root, &name);
    flip_a_byte(&layer);
    let repaired = hoist_ok(&root, &["system", "check", "--repair"]);
    assert!(
        repaired.contains(&format!("Needs a new pull (or build/import): {name}\n")),
        "{repaired}"
    );
    hoist_ok(&root, &["pull", "--tls-verify=false", &name]);
    let clean = hoist_ok(&root, &["system", "check"]);
    assert!(clean.contains("no problems"), "{clean}");
    assert!(layer.exists());
}
