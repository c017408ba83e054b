//! Rootless hoist (issue 19): hoist run by an unprivileged user the test
//! makes (user.rs), inside a network namespace of the test's. The user's
//! hoist enters a user namespace of its own (src/rootless) and runs as its
//! root: pull from a local registry and push back, run, run -d + exec +
//! logs + stop + rm, a named volume whose files belong to the user's
//! subordinate ids on the host, a root-only host file out of reach through
//! a bind mount, limit flags refused with the reason, `info`; bad input:
//! no subordinate ranges (a warning, one id mapped, still runs), no
//! newuidmap (a clear error, nothing made).

mod bad_input;
mod build;
mod cgroup;
mod keepid;
mod net;
mod netns;
mod user;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use crate::common;
use hoist_testkit::{free_port, wait_until, ChildGuard, TempRoot};
use user::{Ranges, User};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Root's registry in the user's network namespace holding busybox as
/// `127.0.0.1:PORT/e2e/busybox:1` (root imports and pushes it).
struct Registry {
    port: u16,
    _serve: ChildGuard,
    _data: TempRoot,
}

impl Registry {
    fn start(user: &User) -> Option<Registry> {
        let data = TempRoot::new();
        let root = data.join("root");
        if !common::import_busybox(&root, "busybox:latest") {
            return None;
        }
        let port = free_port();
        let mut serve = user.netns.command(common::hoist_bin());
        serve
            .arg("--root")
            .arg(&root)
            .args(["registry", "serve", "--addr", &format!("127.0.0.1:{port}")])
            .arg("--storage-root")
            .arg(data.join("storage"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let serve = ChildGuard::spawn(&mut serve).unwrap();
        let name = format!("127.0.0.1:{port}/e2e/busybox:1");
        let root_hoist = |args: &[&str]| {
            let mut c = user.netns.command(common::hoist_bin());
            c.arg("--root").arg(&root).args(args);
            c.output().unwrap()
        };
        assert!(root_hoist(&["tag", "busybox", &name]).status.success());
        wait_until(
            "the registry answers a push",
            Duration::from_secs(20),
            || {
                root_hoist(&["push", "--tls-verify=false", "--progress", "quiet", &name])
                    .status
                    .success()
            },
        );
        Some(Registry {
            port,
            _serve: serve,
            _data: data,
        })
    }

    fn image(&self, repo: &str) -> String {
        format!("127.0.0.1:{}/e2e/{repo}", self.port)
    }
}

#[test]
fn an_unprivileged_user_pulls_runs_and_pushes() {
    let Some(user) = User::new(Ranges::Given) else {
        return;
    };
    let Some(registry) = Registry::start(&user) else {
        return;
    };
    let (sub_start, _) = user.subuid.expect("useradd gave ranges");
    let image = registry.image("busybox:1");

    // pull, images: into the user's default store, as the user's files.
    user.ok(&["pull", "--tls-verify=false", "--progress", "quiet", &image]);
    assert!(user.ok(&["images"]).contains("e2e/busybox"));
    let holder = user
        .holder_pid()
        .expect("the first command made the holder");
    assert_eq!(
        std::fs::metadata(format!("/proc/{holder}")).unwrap().uid(),
        user.uid,
        "the holder is the user's process"
    );

    // info: rootless, the user's id as root, then the subordinate range.
    let info: serde_json::Value =
        serde_json::from_str(&user.ok(&["info", "--format", "json"])).unwrap();
    let r = &info["Rootless"];
    assert_eq!(r["Enabled"], true, "{info}");
    assert_eq!(r["UIDMap"][0]["HostID"], user.uid, "{r}");
    assert_eq!(r["UIDMap"][0]["ContainerID"], 0, "{r}");
    assert_eq!(r["UIDMap"][1]["HostID"], sub_start, "{r}");
    assert!(r["Cgroups"].as_str().unwrap().starts_with("none"), "{r}");

    // run: the same runtime, as root of the user's namespace.
    assert_eq!(
        user.ok(&["run", "--network", "none", "--rm", &image, "echo", "hi"]),
        "hi\n"
    );

    // run -d, exec, logs, ps, stop, rm.
    let id = user.ok(&[
        "run",
        "--network",
        "none",
        "-d",
        "--name",
        "web",
        &image,
        "sh",
        "-c",
        "echo started; exec sleep 300",
    ]);
    assert_eq!(id.trim().len(), 64, "{id}");
    wait_until("the container logs", Duration::from_secs(20), || {
        user.ok(&["logs", "web"]).contains("started")
    });
    assert_eq!(user.ok(&["exec", "web", "id", "-u"]), "0\n");
    assert!(user.ok(&["ps"]).contains("web"));
    user.ok(&["stop", "-t", "1", "web"]);
    user.ok(&["rm", "web"]);
    assert_eq!(user.ok(&["ps", "-aq"]), "");

    // A pod (its own loopback namespace by default) and a health check.
    user.ok(&["pod", "create", "--name", "pod1"]);
    user.ok(&[
        "run", "-d", "--pod", "pod1", "--name", "member", &image, "sleep", "300",
    ]);
    assert_eq!(
        user.ok(&["run", "--rm", "--pod", "pod1", &image, "hostname"]),
        "pod1\n"
    );
    user.ok(&["pod", "rm", "-f", "pod1"]);
    user.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "checked",
        "--health-cmd",
        "true",
        "--health-interval",
        "1s",
        &image,
        "sleep",
        "300",
    ]);
    wait_until("the health check passes", Duration::from_secs(20), || {
        user.ok(&["inspect", "--format", "{{.State.Health.Status}}", "checked"]) == "healthy\n"
    });
    user.ok(&["rm", "-f", "checked"]);
    assert_eq!(user.ok(&["ps", "-aq"]), "");

