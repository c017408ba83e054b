//! Beside dockerd: docker sets the iptables FORWARD policy to DROP (in both
//! iptables back-ends it may use), which would drop every packet hoist's
//! containers route out. The test sets that policy itself in its namespace
//! (what dockerd does at start; a dockerd of its own does not start on every
//! machine) and checks that hoist adds accept rules for its bridges, that
//! traffic flows, and that the rules go with the network.

use super::env::{ip4, outside_listener, NetEnv};
use hoist_testkit::Netns;

fn forward_rules(env: &NetEnv, tool: &str) -> String {
    let out = env
        .ns
        .command(tool)
        .args(["-w", "-S", "FORWARD"])
        .output()
        .expect("run iptables");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn networks_work_beside_dockers_forward_drop_policy() {
    let Some(env) = NetEnv::new("docker") else {
        return;
    };
    let mut tools = vec!["iptables"];
    if hoist_testkit::have_program("iptables-legacy") {
        tools.push("iptables-legacy");
    }
    for tool in &tools {
        let ok = env
            .ns
            .command(tool)
            .args(["-w", "-P", "FORWARD", "DROP"])
            .status()
            .unwrap();
        assert!(ok.success(), "{tool} -P FORWARD DROP");
    }
    let outside = Netns::new("docker-out");
    let far = ip4(10, 251, 3, 2);
    env.ns.link_to(
        &outside,
        "up0",
        &format!("{}/24", ip4(10, 251, 3, 1)),
        &format!("{far}/24"),
    );
    // The outside answers on a port; a container reaches it through NAT.
    let tmp = hoist_testkit::TempRoot::new();
    let _listener = outside_listener(&outside, 8080, &tmp.join("clients"));
    env.ok(&["network", "create", "app"]);
    env.sleeper("a", &["--network", "app"]);
    env.sleeper("b", &["--network", "app"]);
    let (ok, out) = env.exec("a", "ping -c1 -W2 b");
    assert!(ok, "{out}");
    let (ok, out) = env.exec("a", &format!("nc -w 3 {far} 8080 </dev/null"));
    assert!(ok && out.contains("hi"), "no way out: {out}");
    let net: serde_json::Value =
        serde_json::from_str(&env.ok(&["network", "inspect", "app"])).unwrap();
    let bridge = net[0]["Hoist"]["Bridge"].as_str().unwrap().to_string();
    for tool in &tools {
        let rules = forward_rules(&env, tool);
        assert!(
            rules.contains(&format!("hoist:{bridge}")),
            "{tool}: {rules}"
        );
    }
    env.ok(&["rm", "-f", "a", "b"]);
    env.ok(&["network", "rm", "app"]);
    for tool in &tools {
        let rules = forward_rules(&env, tool);
        assert!(!rules.contains("hoist:"), "{tool}: {rules}");
        assert!(
            rules.contains("-P FORWARD DROP"),
            "docker's policy must stay: {rules}"
        );
    }
}
