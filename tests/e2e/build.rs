//! End-to-end tests: `hoist build` and `hoist history` on the busybox base
//! (and on scratch), driving the real binary with temp store roots.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use hoist_testkit::TempRoot;
use serde_json::Value;

use crate::common::{hoist_out, import_busybox, repo_dir};

/// A copy of testdata/build/NAME in a temp dir (tests may edit it).
fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
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
fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    dir
}

fn build(root: &Path, args: &[&str], ctx: &Path) -> Output {
    let mut all = vec!["build", "--progress", "plain"];
    all.extend_from_slice(args);
    let ctx = ctx.to_str().unwrap();
    all.push(ctx);
    hoist_out(root, &all)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// Builds and returns (image digest, stderr); panics on failure.
fn build_ok(root: &Path, args: &[&str], ctx: &Path) -> (String, String) {
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

fn read_blob(root: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    fs::read(root.join("content/blobs/sha256").join(hex)).unwrap()
}

fn manifest(root: &Path, digest: &str) -> Value {
    serde_json::from_slice(&read_blob(root, digest)).unwrap()
}

fn config(root: &Path, digest: &str) -> Value {
    let m = manifest(root, digest);
    serde_json::from_slice(&read_blob(root, m["config"]["digest"].as_str().unwrap())).unwrap()
}

fn layer_digests(root: &Path, digest: &str) -> Vec<String> {
    manifest(root, digest)["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

/// The files of a layer: `tar -tzf` of its blob.
fn layer_files(root: &Path, layer: &str) -> Vec<String> {
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
fn names(root: &Path) -> Vec<String> {
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
fn mounts_under(dir: &Path) -> Vec<String> {
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

    let ctx = context(&[("Dockerfile", "FROM scratch\nONBUILD RUN true\n")]);
    let out = build(root.path(), &[], ctx.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("Dockerfile:2:1: ONBUILD is not supported"));
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
    let out = build(root.path(), &[], ctx.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("Dockerfile:2:6: base image no-such-image:1 is not in the local store"),
        "{err}"
    );
    let out = build(root.path(), &["--target", "zzz"], ctx.path());
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

// ---- With the busybox base and RUN steps (root: RUN needs containers) ----

fn busybox_root() -> Option<TempRoot> {
    if !hoist_testkit::is_root() {
        hoist_testkit::skip_or_fail("build RUN tests", "RUN steps need root");
        return None;
    }
    let root = TempRoot::new();
    import_busybox(root.path(), "busybox:latest").then_some(root)
}

/// A file's content in an image, reading its layers top-down (None if absent
/// or deleted by a whiteout).
fn file_in_image(root: &Path, digest: &str, path: &str) -> Option<String> {
    let name = path.trim_start_matches('/');
    let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
    let whiteout = if dir.is_empty() {
        format!(".wh.{base}")
    } else {
        format!("{dir}/.wh.{base}")
    };
    for layer in layer_digests(root, digest).iter().rev() {
        let files = layer_files(root, layer);
        if files.iter().any(|f| f == &whiteout) {
            return None;
        }
        if files.iter().any(|f| f == name) {
            let hex = layer.strip_prefix("sha256:").unwrap();
            let out = std::process::Command::new("tar")
                .arg("-xzOf")
                .arg(root.join("content/blobs/sha256").join(hex))
                .arg(name)
                .output()
                .unwrap();
            return Some(text(&out.stdout));
        }
    }
    None
}

/// testdata/build/all with its `bundle.tar` made.
fn all_fixture() -> (tempfile::TempDir, PathBuf) {
    let (tmp, ctx) = fixture("all");
    let status = std::process::Command::new("tar")
        .args(["-C", "bundle", "-cf", "bundle.tar", "."])
        .current_dir(&ctx)
        .status()
        .unwrap();
    assert!(status.success());
    (tmp, ctx)
}

#[test]
fn every_instruction_builds_into_a_working_image() {
    let Some(root) = busybox_root() else { return };
    let (_tmp, ctx) = all_fixture();
    let (digest, log) = build_ok(
        root.path(),
        &["-t", "every:1", "--build-arg", "GREETING=hi"],
        &ctx,
    );
    assert!(
        log.contains("[base] | greeting is hi"),
        "RUN output is shown: {log}"
    );
    let c = config(root.path(), &digest);
    let cfg = &c["config"];
    let env = cfg["Env"].as_array().unwrap();
    assert!(env.contains(&"GREETING=hi".into()) && env.contains(&"APP_HOME=/srv/app".into()));
    assert_eq!(cfg["WorkingDir"], "/srv/app");
    assert_eq!(cfg["User"], "user");
    assert_eq!(cfg["StopSignal"], "SIGINT");
    assert_eq!(cfg["Labels"]["maintainer"], "hoist tests");
    assert_eq!(cfg["Labels"]["org.example.title"], "every instruction");
    for port in ["8080/tcp", "9000/udp", "9001/udp"] {
        assert!(cfg["ExposedPorts"][port].is_object(), "{port}");
    }
    assert!(cfg["Volumes"]["/data"].is_object());
    assert_eq!(cfg["Shell"], serde_json::json!(["/bin/sh", "-ec"]));
    let h = &cfg["Healthcheck"];
    assert_eq!(
        h["Test"],
        serde_json::json!(["CMD-SHELL", "test -f /srv/app/built.txt"])
    );
    assert_eq!(
        (
            &h["Interval"],
            &h["Timeout"],
            &h["StartPeriod"],
            &h["StartInterval"],
            &h["Retries"]
        ),
        (
            &1_000_000_000u64.into(),
            &2_000_000_000u64.into(),
            &1_000_000_000u64.into(),
            &1_000_000_000u64.into(),
            &2.into()
        )
    );
    assert_eq!(
        file_in_image(root.path(), &digest, "/srv/app/built.txt").as_deref(),
        Some("built with hi\n")
    );
    assert_eq!(
        file_in_image(root.path(), &digest, "/tmp/gone"),
        None,
        "deleted by a later RUN"
    );
    assert_eq!(
        file_in_image(root.path(), &digest, "/opt/bundle/inside.txt").as_deref(),
        Some("from the tarball\n"),
        "ADD extracts local tars"
    );
    assert_eq!(
        file_in_image(root.path(), &digest, "/srv/app/sub/two.txt").as_deref(),
        Some("nested\n")
    );
    assert_eq!(
        file_in_image(root.path(), &digest, "/srv/app/ignored.txt"),
        None
    );
    // COPY --chown=1000:1000 owns the copied files.
    let layers = layer_digests(root.path(), &digest);
    let copy_layer = layers
        .iter()
        .find(|l| {
            layer_files(root.path(), l)
                .iter()
                .any(|f| f == "srv/app/one.txt")
        })
        .unwrap();
    let out = std::process::Command::new("tar")
        .arg("--numeric-owner")
        .arg("-tvzf")
        .arg(
            root.path()
                .join("content/blobs/sha256")
                .join(&copy_layer[7..]),
        )
        .output()
        .unwrap();
    let listing = text(&out.stdout);
    let line = listing
        .lines()
        .find(|l| l.ends_with("srv/app/one.txt"))
        .unwrap();
    assert!(line.contains("1000/1000"), "{line}");
    assert!(mounts_under(root.path()).is_empty());
}

#[test]
fn multi_stage_copy_from_target_and_build_args() {
    let Some(root) = busybox_root() else { return };
    let (_tmp, ctx) = fixture("multistage");
    let (digest, log) = build_ok(root.path(), &["-t", "multi"], &ctx);
    assert!(
        log.contains("[tools 2/2]") && log.contains("[data 3/3]"),
        "{log}"
    );
    let r = root.path();
    assert_eq!(
        file_in_image(r, &digest, "/out/tool.txt").as_deref(),
        Some("tool\n")
    );
    assert_eq!(
        file_in_image(r, &digest, "/out/data.txt").as_deref(),
        Some("flavor=plain\n")
    );
    assert!(file_in_image(r, &digest, "/bin/busybox").is_some());
    assert_eq!(layer_digests(r, &digest).len(), 3, "scratch + three COPYs");

    let (spicy, _) = build_ok(r, &["--build-arg", "FLAVOR=spicy"], &ctx);
    assert_eq!(
        file_in_image(r, &spicy, "/out/data.txt").as_deref(),
        Some("flavor=spicy\n")
    );

    let (data, log) = build_ok(r, &["--target", "data"], &ctx);
    assert!(!log.contains("[final"), "{log}");
    assert!(!log.contains("[tools"), "{log}");
    assert_eq!(
        file_in_image(r, &data, "/data.txt").as_deref(),
        Some("flavor=plain\n")
    );
    assert_eq!(file_in_image(r, &data, "/out/tool.txt"), None);

    let out = build(r, &["--build-arg", "UNUSED=1"], &ctx);
    assert!(text(&out.stderr).contains("build args not consumed by any ARG: UNUSED"));
}

#[test]
fn cached_rebuilds_run_nothing_and_invalidate_from_the_changed_copy() {
    let Some(root) = busybox_root() else { return };
    let r = root.path();
    let (_tmp, ctx) = fixture("cache");
    let (first, _) = build_ok(r, &[], &ctx);
    let (second, log) = build_ok(r, &[], &ctx);
    // Every step after FROM is a cache hit, and the RUN steps, which write
    // a random UUID, kept their layers: nothing ran again.
    for n in 2..=6 {
        assert!(
            log.contains(&format!("[stage-0 {n}] CACHED")),
            "step {n}: {log}"
        );
    }
    assert!(!log.contains("] | "), "no RUN printed anything: {log}");
    assert_eq!(first, second);
    let stamp1 = file_in_image(r, &first, "/stamp-1").unwrap();

    fs::write(ctx.join("b.txt"), "b changed\n").unwrap();
    let (third, log) = build_ok(r, &[], &ctx);
    for n in 2..=4 {
        assert!(
            log.contains(&format!("[stage-0 {n}] CACHED")),
            "step {n}: {log}"
        );
    }
    for n in 5..=6 {
        assert!(
            !log.contains(&format!("[stage-0 {n}] CACHED")),
            "step {n}: {log}"
        );
    }
    let (l1, l3) = (layer_digests(r, &first), layer_digests(r, &third));
    assert_eq!(
        l1[..l1.len() - 2],
        l3[..l3.len() - 2],
        "layers before COPY b.txt are reused"
    );
    assert_ne!(l1[l1.len() - 1], l3[l3.len() - 1]);
    assert_eq!(file_in_image(r, &third, "/stamp-1").unwrap(), stamp1);
    assert_eq!(
        file_in_image(r, &third, "/ab").as_deref(),
        Some("a\nb changed\n")
    );
    assert_ne!(
        file_in_image(r, &third, "/stamp-3").unwrap(),
        file_in_image(r, &first, "/stamp-3").unwrap(),
        "the last RUN ran again"
    );
}

#[test]
fn no_cache_builds_in_fresh_stores_are_identical() {
    let Some(a) = busybox_root() else { return };
    let Some(b) = busybox_root() else { return };
    let (_tmp, ctx) = fixture("repro");
    let (da, _) = build_ok(a.path(), &["--no-cache", "-t", "repro"], &ctx);
    let (db, _) = build_ok(b.path(), &["--no-cache", "-t", "repro"], &ctx);
    assert_eq!(da, db);
    assert_eq!(
        file_in_image(a.path(), &da, "/sorted").as_deref(),
        Some("apple\nfig\npear\n")
    );
    assert_eq!(file_in_image(a.path(), &da, "/src/list.txt"), None);
}

#[test]
fn a_failing_run_stops_the_build_with_its_output() {
    let Some(root) = busybox_root() else { return };
    let r = root.path();
    let before = names(r);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox:latest\nRUN echo first-line; echo second-line >&2; exit 3\nRUN echo never\n",
    )]);
    let out = build(r, &["-t", "broken"], ctx.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("Dockerfile:2:1: RUN failed with exit code 3"),
        "{err}"
    );
    assert!(
        err.contains("command: /bin/sh -c echo first-line; echo second-line >&2; exit 3"),
        "{err}"
    );
    assert!(
        err.contains("last output:\n    first-line\n    second-line"),
        "{err}"
    );
    assert!(!err.contains("never"), "{err}");
    assert_eq!(names(r), before, "no new names");
    assert!(mounts_under(r).is_empty());
    let leftovers: Vec<_> = fs::read_dir(r.join("build-cache/tmp")).unwrap().collect();
    assert!(leftovers.is_empty(), "scratch dirs removed: {leftovers:?}");

    // A command that does not exist is a failure too, with the shell's 127.
    let ctx = context(&[("Dockerfile", "FROM busybox:latest\nRUN no-such-command\n")]);
    let out = build(r, &[], ctx.path());
    assert!(text(&out.stderr).contains("RUN failed with exit code 127"));
}

fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn built_images_go_through_a_registry_to_skopeo_umoci_and_podman() {
    hoist_testkit::require_program!("skopeo");
    hoist_testkit::require_program!("umoci");
    hoist_testkit::require_program!("docker-registry");
    let Some(root) = busybox_root() else { return };
    let r = root.path();
    let (_tmp, ctx) = all_fixture();
    let (digest, _) = build_ok(r, &["-t", "every:1"], &ctx);

    let port = hoist_testkit::free_port();
    let config = r.join("registry.yml");
    fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            r.join("registry-data").display()
        ),
    )
    .unwrap();
    let _registry = hoist_testkit::Peer::start(
        std::process::Command::new("docker-registry")
            .arg("serve")
            .arg(&config),
        port,
        &r.join("registry.log"),
    );
    let remote = format!("docker://127.0.0.1:{port}/hoist/every:1");
    let layout = format!(
        "oci:{}:docker.io/library/every:1",
        r.join("content").display()
    );
    run_ok(std::process::Command::new("skopeo").args([
        "copy",
        "--dest-tls-verify=false",
        &layout,
        &remote,
    ]));
    let inspected = run_ok(std::process::Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &remote,
    ]));
    let v: Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(
        v["Digest"],
        digest.as_str(),
        "the registry serves the same manifest"
    );
    let remote_config = run_ok(std::process::Command::new("skopeo").args([
        "inspect",
        "--config",
        "--raw",
        "--tls-verify=false",
        &remote,
    ]));
    let c: Value = serde_json::from_str(&remote_config).unwrap();
    assert_eq!(
        c["config"]["Healthcheck"]["Retries"], 2,
        "HEALTHCHECK survives the registry"
    );

    // Pulled back by skopeo and unpacked by umoci: the files and the runtime config.
    let pulled = r.join("pulled");
    run_ok(std::process::Command::new("skopeo").args([
        "copy",
        "--src-tls-verify=false",
        &remote,
        &format!("oci:{}:v1", pulled.display()),
    ]));
    let bundle = r.join("bundle");
    run_ok(std::process::Command::new("umoci").args([
        "unpack",
        "--image",
        &format!("{}:v1", pulled.display()),
        bundle.to_str().unwrap(),
    ]));
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        fs::read_to_string(rootfs.join("srv/app/built.txt")).unwrap(),
        "built with hello\n"
    );
    assert!(!rootfs.join("tmp/gone").exists(), "the whiteout applied");
    assert!(rootfs.join("opt/bundle/inside.txt").exists());
    let spec: Value =
        serde_json::from_slice(&fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["process"]["cwd"], "/srv/app");
    assert_eq!(spec["process"]["user"]["uid"], 1000);
    assert!(spec["process"]["env"]
        .as_array()
        .unwrap()
        .contains(&"GREETING=hello".into()));

    if !hoist_testkit::have_program("podman") {
        hoist_testkit::skip_or_fail("podman run of a hoist image", "podman is not installed");
        return;
    }
    // podman, in its own throwaway storage, runs the image with its CMD, ENV, WORKDIR and USER.
    let podman = |args: &[&str]| {
        let mut cmd = std::process::Command::new("podman");
        cmd.arg("--root")
            .arg(r.join("podman-root"))
            .arg("--runroot")
            .arg(r.join("podman-run"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--runtime", "runc"])
            .args(args);
        cmd
    };
    run_ok(&mut podman(&["pull", "-q", "--tls-verify=false", &remote]));
    let out = run_ok(&mut podman(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--ulimit",
        "nofile=16384:16384",
        "--ulimit",
        "nproc=16384:16384",
        &remote[9..],
    ]));
    assert_eq!(out, "hello from /srv/app as 1000\nbuilt with hello\n");
}

