//! Living beside dockerd: docker sets the iptables FORWARD policy to DROP,
//! and a packet dropped by any base chain is dropped, whatever hoist's own
//! nftables table says. So when a FORWARD chain of iptables (the nf_tables
//! backend, or the legacy one when its filter table is loaded) drops by
//! policy, hoist inserts accept rules for its bridge there, as netavark
//! does, tagged with a comment so they can be found and removed with the
//! bridge. Checked only when a bridge is made (one or two execs).

use std::process::{Command, Stdio};

/// The iptables front-ends to look at: the nf_tables one always, the legacy
/// one only when its filter table exists in this namespace (listing it
/// would create it).
fn tools() -> Vec<&'static str> {
    let mut t = vec!["iptables"];
    let legacy = std::fs::read_to_string("/proc/net/ip_tables_names")
        .is_ok_and(|names| names.lines().any(|l| l.trim() == "filter"));
    if legacy {
        t.push("iptables-legacy");
    }
    t
}

fn comment(bridge: &str) -> String {
    format!("hoist:{bridge}")
}

/// The two rules: out of the bridge, and replies back into it.
fn rules(bridge: &str) -> [Vec<String>; 2] {
    let c = comment(bridge);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    [
        s(&[
            "-i",
            bridge,
            "-m",
            "comment",
            "--comment",
            &c,
            "-j",
            "ACCEPT",
        ]),
        s(&[
            "-o",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            "-m",
            "comment",
            "--comment",
            &c,
            "-j",
            "ACCEPT",
        ]),
    ]
}

fn forward_drops(tool: &str) -> bool {
    Command::new(tool)
        .args(["-w", "-S", "FORWARD"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("-P FORWARD DROP")
        })
}

fn run(tool: &str, op: &str, rule: &[String]) -> bool {
    Command::new(tool)
        .args(["-w", op, "FORWARD"])
        .args(rule)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Adds the accept rules where a FORWARD policy drops. Best effort: a
/// machine without iptables has no such policy.
pub fn allow_bridge(bridge: &str) {
    for tool in tools() {
        if !forward_drops(tool) {
            continue;
        }
        for rule in rules(bridge) {
            if !run(tool, "-C", &rule) && !run(tool, "-I", &rule) {
                tracing::warn!("{tool}: could not add an accept rule for {bridge}");
            }
        }
    }
}

/// Removes them (each as often as it is there).
pub fn forget_bridge(bridge: &str) {
    for tool in tools() {
        for rule in rules(bridge) {
            while run(tool, "-C", &rule) {
                if !run(tool, "-D", &rule) {
                    break;
                }
            }
        }
    }
}
