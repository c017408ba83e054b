//! End-to-end tests: the layer limits as `import` and the first `run`
//! (unpacking a snapshot) apply them: the uncompressed size limit
//! (`HOIST_MAX_LAYER_SIZE`) against an 8 GiB gzip bomb, and the free-space
//! reserve (`HOIST_MIN_FREE_SPACE`) on a small tmpfs store. Pull's side is
//! in transfer/hostile.rs.

#[path = "layers/tars.rs"]
pub mod tars;

use crate::common;
use hoist_testkit::TempRoot;
use std::path::{Path, PathBuf};
use std::process::Output;

fn hoist_with(root: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = common::hoist(root);
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args).output().expect("run hoist")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Entries under `<root>/snapshots` (temp dirs included).
fn snapshot_entries(root: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(root.join("snapshots")) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn import_refuses_a_gzip_bomb_over_the_size_limit() {
    let root = TempRoot::new();
    let file = root.join("bomb.tar.gz");
    std::fs::write(&file, tars::gzip_bomb(8 << 10)).unwrap();
    let out = hoist_with(
        root.path(),
        &[("HOIST_MAX_LAYER_SIZE", "64M")],
        &["import", "-t", "bomb:1", file.to_str().unwrap()],
    );
    let err = stderr_of(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("\"bomb\"") && err.contains("larger than the limit of 64 MiB"),
        "{err}"
    );
    let store = hoist_store::Store::open(root.path()).unwrap();
    assert!(store.resolve("bomb:1").is_err(), "the bomb was named");
    // A value that is not a size is refused, not taken as "no limit".
    let out = hoist_with(
        root.path(),
        &[("HOIST_MAX_LAYER_SIZE", "lots")],
        &["import", "-t", "bomb:1", file.to_str().unwrap()],
    );
    assert!(
        stderr_of(&out).contains("HOIST_MAX_LAYER_SIZE=\"lots\" is not a size"),
        "{}",
        stderr_of(&out)
    );
}

/// A bomb already in the store (stored before these checks, or by `load`)
/// is refused when its snapshot is unpacked, before anything is written,
/// naming the layer and the limit; no snapshot or temp dir is left.
#[test]
fn the_first_run_refuses_to_unpack_a_layer_over_the_size_limit() {
    hoist_testkit::require_root!();
    let root = TempRoot::new();
    let digests = tars::store_image(root.path(), "bomb:1", None, &[tars::gzip_bomb(8 << 10)]);
    let out = hoist_with(
        root.path(),
        &[("HOIST_MAX_LAYER_SIZE", "64M")],
        &["run", "--rm", "bomb:1", "true"],
    );
    let err = stderr_of(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("layer {}", digests[0]))
            && err.contains("larger than the limit of 64 MiB")
            && err.contains("HOIST_MAX_LAYER_SIZE"),
        "{err}"
    );
    assert_eq!(snapshot_entries(root.path()), Vec::<PathBuf>::new());
}

/// A tmpfs mounted for one test, unmounted (and its dir removed) on drop.
struct Tmpfs {
    dir: TempRoot,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = TempRoot::new();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "hoist-test"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(st.success(), "mount tmpfs");
        Tmpfs { dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// Unpacking stops before the store's filesystem drops below the reserve:
/// on a 96 MiB tmpfs a layer with a 48 MiB file is refused with a 50%
/// reserve (naming the layer, the entry and the reserve), and unpacks and
/// runs with no reserve.
#[test]
fn the_first_run_keeps_the_free_space_reserve() {
    hoist_testkit::require_root!();
    let fs = Tmpfs::mount("96m");
    let root = fs.dir.join("root");
    if !common::import_busybox(&root, "busybox:latest") {
        return;
    }
    let zeros = vec![0u8; 48 << 20];
    let layer = tars::gzip(&tars::tar(&[("zeros", &zeros)]));
    let digests = tars::store_image(&root, "full:1", Some("busybox:latest"), &[layer]);

    let out = hoist_with(
        &root,
        &[("HOIST_MIN_FREE_SPACE", "50%")],
        &["run", "--rm", "full:1", "true"],
    );
    let err = stderr_of(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("layer {}", digests[0]))
            && err.contains("not enough free space for entry \"zeros\" (48 MiB)")
            && err.contains("48 MiB must stay free"),
        "{err}"
    );
    let leftovers: Vec<_> = snapshot_entries(&root)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp dirs left: {leftovers:?}");

    let out = hoist_with(
        &root,
        &[("HOIST_MIN_FREE_SPACE", "0")],
        &["run", "--rm", "full:1", "true"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
}
