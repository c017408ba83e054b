//! Addresses under load and after crashes: 50 concurrent starts get 50
//! distinct reachable addresses and leave nothing behind; a crashed
//! container's address is taken back, a live one's never handed out twice.

use super::env::NetEnv;
use hoist_testkit::wait_until;
use std::collections::HashSet;
use std::time::Duration;

#[test]
fn fifty_concurrent_runs_get_distinct_reachable_addresses_and_leave_nothing() {
    let Some(env) = NetEnv::new("fifty") else {
        return;
    };
    env.ok(&["network", "create", "many"]);
    let names: Vec<String> = (0..50).map(|i| format!("c{i}")).collect();
    std::thread::scope(|s| {
        for name in &names {
            let env = &env;
            s.spawn(move || env.sleeper(name, &["--network", "many"]));
        }
    });
    let ips: Vec<String> = names.iter().map(|n| env.ip_of(n, "many")).collect();
    let distinct: HashSet<&String> = ips.iter().collect();
    assert_eq!(distinct.len(), 50, "{ips:?}");
    assert_eq!(env.leases("many").len(), 50);
    let script: String = ips
        .iter()
        .map(|ip| format!("ping -c1 -W2 {ip} >/dev/null || echo unreachable {ip}; "))
        .collect();
    env.sleeper("prober", &["--network", "many"]);
    let (ok, out) = env.exec("prober", &script);
    assert!(ok && !out.contains("unreachable"), "{out}");
    let net: serde_json::Value =
        serde_json::from_str(&env.ok(&["network", "inspect", "many"])).unwrap();
    let bridge = net[0]["Hoist"]["Bridge"].as_str().unwrap().to_string();
    let mut all: Vec<&str> = vec!["rm", "-f", "prober"];
    all.extend(names.iter().map(String::as_str));
    env.ok(&all);
    assert!(env.leases("many").is_empty(), "{:?}", env.leases("many"));
    wait_until("every veth gone", Duration::from_secs(20), || {
        !env.ip(&["-o", "link"]).contains("veth")
            && env
                .ip(&["-o", "link", "show", "master", &bridge])
                .trim()
                .is_empty()
    });
    // The network's bridge and rules go with it.
    env.ok(&["network", "rm", "many"]);
    assert!(!env.ip(&["-o", "link"]).contains(&bridge));
    assert!(
        !env.nft_ruleset().contains(&bridge),
        "{}",
        env.nft_ruleset()
    );
}

fn monitor_pid(env: &NetEnv, id: &str) -> i32 {
    let path = env.root.join("containers").join(id).join("state.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["monitor_pid"]
        .as_i64()
        .expect("monitor_pid in state.json") as i32
}

#[test]
fn a_killed_monitors_address_is_reclaimed_and_a_live_one_never_reused() {
    let Some(env) = NetEnv::new("reclaim") else {
        return;
    };
    env.ok(&["network", "create", "net"]);
    let first = env.sleeper("first", &["--network", "net"]);
    let ip = env.ip_of("first", "net");
    // Taken while its container lives.
    let err = env.fails(&[
        "run",
        "-d",
        "--name",
        "twin",
        "--network",
        "net",
        "--ip",
        &ip,
        "busybox",
        "true",
    ]);
    assert!(err.contains("already in use"), "{err}");
    assert!(!env.ok(&["ps", "-a"]).contains("twin"));
    // SIGKILL the monitor: the container dies with it, the lease stays behind.
    let pid = monitor_pid(&env, &first);
    // SAFETY: a PID read from the container's state, ours to end.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_until("the container to die", Duration::from_secs(10), || {
        !env.ok(&["ps"]).contains("first")
    });
    assert_eq!(env.leases("net"), std::slice::from_ref(&ip));
    // Its owner (the container's PID 1, which dies with the monitor) gone:
    // the lease is stale now.
    let lease = env.root.join("networks/net/leases").join(&ip);
    let owner: serde_json::Value = serde_json::from_slice(&std::fs::read(&lease).unwrap()).unwrap();
    let owner = owner["owner_pid"].as_i64().unwrap();
    wait_until(
        "the lease's owner to be gone",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(format!("/proc/{owner}/stat")).map_or(true, |s| {
                s.rsplit(") ").next().is_some_and(|r| r.starts_with('Z'))
            })
        },
    );
    // The address is taken back for a new container, which gets it...
    let second = env.sleeper("second", &["--network", "net", "--ip", &ip]);
    assert_eq!(env.ip_of("second", "net"), ip);
    let lease: serde_json::Value = serde_json::from_slice(&std::fs::read(&lease).unwrap()).unwrap();
    assert_eq!(lease["container_id"], second.as_str());
    env.sleeper("third", &["--network", "net"]);
    assert_ne!(
        env.ip_of("third", "net"),
        ip,
        "one address handed out twice"
    );
    let (ok, out) = env.exec("third", &format!("ping -c1 -W2 {ip}"));
    assert!(ok, "{out}");
}

#[test]
fn rm_of_a_container_whose_monitor_was_killed_frees_its_address_at_once() {
    let Some(env) = NetEnv::new("rmkilled") else {
        return;
    };
    env.ok(&["network", "create", "net"]);
    let id = env.sleeper("victim", &["--network", "net"]);
    let ip = env.ip_of("victim", "net");
    let pid = monitor_pid(&env, &id);
    // SAFETY: a PID read from the container's state, ours to end.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_until("the container to die", Duration::from_secs(10), || {
        !env.ok(&["ps"]).contains("victim")
    });
    // The monitor never gave the address back; rm must, not a later allocation.
    assert_eq!(env.leases("net"), std::slice::from_ref(&ip));
    env.ok(&["rm", "-f", "victim"]);
    assert!(
        env.leases("net").is_empty(),
        "rm left the lease of a killed monitor: {:?}",
        env.leases("net")
    );
}
