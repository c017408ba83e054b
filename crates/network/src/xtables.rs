//! Living beside dockerd: docker sets the iptables FORWARD policy to DROP,
//! and a packet dropped by any base chain is dropped, whatever hoist's own
//! nftables table says. So hoist inserts accept rules for its bridge in the
//! FORWARD chain of iptables (the nf_tables backend, and the legacy one when
//! its filter table is loaded), as netavark does, tagged with a comment so
//! they can be found and removed with the bridge. They are inserted whatever
//! the policy is when the bridge is made: a dockerd started later that finds
//! forwarding off (after a sysctl reset, say) sets DROP then, and running
//! containers must keep their way out. Only when a bridge is made (a few
//! execs), never per container.

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

/// Whether `tool` is on the PATH (a machine without iptables has no policy
/// of its own to work around, and deserves no warning).
fn installed(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
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

/// Adds the accept rules (once each). Best effort: a machine without
/// iptables has no FORWARD policy to work around.
pub fn allow_bridge(bridge: &str) {
    for tool in tools() {
        if !installed(tool) {
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
