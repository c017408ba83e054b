//! The same compose file run by Debian's docker-compose 1.29 against a dockerd of the test's
//! own (in the test's namespace) and by hoist: the same services, container names (1.29 joins
//! with `_` where compose v2 and hoist use `-`), `com.docker.compose.*` labels, published
//! ports and networks; then the same recreate decisions for an edit of one service, and for
//! a stopped dependency.

use super::env::ComposeEnv;
use hoist_testkit::Dockerd;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const FILE: &str = r#"
services:
  a:
    image: busybox:latest
    command: ["sleep", "300"]
    stop_grace_period: 1s
    ports: ["127.0.0.1:${PORT_A}:80"]
  b:
    image: busybox:latest
    command: ["sleep", "300"]
    stop_grace_period: 1s
    environment: {COLOUR: red}
    depends_on: [a]
    ports: ["127.0.0.1:${PORT_B}:8080/udp"]
"#;

/// What one container looks like to the comparison.
#[derive(Debug, PartialEq)]
struct Seen {
    labels: BTreeMap<String, String>,
    /// (host ip, container port/proto)
    ports: BTreeSet<(String, String)>,
}

/// docker's import of a rootfs of the static busybox with its applets, as busybox:latest.
fn docker_busybox(d: &Dockerd, tmp: &std::path::Path) {
    let rootfs = tmp.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for applet in ["sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    let tar = tmp.join("rootfs.tar");
    crate::common::tar_dir(&rootfs, &tar);
    let out = d
        .docker()
        .args(["import", &tar.to_string_lossy(), "busybox:latest"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const KEYS: [&str; 6] = [
    "com.docker.compose.project",
    "com.docker.compose.service",
    "com.docker.compose.container-number",
    "com.docker.compose.oneoff",
    "com.docker.compose.config-hash",
    "com.docker.compose.version",
];

/// The compared labels: values of the first four, presence of the others (the hash and
/// version differ by design between implementations).
fn compared(labels: &serde_json::Value) -> BTreeMap<String, String> {
    KEYS.iter()
        .filter_map(|k| {
            let v = labels[*k].as_str()?;
            let v = if k.ends_with("config-hash") || k.ends_with("version") {
                "(present)".to_string()
            } else {
                v.to_string()
            };
            Some((k.to_string(), v))
        })
        .collect()
}

fn docker_seen(d: &Dockerd) -> BTreeMap<String, Seen> {
    let ids = d.docker().args(["ps", "-aq"]).output().unwrap();
    let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
        .split_whitespace()
        .map(String::from)
        .collect();
    let mut args = vec!["inspect".to_string()];
    args.extend(ids);
    let out = d.docker().args(&args).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["Name"].as_str().unwrap().trim_start_matches('/');
            let ports = c["HostConfig"]["PortBindings"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, b)| (b[0]["HostIp"].as_str().unwrap().to_string(), k.clone()))
                        .collect()
                })
                .unwrap_or_default();
            (
                name.replace('_', "-"),
                Seen {
                    labels: compared(&c["Config"]["Labels"]),
                    ports,
                },
            )
        })
        .collect()
}

fn hoist_seen(env: &ComposeEnv) -> BTreeMap<String, Seen> {
    env.ps(&["-p", "xc"])
        .into_iter()
        .map(|c| {
            let labels: serde_json::Map<String, serde_json::Value> = c["Labels"]
                .as_str()
                .unwrap()
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
                .collect();
            let ports = c["Publishers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["URL"].as_str().unwrap().to_string(),
                        format!("{}/{}", p["TargetPort"], p["Protocol"].as_str().unwrap()),
                    )
                })
                .collect();
            (
                c["Name"].as_str().unwrap().to_string(),
                Seen {
                    labels: compared(&serde_json::Value::Object(labels)),
                    ports,
                },
            )
        })
        .collect()
}

/// docker-compose 1.29's progress lines → container (hoist's spelling) → decision.
fn docker_decisions(stderr: &str) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for line in stderr.lines().map(str::trim) {
        let (decision, rest) = if let Some(r) = line.strip_prefix("Recreating ") {
            ("recreate", r)
        } else if let Some(r) = line.strip_prefix("Creating ") {
            ("create", r)
        } else if let Some(r) = line.strip_prefix("Starting ") {
            ("start", r)
        } else if let Some(r) = line.strip_suffix(" is up-to-date") {
            ("keep", r)
        } else {
            continue;
        };
        let name = rest.split_whitespace().next().unwrap_or_default();
        if name.starts_with("xc_") && name.matches('_').count() == 2 {
            out.insert(name.replace('_', "-"), decision);
        }
    }
    out
}

