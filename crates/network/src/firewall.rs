//! The nftables rules of one network, in a table of its own
//! (`table ip hoist_<bridge>`), loaded with one `nft -f -` when the bridge is
//! made and deleted with it: masquerade for traffic leaving the subnet (not
//! for internal networks), and drops for traffic between this network and
//! another hoist network (and, for internal networks, anything in or out).
//! Its input chain guards the host itself: containers of another hoist
//! network do not reach this network's gateway (a host address), and an
//! internal network's containers reach nothing on the host but DNS on their
//! gateway — in IPv4 and, through a `table ip6` of the same name, IPv6 (the
//! bridge's link-local address). A table per network makes teardown one
//! atomic `delete table`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{NetworkError, Result};
use crate::record::Network;

/// Every hoist bridge's name starts with this (hoist0, hoist-<id>).
pub const BRIDGE_PREFIX: &str = "hoist";

pub fn table_name(net: &Network) -> String {
    format!("hoist_{}", net.bridge.replace('-', "_"))
}

/// The ruleset for `net` (replacing any older copy of its table).
pub fn ruleset(net: &Network) -> String {
    let t = table_name(net);
    let br = &net.bridge;
    let mut forward = vec![format!(
        "iifname \"{br}\" oifname \"{BRIDGE_PREFIX}*\" oifname != \"{br}\" drop"
    )];
    let mut postrouting = Vec::new();
    if net.internal {
        forward.push(format!("iifname \"{br}\" oifname != \"{br}\" drop"));
        forward.push(format!("oifname \"{br}\" iifname != \"{br}\" drop"));
    } else {
        postrouting.push(format!(
            "ip saddr {} oifname != \"{br}\" masquerade",
            net.subnet
        ));
    }
    let mut s = format!("add table ip {t}\ndelete table ip {t}\n");
    s += &format!("add table ip6 {t}\ndelete table ip6 {t}\ntable ip {t} {{\n");
    s += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
    for r in forward {
        s += &format!("    {r}\n");
    }
    s += "  }\n  chain input {\n    type filter hook input priority filter; policy accept;\n";
    for r in input_rules(net) {
        s += &format!("    {r}\n");
    }
    s += "  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
    for r in postrouting {
        s += &format!("    {r}\n");
    }
    s += "  }\n}\n";
    if net.internal || net.ipv6_subnet.is_some() {
        s += &ip6_table(net, &t);
    }
    s
}

/// The IPv6 side: for internal networks an input chain (the bridge's
/// link-local address is the host's too); for networks with `--ipv6` the
/// same forward rules as in IPv4 and masquerade of the ULA prefix (podman
/// does NAT66 for its ULA networks).
fn ip6_table(net: &Network, t: &str) -> String {
    let br = &net.bridge;
    let mut s = format!("table ip6 {t} {{\n");
    if let Some(prefix) = net.ipv6_subnet {
        s += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
        s += &format!(
            "    iifname \"{br}\" oifname \"{BRIDGE_PREFIX}*\" oifname != \"{br}\" drop\n"
        );
        if net.internal {
            s += &format!("    iifname \"{br}\" oifname != \"{br}\" drop\n");
            s += &format!("    oifname \"{br}\" iifname != \"{br}\" drop\n");
        }
        s += "  }\n";
        if !net.internal {
            s += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
            s += &format!("    ip6 saddr {prefix} oifname != \"{br}\" masquerade\n");
            s += "  }\n";
        }
    }
    let input = ip6_input_rules(net);
    if !input.is_empty() {
        s += "  chain input {\n    type filter hook input priority filter; policy accept;\n";
        for r in input {
            s += &format!("    {r}\n");
        }
        s += "  }\n";
    }
    s += "}\n";
    s
}

/// The IPv6 half of `input_rules`: the `--ipv6` gateway is guarded against
/// the other hoist bridges as the IPv4 one is; an internal network reaches
/// nothing on the host over IPv6 (its DNS responder answers on IPv4).
fn ip6_input_rules(net: &Network) -> Vec<String> {
    let br = &net.bridge;
    let mut input = Vec::new();
    if let Some(gw6) = net.ipv6_gateway() {
        input.push(format!(
            "iifname \"{BRIDGE_PREFIX}*\" iifname != \"{br}\" ip6 daddr {gw6} drop"
        ));
    }
    if net.internal {
        input.push(format!(
            "iifname \"{br}\" ct state established,related accept"
        ));
        input.push(format!("iifname \"{br}\" drop"));
    }
    input
}

