//! The host as containers see it: the namespace hoist runs in is reached
//! through a network's gateway (a host address, so its packets meet the INPUT
//! hook, not FORWARD). An internal network reaches only its DNS responder
//! there, in IPv4 and IPv6 (the bridge's link-local address); an open network
//! reaches host services as docker's do; no container reaches the gateway of
//! another network.

use super::env::{clients, NetEnv};
use hoist_testkit::{wait_until, ChildGuard, Netns};
use std::path::Path;
use std::time::Duration;

const PORT: u16 = 8080;

/// A host-side service: listens on every IPv4 and IPv6 address of `ns`,
/// logs each client's address (after a "listening" line) and answers "hi".
fn host_listener(ns: &Netns, log: &Path) -> ChildGuard {
    let script = format!(
        "import socket\ns=socket.socket(socket.AF_INET6)\n\
         s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)\n\
         s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('::',{PORT}))\ns.listen(8)\nlog=open({log:?},'a')\nprint('listening',file=log,flush=True)\n\
         while True:\n  c,a=s.accept()\n  print(a[0],file=log,flush=True)\n  c.sendall(b'hi')\n  c.close()\n"
    );
    let guard = ChildGuard::spawn(ns.command("python3").args(["-c", &script]))
        .expect("start python3 in the test namespace");
    wait_until("the host listener", Duration::from_secs(10), || {
        std::fs::read_to_string(log).is_ok_and(|t| t.starts_with("listening"))
    });
    guard
}

/// The network's gateway and bridge, from `network inspect`.
fn gateway_and_bridge(env: &NetEnv, network: &str) -> (String, String) {
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["network", "inspect", network])).unwrap();
    let gw = v[0]["IPAM"]["Config"][0]["Gateway"].as_str().unwrap();
    let bridge = v[0]["Hoist"]["Bridge"].as_str().unwrap();
    (gw.to_string(), bridge.to_string())
}

/// The bridge's IPv6 link-local address, once duplicate address detection is over.
fn link_local(env: &NetEnv, bridge: &str) -> String {
    let show = || env.ip(&["-6", "addr", "show", "dev", bridge]);
    wait_until(
        "the bridge's link-local address",
        Duration::from_secs(10),
        || show().contains("inet6 fe80") && !show().contains("tentative"),
    );
    let text = show();
    let cidr = text.split("inet6 ").nth(1).unwrap().split_whitespace();
    cidr.into_iter()
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string()
}

/// Waits until the container's eth0 has a usable link-local address.
fn ipv6_ready(env: &NetEnv, ctr: &str) {
    wait_until(
        "the container's link-local address",
        Duration::from_secs(10),
        || {
            let (_, out) = env.exec(ctr, "ip -6 addr show dev eth0");
            out.contains("inet6 fe80") && !out.contains("tentative")
        },
    );
}

/// Whether `ctr` opens a TCP connection to `addr`:PORT and hears "hi".
fn reaches(env: &NetEnv, ctr: &str, addr: &str) -> bool {
    let (ok, out) = env.exec(ctr, &format!("nc -w 2 {addr} {PORT} </dev/null"));
    ok && out.contains("hi")
}

#[test]
fn an_internal_network_reaches_only_its_dns_on_the_host() {
    let Some(env) = NetEnv::new("isol-int") else {
        return;
    };
    let tmp = hoist_testkit::TempRoot::new();
    let log = tmp.join("clients");
    let _listener = host_listener(&env.ns, &log);
    env.ok(&["network", "create", "--internal", "sealed"]);
    env.sleeper("i1", &["--network", "sealed"]);
    env.sleeper("i2", &["--network", "sealed"]);
    env.sleeper("open", &[]);
    let (gw, bridge) = gateway_and_bridge(&env, "sealed");
    let (open_gw, open_bridge) = gateway_and_bridge(&env, "bridge");
    // The service answers on the gateway address (seen from the namespace itself).
    let (ok, out) = env
        .ns
        .sh(&format!("busybox nc -w 2 {gw} {PORT} </dev/null"));
    assert!(
        ok && out.contains("hi"),
        "the host listener is not on {gw}: {out}"
    );
    // DNS to the gateway still works: a name, over UDP, and a TCP connection to port 53.
    let i2 = env.ip_of("i2", "sealed");
    let (ok, out) = env.exec("i1", "nslookup i2");
    assert!(
        ok && out.contains(&i2),
        "no DNS on the internal network: {out}"
    );
    let (ok, out) = env.exec("i1", &format!("nc -w 1 {gw} 53 </dev/null"));
    assert!(ok, "TCP 53 on the gateway refused: {out}");
    // Any other service of the host's is out of reach, in IPv4 and IPv6.
    assert!(!reaches(&env, "i1", &gw), "internal reached {gw}:{PORT}");
    let ll = link_local(&env, &bridge);
    ipv6_ready(&env, "i1");
    assert!(
        !reaches(&env, "i1", &format!("{ll}%eth0")),
        "internal reached the host at [{ll}]:{PORT}"
    );
    // An open network's container reaches the same service both ways, as docker's do.
    assert!(reaches(&env, "open", &open_gw), "open -> {open_gw}");
    let open_ll = link_local(&env, &open_bridge);
    ipv6_ready(&env, "open");
    assert!(
        reaches(&env, "open", &format!("{open_ll}%eth0")),
        "open -> [{open_ll}]"
    );
    let i1 = env.ip_of("i1", "sealed");
    let seen = clients(&log);
    assert!(
        seen.iter().all(|c| !c.ends_with(&i1)) && seen.iter().any(|c| c.starts_with("fe80")),
        "clients: {seen:?}"
    );
}

#[test]
fn no_container_reaches_another_networks_gateway() {
    let Some(env) = NetEnv::new("isol-gw") else {
        return;
    };
    let tmp = hoist_testkit::TempRoot::new();
    let log = tmp.join("clients");
    let _listener = host_listener(&env.ns, &log);
    env.ok(&["network", "create", "app"]);
    env.sleeper("a", &["--network", "app"]);
    env.sleeper("d", &[]);
    let (app_gw, _) = gateway_and_bridge(&env, "app");
    let (default_gw, _) = gateway_and_bridge(&env, "bridge");
    assert!(reaches(&env, "a", &app_gw), "a -> its own gateway {app_gw}");
    assert!(
        reaches(&env, "d", &default_gw),
        "d -> its own gateway {default_gw}"
    );
    assert!(
        !reaches(&env, "a", &default_gw),
        "a (app) reached the default network's gateway {default_gw}"
    );
    assert!(
        !reaches(&env, "d", &app_gw),
        "d (default) reached app's gateway {app_gw}"
    );
    let seen = clients(&log);
    assert_eq!(seen.len(), 2, "two allowed clients only: {seen:?}");
}
