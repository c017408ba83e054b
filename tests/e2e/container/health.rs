//! HEALTHCHECK semantics: healthy, unhealthy after the retries, a hanging
//! check killed at its timeout, failures ignored during the start period.

use super::Fixture;

fn health(v: &serde_json::Value) -> (String, i64, usize) {
    let h = &v["State"]["Health"];
    (
        h["Status"].as_str().unwrap_or_default().to_string(),
        h["FailingStreak"].as_i64().unwrap_or(0),
        h["Log"].as_array().map_or(0, |l| l.len()),
    )
}

#[test]
fn check_passes_then_fails_after_retries() {
    let Some(f) = Fixture::new() else { return };
    f.ok(&[
        "run",
        "-d",
        "--name",
        "h",
        "--health-cmd",
        "test -e /tmp/go && test ! -e /tmp/broken && echo fine",
        "--health-interval",
        "100ms",
        "--health-retries",
        "3",
        "--health-start-period",
        "60s",
        "busybox",
        "sleep",
        "60",
    ]);
    // Failures in the start period do not count: it stays "starting" until
    // /tmp/go exists, however slowly this test gets to look.
    assert_eq!(health(&f.inspect("h")).0, "starting");
    f.ok(&["exec", "h", "touch", "/tmp/go"]);
    let v = f.wait_for("healthy", 20, |v| health(v).0 == "healthy", "h");
    let log = v["State"]["Health"]["Log"].as_array().unwrap();
    assert_eq!(log.last().unwrap()["Output"], "fine\n");
    assert!(f.ok(&["ps"]).contains("(healthy)"));
    assert_eq!(f.out(&["healthcheck", "run", "h"]).status.code(), Some(0));
    f.ok(&["exec", "h", "touch", "/tmp/broken"]);
    let v = f.wait_for("unhealthy", 20, |v| health(v).0 == "unhealthy", "h");
    assert!(
        health(&v).1 >= 3,
        "unhealthy only after 3 failures: {:?}",
        health(&v)
    );
    assert_eq!(f.out(&["healthcheck", "run", "h"]).status.code(), Some(1));
}

#[test]
fn hanging_check_is_killed_at_the_timeout() {
    let Some(f) = Fixture::new() else { return };
    f.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--health-cmd",
        "sleep 30",
        "--health-interval",
        "100ms",
        "--health-timeout",
        "300ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "60",
    ]);
    let v = f.wait_for("unhealthy", 20, |v| health(v).0 == "unhealthy", "slow");
    let entry = &v["State"]["Health"]["Log"][0];
    assert_eq!(entry["ExitCode"], -1);
    assert!(
        entry["Output"].as_str().unwrap().contains("timeout"),
        "{entry}"
    );
    // Each result took about the timeout, far less than the 30 s sleep.
    let took = |e: &serde_json::Value| {
        let t = |k: &str| hoist_runtime_time(e[k].as_str().unwrap());
        t("End") - t("Start")
    };
    assert!(took(entry) < 10.0, "{entry}");
}

#[test]
fn start_period_failures_do_not_count() {
    let Some(f) = Fixture::new() else { return };
    f.ok(&[
        "run",
        "-d",
        "--name",
        "sp",
        "--health-cmd",
        "false",
        "--health-interval",
        "100ms",
        "--health-start-period",
        "1500ms",
        "--health-start-interval",
        "100ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "60",
    ]);
    let v = f.wait_for(
        "failed checks in the start period",
        20,
        |v| health(v).2 >= 2,
        "sp",
    );
    let (status, streak, _) = health(&v);
    let started = hoist_runtime_time(v["State"]["StartedAt"].as_str().unwrap());
    let last = hoist_runtime_time(
        v["State"]["Health"]["Log"][health(&v).2 - 1]["End"]
            .as_str()
            .unwrap(),
    );
    if last - started < 1.4 {
        assert_eq!(
            (status.as_str(), streak),
            ("starting", 0),
            "a failure counted in the start period"
        );
    }
    f.wait_for(
        "unhealthy after the start period",
        20,
        |v| health(v).0 == "unhealthy",
        "sp",
    );
}

/// Seconds since the epoch of an RFC 3339 time.
fn hoist_runtime_time(s: &str) -> f64 {
    hoist_runtime::time::parse_rfc3339(s)
        .expect("an RFC 3339 time")
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
