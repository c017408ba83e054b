//! Who reaches whom: containers on the default network by address, on a user
//! network by name and alias, never across two user networks; the outside
//! world through NAT, but not from an internal network.

use super::env::{clients, ip4, outside_listener, NetEnv};
use hoist_testkit::{wait_until, Netns};
use std::time::Duration;

#[test]
fn default_network_containers_reach_each_other_by_address() {
    let Some(env) = NetEnv::new("reach") else {
        return;
    };
    env.sleeper("a", &[]);
    env.sleeper("b", &[]);
    let a = env.ip_of("a", "bridge");
    let b = env.ip_of("b", "bridge");
    assert!(!a.is_empty() && !b.is_empty() && a != b, "{a} {b}");
    let (ok, out) = env.exec("b", &format!("ping -c1 -W2 {a}"));
    assert!(ok, "b cannot reach a at {a}: {out}");
    // inspect: docker's fields, consistent with the network's record.
    let v = env.inspect("a");
    let settings = &v["NetworkSettings"];
    let on = &settings["Networks"]["bridge"];
    assert_eq!(settings["IPAddress"], a.as_str());
    assert_eq!(v["HostConfig"]["NetworkMode"], "bridge");
    let net: serde_json::Value =
        serde_json::from_str(&env.ok(&["network", "inspect", "bridge"])).unwrap();
    assert_eq!(on["NetworkID"], net[0]["Id"]);
    assert_eq!(on["Gateway"], net[0]["IPAM"]["Config"][0]["Gateway"]);
    assert!(on["IPPrefixLen"].as_u64().unwrap() >= 8);
    assert!(on["MacAddress"].as_str().unwrap().starts_with("02:42:"));
    // The bridge has the MAC it was given (the gateway's, by the containers' scheme), not the
    // lowest of its ports' that the kernel would pick and change as ports come and go,
    // leaving every container's ARP entry for the gateway stale (DNS timed out).
    let gw: std::net::Ipv4Addr = on["Gateway"].as_str().unwrap().parse().unwrap();
    let o = gw.octets();
    let mac = format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3]);
    let bridges = env.ip(&["-o", "link", "show", "type", "bridge"]);
    assert!(bridges.contains(&format!("link/ether {mac} ")), "{bridges}");
    // The container's own view: eth0 has the address, /etc/hosts names it.
    let (_, addr) = env.exec("a", "ip -4 addr show eth0; cat /etc/hosts");
    assert!(addr.contains(&format!("inet {a}/")), "{addr}");
    assert!(addr.contains(&format!("{a}\t")), "{addr}");
}

#[test]
fn user_network_names_and_aliases_resolve_and_follow_containers() {
    let Some(env) = NetEnv::new("names") else {
        return;
    };
    env.ok(&["network", "create", "app"]);
    let web = env.sleeper("web", &["--network", "app", "--network-alias", "www"]);
    env.sleeper("api", &["--network", "app"]);
    let web_ip = env.ip_of("web", "app");
    // A later container resolves an earlier one by name, alias and short ID...
    for name in ["web", "www", &web[..12]] {
        let (ok, out) = env.exec("api", &format!("nslookup {name}"));
        assert!(ok && out.contains(&web_ip), "{name} -> {out}");
    }
    let (ok, out) = env.exec("api", "ping -c1 -W2 www");
    assert!(ok, "{out}");
    // ...and the earlier one the later one.
    let (ok, out) = env.exec("web", "ping -c1 -W2 api");
    assert!(ok, "{out}");
    // A removed container stops resolving.
    env.ok(&["rm", "-f", "web"]);
    wait_until("web to stop resolving", Duration::from_secs(5), || {
        !env.exec("api", "nslookup web").0
    });
}

#[test]
fn two_user_networks_cannot_reach_each_other() {
    let Some(env) = NetEnv::new("isolate") else {
        return;
    };
    env.ok(&["network", "create", "front"]);
    env.ok(&["network", "create", "back"]);
    env.sleeper("f", &["--network", "front"]);
    env.sleeper("b", &["--network", "back"]);
    env.sleeper("both", &["--network", "front", "--network", "back"]);
    let b_ip = env.ip_of("b", "back");
    let f_ip = env.ip_of("f", "front");
    let (ok, out) = env.exec("f", &format!("ping -c1 -W1 {b_ip}"));
    assert!(!ok, "front reached back: {out}");
    // A container on both networks reaches both (and resolves names on both: multi_dns.rs).
    for target in [b_ip.as_str(), f_ip.as_str(), "f"] {
        let (ok, out) = env.exec("both", &format!("ping -c1 -W2 {target}"));
        assert!(ok, "both -> {target}: {out}");
    }
    let (_, links) = env.exec("both", "ip -o link");
    assert!(links.contains("eth0") && links.contains("eth1"), "{links}");
}

