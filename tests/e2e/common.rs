//! Helpers every e2e module uses: the hoist binary with a temp root, and the
//! busybox base image made from Debian's busybox-static.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The variable that names `run`'s default network (src/commands/network/flags.rs).
pub const DEFAULT_NETWORK_ENV: &str = "HOIST_DEFAULT_NETWORK";

/// The variable that gives `run`/`create --pull` its default (src/cli/container.rs).
pub const PULL_ENV: &str = "HOIST_PULL";

/// Path of the built `hoist` binary. Containers of e2e tests default to the
/// loopback-only `private` network: the default `bridge` would make a bridge
/// and nftables rules in the host's namespace. Tests of networks run hoist
/// inside a namespace of their own (network.rs) and name the network.
pub fn hoist_bin() -> PathBuf {
    static PRIVATE_DEFAULT: std::sync::Once = std::sync::Once::new();
    // Set once for the test process, so scripts and `script -c` commands that
    // run the binary inherit it too.
    PRIVATE_DEFAULT.call_once(|| {
        std::env::set_var(DEFAULT_NETWORK_ENV, "private");
        std::env::set_var(PULL_ENV, "never");
    });
    PathBuf::from(env!("CARGO_BIN_EXE_hoist"))
}

/// A `hoist` command using `root` as its store root.
pub fn hoist(root: &Path) -> Command {
    let mut cmd = Command::new(hoist_bin());
    cmd.arg("--root").arg(root);
    cmd.env_remove("HOIST_ROOT");
    cmd.env(DEFAULT_NETWORK_ENV, "private");
    // `run` of an image missing from the store would pull it from docker.io (docker's
    // `--pull missing`): tests never reach beyond this machine, so they say when to pull.
    cmd.env(PULL_ENV, "never");
    cmd
}

/// Runs `hoist --root ROOT ARGS...` and returns its output (does not check status).
pub fn hoist_out(root: &Path, args: &[&str]) -> Output {
    hoist(root).args(args).output().expect("run hoist")
}

/// Runs hoist and panics with its stderr unless it succeeds; returns stdout.
pub fn hoist_ok(root: &Path, args: &[&str]) -> String {
    let out = hoist_out(root, args);
    assert!(
        out.status.success(),
        "hoist {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// The repository's top directory.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Imports the busybox base image into `root` as `name` (e.g. "busybox:latest")
/// with testdata/make-base-image.sh. Skips (or fails under strict) without busybox.
pub fn import_busybox(root: &Path, name: &str) -> bool {
    if !Path::new("/bin/busybox").exists() {
        hoist_testkit::skip_or_fail(
            "import_busybox",
            "/bin/busybox is missing (install busybox-static)",
        );
        return false;
    }
    let status = Command::new("bash")
        .arg(repo_dir().join("testdata/make-base-image.sh"))
        .arg(name)
        .env("HOIST", hoist_bin())
        .env("HOIST_ROOT", root)
        .status()
        .expect("run make-base-image.sh");
    assert!(status.success(), "make-base-image.sh failed");
    true
}

/// Packs the directory `dir` into the tar file `tar` (entries relative to
/// `dir`), e.g. a rootfs for `docker import` and `hoist import`.
pub fn tar_dir(dir: &Path, tar: &Path) {
    let status = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .arg("-cf")
        .arg(tar)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(
        status.success(),
        "tar -C {} -cf {} .",
        dir.display(),
        tar.display()
    );
}
