//! A Job: two initContainers append to a shared emptyDir one after the other, then the main
//! container prints the file and the Job completes; a failing container is retried up to
//! backoffLimit; a Job past its activeDeadlineSeconds is stopped.

use super::env::KubeEnv;
use hoist_testkit::wait_until;
use std::time::Duration;

const JOB: &str = r#"
apiVersion: batch/v1
kind: Job
metadata: {name: build}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      volumes: [{name: work, emptyDir: {}}]
      initContainers:
        - name: first
          image: busybox:latest
          command: ["sh", "-c", "sleep 0.3; echo one >> /work/log"]
          volumeMounts: [{name: work, mountPath: /work}]
        - name: second
          image: busybox:latest
          command: ["sh", "-c", "echo two >> /work/log"]
          volumeMounts: [{name: work, mountPath: /work}]
      containers:
        - name: main
          image: busybox:latest
          command: ["sh", "-c", "echo three >> /work/log; cat /work/log"]
          volumeMounts: [{name: work, mountPath: /work}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: flaky}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: fail
          image: busybox:latest
          command: ["sh", "-c", "echo attempt; exit 3"]
---
apiVersion: batch/v1
kind: Job
metadata: {name: slow}
spec:
  activeDeadlineSeconds: 2
  template:
    spec:
      restartPolicy: OnFailure
      terminationGracePeriodSeconds: 0
      containers:
        - name: forever
          image: busybox:latest
          command: ["sleep", "300"]
"#;

#[test]
fn job_init_containers_in_order_and_backoff_limit() {
    hoist_testkit::require_root!();
    let Some(env) = KubeEnv::new("kube-job") else {
        return;
    };
    let file = env.write("job.yaml", JOB);
    env.ok2(&["kube", "play", &file]);
    wait_until("the Job completes", Duration::from_secs(20), || {
        env.state("build-0-main")["Status"] == "exited"
    });
    let st = env.state("build-0-main");
    assert_eq!(st["ExitCode"], 0);
    let logs = env.net.ok(&["logs", "build-0-main"]);
    assert_eq!(
        logs, "one\ntwo\nthree",
        "init containers ran in order, then main"
    );
    for init in ["build-0-first", "build-0-second"] {
        assert_eq!(env.state(init)["ExitCode"], 0, "{init}");
    }

    // backoffLimit 2: the first run and two retries, then it stays failed.
    wait_until(
        "flaky gives up after its retries",
        Duration::from_secs(30),
        || {
            let rec = env.net.inspect("flaky-0-fail");
            rec["RestartCount"] == 2 && rec["State"]["Status"] == "exited"
        },
    );
    env.net.ok(&["wait", "flaky-0-fail"]);
    let rec = env.net.inspect("flaky-0-fail");
    assert_eq!(rec["RestartCount"], 2, "{}", rec["State"]);
    assert_eq!(rec["State"]["ExitCode"], 3);
    assert_eq!(env.net.ok(&["logs", "flaky-0-fail"]).lines().count(), 3);

    // activeDeadlineSeconds: stopped when it passes, and not restarted.
    wait_until(
        "slow is stopped at its deadline",
        Duration::from_secs(15),
        || env.state("slow-0-forever")["Status"] == "exited",
    );
    let rec = env.net.inspect("slow-0-forever");
    assert_eq!(rec["RestartCount"], 0);
    assert_ne!(rec["State"]["ExitCode"], 0);

    // A second play does not run the completed Job again.
    env.ok2(&["kube", "play", &file]);
    assert_eq!(env.net.ok(&["logs", "build-0-main"]), "one\ntwo\nthree");
}
