//! A test's network world: a namespace of its own in which hoist runs (its
//! bridges, rules and DNS responders live and die there), a temp store root
//! with the busybox image, and helpers to run hoist and read what it made.

use crate::common::{hoist_bin, import_busybox, DEFAULT_NETWORK_ENV};
use hoist_testkit::{wait_until, ChildGuard, Netns, TempRoot};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

pub struct NetEnv {
    pub ns: Netns,
    pub root: TempRoot,
}

/// An IPv4 address (or CIDR) built from its parts: the tidy test allows no
/// non-loopback literals in tests, and these live only inside test namespaces.
pub fn ip4(a: u8, b: u8, c: u8, d: u8) -> String {
    format!("{a}.{b}.{c}.{d}")
}

/// A listener in the "outside" namespace that writes each client's address
/// to `log` (one per line, after a "listening" line) and answers "hi".
pub fn outside_listener(outside: &Netns, port: u16, log: &Path) -> ChildGuard {
    let script = format!(
        "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('',{port}))\ns.listen(8)\nlog=open({log:?},'a')\nprint('listening',file=log,flush=True)\n\
         while True:\n  c,a=s.accept()\n  print(a[0],file=log,flush=True)\n  c.sendall(b'hi')\n  c.close()\n"
    );
    let guard = ChildGuard::spawn(outside.command("python3").args(["-c", &script]))
        .expect("start python3 in the outside namespace");
    wait_until("the outside listener", Duration::from_secs(10), || {
        std::fs::read_to_string(log).is_ok_and(|t| t.starts_with("listening"))
    });
    guard
}

pub fn clients(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().skip(1).map(String::from).collect()
}

impl NetEnv {
    /// None (the test skips) without root or busybox.
    pub fn new(tag: &str) -> Option<NetEnv> {
        if !hoist_testkit::is_root() {
            hoist_testkit::skip_or_fail(tag, "needs root");
            return None;
        }
        if !hoist_testkit::have_program("nft") {
            hoist_testkit::skip_or_fail(tag, "nft is missing (install nftables)");
            return None;
        }
        let env = NetEnv {
            ns: Netns::new(tag),
            root: TempRoot::new(),
        };
        if !import_busybox(env.root.path(), "busybox:latest") {
            return None;
        }
        Some(env)
    }

    /// `hoist --root ROOT ...` inside the namespace, with `run`'s real default
    /// network (the e2e harness's `private` default removed).
    pub fn hoist(&self) -> Command {
        let mut c = self.ns.command(hoist_bin());
        c.arg("--root").arg(self.root.path());
        c.env_remove("HOIST_ROOT").env_remove(DEFAULT_NETWORK_ENV);
        c
    }

    pub fn out(&self, args: &[&str]) -> Output {
        self.hoist().args(args).output().expect("run hoist")
    }

    /// Runs hoist, panics unless it succeeds, returns stdout trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.out(args);
        assert!(
            out.status.success(),
            "hoist {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs hoist expecting failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.out(args);
        assert!(
            !out.status.success(),
            "hoist {args:?} should have failed:\nstdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `hoist exec NAME sh -c SCRIPT`: (success, output).
    pub fn exec(&self, name: &str, script: &str) -> (bool, String) {
        let out = self.out(&["exec", name, "sh", "-c", script]);
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// A detached `sleep` container with extra `run` flags.
    pub fn sleeper(&self, name: &str, flags: &[&str]) -> String {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "sleep", "300"]);
        self.ok(&args)
    }

    /// The container's address on `network` (inspect's NetworkSettings).
    pub fn ip_of(&self, name: &str, network: &str) -> String {
        let v = self.inspect(name);
        v["NetworkSettings"]["Networks"][network]["IPAddress"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn inspect(&self, name: &str) -> serde_json::Value {
        let text = self.ok(&["inspect", name]);
        let v: serde_json::Value = serde_json::from_str(&text).expect("inspect JSON");
        v[0].clone()
    }

    /// `ip -n NS ARGS` output.
    pub fn ip(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .arg("-n")
            .arg(self.ns.name())
            .args(args)
            .output()
            .expect("run ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The namespace's nftables ruleset.
    pub fn nft_ruleset(&self) -> String {
        let out = self
            .ns
            .command("nft")
            .args(["list", "ruleset"])
            .output()
            .expect("run nft");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The lease files of `network`.
    pub fn leases(&self, network: &str) -> Vec<String> {
        let dir = self.root.join("networks").join(network).join("leases");
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Drop for NetEnv {
    /// Containers (and their monitors) and networks (and their DNS
    /// responders) go before the namespace does.
    fn drop(&mut self) {
        let ids = self.out(&["ps", "-aq"]);
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        if !ids.is_empty() {
            let mut args = vec!["rm".to_string(), "-f".into()];
            args.extend(ids);
            let _ = self.hoist().args(&args).output();
        }
        let _ = self.out(&["network", "prune", "-f"]);
    }
}
