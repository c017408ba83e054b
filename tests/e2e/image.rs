//! End-to-end tests: image verbs on a temp store, and interop with skopeo and
//! umoci reading hoist's store and archives.

use crate::common::{hoist, hoist_ok, hoist_out, import_busybox};
use hoist_testkit::{require_program, TempRoot};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// A small rootfs directory with a file, a symlink and an empty dir.
fn tiny_rootfs(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("bin/hello"), b"#!/bin/sh\necho hello\n").unwrap();
    std::os::unix::fs::symlink("hello", dir.join("bin/hi")).unwrap();
}

fn inspect(root: &Path, name: &str) -> Value {
    let out = hoist_ok(root, &["inspect", name]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

/// The store's index.json and blob list, to prove a failed command changed nothing.
fn store_state(root: &Path) -> (String, Vec<String>) {
    let index = std::fs::read_to_string(root.join("content/index.json")).unwrap_or_default();
    let mut blobs: Vec<String> = std::fs::read_dir(root.join("content/blobs/sha256"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    blobs.sort();
    (index, blobs)
}

#[test]
fn import_directory_with_changes_then_list_tag_inspect_rmi() {
    let root = TempRoot::new();
    let src = root.join("rootfs");
    tiny_rootfs(&src);
    hoist_ok(
        root.path(),
        &[
            "import",
            src.to_str().unwrap(),
            "-t",
            "tiny:1",
            "--change",
            "CMD [\"/bin/hello\"]",
            "--change",
            "ENV A=1",
            "--change",
            "WORKDIR /bin",
        ],
    );
    let img = inspect(root.path(), "tiny:1");
    assert_eq!(img["Config"]["Cmd"][0], "/bin/hello");
    assert_eq!(img["Config"]["Env"][0], "A=1");
    assert_eq!(img["Config"]["WorkingDir"], "/bin");
    assert_eq!(img["Layers"].as_array().unwrap().len(), 1);
    assert!(img["Layers"][0]["Size"].as_u64().unwrap() > 0);
    assert_eq!(img["RepoTags"][0], "tiny:1");

    hoist_ok(
        root.path(),
        &["tag", "tiny:1", "127.0.0.1:5000/team/tiny:v2"],
    );
    // One JSON object per line, as docker's `images --format json`.
    let listed: Vec<Value> = hoist_ok(root.path(), &["images", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut repos: Vec<&str> = listed
        .iter()
        .map(|r| r["Repository"].as_str().unwrap())
        .collect();
    repos.sort();
    assert_eq!(repos, ["127.0.0.1:5000/team/tiny", "tiny"]);
    let table = hoist_ok(root.path(), &["images", "--digests"]);
    assert!(
        table.contains("DIGEST") && table.contains("sha256:"),
        "{table}"
    );

    let id = img["Id"].as_str().unwrap();
    let by_id = inspect(root.path(), &id["sha256:".len()..][..8]);
    assert_eq!(by_id["Digest"], img["Digest"]);

    hoist_ok(root.path(), &["rmi", "tiny:1"]);
    assert!(!hoist_out(root.path(), &["inspect", "tiny:1"])
        .status
        .success());
    assert_eq!(
        inspect(root.path(), "127.0.0.1:5000/team/tiny:v2")["Digest"],
        img["Digest"]
    );
    hoist_ok(root.path(), &["rmi", "127.0.0.1:5000/team/tiny:v2"]);
    let pruned = hoist_ok(root.path(), &["system", "prune"]);
    assert!(pruned.contains("Deleted 3 blobs"), "{pruned}");
    assert!(store_state(root.path()).1.is_empty());
}

#[test]
fn same_tree_imports_to_the_same_digest() {
    let a = TempRoot::new();
    let b = TempRoot::new();
    for root in [&a, &b] {
        let src = root.join("rootfs");
        tiny_rootfs(&src);
        let out = hoist(root.path())
            .args(["import", src.to_str().unwrap(), "-t", "same"])
            .env("SOURCE_DATE_EPOCH", "1000")
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    assert_eq!(
        inspect(a.path(), "same")["Digest"],
        inspect(b.path(), "same")["Digest"]
    );
}

#[test]
fn bad_input_is_one_line_nonzero_and_changes_nothing() {
    let root = TempRoot::new();
    let src = root.join("rootfs");
    tiny_rootfs(&src);
    hoist_ok(root.path(), &["import", src.to_str().unwrap(), "-t", "ok"]);
    let not_tar = root.join("not.tar");
    std::fs::write(&not_tar, vec![b'x'; 4096]).unwrap();
    let corrupt_gz = root.join("corrupt.tar.gz");
    std::fs::write(
        &corrupt_gz,
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef],
    )
    .unwrap();
    let before = store_state(root.path());
    let cases: Vec<Vec<&str>> = vec![
        vec!["import", "/nonexistent/rootfs.tar", "-t", "x"],
        vec!["import", not_tar.to_str().unwrap(), "-t", "x"],
        vec!["import", corrupt_gz.to_str().unwrap(), "-t", "x"],
        vec!["import", src.to_str().unwrap(), "-t", "Bad Name"],
        vec![
            "import",
            src.to_str().unwrap(),
            "-t",
            "x",
            "--change",
            "RUN rm -rf /",
        ],
        vec!["inspect", "unknown:tag"],
        vec!["tag", "unknown", "x"],
        vec!["tag", "ok", "team/UPPER"],
        vec!["rmi", "unknown"],
        vec!["save", "-o", "/nonexistent-dir/x.tar", "ok"],
        vec!["load", "-i", not_tar.to_str().unwrap()],
        vec!["load", "-i", "/nonexistent.tar"],
    ];
    for args in cases {
        let out = hoist_out(root.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Error:")).collect();
        assert_eq!(
            errors.len(),
            1,
            "{args:?}: expected one error line, got:\n{stderr}"
        );
        assert!(
            errors[0].len() > 20,
            "{args:?}: uninformative error {stderr}"
        );
        assert_eq!(
            store_state(root.path()),
            before,
            "{args:?} changed the store"
        );
    }
}

#[test]
fn hostile_tar_is_refused_at_import() {
    let root = TempRoot::new();
    let evil = root.join("evil.tar");
    let mut bytes = Vec::new();
    {
        let mut b = tar::Builder::new(&mut bytes);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, "escape", "/").unwrap();
        let mut f = tar::Header::new_gnu();
        f.set_size(4);
        f.set_mode(0o644);
        b.append_data(&mut f, "escape/etc/evil", &b"evil"[..])
            .unwrap();
        b.finish().unwrap();
    }
    std::fs::write(&evil, &bytes).unwrap();
    hoist_ok(root.path(), &["images"]);
    let before = store_state(root.path());
    let out = hoist_out(
        root.path(),
        &["import", evil.to_str().unwrap(), "-t", "evil"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("escape"),
        "error should name the entry: {stderr}"
    );
    assert_eq!(store_state(root.path()), before);
}

#[test]
fn killed_import_leaves_no_visible_blob() {
    let root = TempRoot::new();
    let src = root.join("rootfs");
    tiny_rootfs(&src);
    hoist_ok(
        root.path(),
        &["import", src.to_str().unwrap(), "-t", "before"],
    );
    let before = store_state(root.path());
    let mut child = hoist(root.path())
        .args(["import", "-", "-t", "partial"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Half of a tar: one header and some content of a large file, then kill.
    let mut h = tar::Header::new_gnu();
    h.set_path("big").unwrap();
    h.set_size(64 << 20);
    h.set_mode(0o644);
    h.set_cksum();
    stdin.write_all(h.as_bytes()).unwrap();
    stdin.write_all(&vec![7u8; 8 << 20]).unwrap();
    stdin.flush().unwrap();
    // Wait until the importer has written part of its temp blob, then kill it.
    hoist_testkit::wait_until(
        "a temp blob in the store",
        std::time::Duration::from_secs(20),
        || {
            std::fs::read_dir(root.join("tmp"))
                .map(|d| d.count() > 0)
                .unwrap_or(false)
        },
    );
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    assert_eq!(
        store_state(root.path()),
        before,
        "a killed import changed the visible store"
    );
    let listed = hoist_ok(root.path(), &["images"]);
    assert!(
        listed.contains("before") && !listed.contains("partial"),
        "{listed}"
    );
}

#[test]
fn skopeo_and_umoci_read_hoist_images_and_archives() {
    require_program!("skopeo");
    require_program!("umoci");
    let root = TempRoot::new();
    let src = root.join("rootfs");
    tiny_rootfs(&src);
    hoist_ok(
        root.path(),
        &[
            "import",
            src.to_str().unwrap(),
            "-t",
            "interop:1",
            "--change",
            "CMD [\"/bin/hello\"]",
        ],
    );
    let digest = inspect(root.path(), "interop:1")["Digest"]
        .as_str()
        .unwrap()
        .to_string();
    let content = root.join("content");
    let layout_ref = format!("oci:{}:docker.io/library/interop:1", content.display());

    let inspected = run_ok(Command::new("skopeo").args(["inspect", &layout_ref]));
    let v: Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(v["Digest"], digest.as_str());

    // hoist save -> skopeo reads the archive.
    let archive = root.join("saved.tar");
    hoist_ok(
        root.path(),
        &["save", "-o", archive.to_str().unwrap(), "interop:1"],
    );
    let from_archive = run_ok(Command::new("skopeo").args([
        "inspect",
        &format!(
            "oci-archive:{}:docker.io/library/interop:1",
            archive.display()
        ),
    ]));
    let v: Value = serde_json::from_str(&from_archive).unwrap();
    assert_eq!(v["Digest"], digest.as_str());

    // skopeo writes an archive -> hoist load reads it into another store.
    let skopeo_archive = root.join("skopeo.tar");
    run_ok(Command::new("skopeo").args([
        "copy",
        &layout_ref,
        &format!(
            "oci-archive:{}:localhost/from-skopeo:2",
            skopeo_archive.display()
        ),
    ]));
    let other = TempRoot::new();
    let loaded = hoist_ok(
        other.path(),
        &["load", "-i", skopeo_archive.to_str().unwrap()],
    );
    assert!(loaded.contains("localhost/from-skopeo:2"), "{loaded}");
    assert_eq!(
        inspect(other.path(), "localhost/from-skopeo:2")["Digest"],
        digest.as_str()
    );

    // hoist load reads its own archive too.
    let third = TempRoot::new();
    hoist_ok(third.path(), &["load", "-i", archive.to_str().unwrap()]);
    assert_eq!(
        inspect(third.path(), "interop:1")["Digest"],
        digest.as_str()
    );

    // umoci unpacks a hoist image: copy it under a plain tag umoci accepts.
    let umoci_layout = root.join("umoci-layout");
    run_ok(Command::new("skopeo").args([
        "copy",
        &layout_ref,
        &format!("oci:{}:v1", umoci_layout.display()),
    ]));
    let bundle = root.join("bundle");
    run_ok(Command::new("umoci").args([
        "unpack",
        "--rootless",
        "--image",
        &format!("{}:v1", umoci_layout.display()),
        bundle.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read(bundle.join("rootfs/bin/hello")).unwrap(),
        b"#!/bin/sh\necho hello\n"
    );
    assert_eq!(
        std::fs::read_link(bundle.join("rootfs/bin/hi")).unwrap(),
        Path::new("hello")
    );
}

#[test]
fn loads_a_docker_save_archive() {
    let root = TempRoot::new();
    let layer = {
        let mut bytes = Vec::new();
        let mut b = tar::Builder::new(&mut bytes);
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        b.append_data(&mut h, "hello.txt", &b"hi\n"[..]).unwrap();
        b.finish().unwrap();
        drop(b);
        bytes
    };
    let diff_id = hoist_oci::Digest::sha256_of(&layer);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["cat", "/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
    });
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_id = hoist_oci::Digest::sha256_of(&config_bytes);
    let manifest = serde_json::json!([{
        "Config": format!("{}.json", config_id.hex()),
        "RepoTags": ["legacy:1"],
        "Layers": ["abc/layer.tar", "def/layer.tar"],
    }]);
    let archive = root.join("docker.tar");
    {
        let f = std::fs::File::create(&archive).unwrap();
        let mut b = tar::Builder::new(f);
        let mut add = |path: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, path, data).unwrap();
        };
        add("abc/layer.tar", &layer);
        add(&format!("{}.json", config_id.hex()), &config_bytes);
        add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
        // Legacy archives dedupe a repeated layer with a symlink.
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "def/layer.tar", "../abc/layer.tar")
            .unwrap();
        b.finish().unwrap();
    }
    let out = hoist_ok(root.path(), &["load", "-i", archive.to_str().unwrap()]);
    assert!(out.contains("Loaded image: legacy:1"), "{out}");
    let img = inspect(root.path(), "legacy:1");
    assert_eq!(
        img["Id"],
        config_id.to_string().as_str(),
        "the config keeps its bytes (image ID)"
    );
    assert_eq!(img["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(img["Layers"][0]["Digest"], diff_id.to_string().as_str());
}

#[test]
fn busybox_base_image_imports() {
    let root = TempRoot::new();
    if !import_busybox(root.path(), "busybox:latest") {
        return;
    }
    let img = inspect(root.path(), "busybox");
    assert_eq!(img["Config"]["Cmd"][0], "sh");
    assert!(img["Layers"][0]["Size"].as_u64().unwrap() > 500_000);
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run peer tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn prune_keeps_what_containers_use_and_frees_the_rest() {
    hoist_testkit::require_root!();
    let root = TempRoot::new();
    if !import_busybox(root.path(), "busybox:latest") {
        return;
    }
    hoist_ok(
        root.path(),
        &["create", "--name", "keeper", "busybox", "true"],
    );
    hoist_ok(root.path(), &["run", "--rm", "busybox", "true"]);
    let snapshots = || {
        std::fs::read_dir(root.join("snapshots"))
            .map(|d| {
                d.flatten()
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(snapshots(), 1);
    hoist_ok(root.path(), &["rmi", "busybox"]);
    let kept = hoist_ok(root.path(), &["system", "prune"]);
    assert!(kept.contains("Deleted 0 blobs and 0 snapshots"), "{kept}");
    hoist_ok(root.path(), &["start", "-a", "keeper"]);
    hoist_ok(root.path(), &["rm", "keeper"]);
    let freed = hoist_ok(root.path(), &["system", "prune"]);
    assert!(freed.contains("Deleted 3 blobs and 1 snapshots"), "{freed}");
    assert_eq!(snapshots(), 0);
    assert!(store_state(root.path()).1.is_empty());
}
