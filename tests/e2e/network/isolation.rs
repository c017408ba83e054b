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

/// What must work is retried for a while (a loaded machine may miss one
/// two-second try); what must not work is tried once, after it did work
/// elsewhere in the same test.
fn eventually(what: &str, cond: impl FnMut() -> bool) {
    wait_until(what, Duration::from_secs(20), cond);
}

/// The listener logs IPv4 clients as IPv4-mapped IPv6 addresses.
fn is_client(logged: &str, ip: &str) -> bool {
    logged.trim_start_matches("::ffff:") == ip
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
    eventually("the host listener on the gateway address", || {
        let (ok, out) = env
            .ns
            .sh(&format!("busybox nc -w 2 {gw} {PORT} </dev/null"));
        ok && out.contains("hi")
    });
    // DNS to the gateway still works: a name, over UDP, and a TCP connection to port 53.
    let i2 = env.ip_of("i2", "sealed");
    eventually("i1 resolves i2 through its gateway", || {
        let (ok, out) = env.exec("i1", "nslookup i2");
        ok && out.contains(&i2)
    });
    eventually("i1 connects to TCP 53 on its gateway", || {
        env.exec("i1", &format!("nc -w 1 {gw} 53 </dev/null")).0
    });
    // Any other service of the host's is out of reach, in IPv4 and IPv6.
    assert!(!reaches(&env, "i1", &gw), "internal reached {gw}:{PORT}");
    let ll = link_local(&env, &bridge);
    ipv6_ready(&env, "i1");
    assert!(
        !reaches(&env, "i1", &format!("{ll}%eth0")),
        "internal reached the host at [{ll}]:{PORT}"
    );
    // An open network's container reaches the same service both ways, as docker's do.
    eventually("open reaches the host on its gateway", || {
        reaches(&env, "open", &open_gw)
    });
    let open_ll = link_local(&env, &open_bridge);
    ipv6_ready(&env, "open");
    eventually(
        "open reaches the host on its bridge's link-local address",
        || reaches(&env, "open", &format!("{open_ll}%eth0")),
    );
    let i1 = env.ip_of("i1", "sealed");
    let seen = clients(&log);
    assert!(
        !seen.iter().any(|c| is_client(c, &i1)) && seen.iter().any(|c| c.starts_with("fe80")),
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
    eventually("a reaches its own gateway", || reaches(&env, "a", &app_gw));
    eventually("d reaches its own gateway", || {
        reaches(&env, "d", &default_gw)
    });
    assert!(
        !reaches(&env, "a", &default_gw),
        "a (app) reached the default network's gateway {default_gw}"
    );
    assert!(
        !reaches(&env, "d", &app_gw),
        "d (default) reached app's gateway {app_gw}"
    );
    let (a, d) = (env.ip_of("a", "app"), env.ip_of("d", "bridge"));
    let seen = clients(&log);
    assert!(
        seen.iter().all(|c| is_client(c, &a) || is_client(c, &d)),
        "a client the rules should have stopped: {seen:?} (a {a}, d {d})"
    );
}

#[test]
fn no_container_reaches_another_networks_ipv6_gateway() {
    let Some(env) = NetEnv::new("isol-gw6") else {
        return;
    };
    let tmp = hoist_testkit::TempRoot::new();
    let log = tmp.join("clients");
    let _listener = host_listener(&env.ns, &log);
    env.ok(&["network", "create", "--ipv6", "six-a"]);
    env.ok(&["network", "create", "--ipv6", "six-b"]);
    env.sleeper("a", &["--network", "six-a"]);
    env.sleeper("b", &["--network", "six-b"]);
    let gw6 = |name: &str, network: &str| {
        let v = env.inspect(name);
        let gw = v["NetworkSettings"]["Networks"][network]["IPv6Gateway"].as_str();
        format!("[{}]", gw.unwrap_or_default())
    };
    let (a_gw, b_gw) = (gw6("a", "six-a"), gw6("b", "six-b"));
    assert!(a_gw.len() > 2 && b_gw.len() > 2, "{a_gw} {b_gw}");
    // Its own gateway answers (once the bridge's address is usable)...
    eventually("a reaches its IPv6 gateway", || reaches(&env, "a", &a_gw));
    // ...another network's does not.
    assert!(
        !reaches(&env, "a", &b_gw),
        "a (six-a) reached six-b's gateway {b_gw}"
    );
}
