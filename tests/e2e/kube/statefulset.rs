//! A StatefulSet of 2: pods `db-0`, `db-1`, each with its own volume from
//! volumeClaimTemplates (`data-db-0`, `data-db-1`), kept across `kube down` and found again
//! by the next play; a DaemonSet runs one pod on this one node.

use super::env::KubeEnv;
use hoist_testkit::wait_until;
use std::time::Duration;

const STS: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: store
          image: busybox:latest
          command: ["sh", "-c", "hostname >> /data/runs; exec sleep 300"]
          volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: agent
          image: busybox:latest
          command: ["sleep", "300"]
"#;

fn runs(env: &KubeEnv, pod: &str) -> String {
    env.net
        .exec(&format!("{pod}-store"), "cat /data/runs")
        .1
        .trim()
        .to_string()
}

#[test]
fn statefulset_keeps_each_replicas_volume_across_down_and_play() {
    hoist_testkit::require_root!();
    let Some(env) = KubeEnv::new("kube-sts") else {
        return;
    };
    let file = env.write("sts.yaml", STS);
    env.ok2(&["kube", "play", &file]);
    assert_eq!(env.pods(), vec!["agent-0", "db-0", "db-1"]);
    for pod in ["db-0", "db-1"] {
        wait_until("the first run's line", Duration::from_secs(10), || {
            runs(&env, pod) == pod
        });
    }
    env.ok2(&["kube", "down", &file]);
    assert!(env.pods().is_empty());
    let vols = env.net.ok(&["volume", "ls", "-q"]);
    for v in ["data-db-0", "data-db-1"] {
        assert!(vols.lines().any(|l| l == v), "{v} kept: {vols}");
    }
    env.ok2(&["kube", "play", &file]);
    for pod in ["db-0", "db-1"] {
        let want = format!("{pod}\n{pod}");
        wait_until(
            "the second run's line in the same volume",
            Duration::from_secs(10),
            || runs(&env, pod) == want,
        );
    }
}
