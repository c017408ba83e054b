//! End-to-end tests: container security (root). The escape suite
//! (escape.c, built static with gcc by the test) run in hoist containers and
//! under `podman run`, the seccomp profile on run, exec and build steps,
//! `--security-opt`, `--cap-add/--cap-drop`, `--privileged`, masked paths.

mod escape;
mod options;
mod userns;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A directory holding `escape`, the suite's static binary (built once per
/// test process), or None (skipped: not root, or no gcc).
pub fn kit() -> Option<&'static Path> {
    static KIT: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    KIT.get_or_init(|| {
        if !hoist_testkit::is_root() {
            hoist_testkit::skip_or_fail("security", "needs root");
            return None;
        }
        if !hoist_testkit::have_program("gcc") {
            hoist_testkit::skip_or_fail("security", "gcc is not installed (build-essential)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let src = crate::common::repo_dir().join("tests/e2e/security/escape.c");
        let out = std::process::Command::new("gcc")
            .args(["-static", "-O1", "-Wall", "-o"])
            .arg(dir.path().join("escape"))
            .arg(&src)
            .output()
            .expect("running gcc");
        assert!(
            out.status.success(),
            "gcc -static escape.c: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = dir.path().to_path_buf();
        Some((dir, path))
    })
    .as_ref()
    .map(|(_, p)| p.as_path())
}

/// The suite's answers: attempt name → "allowed" or "refused ERRNO".
pub fn parse_results(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(name, rest)| (name.to_string(), rest.to_string()))
        .collect()
}

pub fn allowed(results: &BTreeMap<String, String>, name: &str) -> bool {
    results
        .get(name)
        .unwrap_or_else(|| panic!("no result for {name}: {results:?}"))
        == "allowed"
}
