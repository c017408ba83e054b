//! End-to-end tests: restart policies, events, probes and readiness gating
//! (root, on the busybox base image; crates/runtime/src/{restart,events}.rs,
//! probe/).

use crate::container::{assert_nothing_left, stderr, Fixture};
use serde_json::Value;
use std::time::Duration;

/// Whether a `hoist __monitor ID` process is alive.
fn monitor_alive(id: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'));
        !zombie && cmd.contains("__monitor") && cmd.contains(id)
    })
}

fn wait_monitor_gone(id: &str) {
    hoist_testkit::wait_until("the monitor to end", Duration::from_secs(20), || {
        !monitor_alive(id)
    });
}

/// The container's events as JSON values.
fn events(f: &Fixture, name: &str) -> Vec<Value> {
    let filter = format!("container={name}");
    f.ok(&["events", "--filter", &filter, "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("event JSON"))
        .collect()
}

fn count(evs: &[Value], action: &str) -> usize {
    evs.iter().filter(|e| e["action"] == action).count()
}

#[test]
fn on_failure_restarts_exactly_n_times() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:3",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    wait_monitor_gone(&id);
    let v = f.inspect("flaky");
    assert_eq!(v["State"]["Status"], "exited", "{v}");
    assert_eq!(v["State"]["ExitCode"], 3);
    assert_eq!(v["RestartCount"], 3, "{v}");
    assert_eq!(v["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(v["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 3);
    let evs = events(&f, "flaky");
    assert_eq!(count(&evs, "start"), 4, "{evs:?}");
    assert_eq!(count(&evs, "die"), 4);
    assert_eq!(count(&evs, "restart"), 3);
    assert!(evs.iter().all(|e| e["id"] == id.as_str()));
    let die = evs.iter().find(|e| e["action"] == "die").unwrap();
    assert_eq!(die["attributes"]["exitCode"], "3");
    // A success is not a failure: on-failure leaves it alone.
    let ok = f.ok(&[
        "run",
        "-d",
        "--name",
        "fine",
        "--restart",
        "on-failure",
        "busybox",
        "true",
    ]);
    wait_monitor_gone(&ok);
    assert_eq!(f.inspect("fine")["RestartCount"], 0);
    f.ok(&["rm", "flaky", "fine"]);
    assert_nothing_left(&id);
}

#[test]
fn always_restarts_after_success_until_stopped() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 0.1",
    ]);
    f.wait_for(
        "two restarts",
        20,
        |v| v["RestartCount"].as_u64() >= Some(2),
        "loop",
    );
    f.ok(&["stop", "-t", "1", "loop"]);
    wait_monitor_gone(&id);
    let v = f.inspect("loop");
    assert_eq!(v["State"]["Status"], "exited", "{v}");
    let evs = events(&f, "loop");
    // Every start was followed by its die: nothing started after the stop.
    assert_eq!(count(&evs, "start"), count(&evs, "die"), "{evs:?}");
    assert_eq!(evs.last().unwrap()["action"], "die", "{evs:?}");
    f.ok(&["rm", "loop"]);
    assert_nothing_left(&id);
}

#[test]
fn stop_of_a_long_running_container_is_final() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&[
        "run",
        "-d",
        "--name",
        "svc",
        "--restart",
        "unless-stopped",
        "busybox",
        "sleep",
        "60",
    ]);
    let ps = f.ok(&["ps"]);
    assert!(ps.contains("svc"), "{ps}");
    f.ok(&["stop", "-t", "1", "svc"]);
    wait_monitor_gone(&id);
    let v = f.inspect("svc");
    assert_eq!(v["State"]["Status"], "exited");
    assert_eq!(v["RestartCount"], 0);
    // `start` clears the stop: the policy applies again.
    f.ok(&["start", "svc"]);
    f.wait_for("running", 10, |v| v["State"]["Status"] == "running", "svc");
    f.ok(&["rm", "-f", "svc"]);
    wait_monitor_gone(&id);
    assert_nothing_left(&id);
}

