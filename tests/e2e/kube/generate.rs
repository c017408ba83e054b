//! `kube generate` of a hoist pod with all three probes, a named volume, a tmpfs, limits and
//! a published port; the YAML played by `hoist kube play` on a fresh store (another
//! namespace) gives an equivalent pod (image, command, env, limits, capabilities, probes,
//! volumes, the port serving), and is accepted by `podman kube play` (cross-check: podman
//! 4.3 runs it and serves the port). Schema validation of the generated kinds:
//! crates/kube/tests/generate_schema.rs.

use super::env::KubeEnv;
use crate::podman_env::Podman;
use hoist_testkit::wait_until;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const PORT: u16 = 18452;

/// The pod as `hoist pod create` + `run --pod` make it.
fn make_source_pod(env: &KubeEnv) {
    let publish = format!("127.0.0.1:{PORT}:8080");
    env.net.ok(&[
        "pod",
        "create",
        "--name",
        "shop",
        "-p",
        &publish,
        "--volume",
        "webdata:/data",
    ]);
    env.net.ok(&[
        "run",
        "-d",
        "--pod",
        "shop",
        "--name",
        "web",
        "-e",
        "MODE=prod",
        "--memory",
        "64m",
        "--cpus",
        "0.5",
        "--cap-drop",
        "MKNOD",
        "--tmpfs",
        "/cache",
        "--startup-probe",
        "tcp :8080 period=1s failure=30",
        "--liveness-probe",
        "exec true period=5s timeout=2s",
        "--readiness-probe",
        "http :8080/ period=1s failure=2",
        "busybox:latest",
        "sh",
        "-c",
        "echo ok > /data/index.html && exec httpd -f -p 8080 -h /data",
    ]);
}

/// What the comparison looks at, from inspect and the record's probes.json.
#[derive(Debug, PartialEq)]
struct Seen {
    entrypoint: Value,
    cmd: Value,
    env: BTreeSet<String>,
    memory: Value,
    nano_cpus: Value,
    cap_drop: Value,
    /// (type, name, destination); emptyDir volumes of a played pod are named by it, so
    /// only named volumes keep their name.
    mounts: BTreeSet<(String, String)>,
    probes: Value,
}

fn seen(env: &KubeEnv, name: &str) -> Seen {
    let c = env.net.inspect(name);
    let id = c["Id"].as_str().unwrap();
    let probes = std::fs::read(env.net.root.join("containers").join(id).join("probes.json"))
        .expect("probes.json");
    let mounts = c["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let dest = m["Destination"].as_str().unwrap().to_string();
            let what = match m["Name"].as_str() {
                Some("webdata") => "volume webdata".to_string(),
                _ => "scratch".to_string(),
            };
            (what, dest)
        })
        .collect();
    Seen {
        entrypoint: c["Config"]["Entrypoint"].clone(),
        cmd: c["Config"]["Cmd"].clone(),
        env: c["Config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .filter(|e| !e.starts_with("HOSTNAME="))
            .collect(),
        memory: c["HostConfig"]["Memory"].clone(),
        nano_cpus: c["HostConfig"]["NanoCpus"].clone(),
        cap_drop: c["HostConfig"]["CapDrop"].clone(),
        mounts,
        probes: serde_json::from_slice(&probes).unwrap(),
    }
}

