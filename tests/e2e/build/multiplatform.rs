//! `hoist build --platform linux/amd64,linux/arm64`: one image per platform
//! named together as an OCI index, pushed to hoist's registry on loopback;
//! arm64 RUN steps run under qemu-user (testdata/qemu.sh) registered with a
//! binfmt_misc instance of the step's own user namespace — the host's
//! binfmt_misc is the same after the tests as before.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::*;
use crate::common::hoist;
use crate::registry::Server;

/// testdata/qemu.sh's interpreter directory and arm64 busybox, or a skip.
fn qemu() -> Option<(String, String)> {
    if !hoist_testkit::is_root() {
        hoist_testkit::skip_or_fail("multi-platform builds", "RUN steps need root");
        return None;
    }
    let script = repo_dir().join("testdata/qemu.sh");
    let ask = |args: &[&str]| {
        let out = Command::new("bash")
            .arg(&script)
            .args(args)
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| text(&out.stdout).trim().to_string())
    };
    match (ask(&["path"]), ask(&["busybox", "arm64"])) {
        (Some(dir), Some(busybox)) => Some((dir, busybox)),
        _ => {
            hoist_testkit::skip_or_fail(
                "multi-platform builds",
                "qemu-user is not set up (run `bash testdata/qemu.sh install`)",
            );
            None
        }
    }
}

/// The host's binfmt_misc: its entries when mounted, else None.
fn host_binfmt() -> Option<Vec<String>> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    mounts
        .lines()
        .any(|l| l.split(' ').nth(1) == Some("/proc/sys/fs/binfmt_misc"))
        .then(|| {
            let mut names: Vec<String> = std::fs::read_dir("/proc/sys/fs/binfmt_misc")
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        })
}

/// `hoist build --progress plain ARGS CTX` with the interpreters of `qemu_dir`.
fn build_with(root: &Path, qemu_dir: &str, args: &[&str], ctx: &Path) -> std::process::Output {
    hoist(root)
        .env("HOIST_QEMU_DIR", qemu_dir)
        .args(["build", "--progress", "plain"])
        .args(args)
        .arg(ctx)
        .output()
        .unwrap()
}

/// A busybox rootfs (the binary and its applet links) at `dir`.
fn busybox_rootfs(dir: &Path, busybox: &str) {
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "tmp", "etc", "proc", "sys", "dev",
    ] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy(busybox, dir.join("bin/busybox")).unwrap();
    for applet in ["sh", "uname", "cat", "echo", "ls", "true", "sleep"] {
        std::os::unix::fs::symlink("/bin/busybox", dir.join("bin").join(applet)).unwrap();
    }
}

