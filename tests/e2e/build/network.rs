//! RUN steps on the default network (issue 15): `RUN --network=default` and
//! `hoist build --network default` reach an "outside" namespace through the
//! bridge's NAT, `none` (the default) does not, the step sees BuildKit's
//! generated /etc files, and nothing of the step's network is left after
//! the build, failed or killed. Every build runs inside a network namespace
//! the test made, whose resolv.conf names only an address inside the test.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use hoist_testkit::{wait_until, ChildGuard, Netns, TempRoot};

use super::*;
use crate::common::{hoist_bin, import_busybox, DEFAULT_NETWORK_ENV};

/// An IPv4 address from its parts (the tidy test allows no non-loopback
/// literals in tests; these live only inside the test's namespaces).
fn ip4(a: u8, b: u8, c: u8, d: u8) -> String {
    format!("{a}.{b}.{c}.{d}")
}

/// hoist's namespace, joined to an "outside" one by a veth (a connected
/// /24 is the route there), a store with busybox, and a listener outside.
struct World {
    ns: Netns,
    outside: Netns,
    root: TempRoot,
    /// The outside's address, and the test namespace's own on that link.
    far: String,
    near: String,
    port: u16,
    log: tempfile::TempDir,
    _listener: ChildGuard,
}

/// What the outside listener answers: a step that fetched it put it in the image.
const TOKEN: &str = "fetched-from-outside";

impl World {
    fn new(tag: &str) -> Option<World> {
        if !hoist_testkit::is_root() {
            hoist_testkit::skip_or_fail(tag, "needs root");
            return None;
        }
        for program in ["nft", "python3"] {
            if !hoist_testkit::have_program(program) {
                hoist_testkit::skip_or_fail(tag, &format!("{program} is missing"));
                return None;
            }
        }
        let root = TempRoot::new();
        if !import_busybox(root.path(), "busybox:latest") {
            return None;
        }
        let ns = Netns::new(tag);
        let outside = Netns::new("bout");
        let (near, far) = (ip4(10, 251, 9, 1), ip4(10, 251, 9, 2));
        ns.link_to(&outside, "up0", &format!("{near}/24"), &format!("{far}/24"));
        // The step's resolvers come from here: a loopback stub (left out for
        // the bridge) and the outside's address, never the host's.
        std::fs::write(
            ns.etc_dir().join("resolv.conf"),
            format!("search build.test\nnameserver 127.0.0.53\nnameserver {far}\n"),
        )
        .unwrap();
        let log = tempfile::tempdir().unwrap();
        let port = 8181;
        let listener = listener(&outside, port, &log.path().join("clients"));
        Some(World {
            ns,
            outside,
            root,
            far,
            near,
            port,
            log,
            _listener: listener,
        })
    }

    /// `hoist build --progress plain ARGS CTX` inside the namespace.
    fn build(&self, args: &[&str], ctx: &Path) -> Output {
        self.hoist()
            .args(["build", "--progress", "plain"])
            .args(args)
            .arg(ctx)
            .output()
            .expect("run hoist build")
    }

    fn hoist(&self) -> Command {
        let mut c = self.ns.command(hoist_bin());
        c.arg("--root").arg(self.root.path());
        c.env_remove("HOIST_ROOT")
            .env(DEFAULT_NETWORK_ENV, "private");
        c
    }