/// What may reach the host (the namespace hoist runs in) from a bridge. The
/// gateway is a host address, so a packet to it is delivered, not forwarded:
/// the forward chain never sees it. Each network guards its own gateway
/// against the other hoist bridges (a container on A has a route to B's
/// gateway through A's). An internal network reaches only its DNS responder
/// (udp and tcp 53 on its gateway), as docker's internal networks reach only
/// the embedded resolver; replies to what the host opened still come back.
fn input_rules(net: &Network) -> Vec<String> {
    let br = &net.bridge;
    let gw = net.gateway;
    let mut input = vec![format!(
        "iifname \"{BRIDGE_PREFIX}*\" iifname != \"{br}\" ip daddr {gw} drop"
    )];
    if net.internal {
        input.push(format!(
            "iifname \"{br}\" ct state established,related accept"
        ));
        for proto in ["udp", "tcp"] {
            input.push(format!(
                "iifname \"{br}\" ip daddr {gw} {proto} dport 53 accept"
            ));
        }
        input.push(format!("iifname \"{br}\" drop"));
    }
    input
}

/// Loads the network's table.
pub fn apply(net: &Network) -> Result<()> {
    nft(&ruleset(net))
}

/// Deletes the network's table (gone already is fine).
pub fn remove(net: &Network) -> Result<()> {
    let t = table_name(net);
    nft(&format!(
        "add table ip {t}\ndelete table ip {t}\nadd table ip6 {t}\ndelete table ip6 {t}\n"
    ))
}

/// Whether the network's table is loaded (for `network inspect`).
pub fn present(net: &Network) -> bool {
    Command::new("nft")
        .args(["list", "table", "ip", &table_name(net)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn nft(script: &str) -> Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetworkError::Firewall(format!("running nft: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(script.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NetworkError::Firewall(format!("waiting for nft: {e}")))?;
    if !out.status.success() {
        return Err(NetworkError::Firewall(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

/// Turns on IPv4 (and with `ipv6` IPv6) forwarding in the namespace hoist
/// runs in (docker and podman do the same); a no-op when it is on.
pub fn enable_forwarding(ipv6: bool) -> Result<()> {
    let mut paths = vec!["/proc/sys/net/ipv4/ip_forward"];
    if ipv6 {
        paths.push("/proc/sys/net/ipv6/conf/all/forwarding");
    }
    for path in paths {
        if std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "1") {
            continue;
        }
        std::fs::write(path, "1")
            .map_err(|e| NetworkError::io(format!("writing 1 to {path}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_networks_have_no_masquerade_and_drop_everything_leaving() {
        let mut net: Network = serde_json::from_str(
            r#"{"name":"n","id":"x","driver":"bridge","subnet":"10.89.1.0/24","gateway":"10.89.1.1",
                "bridge":"hoist-abc","dns_enabled":true,"created":""}"#,
        )
        .unwrap();
        let open = ruleset(&net);
        assert!(open.contains("ip saddr 10.89.1.0/24 oifname != \"hoist-abc\" masquerade"));
        assert!(open.contains("table ip hoist_hoist_abc"));
        net.internal = true;
        let closed = ruleset(&net);
        assert!(!closed.contains("masquerade"));
        assert!(closed.contains("iifname \"hoist-abc\" oifname != \"hoist-abc\" drop"));
    }

    #[test]
    fn the_host_is_guarded_from_other_bridges_and_from_internal_networks() {
        let mut net: Network = serde_json::from_str(
            r#"{"name":"n","id":"x","driver":"bridge","subnet":"10.89.1.0/24","gateway":"10.89.1.1",
                "bridge":"hoist-abc","dns_enabled":true,"created":""}"#,
        )
        .unwrap();
        let guard = "iifname \"hoist*\" iifname != \"hoist-abc\" ip daddr 10.89.1.1 drop";
        let open = ruleset(&net);
        assert!(open.contains(guard), "{open}");
        // An open network's containers reach the host (docker allows it).
        assert!(!open.contains("iifname \"hoist-abc\" drop"), "{open}");
        assert!(!open.contains("table ip6 hoist_hoist_abc {"), "{open}");
        net.internal = true;
        let closed = ruleset(&net);
        assert!(closed.contains(guard), "{closed}");
        let input = closed.split("chain input").nth(1).unwrap();
        let dns = input
            .find("ip daddr 10.89.1.1 udp dport 53 accept")
            .unwrap();
        let tcp = input
            .find("ip daddr 10.89.1.1 tcp dport 53 accept")
            .unwrap();
        let drop = input.find("iifname \"hoist-abc\" drop").unwrap();
        assert!(
            dns < drop && tcp < drop,
            "DNS must be accepted before the drop: {input}"
        );
        // IPv6: the bridge's link-local address is the host's too.
        let v6 = closed.split("table ip6 hoist_hoist_abc {").nth(1).unwrap();
        assert!(v6.contains("iifname \"hoist-abc\" drop"), "{closed}");
        // With --ipv6, the IPv6 gateway is guarded as the IPv4 one is.
        net.internal = false;
        net.ipv6_subnet = Some("fd00:1:2:3::/64".parse().unwrap());
        let dual = ruleset(&net);
        let v6 = dual.split("table ip6 hoist_hoist_abc {").nth(1).unwrap();
        let guard6 = "iifname \"hoist*\" iifname != \"hoist-abc\" ip6 daddr fd00:1:2:3::1 drop";
        assert!(v6.contains(guard6), "{dual}");
        assert!(!v6.contains("iifname \"hoist-abc\" drop"), "{dual}");
    }
}
