//! Cross-check with `podman kube play` (Debian's podman 4.3): the same Pod YAML — a
//! ConfigMap in the file used as env, two initContainers appending to a shared emptyDir,
//! then the main container printing the file — gives the same container name and the same
//! output on both.

use super::env::KubeEnv;
use crate::podman_env::Podman;
use hoist_testkit::wait_until;
use std::time::Duration;

const YAML: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: words}
data: {LAST: three}
---
apiVersion: v1
kind: Pod
metadata: {name: seq}
spec:
  restartPolicy: Never
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
    - name: first
      image: docker.io/library/busybox:latest
      command: ["sh", "-c", "echo one >> /work/log"]
      volumeMounts: [{name: work, mountPath: /work}]
    - name: second
      image: docker.io/library/busybox:latest
      command: ["sh", "-c", "echo two >> /work/log"]
      volumeMounts: [{name: work, mountPath: /work}]
  containers:
    - name: main
      image: docker.io/library/busybox:latest
      command: ["sh", "-c", "echo $LAST >> /work/log; cat /work/log"]
      env:
        - name: LAST
          valueFrom: {configMapKeyRef: {name: words, key: LAST}}
      volumeMounts: [{name: work, mountPath: /work}]
"#;

#[test]
fn podman_and_hoist_play_the_same_pod_alike() {
    hoist_testkit::require_root!();
    let Some(env) = KubeEnv::new("kube-podman") else {
        return;
    };
    let Some(podman) = Podman::new(&env.net.ns, "kube play podman cross-check") else {
        return;
    };
    podman.import_pause();
    let file = env.write("seq.yaml", YAML);
    env.ok2(&["kube", "play", &file]);
    wait_until(
        "hoist's main container ends",
        Duration::from_secs(20),
        || env.state("seq-main")["Status"] == "exited",
    );
    let hoist_out = env.net.ok(&["logs", "seq-main"]);

    podman.run(&["kube", "play", &file]);
    podman.run(&["wait", "seq-main"]);
    let podman_out = podman.run(&["logs", "seq-main"]);
    assert_eq!(podman_out.trim(), "one\ntwo\nthree", "podman's own result");
    assert_eq!(hoist_out.trim(), podman_out.trim());
    // The same name for the pod's container (`<pod>-<container>`); podman removes init
    // containers once they have run, hoist keeps them exited (as Kubernetes keeps their
    // statuses).
    let names = podman.run(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(names.lines().any(|n| n == "seq-main"), "podman: {names}");
    assert_eq!(
        env.containers(),
        vec!["seq-first", "seq-main", "seq-second"]
    );
}