/// hoist's progress lines → container → decision.
fn hoist_decisions(stderr: &str) -> BTreeMap<String, &'static str> {
    let mut out: BTreeMap<String, &'static str> = BTreeMap::new();
    for line in stderr.lines() {
        let Some(rest) = line.trim().strip_prefix("Container ") else {
            continue;
        };
        let Some((name, what)) = rest.split_once("  ") else {
            continue;
        };
        let decision = match what {
            "Recreated" => "recreate",
            "Created" => "create",
            "Running" => "keep",
            "Started" if !out.contains_key(name) => "start",
            _ => continue,
        };
        out.insert(name.to_string(), decision);
    }
    out
}

#[test]
fn docker_compose_and_hoist_agree_on_names_labels_ports_and_recreation() {
    if !hoist_testkit::have_program("docker-compose") || !hoist_testkit::have_program("dockerd") {
        hoist_testkit::skip_or_fail(
            "compose docker cross-check",
            "docker-compose or dockerd is missing (apt-get install docker-compose docker.io)",
        );
        return;
    }
    let Some(env) = ComposeEnv::new("cmp-docker") else {
        return;
    };
    let dockerd = Dockerd::start(&env.net.ns);
    let tmp = hoist_testkit::TempRoot::new();
    docker_busybox(&dockerd, tmp.path());
    env.write("compose.yaml", FILE);
    let ports = [hoist_testkit::free_port(), hoist_testkit::free_port()];
    let ports2 = [hoist_testkit::free_port(), hoist_testkit::free_port()];
    let docker_compose = |args: &[&str]| {
        let out = Command::new("docker-compose")
            .current_dir(env.dir.path())
            .env("DOCKER_HOST", dockerd.host())
            .env("PORT_A", ports[0].to_string())
            .env("PORT_B", ports[1].to_string())
            .arg("-p")
            .arg("xc")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "docker-compose {args:?}: {stderr}");
        stderr
    };
    let hoist = |args: &[&str]| {
        let out = env
            .hoist()
            .env("PORT_A", ports2[0].to_string())
            .env("PORT_B", ports2[1].to_string())
            .args(["compose", "-p", "xc"])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "hoist compose {args:?}: {stderr}");
        stderr
    };

    let d = docker_decisions(&docker_compose(&["up", "-d"]));
    let h = hoist_decisions(&hoist(&["up", "-d"]));
    assert_eq!(h, d, "first up");
    let (ds, hs) = (docker_seen(&dockerd), hoist_seen(&env));
    assert_eq!(hs.keys().collect::<Vec<_>>(), ["xc-a-1", "xc-b-1"], "names");
    assert_eq!(hs, ds, "labels and ports");
    let networks = dockerd.docker().args(["network", "ls"]).output().unwrap();
    assert!(String::from_utf8_lossy(&networks.stdout).contains("xc_default"));
    assert!(env.network_names().contains(&"xc_default".to_string()));

    // An edit of b: b recreated, a left alone, by both.
    env.write("compose.yaml", &FILE.replace("COLOUR: red", "COLOUR: blue"));
    let d = docker_decisions(&docker_compose(&["up", "-d"]));
    let h = hoist_decisions(&hoist(&["up", "-d"]));
    assert_eq!(d.get("xc-b-1"), Some(&"recreate"), "{d:?}");
    assert_eq!(h, d, "after editing b");

    // The dependency stopped: started again, its dependent kept, by both.
    docker_compose(&["stop", "a"]);
    hoist(&["stop", "a"]);
    let d = docker_decisions(&docker_compose(&["up", "-d"]));
    let h = hoist_decisions(&hoist(&["up", "-d"]));
    assert_eq!(d.get("xc-a-1"), Some(&"start"), "{d:?}");
    assert_eq!(h, d, "after stopping a");

    docker_compose(&["down"]);
    hoist(&["down"]);
    assert!(env.states(&["-p", "xc"]).is_empty());
}
