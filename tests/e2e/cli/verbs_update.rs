//! `update` of a running container: the cgroup's limits change at once, a
//! restart keeps them (record and spec), a new restart policy is what the
//! running monitor applies when the container next ends; docker's errors.

use super::stderr;
use crate::container::Fixture;
use std::path::PathBuf;

/// The file of the container's cgroup that holds `what` (v1 or v2).
fn limit_file(id: &str, what: &str) -> PathBuf {
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let (ctrl, v1_name, v2_name) = match what {
        "memory" => ("memory", "memory.limit_in_bytes", "memory.max"),
        "cpu" => ("cpu", "cpu.cfs_quota_us", "cpu.max"),
        _ => ("pids", "pids.max", "pids.max"),
    };
    if v2 {
        PathBuf::from(format!("/sys/fs/cgroup/hoist/{id}/{v2_name}"))
    } else {
        PathBuf::from(format!("/sys/fs/cgroup/{ctrl}/hoist/{id}/{v1_name}"))
    }
}

fn read(id: &str, what: &str) -> String {
    let text = std::fs::read_to_string(limit_file(id, what)).unwrap();
    text.split_whitespace().next().unwrap_or("").to_string()
}

#[test]
fn update_changes_a_running_containers_limits_and_restart_policy() {
    let Some(f) = Fixture::new() else { return };
    let script = "while [ ! -e /tmp/stop ]; do sleep 0.05; done; rm /tmp/stop; exit 3";
    f.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "--memory",
        "64m",
        "--pids-limit",
        "20",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let id = f.inspect("box")["Id"].as_str().unwrap().to_string();
    assert_eq!(read(&id, "memory"), (64u64 << 20).to_string());
    assert_eq!(read(&id, "pids"), "20");

    let out = f.ok(&[
        "container",
        "update",
        "--memory",
        "128m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "50",
        "--restart",
        "always",
        "box",
    ]);
    assert_eq!(out, "box");
    assert_eq!(read(&id, "memory"), (128u64 << 20).to_string());
    assert_eq!(read(&id, "cpu"), "50000");
    assert_eq!(read(&id, "pids"), "50");
    let host = &f.inspect("box")["HostConfig"];
    assert_eq!(host["Memory"], 128i64 << 20);
    assert_eq!(host["NanoCpus"], 500_000_000i64);
    assert_eq!(host["PidsLimit"], 50);
    assert_eq!(host["RestartPolicy"]["Name"], "always");
    // Shrinking works too (v1: the limit before memsw).
    f.ok(&["update", "-m", "96m", "box"]);
    assert_eq!(read(&id, "memory"), (96u64 << 20).to_string());

    // The policy set after the start is the one applied when it ends.
    f.ok(&["exec", "box", "touch", "/tmp/stop"]);
    f.wait_for(
        "a restart by the updated policy",
        20,
        |v| v["RestartCount"] == 1 && v["State"]["Running"] == true,
        "box",
    );
    // The new start (a new cgroup) has the updated limits.
    assert_eq!(read(&id, "memory"), (96u64 << 20).to_string());
    assert_eq!(read(&id, "pids"), "50");
    f.ok(&["restart", "-t", "1", "box"]);
    assert_eq!(read(&id, "cpu"), "50000");

    let none = f.out(&["update", "box"]);
    assert_eq!(none.status.code(), Some(125), "{}", stderr(&none));
    let small = f.out(&["update", "-m", "1k", "box"]);
    assert_eq!(small.status.code(), Some(1));
    assert!(
        stderr(&small).contains("minimum memory"),
        "{}",
        stderr(&small)
    );
    // Memory plus swap set at create bounds a new memory limit.
    f.ok(&[
        "create",
        "--name",
        "swapped",
        "-m",
        "64m",
        "--memory-swap",
        "128m",
        "busybox",
    ]);
    let over = f.out(&["update", "-m", "256m", "swapped"]);
    assert_eq!(over.status.code(), Some(1));
    assert!(stderr(&over).contains("memory+swap"), "{}", stderr(&over));
    f.ok(&["update", "-m", "96m", "swapped"]);
    let bad = f.out(&["update", "--restart", "sometimes", "box"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("invalid restart policy"),
        "{}",
        stderr(&bad)
    );
}