/// Removes a container when dropped (also when the test fails).
struct ContainerGuard<'a> {
    root: &'a Path,
    name: &'a str,
}

impl Drop for ContainerGuard<'_> {
    fn drop(&mut self) {
        let _ = hoist_out(self.root, &["rm", "-f", self.name]);
    }
}

#[test]
fn built_image_runs_with_its_config_and_becomes_healthy() {
    let Some(root) = busybox_root() else { return };
    let r = root.path();
    let (_tmp, ctx) = all_fixture();
    build_ok(r, &["-t", "every:1"], &ctx);
    // CMD, ENV, WORKDIR and USER in effect.
    let out = hoist_out(r, &["run", "--rm", "every:1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "hello from /srv/app as 1000\nbuilt with hello\n"
    );
    // The file a later RUN deleted is absent at run time.
    let out = hoist_out(
        r,
        &["run", "--rm", "every:1", "test -e /tmp/gone || echo absent"],
    );
    assert_eq!(text(&out.stdout), "absent\n");
    // The HEALTHCHECK runs and reaches healthy.
    let _guard = ContainerGuard {
        root: r,
        name: "hc",
    };
    let out = hoist_out(r, &["run", "-d", "--name", "hc", "every:1", "sleep 60"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    hoist_testkit::wait_until_ok(
        "container hc healthy",
        std::time::Duration::from_secs(20),
        || {
            let out = hoist_out(r, &["inspect", "hc"]);
            let v: Value = serde_json::from_slice(&out.stdout).ok()?;
            (v[0]["State"]["Health"]["Status"] == "healthy").then_some(())
        },
    );
}