#[test]
fn default_network_goes_out_through_nat_and_internal_cannot() {
    let Some(env) = NetEnv::new("nat") else {
        return;
    };
    let outside = Netns::new("outside");
    let hoist_side = ip4(10, 250, 7, 1);
    let far = ip4(10, 250, 7, 2);
    env.ns.link_to(
        &outside,
        "up0",
        &format!("{hoist_side}/24"),
        &format!("{far}/24"),
    );
    let tmp = hoist_testkit::TempRoot::new();
    let log = tmp.join("clients");
    let _listener = outside_listener(&outside, 8080, &log);
    env.sleeper("out", &[]);
    let fetch = format!("nc -w 3 {far} 8080 </dev/null");
    let (ok, text) = env.exec("out", &fetch);
    assert!(ok && text.contains("hi"), "{text}");
    assert_eq!(
        clients(&log),
        [hoist_side],
        "the outside must see NAT's address"
    );
    // An internal network: no route out, and the firewall drops it anyway.
    env.ok(&["network", "create", "--internal", "sealed"]);
    env.sleeper("in1", &["--network", "sealed"]);
    env.sleeper("in2", &["--network", "sealed"]);
    let (ok, text) = env.exec("in1", &fetch);
    assert!(
        !ok && !text.contains("hi"),
        "internal reached outside: {text}"
    );
    assert_eq!(
        clients(&log).len(),
        1,
        "a client from the internal network arrived"
    );
    let (ok, text) = env.exec("in1", "ping -c1 -W2 in2");
    assert!(ok, "internal containers reach each other: {text}");
    let rules = env.nft_ruleset();
    let sealed: serde_json::Value =
        serde_json::from_str(&env.ok(&["network", "inspect", "sealed"])).unwrap();
    let table = sealed[0]["Hoist"]["NftablesTable"].as_str().unwrap();
    let section = rules
        .split("table ip ")
        .find(|t| t.starts_with(table))
        .unwrap();
    assert!(!section.contains("masquerade"), "{section}");
}

#[test]
fn a_container_joins_another_containers_network() {
    let Some(env) = NetEnv::new("join") else {
        return;
    };
    env.ok(&[
        "run",
        "-d",
        "--name",
        "base",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www && echo joined > /www/index.html && exec httpd -f -p 8080 -h /www",
    ]);
    let ip = env.ip_of("base", "bridge");
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "container:base",
        "busybox",
        "sh",
        "-c",
        "ip -4 -o addr show eth0; wget -q -O - http://127.0.0.1:8080/index.html",
    ]);
    assert!(
        out.contains(&format!("inet {ip}/")) && out.contains("joined"),
        "{out}"
    );
    let err = env.fails(&[
        "run",
        "--rm",
        "--network",
        "container:nope",
        "busybox",
        "true",
    ]);
    assert!(err.contains("no such container"), "{err}");
    env.ok(&["stop", "-t", "1", "base"]);
    let err = env.fails(&[
        "run",
        "--rm",
        "--network",
        "container:base",
        "busybox",
        "true",
    ]);
    assert!(err.contains("not running"), "{err}");
}

#[test]
fn a_running_container_is_connected_and_disconnected_at_once() {
    let Some(env) = NetEnv::new("connect") else {
        return;
    };
    env.ok(&["network", "create", "n1"]);
    env.ok(&["network", "create", "n2"]);
    env.sleeper("x", &["--network", "n1"]);
    env.sleeper("y", &["--network", "n2"]);
    let y = env.ip_of("y", "n2");
    let (ok, _) = env.exec("x", &format!("ping -c1 -W1 {y}"));
    assert!(!ok, "x reached n2 before being connected");
    env.ok(&["network", "connect", "--alias", "ex", "n2", "x"]);
    let x2 = env.ip_of("x", "n2");
    assert!(!x2.is_empty());
    let (ok, out) = env.exec("x", &format!("ip -o -4 addr show eth1; ping -c1 -W2 {y}"));
    assert!(ok && out.contains(&x2), "{out}");
    let (ok, out) = env.exec("y", "ping -c1 -W2 ex");
    assert!(ok, "the alias of a connected container resolves: {out}");
    env.ok(&["network", "disconnect", "n1", "x"]);
    let (_, links) = env.exec("x", "ip -o link");
    assert!(!links.contains("eth0") && links.contains("eth1"), "{links}");
    assert!(env.leases("n1").is_empty());
    let err = env.fails(&["network", "disconnect", "n2", "x"]);
    assert!(err.contains("only network"), "{err}");
    env.ok(&["rm", "-f", "x", "y"]);
    assert!(env.leases("n2").is_empty(), "{:?}", env.leases("n2"));
}
