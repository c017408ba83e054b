//! The test-owned dockerd comes up inside its own namespace, rewrites only that namespace's
//! firewall (FORWARD policy DROP, as on a machine where docker runs), and goes away on drop.

use hoist_testkit::{require_program, require_root, Dockerd, Netns};
use std::process::Command;

fn forward_policy(netns: &Netns) -> String {
    let (ok, out) = netns.sh("iptables -S FORWARD | head -1");
    assert!(ok, "iptables -S FORWARD: {out}");
    out.trim().to_string()
}

#[test]
fn dockerd_runs_in_its_own_namespace_and_stops_on_drop() {
    require_root!();
    require_program!("dockerd");
    require_program!("iptables");
    let host_policy = Command::new("iptables")
        .args(["-S", "FORWARD"])
        .output()
        .unwrap();
    let netns = Netns::new("dockerd");
    // A new namespace inherits the host's IPv4 settings; dockerd turns forwarding on and
    // sets FORWARD to DROP only when it finds forwarding off, as on a fresh machine.
    let (ok, out) = netns.sh("sysctl -qw net.ipv4.ip_forward=0");
    assert!(ok, "{out}");
    let pid;
    let dir;
    {
        let dockerd = Dockerd::start(&netns);
        let out = dockerd.docker().args(["network", "ls"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("bridge"));
        assert_eq!(forward_policy(&netns), "-P FORWARD DROP");
        pid = std::fs::read_to_string(dockerd.dir().join("docker.pid")).unwrap();
        dir = dockerd.dir().to_path_buf();
    }
    // Nothing of it stays mounted (dockerd leaves its netns/default bind), and
    // so its temp dir could go.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(dir.to_str().unwrap()),
        "mounts left under {}:\n{mounts}",
        dir.display()
    );
    assert!(!dir.exists(), "{} was not removed", dir.display());
    assert!(
        !std::path::Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "dockerd {pid} still runs after drop"
    );
    let after = Command::new("iptables")
        .args(["-S", "FORWARD"])
        .output()
        .unwrap();
    assert_eq!(
        host_policy.stdout, after.stdout,
        "the host's FORWARD chain changed"
    );
}