    fn hoist_ok(&self, args: &[&str]) -> String {
        let out = self.hoist().args(args).output().expect("run hoist");
        assert!(
            out.status.success(),
            "hoist {args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// A file of a built image, read by a container of it.
    fn cat(&self, image: &str, path: &str) -> String {
        self.hoist_ok(&["run", "--rm", "--network", "none", image, "cat", path])
    }

    /// The outside's clients so far (their source addresses).
    fn clients(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.log.path().join("clients")).unwrap_or_default();
        text.lines().skip(1).map(String::from).collect()
    }

    /// A shell command that fetches the listener's answer into FILE.
    fn fetch(&self, file: &str) -> String {
        format!("nc -w 3 {} {} </dev/null >{file}", self.far, self.port)
    }

    fn leases(&self) -> Vec<String> {
        let dir = self.root.join("networks/bridge/leases");
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn bridge(&self) -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_str(&self.hoist_ok(&["network", "inspect", "bridge"])).unwrap();
        v[0].clone()
    }

    /// Nothing of the build's steps is left on the default network: no
    /// lease, no container in inspect, no port on the bridge (veths go with
    /// their namespace, which the kernel tears down in the background).
    fn assert_nothing_left(&self) {
        assert_eq!(self.leases(), Vec::<String>::new(), "leases left");
        let net = self.bridge();
        assert_eq!(net["Containers"], serde_json::json!({}), "{net}");
        let bridge = net["Hoist"]["Bridge"].as_str().unwrap().to_string();
        wait_until("the steps' veths to go", Duration::from_secs(10), || {
            let out = Command::new("ip")
                .args([
                    "-n",
                    self.ns.name(),
                    "-o",
                    "link",
                    "show",
                    "master",
                    &bridge,
                ])
                .output()
                .unwrap();
            text(&out.stdout).trim().is_empty()
        });
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // The bridge and its rules live in the namespace; prune removes them
        // before the namespace goes.
        let _ = self.hoist().args(["network", "prune", "-f"]).output();
        let _ = &self.outside;
    }
}

/// A TCP listener in `ns` that logs each client's address to `log` (after a
/// "listening" line) and answers TOKEN.
fn listener(ns: &Netns, port: u16, log: &Path) -> ChildGuard {
    let script = format!(
        "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('',{port}))\ns.listen(8)\nlog=open({log:?},'a')\nprint('listening',file=log,flush=True)\n\
         while True:\n  c,a=s.accept()\n  print(a[0],file=log,flush=True)\n  c.sendall(b'{TOKEN}')\n  c.close()\n"
    );
    let guard = ChildGuard::spawn(ns.command("python3").args(["-c", &script]))
        .expect("start python3 in the outside namespace");
    wait_until("the outside listener", Duration::from_secs(10), || {
        std::fs::read_to_string(log).is_ok_and(|t| t.starts_with("listening"))
    });
    guard
}

#[test]
fn run_network_default_reaches_the_outside_and_none_does_not() {
    let Some(w) = World::new("bnet") else { return };
    let step = format!(
        "{} && cat /etc/resolv.conf >/resolv.seen && cat /etc/hosts >/hosts.seen \
         && ip -4 -o addr show eth0 >/addr.seen",
        w.fetch("/fetched")
    );
    let ctx = context(&[(
        "Dockerfile",
        &format!("FROM busybox:latest\nRUN --network=default {step}\n"),
    )]);
    let (digest, log) = build_ok_in(&w, &["-t", "online:1"], ctx.path());
    assert!(!log.contains("CACHED"), "{log}");
    assert_eq!(w.cat("online:1", "/fetched"), TOKEN);
    // Through the bridge's NAT: the outside saw the test namespace's address.
    assert_eq!(w.clients(), vec![w.near.clone()]);
    // The step had an address of its own in the bridge's subnet...
    let net = w.bridge();
    let subnet = net["IPAM"]["Config"][0]["Subnet"].as_str().unwrap();
    let prefix = subnet.split('.').take(2).collect::<Vec<_>>().join(".");
    let addr = w.cat("online:1", "/addr.seen");
    assert!(
        addr.contains(&format!("inet {prefix}.")),
        "{addr} not in {subnet}"
    );
    // ...and BuildKit's /etc files: the resolvers of the namespace it ran in
    // without the loopback one, localhost with the step's host name.
    assert_eq!(
        w.cat("online:1", "/resolv.seen"),
        format!("search build.test\nnameserver {}\n", w.far)
    );
    let hosts = w.cat("online:1", "/hosts.seen");
    assert!(hosts.starts_with("127.0.0.1\tlocalhost "), "{hosts}");
    // The mount points were not packed: the layer holds the step's files only.
    let layers = layer_digests(w.root.path(), &digest);
    let mut files = layer_files(w.root.path(), layers.last().unwrap());
    files.sort();
    assert_eq!(
        files,
        ["addr.seen", "fetched", "hosts.seen", "resolv.seen"],
        "{files:?}"
    );
    w.assert_nothing_left();

    // The same step without the flag runs offline (and is not the cached
    // online one: the network mode is part of the step's cache key).
    let offline = context(&[("Dockerfile", &format!("FROM busybox:latest\nRUN {step}\n"))]);
    let out = w.build(&["-t", "offline:1"], offline.path());
    let err = text(&out.stderr);
    assert!(!out.status.success(), "offline build succeeded: {err}");
    assert!(
        err.contains("Dockerfile:2:1: RUN failed with exit code 1"),
        "{err}"
    );
    assert!(err.contains("nc: "), "the step's own error: {err}");
    assert_eq!(w.clients().len(), 1, "the offline step reached the outside");
    assert!(names(w.root.path()).iter().all(|n| !n.contains("offline")));

    // An unchanged rebuild of the online step is a cache hit.
    let (again, log) = build_ok_in(&w, &[], ctx.path());
    assert_eq!(again, digest);
    assert!(log.contains("CACHED"), "{log}");
    assert_eq!(w.clients().len(), 1);
}

#[test]
fn build_network_default_applies_to_every_run_and_none_still_overrides() {
    let Some(w) = World::new("bnetall") else {
        return;
    };
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM busybox:latest\nRUN {}\nRUN {}\n\
             RUN --network=none if nc -w 2 {} {} </dev/null; then exit 9; fi; echo offline >/three\n",
            w.fetch("/one"),
            w.fetch("/two"),
            w.far,
            w.port
        ),
    )]);
    build_ok_in(&w, &["--network", "default", "-t", "every:1"], ctx.path());
    assert_eq!(w.cat("every:1", "/one"), TOKEN);
    assert_eq!(w.cat("every:1", "/two"), TOKEN);
    assert_eq!(w.cat("every:1", "/three"), "offline\n");
    assert_eq!(w.clients().len(), 2);
    w.assert_nothing_left();

    // A step that fails on the network gives its address back too.
    let failing = context(&[(
        "Dockerfile",
        &format!("FROM busybox:latest\nRUN {} && exit 4\n", w.fetch("/x")),
    )]);
    let out = w.build(&["--network", "default"], failing.path());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("RUN failed with exit code 4"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(w.clients().len(), 3);
    w.assert_nothing_left();
}

