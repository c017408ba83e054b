//! Network namespaces a test makes itself, so that bridges, veths, NAT rules and DNS
//! responders a test creates never touch the host's network. Each namespace has a unique
//! name, is removed (with everything in it) when its guard drops, and commands run inside it
//! through `nsenter --net`. Not `ip netns exec`: that also mounts a fresh sysfs over /sys in a
//! new mount namespace, which hides the cgroup v1 hierarchies mounted under /sys/fs/cgroup
//! (hoist, crun and dockerd then find no cgroups). When the test provides
//! `/etc/netns/NAME/resolv.conf` (an upstream resolver of the test's making), the command runs
//! in a private mount namespace with that file bind-mounted over `/etc/resolv.conf`, as
//! `ip netns exec` would do.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A named network namespace (`ip netns add`), deleted on drop.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Makes `hoist-<tag>-<pid>-<n>` with `lo` up. Panics when `ip` fails (tests need root).
    pub fn new(tag: &str) -> Netns {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("hoist-{tag}-{}-{n}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside this namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.name)).arg("--");
        let resolv = PathBuf::from("/etc/netns")
            .join(&self.name)
            .join("resolv.conf");
        if resolv.exists() {
            // $0 is the file to mount, "$@" the command: no quoting of paths needed.
            c.args(["unshare", "--mount", "--propagation", "private", "--"]);
            c.args([
                "sh",
                "-c",
                "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"",
            ]);
            c.arg(resolv);
        }
        c.arg(program);
        c
    }

    /// Runs `ip ARGS...` inside this namespace and panics on failure.
    pub fn ip(&self, args: &[&str]) {
        run(Command::new("ip").arg("-n").arg(&self.name).args(args));
    }

    /// Runs `sh -c script` inside this namespace; returns (success, stdout+stderr).
    pub fn sh(&self, script: &str) -> (bool, String) {
        let out = self
            .command("sh")
            .args(["-c", script])
            .output()
            .expect("run sh in netns");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// Joins this namespace to `other` by a veth pair: `self_addr` (CIDR) on this side's
    /// `ifname`, `other_addr` (CIDR) on the other side's `ifname`, both up.
    pub fn link_to(&self, other: &Netns, ifname: &str, self_addr: &str, other_addr: &str) {
        let peer = format!("{ifname}p");
        self.ip(&[
            "link",
            "add",
            ifname,
            "type",
            "veth",
            "peer",
            "name",
            &peer,
            "netns",
            &other.name,
        ]);
        other.ip(&["link", "set", &peer, "name", ifname]);
        self.ip(&["addr", "add", self_addr, "dev", ifname]);
        other.ip(&["addr", "add", other_addr, "dev", ifname]);
        self.ip(&["link", "set", ifname, "up"]);
        other.ip(&["link", "set", ifname, "up"]);
    }

    /// `/etc/netns/NAME/`: a `resolv.conf` here replaces `/etc/resolv.conf` inside commands
    /// made by `command` after it was written. Created on first use, removed on drop.
    pub fn etc_dir(&self) -> PathBuf {
        let dir = PathBuf::from("/etc/netns").join(&self.name);
        std::fs::create_dir_all(&dir).expect("create /etc/netns/NAME");
        dir
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(&self.name));
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn ip");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
