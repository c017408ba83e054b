//! Resource limits: the OOM killer under --memory (seen in inspect), a fork
//! bomb stopped by --pids-limit, --cpus written to the cgroup.

use super::Fixture;

#[test]
fn memory_limit_oom_kill_is_reported() {
    let Some(f) = Fixture::new() else { return };
    // `tail` keeps the whole (newline-free) stream in memory until killed.
    let out = f.out(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "32m",
        "busybox",
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(out.status.code(), Some(137));
    let state = &f.inspect("hog")["State"];
    assert_eq!(state["OOMKilled"], true, "{state}");
    assert_eq!(f.inspect("hog")["HostConfig"]["Memory"], 32 << 20);
    // The limit is visible (read-only) inside.
    let limit = f.ok(&[
        "run", "--rm", "--memory", "48m", "--cpus", "0.5", "busybox", "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max",
    ]);
    assert!(
        limit.contains(&(48u64 << 20).to_string()) && limit.contains("50000"),
        "{limit}"
    );
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&[
        "run", "-d", "--pids-limit", "12", "busybox", "sh", "-c",
        "(i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done) 2>&1; echo loop-done; exec sleep 60",
    ]);
    let logs = hoist_testkit::wait_until_ok(
        "the loop to end",
        std::time::Duration::from_secs(20),
        || {
            let l = f.ok(&["logs", &id]);
            l.contains("loop-done").then_some(l)
        },
    );
    assert!(logs.contains("can't fork"), "the limit was not hit: {logs}");
    let current = ["/sys/fs/cgroup/pids/hoist", "/sys/fs/cgroup/hoist"]
        .iter()
        .find_map(|d| std::fs::read_to_string(format!("{d}/{id}/pids.current")).ok())
        .expect("the container's pids cgroup");
    assert!(
        current.trim().parse::<u32>().unwrap() <= 12,
        "{current} processes under a limit of 12"
    );
    f.ok(&["rm", "-f", &id]);
}
