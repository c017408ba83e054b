//! `x-hoist` probes (hoist's extension, Kubernetes' fields): a bad definition is refused with
//! its file and line before anything exists; a readiness probe keeps the service's published
//! port closed until it passes and is what `depends_on: service_healthy` waits for when the
//! service has no health check; the startup probe is recorded as passed; a failing liveness
//! probe kills the container.

use super::env::ComposeEnv;
use hoist_testkit::{wait_until, ChildGuard};
use std::process::Stdio;
use std::time::Duration;

const FILE: &str = r#"
name: probes
services:
  api:
    image: busybox:latest
    command: ["sh", "-c", "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1:18095:8080"]
    stop_grace_period: 1s
    x-hoist:
      startupProbe:
        exec: {command: ["true"]}
        periodSeconds: 1
      readinessProbe:
        exec: {command: ["cat", "/tmp/ready"]}
        periodSeconds: 1
        failureThreshold: 1
      livenessProbe:
        exec: {command: ["sh", "-c", "! test -e /tmp/die"]}
        periodSeconds: 1
        failureThreshold: 1
  client:
    image: busybox:latest
    command: ["sleep", "300"]
    stop_grace_period: 1s
    depends_on:
      api: {condition: service_healthy}
"#;

const BAD: &str = r#"
name: probes
services:
  api:
    image: busybox:latest
    x-hoist:
      livenessProbe:
        httpGet: {path: /, port: 8080, host: example.com}
"#;

#[test]
fn readiness_gates_ports_and_dependents_liveness_kills_bad_probes_refused() {
    let Some(env) = ComposeEnv::new("cmp-probes") else {
        return;
    };
    // A bad probe: refused with its position, nothing made.
    env.write("compose.yaml", BAD);
    let err = env.fails(&["compose", "up", "-d"]);
    assert!(
        err.contains("compose.yaml:8")
            && err.contains("services.api.x-hoist.livenessProbe.httpGet.host"),
        "{err}"
    );
    assert!(env.all_containers().is_empty());
    assert!(env.network_names().is_empty(), "{:?}", env.network_names());

    env.write("compose.yaml", FILE);
    let log = env.path("up.log");
    let mut up = ChildGuard::spawn(
        env.hoist()
            .args(["compose", "up", "-d"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    )
    .unwrap();
    let events = || env.ok(&["events", "--filter", "container=probes-api-1"]);
    wait_until(
        "api's readiness probe to fail once",
        Duration::from_secs(20),
        || events().contains("probe_failed"),
    );
    let served = || {
        let out = env
            .net
            .ns
            .command("curl")
            .args(["-s", "-m", "2", "http://127.0.0.1:18095/index.html"])
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).contains("hello")
    };
    // Not ready: the published port serves nothing and the dependent is not created; `up`
    // is still waiting.
    assert!(!served(), "served before ready");
    assert!(!up.exited(), "{}", std::fs::read_to_string(&log).unwrap());
    let states = env.states(&[]);
    assert!(!states.contains_key("probes-client-1"), "{states:?}");
    assert_eq!(env.inspect("probes-api-1")["State"]["Ready"], false);

    env.ok(&["exec", "probes-api-1", "touch", "/tmp/ready"]);
    wait_until("up to finish", Duration::from_secs(30), || up.exited());
    let status = up.child.wait().unwrap();
    let up_log = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{up_log}");
    assert!(
        up_log.contains("Container probes-api-1  Healthy"),
        "{up_log}"
    );
    assert!(served(), "not served once ready");
    assert_eq!(env.states(&[])["probes-client-1"].1, "running");
    let api = env.inspect("probes-api-1");
    assert_eq!(api["State"]["Started"], true, "{api}");

    // Liveness: failing once kills the container (no restart policy: it stays exited).
    env.ok(&["exec", "probes-api-1", "touch", "/tmp/die"]);
    wait_until("liveness to kill api", Duration::from_secs(20), || {
        env.states(&[])["probes-api-1"].1 == "exited"
    });
    assert!(events().contains("liveness"), "{}", events());
    env.ok(&["compose", "down", "-t", "1"]);
    assert!(env.all_containers().is_empty());
}