    // hoist unshare: a command inside the user's namespace, as its root.
    assert_eq!(user.ok(&["unshare", "--", "id", "-u"]), "0\n");

    // A named volume: what uid 1000 of the container writes belongs to the
    // user's subordinate id 1000 maps to (after 0 → the user, 1.. → range).
    user.ok(&[
        "run",
        "--network",
        "none",
        "--rm",
        "-v",
        "data:/data",
        &image,
        "sh",
        "-c",
        "echo x > /data/f && chown 1000:1000 /data/f",
    ]);
    let f = user.store().join("volumes/data/_data/f");
    let meta = std::fs::metadata(&f).unwrap();
    assert_eq!(meta.uid(), sub_start + 999, "{}", f.display());
    assert_ne!(meta.uid(), 0);

    // A root-only host file stays out of reach through a bind mount.
    let secret = user.dir().join("secret");
    std::fs::write(&secret, "root-only\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bind = format!("{}:/s", secret.display());
    let out = user.out(&[
        "run",
        "--network",
        "none",
        "--rm",
        "-v",
        &bind,
        &image,
        "cat",
        "/s",
    ]);
    assert!(
        !out.status.success(),
        "the container's root read root's file"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("root-only"));

    // Limits: refused with the reason, nothing created.
    let out = user.out(&[
        "run",
        "--network",
        "none",
        "--rm",
        "--memory",
        "10m",
        &image,
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--memory")
            && err.contains("cannot set resource limits")
            && err.contains("cgroup"),
        "{err}"
    );
    assert_eq!(user.ok(&["ps", "-aq"]), "");
    // A cpuset is a cgroup too: refused, not silently ignored.
    let out = user.out(&[
        "create",
        "--network",
        "none",
        "--cpuset-cpus",
        "0",
        &image,
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("--cpuset-cpus"), "{}", stderr(&out));
    assert_eq!(user.ok(&["ps", "-aq"]), "");

    // push as the user, then rmi.
    let mine = registry.image("mine:1");
    user.ok(&["tag", &image, &mine]);
    user.ok(&["push", "--tls-verify=false", "--progress", "quiet", &mine]);
    user.ok(&["rmi", &mine]);
    assert!(!user.ok(&["images"]).contains("e2e/mine"));

    // Nothing in the user's store or run dir belongs to real root.
    for dir in [user.store(), user.runtime.clone()] {
        let rooted = User::owned_by_root(&dir);
        assert!(rooted.is_empty(), "owned by real root: {rooted:?}");
    }
    user.finish();
}
