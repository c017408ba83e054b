//! Names across several user networks (docker's embedded DNS answers for every network
//! the asking container is on): a container on n1 and n2 resolves the containers of both
//! through either network's responder, even when the real upstream answers NXDOMAIN for
//! every name it is asked (an NXDOMAIN is final: the resolver never asks the second
//! responder); a container resolves no name of a network it is not on.

use super::env::{ip4, NetEnv};
use hoist_testkit::{wait_until, ChildGuard, Netns};
use std::process::Stdio;
use std::time::Duration;

/// An upstream resolver in an "outside" namespace joined to the test's by a veth: dnsmasq
/// answering `NXDOMAIN` for every name but `www.example.test`, named by the test
/// namespace's resolv.conf (so hoist's responders forward to it and nowhere else).
fn nxdomain_upstream(env: &NetEnv) -> (Netns, ChildGuard) {
    let outside = Netns::new("dnsout");
    let (near, far) = (ip4(10, 250, 9, 1), ip4(10, 250, 9, 2));
    env.ns
        .link_to(&outside, "up0", &format!("{near}/24"), &format!("{far}/24"));
    let dnsmasq = ChildGuard::spawn(
        outside
            .command("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--user=root",
                "--pid-file",
                &format!("--listen-address={far}"),
                "--address=/#/",
                &format!("--address=/example.test/{}", ip4(10, 250, 9, 9)),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("start dnsmasq");
    std::fs::write(
        env.ns.etc_dir().join("resolv.conf"),
        format!("nameserver {far}\n"),
    )
    .unwrap();
    wait_until("dnsmasq to answer", Duration::from_secs(10), || {
        let out = env
            .ns
            .command("dig")
            .args([&format!("@{far}"), "+short", "+time=1", "www.example.test"])
            .output()
            .expect("run dig");
        String::from_utf8_lossy(&out.stdout).trim() == ip4(10, 250, 9, 9)
    });
    (outside, dnsmasq)
}

fn gateway(env: &NetEnv, network: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["network", "inspect", network])).unwrap();
    v[0]["IPAM"]["Config"][0]["Gateway"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_container_on_two_networks_resolves_both_and_no_name_leaks_across() {
    hoist_testkit::require_program!("dig");
    hoist_testkit::require_program!("dnsmasq");
    let Some(env) = NetEnv::new("multidns") else {
        return;
    };
    let (_outside, _dnsmasq) = nxdomain_upstream(&env);
    env.ok(&["network", "create", "n1"]);
    env.ok(&["network", "create", "n2"]);
    env.sleeper("a", &["--network", "n1", "--network", "n2"]);
    env.sleeper("b", &["--network", "n2", "--network-alias", "bee"]);
    env.sleeper("c", &["--network", "n1"]);
    let (gw1, gw2) = (gateway(&env, "n1"), gateway(&env, "n2"));
    let (b_ip, c_ip) = (env.ip_of("b", "n2"), env.ip_of("c", "n1"));

    // The upstream is reached, and its NXDOMAIN comes back as such.
    // (Its AAAA answer is an NXDOMAIN too, so nslookup's status says nothing here.)
    let (_, out) = env.exec("a", &format!("nslookup www.example.test {gw1}"));
    assert!(out.contains(&ip4(10, 250, 9, 9)), "{out}");
    let (ok, out) = env.exec("a", &format!("nslookup nosuch.example {gw1}"));
    assert!(!ok && out.contains("NXDOMAIN"), "{out}");

    // a asks each responder for a name living only on its other network.
    for (name, server, want) in [
        ("b", &gw1, &b_ip),
        ("bee", &gw1, &b_ip),
        ("c", &gw2, &c_ip),
        ("c", &gw1, &c_ip),
        ("b", &gw2, &b_ip),
    ] {
        let (ok, out) = env.exec("a", &format!("nslookup {name} {server}"));
        assert!(
            ok && out.contains(want.as_str()),
            "a: {name} @{server}: {out}"
        );
    }
    // Through its resolv.conf (the first network's responder first), as programs do.
    for name in ["b", "c"] {
        let (ok, out) = env.exec("a", &format!("ping -c1 -W2 {name}"));
        assert!(ok, "a -> {name}: {out}");
    }

    // b and c share no network: neither learns the other's name, from its own
    // responder (NXDOMAIN from upstream) or from the other network's (refused).
    for (who, name, other_gw) in [("b", "c", &gw1), ("c", "b", &gw2), ("c", "bee", &gw2)] {
        let (ok, out) = env.exec(who, &format!("nslookup {name}"));
        assert!(!ok, "{who} resolved {name}: {out}");
        assert!(
            !out.contains(&b_ip) && !out.contains(&c_ip),
            "{who} learned an address: {out}"
        );
        let (ok, out) = env.exec(who, &format!("nslookup {name} {other_gw}"));
        assert!(!ok, "{who} resolved {name} at {other_gw}: {out}");
    }
    // Each still resolves a, which it does share a network with.
    for who in ["b", "c"] {
        let (ok, out) = env.exec(who, "nslookup a");
        assert!(ok, "{who} -> a: {out}");
    }
}
