//! The same compose file run by Debian's podman-compose 1.0.3 (podman 4.3 with netavark, in
//! throwaway storage, in the test's namespace) and by hoist: the same container names
//! (podman-compose joins with `_`, as docker-compose 1.29 does; hoist and compose v2 use
//! `-`), the same values of the labels both set, the same published ports and the same
//! project network, `<project>_default`.
//!
//! Where podman-compose disagrees with docker compose, only what both agree on is compared:
//! it writes no `com.docker.compose.oneoff`, `config-hash` or `version` (its hash and version
//! are `io.podman.compose.*`), its `project.config_files` is relative where docker compose's
//! is absolute (compared for presence only), its `up` on an existing project removes and
//! recreates every container (no recreate decisions to compare, unlike docker.rs), and its
//! `down` leaves the project network behind (removed here by the test).

use super::env::ComposeEnv;
use crate::podman_env::Podman;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const FILE: &str = r#"
services:
  a:
    image: busybox:latest
    command: ["sleep", "300"]
    stop_grace_period: 1s
    ports: ["127.0.0.1:${PORT_A}:80"]
    labels: {team: one}
  b:
    image: busybox:latest
    command: ["sleep", "300"]
    stop_grace_period: 1s
    environment: {COLOUR: red}
    depends_on: [a]
    ports: ["127.0.0.1:${PORT_B}:8080/udp"]
"#;

/// Labels compared by value (set the same by both), and by presence.
const BY_VALUE: [&str; 5] = [
    "com.docker.compose.project",
    "com.docker.compose.service",
    "com.docker.compose.container-number",
    "com.docker.compose.project.working_dir",
    "team",
];
const BY_PRESENCE: [&str; 1] = ["com.docker.compose.project.config_files"];

/// What one container looks like to the comparison.
#[derive(Debug, PartialEq)]
struct Seen {
    labels: BTreeMap<String, String>,
    /// (host ip, container port/proto)
    ports: BTreeSet<(String, String)>,
    networks: BTreeSet<String>,
}

fn compared(labels: &serde_json::Value) -> BTreeMap<String, String> {
    let by_value = BY_VALUE
        .iter()
        .filter_map(|k| Some((k.to_string(), labels[*k].as_str()?.to_string())));
    let by_presence = BY_PRESENCE
        .iter()
        .filter(|k| labels[**k].as_str().is_some_and(|v| !v.is_empty()))
        .map(|k| (k.to_string(), "(present)".to_string()));
    by_value.chain(by_presence).collect()
}

/// `podman-compose ARGS` for the project `xp` in `project_dir`, on the harness's storage.
fn podman_compose(podman: &Podman, project_dir: &Path, ports: [u16; 2], args: &[&str]) {
    let out = podman
        .program("podman-compose")
        .current_dir(project_dir)
        .env("PORT_A", ports[0].to_string())
        .env("PORT_B", ports[1].to_string())
        .arg(format!("--podman-args={}", podman.storage_args()))
        .args(["-p", "xp"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman-compose {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn podman_seen(podman: &Podman) -> BTreeMap<String, Seen> {
    let ids = podman.run(&["ps", "-aq"]);
    let mut args = vec!["inspect"];
    args.extend(ids.split_whitespace());
    let v: serde_json::Value = serde_json::from_str(&podman.run(&args)).unwrap();
    v.as_array().unwrap().iter().map(seen).collect()
}

/// A container's name (`_` as `-`) and what is compared, from docker-shaped `inspect`
/// output (podman's and hoist's).
fn seen(c: &serde_json::Value) -> (String, Seen) {
    let name = c["Name"].as_str().unwrap().trim_start_matches('/');
    let ports = c["HostConfig"]["PortBindings"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, b)| (b[0]["HostIp"].as_str().unwrap().to_string(), k.clone()))
                .collect()
        })
        .unwrap_or_default();
    let networks = c["NetworkSettings"]["Networks"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    (
        name.replace('_', "-"),
        Seen {
            labels: compared(&c["Config"]["Labels"]),
            ports,
            networks,
        },
    )
}

fn hoist_seen(env: &ComposeEnv) -> BTreeMap<String, Seen> {
    env.ps(&["-p", "xp"])
        .into_iter()
        .map(|c| seen(&env.inspect(c["Name"].as_str().unwrap())))
        .collect()
}

#[test]
fn podman_compose_and_hoist_agree_on_names_labels_ports_and_network() {
    if !hoist_testkit::have_program("podman-compose")
        || !Path::new("/usr/lib/podman/netavark").exists()
    {
        hoist_testkit::skip_or_fail(
            "compose podman cross-check",
            "podman-compose or netavark is missing (apt-get install podman-compose netavark aardvark-dns)",
        );
        return;
    }
    let Some(env) = ComposeEnv::new("cmp-podman") else {
        return;
    };
    let Some(podman) = Podman::new(&env.net.ns, "compose podman cross-check") else {
        return;
    };
    env.write("compose.yaml", FILE);
    let podman_ports = [hoist_testkit::free_port(), hoist_testkit::free_port()];
    let hoist_ports = [hoist_testkit::free_port(), hoist_testkit::free_port()];
    podman_compose(&podman, env.dir.path(), podman_ports, &["up", "-d"]);
    let out = env
        .hoist()
        .env("PORT_A", hoist_ports[0].to_string())
        .env("PORT_B", hoist_ports[1].to_string())
        .args(["compose", "-p", "xp", "up", "-d"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (ps, hs) = (podman_seen(&podman), hoist_seen(&env));
    assert_eq!(hs.keys().collect::<Vec<_>>(), ["xp-a-1", "xp-b-1"], "names");
    // Not vacuous: the compared labels and ports are there.
    let a = &hs["xp-a-1"];
    assert_eq!(a.labels["team"], "one");
    assert_eq!(a.labels["com.docker.compose.service"], "a");
    assert_eq!(a.labels.len(), BY_VALUE.len() + BY_PRESENCE.len(), "{a:?}");
    assert_eq!(
        hs["xp-b-1"].ports,
        BTreeSet::from([("127.0.0.1".to_string(), "8080/udp".to_string())])
    );
    assert_eq!(hs, ps, "labels, ports and networks");
    assert!(podman
        .run(&["network", "ls", "--format", "{{.Name}}"])
        .lines()
        .any(|n| n == "xp_default"));
    assert!(env.network_names().contains(&"xp_default".to_string()));

    podman_compose(&podman, env.dir.path(), podman_ports, &["down", "-t", "1"]);
    env.ok(&["compose", "-p", "xp", "down", "-t", "1"]);
    assert!(podman.run(&["ps", "-aq"]).trim().is_empty());
    assert!(env.states(&["-p", "xp"]).is_empty());
}