#[test]
fn a_killed_build_leaves_a_reclaimable_lease_and_no_step_running() {
    let Some(w) = World::new("bnetkill") else {
        return;
    };
    // The step sleeps; its argv is unique on the machine.
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox:latest\nRUN --network=default sleep 2718\n",
    )]);
    let mut build = ChildGuard::spawn(
        w.hoist()
            .args(["build", "--progress", "plain"])
            .arg(ctx.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )
    .unwrap();
    wait_until("the step's lease", Duration::from_secs(30), || {
        !w.leases().is_empty()
    });
    let lease: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.root.join("networks/bridge/leases").join(&w.leases()[0])).unwrap(),
    )
    .unwrap();
    // The lease follows the build, not the step.
    assert_eq!(lease["owner_pid"], build.id());
    let id = lease["container_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("oneshot-"), "{lease}");
    let _cgroups = StepCgroups(id);
    let step = wait_until_step();
    build.kill();
    // The step dies with the build (it would otherwise hold an address
    // whose lease is free to be handed out again).
    wait_until(
        "the step to die with the build",
        Duration::from_secs(10),
        || !Path::new(&format!("/proc/{step}")).exists() || is_zombie(step),
    );
    // The lease is stale: the next sweep (network prune) takes it back.
    assert_eq!(w.leases().len(), 1);
    w.hoist_ok(&["network", "prune", "-f"]);
    assert_eq!(w.leases(), Vec::<String>::new());
}

/// A killed build cannot remove its step's cgroups (empty once the step
/// died): the test removes them.
struct StepCgroups(String);

impl Drop for StepCgroups {
    fn drop(&mut self) {
        let base = Path::new("/sys/fs/cgroup");
        let mut dirs = vec![base.join("hoist").join(&self.0)];
        if let Ok(controllers) = std::fs::read_dir(base) {
            for c in controllers.flatten() {
                dirs.push(c.path().join("hoist").join(&self.0));
            }
        }
        for d in dirs.iter().filter(|d| d.is_dir()) {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Waits for the step's process (`sh -c "sleep 2718"`, or the `sleep` the
/// shell became) and returns its PID.
fn wait_until_step() -> i32 {
    hoist_testkit::wait_until_ok("the step to run", Duration::from_secs(30), || {
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            (cmd == "sleep 2718 " || cmd == "/bin/sh -c sleep 2718 ").then_some(pid)
        })
    })
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

#[test]
fn unknown_network_modes_are_refused_at_the_line() {
    let root = TempRoot::new();
    let ctx = context(&[(
        "Dockerfile",
        "FROM scratch\nCOPY Dockerfile /\nRUN --network=foo true\n",
    )]);
    let out = build(root.path(), &["-t", "bad"], ctx.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "Dockerfile:3:15: invalid network mode \"foo\" for RUN --network (use default, none or host)"
        ),
        "{err}"
    );
    assert!(err.contains("  RUN --network=foo true\n"), "{err}");
    assert!(names(root.path()).is_empty());
    let out = build(root.path(), &["--network", "bridge"], ctx.path());
    assert!(!out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("[possible values: none, default, host]"),
        "{}",
        text(&out.stderr)
    );
}

/// `build_ok` inside the world's namespace: (digest, stderr).
fn build_ok_in(w: &World, args: &[&str], ctx: &Path) -> (String, String) {
    let out = w.build(args, ctx);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "build failed:\n{stderr}\n{stdout}");
    let digest = stdout.lines().last().unwrap_or("").to_string();
    assert!(digest.starts_with("sha256:"), "{stdout:?}");
    (digest, stderr)
}
