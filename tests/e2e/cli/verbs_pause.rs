//! `pause`/`unpause` with the cgroup freezer: a counter stops advancing while
//! paused and resumes after; ps and inspect say "paused"; a paused container
//! can still be removed with `rm -f`; docker's errors for the wrong state.

use super::stderr;
use crate::container::Fixture;
use std::time::{Duration, Instant};

fn last_count(f: &Fixture) -> u64 {
    f.ok(&["logs", "counter"])
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn pause_freezes_a_counter_and_unpause_resumes_it() {
    let Some(f) = Fixture::new() else { return };
    let script = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done";
    f.ok(&[
        "run", "-d", "--name", "counter", "busybox", "sh", "-c", script,
    ]);
    hoist_testkit::wait_until("the counter counts", Duration::from_secs(10), || {
        last_count(&f) > 2
    });
    assert_eq!(f.ok(&["container", "pause", "counter"]), "counter");
    assert_eq!(f.ok(&["ps", "--format", "{{.State}}"]), "paused");
    assert!(f
        .ok(&["ps", "--format", "{{.Status}}"])
        .contains("(Paused)"));
    let state = &f.inspect("counter")["State"];
    assert_eq!(state["Status"], "paused");
    assert_eq!(state["Paused"], true);
    assert_eq!(state["Running"], true);
    // Frozen: over a second (20 ticks of the counter) nothing is written.
    let frozen_at = last_count(&f);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        assert_eq!(
            last_count(&f),
            frozen_at,
            "the counter advanced while paused"
        );
    }
    let again = f.out(&["pause", "counter"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already paused"),
        "{}",
        stderr(&again)
    );

    assert_eq!(f.ok(&["unpause", "counter"]), "counter");
    hoist_testkit::wait_until("the counter resumes", Duration::from_secs(10), || {
        last_count(&f) > frozen_at + 2
    });
    assert_eq!(f.inspect("counter")["State"]["Status"], "running");
    let not = f.out(&["unpause", "counter"]);
    assert_eq!(not.status.code(), Some(1));
    assert!(stderr(&not).contains("is not paused"), "{}", stderr(&not));

    // A paused container is removed by rm -f (thawed so SIGKILL lands), and
    // nothing of the freezer is left behind.
    f.ok(&["pause", "counter"]);
    let id = f.inspect("counter")["Id"].as_str().unwrap().to_string();
    f.ok(&["rm", "-f", "counter"]);
    assert_eq!(f.ok(&["ps", "-aq"]), "");
    for dir in [
        format!("/sys/fs/cgroup/freezer/hoist/{id}"),
        format!("/sys/fs/cgroup/hoist/{id}"),
    ] {
        assert!(!std::path::Path::new(&dir).exists(), "{dir} left behind");
    }
}
