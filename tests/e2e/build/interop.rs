//! End-to-end tests: built images through other tools (docker-registry,
//! skopeo, umoci, podman) and under `hoist run` with their HEALTHCHECK.

use std::fs;
use std::path::Path;

use serde_json::Value;

use super::run_steps::{all_fixture, busybox_root};
use super::*;
use crate::common::hoist_out;

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