#[test]
fn bad_restart_flags_fail_before_anything_starts() {
    let Some(f) = Fixture::new() else { return };
    let out = f.out(&["run", "-d", "--restart", "sometimes", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("on-failure[:N]"), "{}", stderr(&out));
    let out = f.out(&[
        "run",
        "-d",
        "--rm",
        "--restart",
        "always",
        "busybox",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("--rm"), "{}", stderr(&out));
    assert_eq!(f.ok(&["ps", "-aq"]), "");
}

#[test]
fn events_filter_and_since() {
    let Some(f) = Fixture::new() else { return };
    f.ok(&["run", "--name", "one", "busybox", "true"]);
    let out = f.out(&["run", "--name", "two", "busybox", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    let lines = f.ok(&["events", "--filter", "container=two"]);
    assert!(lines.contains("container die"), "{lines}");
    assert!(lines.contains("exitCode=7"), "{lines}");
    assert!(!lines.contains("name=one"), "{lines}");
    let all = f.ok(&["events", "--filter", "event=start"]);
    assert_eq!(all.lines().count(), 2, "{all}");
    assert_eq!(f.ok(&["events", "--since", "2999-01-01T00:00:00Z"]), "");
    let out = f.out(&["events", "--filter", "colour=blue"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("container=NAME"), "{}", stderr(&out));
    f.ok(&["rm", "one", "two"]);
}

fn probe_events(f: &Fixture, name: &str, probe: &str) -> Vec<Value> {
    events(f, name)
        .into_iter()
        .filter(|e| e["action"] == "probe_failed" && e["attributes"]["probe"] == probe)
        .collect()
}

/// A GET on 127.0.0.1:`port`: Some(response) or None when the connection
/// was closed without an answer.
fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    (!out.is_empty()).then_some(out)
}

const WEB: &str = "echo hello > /tmp/index.html; touch /tmp/ready; exec httpd -f -p 8080 -h /tmp";

/// A startup probe that passes once httpd listens, so the probes after it
/// never see a refused connection from a server still starting.
const STARTED: &str = "tcp :8080 period=100ms failure=100";

#[test]
fn readiness_gates_new_connections_only() {
    use std::io::{Read, Write};
    let Some(f) = Fixture::new() else { return };
    let port = hoist_testkit::free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    let id = f.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &publish,
        "--startup-probe",
        STARTED,
        "--readiness-probe",
        "exec cat /tmp/ready period=200ms failure=1",
        "busybox",
        "sh",
        "-c",
        WEB,
    ]);
    f.wait_for("ready", 20, |v| v["State"]["Ready"] == true, "web");
    assert!(f.ok(&["ps"]).contains("(ready)"));
    assert!(get(port, "/index.html").unwrap().contains("hello"));
    // A connection opened while ready...
    // (The proxy accepts and splices it at once; the readiness change below
    // takes an exec and a probe period.)
    let mut open = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    f.ok(&["exec", "web", "rm", "/tmp/ready"]);
    f.wait_for("not ready", 20, |v| v["State"]["Ready"] == false, "web");
    assert!(f.ok(&["ps"]).contains("(not ready)"));
    // ...new connections are refused, the open one keeps working.
    assert_eq!(get(port, "/index.html"), None);
    open.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    open.read_to_string(&mut body).unwrap();
    assert!(body.contains("hello"), "{body}");
    let evs = events(&f, "web");
    assert!(count(&evs, "not_ready") >= 1, "{evs:?}");
    f.ok(&["exec", "web", "touch", "/tmp/ready"]);
    f.wait_for("ready again", 20, |v| v["State"]["Ready"] == true, "web");
    assert!(get(port, "/index.html").unwrap().contains("hello"));
    f.ok(&["rm", "-f", "web"]);
    wait_monitor_gone(&id);
    assert_nothing_left(&id);
}

#[test]
fn http_and_tcp_probes_pass_and_fail() {
    let Some(f) = Fixture::new() else { return };
    let ok = f.ok(&[
        "run",
        "-d",
        "--name",
        "ok",
        "--startup-probe",
        STARTED,
        "--readiness-probe",
        "http :8080/index.html period=200ms",
        "--liveness-probe",
        "tcp :8080 period=200ms",
        "busybox",
        "sh",
        "-c",
        WEB,
    ]);
    f.wait_for("ready", 20, |v| v["State"]["Ready"] == true, "ok");
    // A 404 is a failure: never ready.
    let missing = f.ok(&[
        "run",
        "-d",
        "--name",
        "missing",
        "--startup-probe",
        STARTED,
        "--readiness-probe",
        "http :8080/nothing-here period=200ms failure=1",
        "busybox",
        "sh",
        "-c",
        WEB,
    ]);
    hoist_testkit::wait_until("a readiness failure", Duration::from_secs(20), || {
        !probe_events(&f, "missing", "readiness").is_empty()
    });
    assert_eq!(f.inspect("missing")["State"]["Ready"], false);
    let msg = probe_events(&f, "missing", "readiness")[0]["attributes"]["message"].to_string();
    assert!(msg.contains("404"), "{msg}");
    // Nothing listens on 9999: the liveness probe kills the container.
    let dead = f.ok(&[
        "run",
        "-d",
        "--name",
        "dead",
        "--liveness-probe",
        "tcp :9999 period=200ms failure=2",
        "busybox",
        "sleep",
        "60",
    ]);
    wait_monitor_gone(&dead);
    assert_eq!(f.inspect("dead")["State"]["ExitCode"], 137);
    assert_eq!(probe_events(&f, "dead", "liveness").len(), 1);
    // The "ok" container was never killed.
    assert!(probe_events(&f, "ok", "liveness").is_empty());
    assert_eq!(f.inspect("ok")["State"]["Status"], "running");
    f.ok(&["rm", "-f", "ok", "missing", "dead"]);
    for id in [ok, missing, dead] {
        wait_monitor_gone(&id);
        assert_nothing_left(&id);
    }
}

#[test]
fn probe_timeouts_count_as_failures() {
    let Some(f) = Fixture::new() else { return };
    // nc accepts and never answers (its stdin stays open): the GET times out.
    // The startup probe waits until nc listens (9000 = 0x2328 in
    // /proc/net/tcp6, where nc listens on ::) so the first liveness check
    // cannot be refused instead.
    let http = f.ok(&[
        "run",
        "-d",
        "--name",
        "silent",
        "--startup-probe",
        "exec grep -q :2328 /proc/net/tcp /proc/net/tcp6 period=100ms failure=100",
        "--liveness-probe",
        "http :9000 period=200ms timeout=300ms failure=1",
        "busybox",
        "sh",
        "-c",
        "sleep 100 | nc -l -p 9000",
    ]);
    let exec = f.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--liveness-probe",
        "exec sleep 5 period=200ms timeout=300ms failure=1",
        "busybox",
        "sleep",
        "60",
    ]);
    wait_monitor_gone(&http);
    wait_monitor_gone(&exec);
    let m = probe_events(&f, "silent", "liveness")[0]["attributes"]["message"].to_string();
    assert!(m.contains("no answer") || m.contains("timed out"), "{m}");
    let m = probe_events(&f, "slow", "liveness")[0]["attributes"]["message"].to_string();
    assert!(m.contains("timeout"), "{m}");
    f.ok(&["rm", "silent", "slow"]);
}

