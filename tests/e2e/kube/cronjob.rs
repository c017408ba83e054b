//! A CronJob (`*/1 * * * *` with the test-only 2-second minute) runs its Job at least twice
//! through the scheduler process `kube play` started; `kube ps` shows its next run; the
//! history limit takes old runs down; `kube down` removes it, its Jobs' containers, and the
//! scheduler ends by itself. A bad schedule is refused before anything starts.

use super::env::KubeEnv;
use hoist_testkit::wait_until;
use std::process::Output;
use std::time::Duration;

const CRON: &str = r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 1
  failedJobsHistoryLimit: 0
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          schedulerName: fast
          volumes: [{name: out, hostPath: {path: OUT}}]
          containers:
            - name: tick
              image: busybox:latest
              command: ["sh", "-c", "echo tick >> /out/ticks"]
              volumeMounts: [{name: out, mountPath: /out}]
"#;

/// hoist with the scheduler's minute made two seconds (inherited by the scheduler that
/// `kube play` starts).
fn fast(env: &KubeEnv, args: &[&str]) -> Output {
    env.net
        .hoist()
        .env("HOIST_KUBE_CRON_MINUTE", "2")
        .args(args)
        .output()
        .expect("run hoist")
}

fn scheduler_pid(env: &KubeEnv) -> Option<i32> {
    let text = std::fs::read_to_string(env.net.root.join("kube/cronjobs/scheduler.pid")).ok()?;
    let pid: i32 = text.split_whitespace().next()?.parse().ok()?;
    std::path::Path::new(&format!("/proc/{pid}"))
        .exists()
        .then_some(pid)
}

#[test]
fn cronjob_runs_on_schedule_until_down() {
    hoist_testkit::require_root!();
    let Some(env) = KubeEnv::new("kube-cron") else {
        return;
    };
    let out_dir = env.dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let file = env.write("cron.yaml", &CRON.replace("OUT", out_dir.to_str().unwrap()));

    let bad = env.write("bad.yaml", &CRON.replace("*/1 * * * *", "*/1 * * *"));
    let err = env.fails(&["kube", "play", &bad]);
    assert!(
        err.contains("4 fields") && err.contains("five fields"),
        "{err}"
    );
    assert!(
        scheduler_pid(&env).is_none(),
        "nothing started for a bad file"
    );

    let play = fast(&env, &["kube", "play", &file]);
    assert!(
        play.status.success(),
        "{}",
        String::from_utf8_lossy(&play.stderr)
    );
    // The Job template's fields hoist does not carry out are named at the CronJob's play.
    let warned = String::from_utf8_lossy(&play.stderr);
    assert!(
        warned.contains("spec.jobTemplate.spec.template.spec.schedulerName is not supported"),
        "{warned}"
    );
    let pid = scheduler_pid(&env).expect("the scheduler runs after play");
    let ps = String::from_utf8_lossy(&fast(&env, &["kube", "ps"]).stdout).into_owned();
    let row = ps.lines().find(|l| l.contains("tick")).unwrap_or_default();
    assert!(row.contains("*/1 * * * *"), "{ps}");
    assert!(!row.ends_with("<none>"), "a next run is shown: {ps}");

    let ticks = || {
        std::fs::read_to_string(out_dir.join("ticks"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    wait_until("three runs of the CronJob", Duration::from_secs(40), || {
        ticks() >= 3
    });
    // A second play of the same file keeps the one scheduler.
    assert!(fast(&env, &["kube", "play", &file]).status.success());
    assert_eq!(scheduler_pid(&env), Some(pid));
    // History limit 1: finished runs beyond it were taken down.
    let runs = std::fs::read_dir(env.net.root.join("kube/cronjobs/runs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert!(runs <= 2, "{runs} run files kept");

    env.ok2(&["kube", "down", &file]);
    wait_until(
        "the scheduler ends with no CronJob left",
        Duration::from_secs(15),
        || scheduler_pid(&env).is_none(),
    );
    // The scheduler is gone, so no run comes after this; the Jobs' containers went.
    assert!(env.containers().is_empty(), "{:?}", env.containers());
    let ps = env.net.ok(&["kube", "ps"]);
    assert!(!ps.contains("tick"), "{ps}");
}
