//! `hoist build` talking to a registry: `--push` after the build, and a base
//! image missing from the store pulled before its stage runs (docker's
//! pull-if-missing), against hoist's own registry on a loopback port.

use super::run_steps::busybox_root;
use super::*;
use crate::common::hoist_ok;
use crate::registry::Server;

#[test]
fn push_after_build_and_pull_a_missing_base() {
    let Some(root) = busybox_root() else { return };
    let server = Server::start(&[]);
    let name = format!("{}/team/app:1", server.host());
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN echo built > /built.txt\nCMD [\"cat\", \"/built.txt\"]\n",
    )]);
    let (digest, stderr) = build_ok(
        root.path(),
        &["-t", &name, "--push", "--tls-verify=false"],
        ctx.path(),
    );
    assert!(stderr.contains(&format!("Pushed {name}")), "{stderr}");

    // The registry has it: another store pulls the same digest.
    let other = TempRoot::new();
    let pulled = hoist_ok(other.path(), &["pull", "--tls-verify=false", &name]);
    assert!(pulled.contains(&digest), "{pulled}");

    // A third, empty store builds FROM it: the base is pulled first.
    let empty = TempRoot::new();
    let child = context(&[(
        "Dockerfile",
        &format!("FROM {name}\nRUN cat /built.txt > /copied.txt\n"),
    )]);
    let (child_digest, stderr) = build_ok(
        empty.path(),
        &["-t", "child:1", "--tls-verify=false"],
        child.path(),
    );
    assert!(
        stderr.contains(&format!("Pulling base image {name}")),
        "{stderr}"
    );
    assert_eq!(
        super::run_steps::file_in_image(empty.path(), &child_digest, "/copied.txt").as_deref(),
        Some("built\n")
    );
    let images = hoist_ok(empty.path(), &["images"]);
    assert!(
        images.contains("team/app"),
        "the base is in the store: {images}"
    );
}

#[test]
fn push_and_pull_failures_are_clear() {
    let root = TempRoot::new();
    // Nothing listens on this loopback port.
    let dead = format!("127.0.0.1:{}", hoist_testkit::free_port());
    let ctx = context(&[("Dockerfile", &format!("FROM {dead}/base:1\n"))]);
    let out = build(root.path(), &["--tls-verify=false"], ctx.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "Dockerfile:1:6: base image {dead}/base:1 is not in the local store and pulling it failed"
        )),
        "{err}"
    );

    let scratch = context(&[("Dockerfile", "FROM scratch\nLABEL a=b\n")]);
    let out = build(root.path(), &["--push"], scratch.path());
    assert!(text(&out.stderr).contains("--push needs a name"));
    let target = format!("{dead}/app:1");
    let out = build(
        root.path(),
        &["-t", &target, "--push", "--tls-verify=false"],
        scratch.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("the image is built, but pushing {target} failed")),
        "{err}"
    );
    // The image was built and named all the same.
    let images = hoist_ok(root.path(), &["images"]);
    assert!(images.contains("app"), "{images}");
}
