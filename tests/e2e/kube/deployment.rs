//! A Deployment of 3 replicas with a readiness probe behind a Service port: traffic reaches
//! only ready replicas; a replica whose process is killed is replaced; `--replicas 5` and a
//! second play at 2 scale it.

use super::env::KubeEnv;
use hoist_testkit::wait_until;
use std::collections::BTreeSet;
use std::time::Duration;

const PORT: u16 = 18432;

/// Each replica serves its pod's name; web-1 is not ready until /tmp/ready exists in it.
fn deployment(replicas: u32) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: app
          image: busybox:latest
          command: ["sh", "-c"]
          args:
            - |
              mkdir -p /www && hostname > /www/index.html
              [ "$(hostname)" = web-1 ] || touch /tmp/ready
              exec httpd -f -p 8080 -h /www
          ports: [{{containerPort: 8080, name: http}}]
          readinessProbe:
            exec: {{command: ["test", "-e", "/tmp/ready"]}}
            periodSeconds: 1
            failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{port: {PORT}, targetPort: http}}]
"#
    )
}

/// The pods that answered `n` requests through the Service.
fn served(env: &KubeEnv, n: usize) -> BTreeSet<String> {
    (0..n).filter_map(|_| env.get(PORT)).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn deployment_replicas_readiness_service_and_scaling() {
    hoist_testkit::require_root!();
    let Some(env) = KubeEnv::new("kube-deploy") else {
        return;
    };
    let file = env.write("web.yaml", &deployment(3));
    env.ok2(&["kube", "play", &file]);
    assert_eq!(env.pods(), vec!["web-0", "web-1", "web-2"]);

    // Only the two ready replicas get traffic, and both do (round robin).
    wait_until("both ready replicas serve", Duration::from_secs(20), || {
        served(&env, 4) == set(&["web-0", "web-2"])
    });
    assert_eq!(
        served(&env, 8),
        set(&["web-0", "web-2"]),
        "web-1 is not ready"
    );
    // web-1 becomes ready: it gets traffic too.
    env.net.exec("web-1-app", "touch /tmp/ready");
    wait_until("web-1 serves once ready", Duration::from_secs(15), || {
        served(&env, 6).contains("web-1")
    });

    // A replica whose process dies is replaced (the monitor's restart policy Always).
    let pid = env.state("web-0-app")["Pid"].as_i64().unwrap();
    assert!(pid > 0);
    // SAFETY: a signal to the container process this test's play started.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_until(
        "web-0 replaced and serving",
        Duration::from_secs(20),
        || {
            let st = env.state("web-0-app");
            st["Running"] == true && st["Pid"].as_i64() != Some(pid) && st["Pid"].as_i64() > Some(0)
        },
    );
    wait_until(
        "web-0 back behind the Service",
        Duration::from_secs(15),
        || served(&env, 6).contains("web-0"),
    );

    // Scale to 5 with --replicas, then back to 2 with the file.
    env.ok2(&["kube", "play", "--replicas", "5", &file]);
    assert_eq!(
        env.pods(),
        vec!["web-0", "web-1", "web-2", "web-3", "web-4"]
    );
    wait_until("the new replicas serve", Duration::from_secs(20), || {
        let s = served(&env, 10);
        s.contains("web-3") && s.contains("web-4")
    });
    let file = env.write("web.yaml", &deployment(2));
    env.ok2(&["kube", "play", &file]);
    assert_eq!(env.pods(), vec!["web-0", "web-1"]);
    assert_eq!(env.containers(), vec!["web-0-app", "web-1-app"]);

    env.ok2(&["kube", "down", &file]);
    assert!(env.pods().is_empty());
    assert!(env.get(PORT).is_none(), "the Service's port is closed");
    let keepers = env.net.root.join("kube").join("services");
    let left: Vec<_> = std::fs::read_dir(&keepers)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "the keeper's record and log are gone: {left:?}"
    );
}
