//! A rootless `hoist build` with RUN steps: the same image digest as root's
//! build of the same Dockerfile, and the layers behave the same when run
//! (an opaque directory made by `rm -rf` + `mkdir`, a deleted file, a file
//! chowned to 1000).

use std::os::unix::fs::PermissionsExt;

use super::user::{Ranges, User};
use crate::common;
use hoist_testkit::TempRoot;

const DOCKERFILE: &str = "FROM busybox
RUN mkdir -p /d/sub && echo a > /d/sub/a && echo keep > /keep
RUN rm -rf /d && mkdir /d && echo b > /d/b && chown 1000:1000 /d/b && rm /keep
COPY f /f
";

/// The image ID `build` prints last on stdout.
fn built_id(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout.lines().last().unwrap_or_default().trim().to_string();
    assert!(id.starts_with("sha256:"), "{stdout}");
    id
}

#[test]
fn a_rootless_build_gives_the_digest_of_root_s() {
    let Some(user) = User::new(Ranges::Given) else {
        return;
    };
    let ctx = user.dir().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(ctx.join("f"), "hello\n").unwrap();
    for p in [&ctx, &ctx.join("Dockerfile"), &ctx.join("f")] {
        let mode = if p.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    let root = TempRoot::new();
    if !common::import_busybox(root.path(), "busybox:latest") {
        return;
    }
    let as_root = user
        .netns
        .command(common::hoist_bin())
        .arg("--root")
        .arg(root.path())
        .args(["build", "-t", "t1"])
        .arg(&ctx)
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .unwrap();
    let root_id = built_id(&as_root);

    user.import_busybox();
    let as_user = user
        .command_env(&["SOURCE_DATE_EPOCH=0".into()], common::hoist_bin())
        .args(["build", "-t", "t1"])
        .arg(&ctx)
        .output()
        .unwrap();
    assert_eq!(
        built_id(&as_user),
        root_id,
        "rootless and root builds differ"
    );

    let seen = user.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "t1",
        "sh",
        "-c",
        "ls /d; stat -c %u:%g /d/b; cat /f; test -e /keep || echo no-keep",
    ]);
    assert_eq!(seen, "b\n1000:1000\nhello\nno-keep\n");
    for dir in [user.store(), user.runtime.clone()] {
        let rooted = User::owned_by_root(&dir);
        assert!(rooted.is_empty(), "owned by real root: {rooted:?}");
    }
    user.finish();
}
