//! End-to-end tests: `hoist build` and `hoist history` on the busybox base
//! (and on scratch), driving the real binary with temp store roots. Helpers
//! and scratch-based tests here; RUN steps in `run_steps`, other tools and
//! `hoist run` in `interop`.

mod add_archives;
mod heredocs;
mod interop;
mod mounts;
mod multiplatform;
mod network;
mod outputs;
mod registry;
mod registry_cache;
mod run_steps;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use hoist_testkit::TempRoot;
use serde_json::Value;

use crate::common::{hoist_out, repo_dir};

/// A copy of testdata/build/NAME in a temp dir (tests may edit it).
pub(crate) fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join(name);
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(repo_dir().join("testdata/build").join(name))
        .arg(&dst)
        .status()
        .unwrap();
    assert!(status.success());
    (dir, dst)
}

/// A context with the given files (path, content).
pub(crate) fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    dir
}

pub(crate) fn build(root: &Path, args: &[&str], ctx: &Path) -> Output {
    let mut all = vec!["build", "--progress", "plain"];
    all.extend_from_slice(args);
    let ctx = ctx.to_str().unwrap();
    all.push(ctx);
    hoist_out(root, &all)
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// Builds and returns (image digest, stderr); panics on failure.
pub(crate) fn build_ok(root: &Path, args: &[&str], ctx: &Path) -> (String, String) {
    let out = build(root, args, ctx);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "build failed:\n{stderr}\n{stdout}");
    let digest = stdout.lines().last().unwrap_or("").to_string();
    assert!(
        digest.starts_with("sha256:"),
        "last line is not a digest: {stdout:?}"
    );
    (digest, stderr)
}

pub(crate) fn read_blob(root: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    fs::read(root.join("content/blobs/sha256").join(hex)).unwrap()
}

pub(crate) fn manifest(root: &Path, digest: &str) -> Value {
    serde_json::from_slice(&read_blob(root, digest)).unwrap()
}

pub(crate) fn config(root: &Path, digest: &str) -> Value {
    let m = manifest(root, digest);
    serde_json::from_slice(&read_blob(root, m["config"]["digest"].as_str().unwrap())).unwrap()
}

