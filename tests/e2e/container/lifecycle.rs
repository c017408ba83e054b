//! Detached containers: run -d, ps, logs -f, exec, stop, start, rm — and
//! nothing left behind; ports through the monitor's proxy.

use super::{assert_nothing_left, Fixture};
use crate::common::hoist;
use hoist_testkit::{wait_until, ChildGuard};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn detached_lifecycle_leaves_nothing_behind() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "echo started; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done",
    ]);
    assert_eq!(id.len(), 64);
    let ps = f.ok(&["ps"]);
    assert!(ps.contains("ticker") && ps.contains("Up"), "{ps}");
    let json = f.ok(&["ps", "--format", "json"]);
    let row: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(
        (row["Names"].as_str(), row["State"].as_str()),
        (Some("ticker"), Some("running"))
    );
    // logs -f streams lines as they come.
    let mut follow = ChildGuard::spawn(
        hoist(f.path())
            .args(["logs", "-f", "ticker"])
            .stdout(Stdio::piped()),
    )
    .unwrap();
    let mut lines = BufReader::new(follow.child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "started");
    let first_tick = lines.next().unwrap().unwrap();
    let later_tick = lines.nth(3).unwrap().unwrap();
    assert!(first_tick.starts_with("tick") && later_tick.starts_with("tick"));
    assert_ne!(first_tick, later_tick);
    // --tail and -t.
    let tail = f.ok(&["logs", "--tail", "2", "-t", "ticker"]);
    assert_eq!(tail.lines().count(), 2, "{tail}");
    assert!(
        tail.lines()
            .all(|l| l.contains('T') && l.contains("Z tick")),
        "{tail}"
    );
    assert!(f
        .ok(&["logs", "--since", "10m", "ticker"])
        .starts_with("started"));
    assert_eq!(
        f.ok(&["logs", "--since", "2100-01-01T00:00:00Z", "ticker"]),
        ""
    );
    // exec joins the container.
    let exec = f.ok(&[
        "exec",
        "-e",
        "X=1",
        "ticker",
        "sh",
        "-c",
        "echo $X; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert!(exec.starts_with("1\nsh -c echo started"), "{exec}");
    assert_eq!(
        f.out(&["exec", "ticker", "sh", "-c", "exit 3"])
            .status
            .code(),
        Some(3)
    );
    // stop: SIGTERM is ignored by a shell as PID 1, so SIGKILL after 1 s.
    let t = Instant::now();
    f.ok(&["stop", "-t", "1", "ticker"]);
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "stop took {:?}",
        t.elapsed()
    );
    let state = &f.inspect("ticker")["State"];
    assert_eq!(
        (state["Status"].as_str(), state["ExitCode"].as_i64()),
        (Some("exited"), Some(137))
    );
    // The follower ends when the container does.
    wait_until("logs -f to end", Duration::from_secs(10), || {
        follow.exited()
    });
    assert_nothing_left(&id);
    // start again: same container, the log goes on.
    f.ok(&["start", "ticker"]);
    assert_eq!(f.inspect("ticker")["State"]["Running"], true);
    wait_until("two starts in the log", Duration::from_secs(10), || {
        f.ok(&["logs", "ticker"]).matches("started").count() == 2
    });
    let restart_pid = f.inspect("ticker")["State"]["Pid"].as_i64().unwrap();
    f.ok(&["restart", "-t", "0", "ticker"]);
    assert_ne!(
        f.inspect("ticker")["State"]["Pid"].as_i64().unwrap(),
        restart_pid
    );
    assert_ne!(
        f.out(&["rm", "ticker"]).status.code(),
        Some(0),
        "rm of a running container"
    );
    let spec = f.inspect("ticker")["OCIConfigPath"]
        .as_str()
        .unwrap()
        .to_string();
    let run_dir = std::path::Path::new(&spec).parent().unwrap().to_path_buf();
    assert!(run_dir.exists());
    f.ok(&["rm", "-f", "ticker"]);
    assert!(!f.ok(&["ps", "-a"]).contains("ticker"));
    assert!(!f.root.join("containers").join(&id).exists());
    assert!(!run_dir.exists());
    assert_nothing_left(&id);
    // The name is free again.
    f.ok(&["create", "--name", "ticker", "busybox", "true"]);
    assert_ne!(
        f.out(&["create", "--name", "ticker", "busybox", "true"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn published_port_reaches_httpd_on_loopback() {
    let Some(f) = Fixture::new() else { return };
    let port = hoist_testkit::free_port();
    let publish = format!("{port}:8080");
    f.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        "echo hello-from-httpd > /var/www/index.html; exec httpd -f -p 8080 -h /var/www",
    ]);
    assert_eq!(
        f.ok(&["port", "web"]),
        format!("8080/tcp -> 127.0.0.1:{port}")
    );
    let body =
        hoist_testkit::wait_until_ok("httpd through the proxy", Duration::from_secs(10), || {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
            s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").ok()?;
            let mut resp = String::new();
            s.read_to_string(&mut resp).ok()?;
            resp.contains("200").then_some(resp)
        });
    assert!(body.contains("hello-from-httpd"), "{body}");
    let out = f.ok(&["ps"]);
    assert!(
        out.contains(&format!("127.0.0.1:{port}->8080/tcp")),
        "{out}"
    );
    f.ok(&["rm", "-f", "web"]);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "proxy still listening"
    );
}

#[test]
fn rm_cleans_up_after_a_killed_monitor() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&["run", "-d", "busybox", "sleep", "60"]);
    let spec = f.inspect(&id)["OCIConfigPath"]
        .as_str()
        .unwrap()
        .to_string();
    let state_file = std::path::Path::new(&spec).with_file_name("state.json");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state_file).unwrap()).unwrap();
    let monitor = state["monitor_pid"].as_i64().unwrap() as i32;
    // SAFETY: signalling the monitor this test started (by PID).
    unsafe { libc::kill(monitor, libc::SIGKILL) };
    wait_until(
        "ps to see the monitor gone",
        Duration::from_secs(10),
        || f.ok(&["ps", "-a"]).contains("Exited (255)"),
    );
    f.ok(&["rm", &id]);
    assert_nothing_left(&id);
}