/// The index a name points at in the store: (platform, manifest digest).
fn index_entries(root: &Path, index_digest: &str) -> Vec<(String, String)> {
    let index: Value = serde_json::from_slice(&read_blob(root, index_digest)).unwrap();
    assert_eq!(
        index["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{index}"
    );
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                format!(
                    "{}/{}",
                    m["platform"]["os"].as_str().unwrap(),
                    m["platform"]["architecture"].as_str().unwrap()
                ),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn skopeo(args: &[&str]) -> Value {
    let out = Command::new("skopeo").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn amd64_and_arm64_pushed_as_one_index() {
    hoist_testkit::require_program!("skopeo");
    let Some((qemu_dir, arm_busybox)) = qemu() else {
        return;
    };
    let binfmt_before = host_binfmt();
    let server = Server::start(&[]);
    let base = format!("{}/mp/base:1", server.host());
    let app = format!("{}/mp/app:1", server.host());

    // A base index made offline: each platform's busybox COPY'd from scratch.
    let base_store = TempRoot::new();
    let base_ctx = context(&[(
        "Dockerfile",
        "FROM scratch\nARG TARGETARCH\nCOPY rootfs-$TARGETARCH/ /\nENV PATH=/bin\nCMD [\"sh\"]\n",
    )]);
    busybox_rootfs(&base_ctx.path().join("rootfs-amd64"), "/bin/busybox");
    busybox_rootfs(&base_ctx.path().join("rootfs-arm64"), &arm_busybox);
    let out = build_with(
        base_store.path(),
        &qemu_dir,
        &[
            "--platform",
            "linux/amd64,linux/arm64",
            "-t",
            &base,
            "--push",
            "--tls-verify=false",
        ],
        base_ctx.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The app, in an empty store: each platform's base pulled from the
    // index; a stage on the build platform (FROM --platform=$BUILDPLATFORM)
    // feeds the target's; RUN steps of arm64 run under qemu.
    let store = TempRoot::new();
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM --platform=$BUILDPLATFORM {base} AS tools\nARG TARGETARCH\nRUN uname -m > /build-arch && echo $TARGETARCH > /target-arch\n\
             FROM {base}\nARG TARGETPLATFORM\nCOPY --from=tools /build-arch /target-arch /\n\
             RUN uname -m > /arch && echo $TARGETPLATFORM > /platform\nCMD [\"cat\", \"/arch\"]\n"
        ),
    )]);
    let oci = store.path().join("app.oci.tar");
    let oci_arg = format!("type=oci,dest={}", oci.display());
    let out = build_with(
        store.path(),
        &qemu_dir,
        &[
            "--platform",
            "linux/amd64,linux/arm64",
            "-t",
            &app,
            "--push",
            "--tls-verify=false",
            "--output",
            &oci_arg,
        ],
        ctx.path(),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Pulling base image"), "{stderr}");
    let index_digest = text(&out.stdout).lines().last().unwrap().to_string();
    let entries = index_entries(store.path(), &index_digest);
    let platforms: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let file = |platform: &str, path: &str| {
        let digest = &entries.iter().find(|(p, _)| p == platform).unwrap().1;
        super::run_steps::file_in_image(store.path(), digest, path)
    };
    assert_eq!(file("linux/arm64", "/arch").as_deref(), Some("aarch64\n"));
    assert_eq!(file("linux/amd64", "/arch").as_deref(), Some("x86_64\n"));
    assert_eq!(
        file("linux/arm64", "/platform").as_deref(),
        Some("linux/arm64\n")
    );
    // The tools stage ran natively for both targets, knowing the target.
    assert_eq!(
        file("linux/arm64", "/build-arch").as_deref(),
        Some("x86_64\n")
    );
    assert_eq!(
        file("linux/arm64", "/target-arch").as_deref(),
        Some("arm64\n")
    );
    let config = |platform: &str| {
        let digest = &entries.iter().find(|(p, _)| p == platform).unwrap().1;
        super::config(store.path(), digest)
    };
    assert_eq!(config("linux/arm64")["architecture"], "arm64");
    assert_eq!(config("linux/amd64")["architecture"], "amd64");

    // hoist run --platform picks the index's entry and runs it under qemu.
    let run = |platform: &str| {
        let out = hoist(store.path())
            .env("HOIST_QEMU_DIR", &qemu_dir)
            .args(["run", "--rm", "--platform", platform, &app])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(run("linux/arm64"), "aarch64\n");
    assert_eq!(run("linux/amd64"), "x86_64\n");

    // exec into a running arm64 container joins its user namespace (made
    // last, after the others) and so its binfmt_misc.
    let qemu = |args: &[&str]| {
        let out = hoist(store.path())
            .env("HOIST_QEMU_DIR", &qemu_dir)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    qemu(&[
        "run",
        "-d",
        "--name",
        "mp-arm",
        "--platform",
        "linux/arm64",
        &app,
        "sleep",
        "60",
    ]);
    // Removed before anything is asserted, so a failure leaves nothing running.
    let exec = hoist(store.path())
        .args(["exec", "mp-arm", "uname", "-m"])
        .output()
        .unwrap();
    qemu(&["rm", "-f", "mp-arm"]);
    assert_eq!(text(&exec.stdout), "aarch64\n", "{}", text(&exec.stderr));

    // The registry has the index and both children.
    let remote = format!("docker://{app}");
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &remote]);
    let archs: Vec<&str> = raw["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"], "{raw}");
    let arm = skopeo(&[
        "inspect",
        "--override-arch",
        "arm64",
        "--override-os",
        "linux",
        "--tls-verify=false",
        &remote,
    ]);
    assert_eq!(arm["Architecture"], "arm64", "{arm}");
    // skopeo's Digest is the index's; the layers are the arm64 image's.
    assert_eq!(arm["Digest"], index_digest.as_str(), "{arm}");
    let layers: Vec<String> = arm["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert_eq!(layers, layer_digests(store.path(), &entries[1].1));

    // --output type=oci wrote the index.
    let listed = Command::new("tar")
        .arg("-xOf")
        .arg(&oci)
        .arg("index.json")
        .output()
        .unwrap();
    assert!(
        text(&listed.stdout).contains(&index_digest),
        "{}",
        text(&listed.stdout)
    );

    // podman, in throwaway storage, pulls the host's entry and runs it.
    if hoist_testkit::have_program("podman") {
        let p = store.path();
        let podman = |args: &[&str]| {
            let mut cmd = Command::new("podman");
            cmd.arg("--root")
                .arg(p.join("podman-root"))
                .arg("--runroot")
                .arg(p.join("podman-run"))
                .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
                .args(["--events-backend", "file", "--runtime", "runc"])
                .args(args);
            cmd.output().unwrap()
        };
        let pulled = podman(&["pull", "-q", "--tls-verify=false", &app]);
        assert!(pulled.status.success(), "{}", text(&pulled.stderr));
        let ran = podman(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--ulimit",
            "nofile=16384:16384",
            "--ulimit",
            "nproc=16384:16384",
            &app,
        ]);
        assert!(ran.status.success(), "{}", text(&ran.stderr));
        assert_eq!(text(&ran.stdout), "x86_64\n");
    } else {
        hoist_testkit::skip_or_fail(
            "podman run of a multi-platform image",
            "podman is not installed",
        );
    }

    assert_eq!(
        host_binfmt(),
        binfmt_before,
        "the host's binfmt_misc must not change"
    );
}

#[test]
fn unsupported_platforms_fail_before_anything_runs() {
    let Some((qemu_dir, _)) = qemu() else { return };
    let root = TempRoot::new();
    // RUN steps: a platform with none needs no interpreter.
    let ctx = context(&[("Dockerfile", "FROM scratch\nCOPY . /\nRUN true\n")]);
    let fail = |qemu_dir: &str, platforms: &str| {
        let out = build_with(
            root.path(),
            qemu_dir,
            &["--platform", platforms],
            ctx.path(),
        );
        assert_eq!(out.status.code(), Some(1), "{platforms}");
        let err = text(&out.stderr);
        // Nothing was built for the good platform listed first either.
        assert!(!err.contains("FROM scratch"), "{err}");
        err
    };
    let err = fail(&qemu_dir, "linux/amd64,linux/vax");
    assert!(err.contains("platform linux/vax is not supported"), "{err}");
    let err = fail(&qemu_dir, "linux/amd64,arm64");
    assert!(
        err.contains("--platform: platform \"arm64\" is not OS/ARCH"),
        "{err}"
    );
    // No interpreter: what to install and where it was looked for.
    let empty = tempfile::tempdir().unwrap();
    let err = fail(empty.path().to_str().unwrap(), "linux/amd64,linux/s390x");
    assert!(err.contains("needs qemu-user's qemu-s390x-static"), "{err}");
    assert!(err.contains("HOIST_QEMU_DIR"), "{err}");
    // A malformed one: not a static ELF program for this machine.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("qemu-aarch64-static"), "#!/bin/sh\n").unwrap();
    let err = fail(bad.path().to_str().unwrap(), "linux/amd64,linux/arm64");
    assert!(
        err.contains("cannot be the interpreter: it is not an ELF executable"),
        "{err}"
    );
    std::fs::copy("/bin/ls", bad.path().join("qemu-aarch64-static")).unwrap();
    let err = fail(bad.path().to_str().unwrap(), "linux/arm64");
    assert!(err.contains("dynamically linked"), "{err}");
    // A stage's own platform is checked for every target before any builds.
    let staged = context(&[(
        "Dockerfile",
        "FROM --platform=linux/s390x scratch AS tools\nCOPY . /\nRUN true\nFROM scratch\nCOPY --from=tools /Dockerfile /\n",
    )]);
    let out = build_with(
        root.path(),
        &qemu_dir,
        &["--platform", "linux/amd64,linux/arm64"],
        staged.path(),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("needs qemu-user's qemu-s390x-static"), "{err}");
    assert!(!err.contains("COPY"), "{err}");
    // Without RUN steps a foreign platform needs no interpreter (COPY'd
    // cross-compiled programs): linux/s390x builds with none installed.
    let copy_only = context(&[("Dockerfile", "FROM scratch\nCOPY Dockerfile /\n")]);
    let out = build_with(
        root.path(),
        empty.path().to_str().unwrap(),
        &["--platform", "linux/s390x,linux/amd64", "-t", "copy-only:1"],
        copy_only.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let index = text(&out.stdout).lines().last().unwrap().to_string();
    let listed = index_entries(root.path(), &index);
    assert_eq!(listed[0].0, "linux/s390x");
    assert_eq!(
        super::config(root.path(), &listed[0].1)["architecture"],
        "s390x"
    );
    assert_eq!(names(root.path()), ["docker.io/library/copy-only:1"]);
}