pub(crate) fn layer_digests(root: &Path, digest: &str) -> Vec<String> {
    manifest(root, digest)["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

/// The files of a layer: `tar -tzf` of its blob.
pub(crate) fn layer_files(root: &Path, layer: &str) -> Vec<String> {
    let hex = layer.strip_prefix("sha256:").unwrap();
    let out = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(root.join("content/blobs/sha256").join(hex))
        .output()
        .unwrap();
    assert!(out.status.success());
    text(&out.stdout).lines().map(String::from).collect()
}

/// The names in the store's index.json.
pub(crate) fn names(root: &Path) -> Vec<String> {
    let Ok(bytes) = fs::read(root.join("content/index.json")) else {
        return Vec::new();
    };
    let index: Value = serde_json::from_slice(&bytes).unwrap();
    index["manifests"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Mounts whose target lies under `dir` (none must be left after a build).
pub(crate) fn mounts_under(dir: &Path) -> Vec<String> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.to_string_lossy().to_string();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|target| target.starts_with(&dir))
        .map(String::from)
        .collect()
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let root = TempRoot::new();
    let ctx = context(&[
        ("Dockerfile", "FROM scratch\nCOPY a /a\n  FROBNICATE now\n"),
        ("a", "a"),
    ]);
    let out = build(root.path(), &["-t", "x"], ctx.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("Dockerfile:3:3: unknown instruction: FROBNICATE"),
        "{err}"
    );
    assert!(err.contains("    FROBNICATE now\n    ^"), "no caret: {err}");
    assert!(names(root.path()).is_empty());

    let ctx = context(&[(
        "Dockerfile",
        "FROM scratch\nHEALTHCHECK --interval=soon CMD true\n",
    )]);
    let err = text(&build(root.path(), &[], ctx.path()).stderr);
    assert!(
        err.contains("Dockerfile:2:24: --interval must be a duration"),
        "{err}"
    );

    let ctx = context(&[("Dockerfile", "FROM scratch\nONBUILD FROM x\n")]);
    let out = build(root.path(), &[], ctx.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("Dockerfile:2:9: FROM is not allowed as an ONBUILD trigger"));
}

#[test]
fn scratch_image_records_docker_config_keys() {
    let root = TempRoot::new();
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM scratch\nARG V=1\nENV A=one B=\"two words\" C=${V:+set}\nLABEL l=$A\nWORKDIR /app\nCOPY --chmod=0600 *.txt ./\nCOPY dir /d/\nEXPOSE 80 53/udp\nVOLUME /data\nUSER 7:8\nSTOPSIGNAL SIGQUIT\nSHELL [\"/bin/ash\", \"-c\"]\nHEALTHCHECK --interval=2s --retries=3 CMD probe\nENTRYPOINT [\"/app/run\"]\nCMD serve\n",
        ),
        ("x.txt", "x"),
        ("y.txt", "y"),
        ("dir/inner/z", "z"),
        ("dir/skip.log", "no"),
        (".dockerignore", "**/*.log\n"),
    ]);
    let (digest, _) = build_ok(root.path(), &["-t", "cfg:1", "-t", "cfg:2"], ctx.path());
    let c = config(root.path(), &digest);
    let cfg = &c["config"];
    assert_eq!(
        cfg["Env"],
        serde_json::json!(["A=one", "B=two words", "C=set"])
    );
    assert_eq!(cfg["Labels"]["l"], "one");
    assert_eq!(cfg["WorkingDir"], "/app");
    assert_eq!(cfg["User"], "7:8");
    assert_eq!(cfg["StopSignal"], "SIGQUIT");
    assert!(cfg["ExposedPorts"]["80/tcp"].is_object());
    assert!(cfg["ExposedPorts"]["53/udp"].is_object());
    assert!(cfg["Volumes"]["/data"].is_object());
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["/app/run"]));
    assert_eq!(cfg["Cmd"], serde_json::json!(["/bin/ash", "-c", "serve"]));
    assert_eq!(
        cfg["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "probe"])
    );
    assert_eq!(cfg["Healthcheck"]["Interval"], 2_000_000_000u64);
    assert_eq!(cfg["Healthcheck"]["Retries"], 3);
    assert_eq!(c["created"], "1970-01-01T00:00:00Z");
    let history = c["history"].as_array().unwrap();
    assert!(history.iter().any(|h| h["created_by"] == "COPY dir /d/"));
    assert_eq!(c["rootfs"]["diff_ids"].as_array().unwrap().len(), 3);
    let layers = layer_digests(root.path(), &digest);
    assert_eq!(layers.len(), 3, "WORKDIR, two COPYs");
    let files = layer_files(root.path(), &layers[1]);
    assert!(
        files.iter().any(|f| f.trim_end_matches('/') == "app/x.txt"),
        "{files:?}"
    );
    let files = layer_files(root.path(), &layers[2]);
    assert!(files.iter().any(|f| f == "d/inner/z"), "{files:?}");
    assert!(!files.iter().any(|f| f.contains("skip.log")), "{files:?}");
    let mut n = names(root.path());
    n.sort();
    assert_eq!(
        n,
        vec!["docker.io/library/cfg:1", "docker.io/library/cfg:2"]
    );

    // history lists the instructions, newest first.
    let out = hoist_out(root.path(), &["history", "--no-trunc", "cfg:1"]);
    let h = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<&str> = h.lines().collect();
    assert!(lines[0].starts_with("IMAGE"), "{h}");
    assert!(lines[1].contains("CMD serve"), "{h}");
    assert!(h.contains("COPY --chmod=0600 *.txt ./"), "{h}");
}

