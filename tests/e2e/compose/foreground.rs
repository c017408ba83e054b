//! `up` without `-d` follows every container's output, prefixed, until SIGINT, which stops
//! the project (containers kept, exited); `build:` services get their image built by `up`,
//! and rebuilt with `up --build`, which recreates the container when the image changed.

use super::env::ComposeEnv;
use hoist_testkit::{wait_until, ChildGuard};
use std::time::Duration;

#[test]
fn foreground_up_follows_logs_and_ctrl_c_stops() {
    let Some(env) = ComposeEnv::new("cmp-fg") else {
        return;
    };
    env.write(
        "compose.yaml",
        r#"
name: fg
services:
  talker:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while :; do echo tick $$i; i=$$((i+1)); sleep 0.2; done"]
"#,
    );
    let out = std::fs::File::create(env.path("up.out")).unwrap();
    let mut up = ChildGuard::spawn(env.hoist().args(["compose", "up"]).stdout(out))
        .expect("spawn compose up");
    let read = || std::fs::read_to_string(env.path("up.out")).unwrap_or_default();
    wait_until("prefixed output", Duration::from_secs(30), || {
        read().contains("fg-talker-1  | tick 2")
    });
    up.signal(libc::SIGINT);
    wait_until(
        "up to stop the project and exit",
        Duration::from_secs(30),
        || up.exited(),
    );
    let states = env.states(&[]);
    assert_eq!(states["fg-talker-1"].1, "exited", "{states:?}");
}

#[test]
fn build_services_are_built_and_rebuilt() {
    let Some(env) = ComposeEnv::new("cmp-build") else {
        return;
    };
    env.write(
        "Dockerfile",
        "FROM busybox:latest\nRUN echo first > /built\nCMD [\"sleep\", \"300\"]\n",
    );
    env.write(
        "compose.yaml",
        "name: bld\nservices:\n  app:\n    build: .\n    stop_grace_period: 1s\n",
    );
    env.ok(&["compose", "up", "-d"]);
    let (ok, text) = env.exec("bld-app-1", "cat /built");
    assert!(ok && text.trim() == "first", "{text}");
    let first = env.states(&[])["bld-app-1"].0.clone();
    // Unchanged: no rebuild without --build, nothing recreated.
    env.ok(&["compose", "up", "-d"]);
    assert_eq!(env.states(&[])["bld-app-1"].0, first);
    env.write(
        "Dockerfile",
        "FROM busybox:latest\nRUN echo second > /built\nCMD [\"sleep\", \"300\"]\n",
    );
    let (_, stderr) = env.ok2(&["compose", "up", "-d", "--build"]);
    assert!(
        stderr.contains("Container bld-app-1  Recreated"),
        "{stderr}"
    );
    let (ok, text) = env.exec("bld-app-1", "cat /built");
    assert!(ok && text.trim() == "second", "{text}");
    env.ok(&["compose", "down", "--rmi", "local"]);
    let images = env.ok(&["images"]);
    assert!(!images.contains("bld-app"), "{images}");
}
