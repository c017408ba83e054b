//! End-to-end tests of builds with RUN steps on the busybox base (root: RUN
//! needs containers): every instruction, multi-stage, cache, reproducibility,
//! failures.

use std::fs;
use std::path::{Path, PathBuf};

use hoist_testkit::TempRoot;

use super::*;
use crate::common::import_busybox;

pub(crate) fn busybox_root() -> Option<TempRoot> {
    if !hoist_testkit::is_root() {
        hoist_testkit::skip_or_fail("build RUN tests", "RUN steps need root");
        return None;
    }
    let root = TempRoot::new();
    import_busybox(root.path(), "busybox:latest").then_some(root)
}

/// A file's content in an image, reading its layers top-down (None if absent
/// or deleted by a whiteout).
pub(crate) fn file_in_image(root: &Path, digest: &str, path: &str) -> Option<String> {
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
pub(crate) fn all_fixture() -> (tempfile::TempDir, PathBuf) {
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
