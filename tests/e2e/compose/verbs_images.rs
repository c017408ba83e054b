//! `compose build`, `push` and `pull` against hoist's own registry, served on the test
//! namespace's loopback. docker compose v2's choices are the reference:
//! - build: the `build:` services, tagged `image:` or `<project>-<service>`;
//! - push: only services with both `build:` and `image:`, the others skipped (a named service
//!   without `image:` is an error);
//! - pull: every service with `image:`, a `build:`-only service skipped ("No image to be
//!   pulled"), so is `pull_policy: missing` with the image here; a missing image fails `pull`
//!   unless `--ignore-pull-failures`.

use super::env::ComposeEnv;
use crate::common::hoist_bin;
use hoist_testkit::{wait_until, ChildGuard, TempRoot};
use std::process::Stdio;
use std::time::Duration;

const REG: &str = "127.0.0.1:5000";

const FILE: &str = r#"
name: im
services:
  app:
    build: {context: ./app, args: {GREET: from-file}}
    image: 127.0.0.1:5000/im/app:v1
  helper:
    build: {context: ./app}
  base:
    image: 127.0.0.1:5000/im/base:v1
  local:
    image: busybox:latest
    pull_policy: missing
"#;

/// `hoist registry serve` inside the test's namespace, ready once `/v2/` answers.
fn registry(env: &ComposeEnv, dir: &TempRoot) -> ChildGuard {
    let log = std::fs::File::create(dir.join("registry.log")).unwrap();
    let mut cmd = env.net.ns.command(hoist_bin());
    cmd.arg("--root")
        .arg(dir.join("root"))
        .args(["registry", "serve", "--addr", REG, "--storage-root"])
        .arg(dir.join("data"))
        .stdout(Stdio::null())
        .stderr(log);
    let guard = ChildGuard::spawn(&mut cmd).expect("start hoist registry serve");
    wait_until("the registry", Duration::from_secs(20), || {
        env.net.ns.sh(&format!("curl -sf http://{REG}/v2/")).0
    });
    guard
}

fn tags(env: &ComposeEnv, repo: &str) -> String {
    env.net
        .ns
        .sh(&format!("curl -s http://{REG}/v2/{repo}/tags/list"))
        .1
}

fn image_id(env: &ComposeEnv, image: &str) -> Option<String> {
    let out = env.out(&["image", "inspect", image]);
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v[0]["Id"].as_str().map(String::from)
}

#[test]
fn build_push_pull() {
    let Some(env) = ComposeEnv::new("cmp-images") else {
        return;
    };
    let dir = TempRoot::new();
    let _registry = registry(&env, &dir);
    env.write("compose.yaml", FILE);
    std::fs::create_dir(env.path("app")).unwrap();
    env.write(
        "app/Dockerfile",
        "FROM busybox:latest\nARG GREET\nLABEL made=by-compose-build greet=$GREET\nCOPY hello /hello\n",
    );
    env.write("app/hello", "hi\n");

    // build: both build: services, by their image: or compose's name.
    let (_, stderr) = env.ok2(&["compose", "build"]);
    assert!(
        stderr.contains("Image 127.0.0.1:5000/im/app:v1  Built"),
        "{stderr}"
    );
    assert!(stderr.contains("Image im-helper  Built"), "{stderr}");
    let app = image_id(&env, "127.0.0.1:5000/im/app:v1").expect("app built");
    let labels = &env.inspect("127.0.0.1:5000/im/app:v1")["Config"]["Labels"];
    assert_eq!(labels["made"], "by-compose-build");
    assert_eq!(labels["greet"], "from-file");
    assert!(image_id(&env, "im-helper").is_some());
    let err = env.fails(&["compose", "build", "base"]);
    assert!(err.contains("no build: section"), "{err}");

    // push: app only (build: and image:); helper (no image:) and base (no build:) skipped.
    let (_, stderr) = env.ok2(&["compose", "push", "--tls-verify=false"]);
    assert!(stderr.contains("app  Pushed"), "{stderr}");
    assert!(stderr.contains("helper  Skipped") && stderr.contains("base  Skipped"));
    assert!(tags(&env, "im/app").contains("\"v1\""));
    assert!(!tags(&env, "im/base").contains("\"v1\""));
    let err = env.fails(&["compose", "push", "--tls-verify=false", "helper"]);
    assert!(err.contains("service helper has no image:"), "{err}");

    // pull: base (pushed by hand) and app come back after being removed here.
    env.ok(&["tag", "busybox:latest", "127.0.0.1:5000/im/base:v1"]);
    env.ok(&["push", "--tls-verify=false", "127.0.0.1:5000/im/base:v1"]);
    env.ok(&[
        "rmi",
        "127.0.0.1:5000/im/base:v1",
        "127.0.0.1:5000/im/app:v1",
    ]);
    assert!(image_id(&env, "127.0.0.1:5000/im/app:v1").is_none());
    let (_, stderr) = env.ok2(&["compose", "pull", "--tls-verify=false"]);
    assert!(
        stderr.contains("helper  Skipped - No image to be pulled"),
        "{stderr}"
    );
    assert!(
        stderr.contains("local  Skipped - Image is already present locally"),
        "{stderr}"
    );
    assert_eq!(image_id(&env, "127.0.0.1:5000/im/app:v1"), Some(app));
    assert!(image_id(&env, "127.0.0.1:5000/im/base:v1").is_some());

    // An image the registry does not have.
    env.write(
        "missing.yaml",
        "services:\n  gone:\n    image: 127.0.0.1:5000/im/gone:v1\n",
    );
    let err = env.fails(&[
        "compose",
        "-f",
        "missing.yaml",
        "pull",
        "--tls-verify=false",
    ]);
    assert!(
        err.contains("pulling 127.0.0.1:5000/im/gone:v1 for service gone"),
        "{err}"
    );
    let (_, stderr) = env.ok2(&[
        "compose",
        "-f",
        "missing.yaml",
        "pull",
        "--tls-verify=false",
        "--ignore-pull-failures",
    ]);
    assert!(
        stderr.contains("warning: pulling 127.0.0.1:5000/im/gone:v1"),
        "{stderr}"
    );

    // build --build-arg overrides the file's args; --no-cache is passed to the builder.
    let (_, stderr) = env.ok2(&[
        "compose",
        "build",
        "--no-cache",
        "--build-arg",
        "GREET=from-cli",
        "app",
    ]);
    assert!(
        !stderr.contains("im-helper"),
        "only the named service: {stderr}"
    );
    let labels = &env.inspect("127.0.0.1:5000/im/app:v1")["Config"]["Labels"];
    assert_eq!(labels["greet"], "from-cli");
}