#[test]
fn arg_scoping_follows_docker() {
    let root = TempRoot::new();
    let ctx = context(&[(
        "Dockerfile",
        "ARG G=global\nARG OVER=default\nFROM scratch\nENV BEFORE=${G:-unset}\nARG G\nARG OVER\nARG LOCAL=dflt\nENV AFTER=$G OVER=$OVER LOCAL=$LOCAL\nENV LOCAL=env-wins\nENV SEEN=$LOCAL\n",
    )]);
    let (digest, _) = build_ok(root.path(), &["--build-arg", "OVER=cli"], ctx.path());
    let env = config(root.path(), &digest)["config"]["Env"].clone();
    assert_eq!(
        env,
        serde_json::json!([
            "BEFORE=unset",
            "AFTER=global",
            "OVER=cli",
            "LOCAL=env-wins",
            "SEEN=env-wins"
        ])
    );
}

#[test]
fn copy_outside_the_context_is_refused() {
    let root = TempRoot::new();
    let outer = tempfile::tempdir().unwrap();
    fs::write(outer.path().join("secret"), "s").unwrap();
    let ctx_dir = outer.path().join("ctx");
    fs::create_dir(&ctx_dir).unwrap();
    std::os::unix::fs::symlink("../secret", ctx_dir.join("link")).unwrap();
    for (dockerfile, fragment) in [
        (
            "FROM scratch\nCOPY ../secret /s\n",
            "Dockerfile:2:6: COPY ../secret: is outside the build context",
        ),
        (
            "FROM scratch\nCOPY link /s\n",
            "Dockerfile:2:6: COPY link: resolves outside the build context",
        ),
        (
            "FROM scratch\nADD https://example.org/x /x\n",
            "Dockerfile:2:5: ADD https://example.org/x: hoist does not download URLs",
        ),
        (
            "FROM scratch\nCOPY nothing-here /x\n",
            "COPY nothing-here: not found in the build context",
        ),
    ] {
        fs::write(ctx_dir.join("Dockerfile"), dockerfile).unwrap();
        let out = build(root.path(), &["-t", "bad"], &ctx_dir);
        assert!(!out.status.success());
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(err.contains(fragment), "{err}");
        assert!(names(root.path()).is_empty());
    }
    assert!(mounts_under(root.path()).is_empty());
}

#[test]
fn missing_base_image_and_target() {
    let root = TempRoot::new();
    let ctx = context(&[("Dockerfile", "FROM scratch AS a\nFROM no-such-image:1\n")]);
    // --pull never: no registry is asked (the default would ask docker.io).
    let out = build(root.path(), &["--pull", "never"], ctx.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("Dockerfile:2:6: base image no-such-image:1 is not in the local store"),
        "{err}"
    );
    let out = build(
        root.path(),
        &["--pull", "never", "--target", "zzz"],
        ctx.path(),
    );
    assert!(
        text(&out.stderr).contains("target stage \"zzz\" is not in the Dockerfile (stages: a, 1)")
    );
    // --target a builds only the scratch stage.
    let (digest, _) = build_ok(root.path(), &["--target", "a"], ctx.path());
    assert!(layer_digests(root.path(), &digest).is_empty());
}

#[test]
fn copy_cache_hits_and_invalidation_without_run() {
    let root = TempRoot::new();
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM scratch\nCOPY a /a\nCOPY b /b\nENV X=1\n",
        ),
        ("a", "a"),
        ("b", "b"),
    ]);
    let (first, _) = build_ok(root.path(), &[], ctx.path());
    let (second, log) = build_ok(root.path(), &[], ctx.path());
    assert_eq!(first, second);
    assert!(
        log.contains("[stage-0 2] CACHED") && log.contains("[stage-0 3] CACHED"),
        "{log}"
    );
    fs::write(ctx.path().join("b"), "changed").unwrap();
    let (third, log) = build_ok(root.path(), &[], ctx.path());
    assert_ne!(third, first);
    assert!(log.contains("[stage-0 2] CACHED"), "{log}");
    assert!(!log.contains("[stage-0 3] CACHED"), "{log}");
    assert_eq!(
        layer_digests(root.path(), &first)[0],
        layer_digests(root.path(), &third)[0]
    );
    let (_, log) = build_ok(root.path(), &["--no-cache"], ctx.path());
    assert!(!log.contains("CACHED"), "{log}");
}