#[test]
fn generate_of_a_pod_plays_back_on_a_fresh_store_and_on_podman() {
    hoist_testkit::require_root!();
    let Some(env) = KubeEnv::new("kube-gen") else {
        return;
    };
    make_source_pod(&env);
    wait_until("the source pod serves", Duration::from_secs(20), || {
        env.get(PORT).as_deref() == Some("ok")
    });

    let file = env.path("shop.yaml");
    let (_, warnings) = env.ok2(&["kube", "generate", "shop", "-f", file.to_str().unwrap()]);
    let yaml = std::fs::read_to_string(&file).unwrap();
    // Written whole to the file; the same bytes on stdout (deterministic).
    let (stdout, _) = env.ok2(&["kube", "generate", "shop"]);
    assert_eq!(stdout, yaml);
    let kinds: Vec<&str> = yaml
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "Pod"], "{yaml}");
    for want in [
        "startupProbe:",
        "livenessProbe:",
        "readinessProbe:",
        "claimName: webdata",
        "medium: Memory",
        &format!("hostPort: {PORT}"),
    ] {
        assert!(yaml.contains(want), "no {want:?} in:\n{yaml}");
    }
    // Only docker's default noexec of a tmpfs has no field (a cluster's emptyDir allows
    // exec): named, not dropped silently.
    let named: Vec<&str> = warnings
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        named,
        ["warning: container web: tmpfs /cache: options [\"noexec\"] have no emptyDir field; left out"],
        "{warnings}"
    );

    // As a Deployment: replicas, and the published port as the Service's (not a hostPort).
    let (deployment, _) = env.ok2(&[
        "kube",
        "generate",
        "shop",
        "--type",
        "deployment",
        "--replicas",
        "2",
    ]);
    let kinds: Vec<&str> = deployment
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "Deployment", "Service"]);
    assert!(deployment.contains("  replicas: 2\n"), "{deployment}");
    assert!(!deployment.contains("hostPort"), "{deployment}");
    assert!(
        deployment.contains(&format!("port: {PORT}\n")),
        "{deployment}"
    );
    // Bad requests: named, nothing written.
    let err = env.fails(&["kube", "generate", "nosuch"]);
    assert!(err.contains("no such container or pod: nosuch"), "{err}");
    let err = env.fails(&["kube", "generate", "shop", "--replicas", "2"]);
    assert!(err.contains("--replicas is for --type deployment"), "{err}");

    // On a fresh store in a namespace of its own: the same pod.
    let Some(fresh) = KubeEnv::new("kube-gen2") else {
        return;
    };
    let played = fresh.write("shop.yaml", &yaml);
    fresh.ok2(&["kube", "play", &played]);
    assert_eq!(fresh.pods(), ["shop"]);
    assert_eq!(fresh.containers(), ["shop-web"]);
    wait_until("the played pod serves", Duration::from_secs(20), || {
        fresh.get(PORT).as_deref() == Some("ok")
    });
    let (source, copy) = (seen(&env, "web"), seen(&fresh, "shop-web"));
    assert_eq!(source, copy);
    assert!(source.env.contains("MODE=prod"), "{source:?}");
    assert_eq!(source.mounts.len(), 2, "{source:?}");
    assert!(
        source.probes["startup"].is_object()
            && source.probes["liveness"].is_object()
            && source.probes["readiness"].is_object(),
        "{source:?}"
    );
    let image = fresh.net.inspect("shop-web")["Config"]["Image"].clone();
    assert!(
        image.as_str().unwrap().ends_with("busybox:latest"),
        "{image}"
    );

    // And generating from what kube play made gives the YAML back: the pod's own
    // volumes are emptyDirs again, play's labels and container names are undone.
    let (again, _) = fresh.ok2(&["kube", "generate", "shop"]);
    assert_eq!(again, yaml);

    // podman accepts the same YAML (on the port the hoist pod held: removed first).
    env.net.ok(&["pod", "rm", "-f", "shop"]);
    podman_plays(&env, &yaml);
}

/// `podman kube play` of `yaml` in the test's namespace, in storage of its own: the pod
/// runs, its container has the env, limits and volume, and the port serves.
fn podman_plays(env: &KubeEnv, yaml: &str) {
    let Some(podman) = Podman::new(&env.net.ns, "kube generate podman cross-check") else {
        return;
    };
    podman.import_pause();
    let file = podman.dir.join("shop.yaml");
    std::fs::write(&file, yaml).unwrap();
    podman.run(&["kube", "play", file.to_str().unwrap()]);
    let web: Value = serde_json::from_str(&podman.run(&["inspect", "shop-web"])).unwrap();
    let web = &web[0];
    let env_vars = web["Config"]["Env"].as_array().unwrap();
    assert!(env_vars.iter().any(|e| e == "MODE=prod"), "{env_vars:?}");
    assert_eq!(web["HostConfig"]["Memory"], 64 << 20);
    assert_eq!(web["HostConfig"]["NanoCpus"], 500_000_000i64);
    let mounts = web["Mounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["Name"] == "webdata" && m["Destination"] == "/data"),
        "{mounts:?}"
    );
    wait_until("podman's pod serves", Duration::from_secs(30), || {
        env.get(PORT).as_deref() == Some("ok")
    });
}
