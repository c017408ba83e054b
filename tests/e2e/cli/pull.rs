//! `run`/`create --pull`: an image only in a registry (hoist's own, on loopback) is pulled
//! first, with pull's progress on stderr, then run; `--pull never` refuses with 125.

use super::stderr;
use crate::common;
use crate::container::Fixture;
use hoist_testkit::{free_port, Peer, TempRoot};

#[test]
fn run_rm_pulls_a_missing_image_from_a_local_registry_then_runs_it() {
    let Some(f) = Fixture::new() else { return };
    let data = TempRoot::new();
    let port = free_port();
    let mut serve = common::hoist(&data.join("root"));
    serve
        .args(["registry", "serve", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--storage-root")
        .arg(data.join("storage"));
    let _registry = Peer::start(&mut serve, port, &data.join("registry.log"));
    let name = format!("127.0.0.1:{port}/e2e/box:1");
    f.ok(&["tag", "busybox", &name]);
    f.ok(&["push", "--tls-verify=false", "--progress", "quiet", &name]);

    // A store that has never seen the image.
    let fresh = TempRoot::new();
    let hoist = |args: &[&str]| {
        common::hoist(fresh.path())
            .env_remove(common::PULL_ENV)
            .args(args)
            .output()
            .unwrap()
    };
    let never = common::hoist(fresh.path())
        .args(["run", "--rm", "--pull", "never", &name, "true"])
        .output()
        .unwrap();
    assert_eq!(never.status.code(), Some(125), "{}", stderr(&never));

    let out = hoist(&["run", "--rm", &name, "echo", "pulled-then-ran"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "pulled-then-ran\n",
        "only the container's output on stdout"
    );
    assert!(
        err.contains(&format!("Unable to find image '{name}' locally")),
        "{err}"
    );
    assert!(err.contains("Status: Downloaded newer image for"), "{err}");
    // It is in the store now: the next run does not pull, and --rm left no container.
    let again = hoist(&["run", "--rm", &name, "true"]);
    assert!(
        again.status.success() && !stderr(&again).contains("Unable to find"),
        "{}",
        stderr(&again)
    );
    assert_eq!(String::from_utf8_lossy(&hoist(&["ps", "-aq"]).stdout), "");
    // `create --pull always` pulls even so.
    let id = hoist(&["create", "--pull", "always", &name, "true"]);
    assert!(id.status.success(), "{}", stderr(&id));
    assert!(
        stderr(&id).contains("Status: Downloaded newer image"),
        "{}",
        stderr(&id)
    );
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    assert!(hoist(&["rm", &id]).status.success());
}
