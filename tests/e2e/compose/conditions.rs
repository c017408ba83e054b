//! `depends_on` conditions: a dependent of a `service_healthy` dependency starts only once
//! the dependency's health check passes; one of a `service_completed_successfully` one only
//! after its exit 0, and not at all after a failing exit (the error names what was started).
//! Each dependency leaves a file in a shared volume only just before its condition can be
//! met; the dependent prints whether it saw that file when it started.

use super::env::ComposeEnv;

const FILE: &str = r#"
name: cond
services:
  slow:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; touch /shared/ready; exec sleep 300"]
    volumes: ["shared:/shared"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "test", "-e", "/shared/ready"]
      interval: 200ms
      retries: 50
  waits-healthy:
    image: busybox:latest
    command: ["sh", "-c", "test -e /shared/ready && echo saw-ready || echo too-early; exec sleep 300"]
    volumes: ["shared:/shared"]
    stop_grace_period: 1s
    depends_on:
      slow: {condition: service_healthy}
  once:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; echo done > /shared/done; exit ${ONCE_EXIT:-0}"]
    volumes: ["shared:/shared"]
  waits-done:
    image: busybox:latest
    command: ["sh", "-c", "cat /shared/done 2>/dev/null || echo too-early; exec sleep 300"]
    volumes: ["shared:/shared"]
    stop_grace_period: 1s
    depends_on:
      once: {condition: service_completed_successfully}
volumes:
  shared: {}
"#;

#[test]
fn healthy_and_completed_conditions_hold_the_dependent_back() {
    let Some(env) = ComposeEnv::new("cmp-cond") else {
        return;
    };
    env.write("compose.yaml", FILE);
    env.ok(&["compose", "up", "-d"]);
    let logs = env.ok(&["compose", "logs", "waits-healthy", "waits-done"]);
    assert!(
        logs.contains("cond-waits-healthy-1  | saw-ready"),
        "the dependent started before its dependency was healthy:\n{logs}"
    );
    assert!(
        logs.contains("cond-waits-done-1     | done"),
        "the dependent started before the one-shot completed:\n{logs}"
    );
    let states = env.states(&[]);
    assert_eq!(states["cond-once-1"].1, "exited");
    assert_eq!(states["cond-waits-done-1"].1, "running");
    env.ok(&["compose", "down", "-v", "-t", "1"]);

    // A one-shot that fails: its dependent is never created; the error says why and which
    // containers were started before it.
    let out = env
        .hoist()
        .env("ONCE_EXIT", "3")
        .args(["compose", "up", "-d", "waits-done"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("service \"once\" didn't complete successfully: exit 3"),
        "{stderr}"
    );
    assert!(stderr.contains("cond-once-1"), "{stderr}");
    let states = env.states(&[]);
    assert!(!states.contains_key("cond-waits-done-1"), "{states:?}");
    assert!(states.contains_key("cond-once-1"), "{states:?}");
    env.ok(&["compose", "down", "-v"]);
    assert!(env.states(&[]).is_empty());
}
