//! `network create --ipv6`: each container also gets an address in the
//! network's unique local /64, reachable and resolvable (AAAA) from the
//! others; a given IPv6 subnet is used, an overlapping one refused.

use super::env::NetEnv;

#[test]
fn an_ipv6_network_gives_each_container_a_ula_address() {
    let Some(env) = NetEnv::new("ipv6") else {
        return;
    };
    env.ok(&["network", "create", "--ipv6", "six"]);
    env.sleeper("a", &["--network", "six"]);
    env.sleeper("b", &["--network", "six"]);
    let v6 = |name: &str| {
        env.inspect(name)["NetworkSettings"]["Networks"]["six"]["GlobalIPv6Address"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (a, b) = (v6("a"), v6("b"));
    assert!(
        a.starts_with("fd") && b.starts_with("fd") && a != b,
        "{a} {b}"
    );
    let (ok, out) = env.exec("a", &format!("ip -6 addr show eth0; ping -c1 -W2 {b}"));
    assert!(ok && out.contains(&format!("inet6 {a}/64")), "{out}");
    let (ok, out) = env.exec("a", "nslookup -type=AAAA b");
    assert!(ok && out.contains(&b), "{out}");
    let net: serde_json::Value =
        serde_json::from_str(&env.ok(&["network", "inspect", "six"])).unwrap();
    assert_eq!(net[0]["EnableIPv6"], true);
    let prefix = net[0]["IPAM"]["Config"][1]["Subnet"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prefix.ends_with("::/64"), "{prefix}");
    // The same prefix again overlaps; without --ipv6 an IPv6 subnet is refused.
    let err = env.fails(&["network", "create", "--ipv6", "--subnet", &prefix, "again"]);
    assert!(err.contains("overlaps"), "{err}");
    let err = env.fails(&["network", "create", "--subnet", &prefix, "again"]);
    assert!(err.contains("--ipv6"), "{err}");
}