#[test]
fn startup_probe_holds_off_liveness_then_liveness_restarts() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&[
        "run",
        "-d",
        "--name",
        "slowstart",
        "--restart",
        "always",
        "--startup-probe",
        "exec cat /tmp/started period=200ms failure=50",
        "--liveness-probe",
        "exec cat /tmp/started period=200ms failure=1",
        "busybox",
        "sh",
        "-c",
        "sleep 1; touch /tmp/started; exec sleep 60",
    ]);
    // Liveness (failure=1) would have killed it at once without the
    // startup probe, which passes once the file is there.
    let v = f.wait_for(
        "the startup probe to pass",
        20,
        |v| v["State"]["Started"] == true,
        "slowstart",
    );
    assert_eq!(v["RestartCount"], 0, "{v}");
    assert!(probe_events(&f, "slowstart", "liveness").is_empty());
    f.ok(&["exec", "slowstart", "rm", "/tmp/started"]);
    f.wait_for(
        "a liveness restart",
        20,
        |v| v["RestartCount"] == 1,
        "slowstart",
    );
    let all = events(&f, "slowstart");
    assert_eq!(
        probe_events(&f, "slowstart", "liveness").len(),
        1,
        "{all:#?}"
    );
    // The new run starts over: its startup probe passes again.
    f.wait_for(
        "the startup probe of the restarted run",
        20,
        |v| v["State"]["Started"] == true && v["RestartCount"] == 1,
        "slowstart",
    );
    f.ok(&["rm", "-f", "slowstart"]);
    wait_monitor_gone(&id);
    assert_nothing_left(&id);
}

#[test]
fn bad_probes_fail_before_anything_starts() {
    let Some(f) = Fixture::new() else { return };
    for (flag, spec, want) in [
        ("--liveness-probe", "ftp :21", "unknown probe kind"),
        ("--startup-probe", "http 8080", "should start with ':'"),
        ("--readiness-probe", "tcp :80 period=soon", "not a duration"),
        ("--readiness-probe", "tcp :5432", "not published"),
    ] {
        let out = f.out(&[
            "run",
            "-d",
            "-p",
            "127.0.0.1:0:80",
            flag,
            spec,
            "busybox",
            "true",
        ]);
        assert_eq!(out.status.code(), Some(125), "{spec}");
        assert!(stderr(&out).contains(want), "{spec}: {}", stderr(&out));
    }
    assert_eq!(f.ok(&["ps", "-aq"]), "");
}
