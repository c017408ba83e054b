//! A container's monitor killed with SIGKILL (issue 14): the container must
//! not go on running unlogged and unsupervised while `ps` calls it exited.
//! The monitor's death takes the container with it (parent-death signal);
//! processes that are left in the container's cgroup anyway are shown as
//! running, can be stopped and removed, and block `start`.

use super::{assert_nothing_left, stderr, Fixture};
use hoist_testkit::{wait_until, ChildGuard};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

fn state_json(f: &Fixture, id: &str) -> Value {
    // In the container's run dir, beside its spec.
    let spec = f.inspect(id)["OCIConfigPath"].as_str().unwrap().to_string();
    let path = std::path::Path::new(&spec).with_file_name("state.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// SIGKILL by PID (a monitor this test started through `hoist run -d`).
fn kill9(pid: i64) {
    let ok = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -9 {pid}");
}

fn alive(pid: i64) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // A zombie not yet reaped by init counts as gone.
    !stat.is_empty()
        && !stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
}

/// PIDs of live processes in the PID namespace `ns` (a `pid:[N]` link).
fn in_pid_namespace(ns: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path().join("ns/pid")).is_ok_and(|l| l.display().to_string() == ns)
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|pid| pid.parse().is_ok_and(alive))
        .collect()
}

/// The container's cgroup directories, one per v1 hierarchy (or the v2 one).
fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|c| c.path().join("hoist").join(id))
        .chain([PathBuf::from("/sys/fs/cgroup/hoist").join(id)])
        .filter(|d| d.join("cgroup.procs").exists())
        .collect()
}

fn cgroup_pids(id: &str) -> Vec<String> {
    let mut v: Vec<String> = cgroup_dirs(id)
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn ps_states(f: &Fixture) -> Vec<(String, String, String)> {
    f.ok(&["ps", "-a", "--format", "json"])
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["Names"].as_str().unwrap().to_string(),
                v["State"].as_str().unwrap().to_string(),
                v["Status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn killed_monitors_take_their_containers_and_ports_with_them() {
    let Some(f) = Fixture::new() else { return };
    const N: usize = 20;
    struct Victim {
        name: String,
        id: String,
        pidns: String,
        /// Held open: a freed namespace's inode number is given to the next
        /// new one at once (another test's), which would then look like ours.
        _pidns_fd: std::fs::File,
        monitor: i64,
        port: u16,
    }
    let mut victims = Vec::new();
    for i in 0..N {
        let name = format!("victim{i}");
        let port = hoist_testkit::free_port();
        let publish = format!("127.0.0.1:{port}:80");
        // A child besides PID 1, and half of them as a non-root user (the
        // credential change must not clear the parent-death signal).
        let mut args = vec!["run", "-d", "--name", &name, "-p", &publish];
        if i % 2 == 1 {
            args.extend(["--user", "1000:1000"]);
        }
        args.extend(["busybox", "sh", "-c", "sleep 600 & sleep 601; wait"]);
        let id = f.ok(&args);
        let st = state_json(&f, &id);
        let pid = st["pid"].as_i64().unwrap();
        let pidns = std::fs::read_link(format!("/proc/{pid}/ns/pid"))
            .unwrap()
            .display()
            .to_string();
        let pidns_fd = std::fs::File::open(format!("/proc/{pid}/ns/pid")).unwrap();
        victims.push(Victim {
            name,
            id,
            pidns,
            _pidns_fd: pidns_fd,
            monitor: st["monitor_pid"].as_i64().unwrap(),
            port,
        });
    }
    for v in &victims {
        wait_until(
            &format!("both sleeps of {}", v.name),
            Duration::from_secs(20),
            || in_pid_namespace(&v.pidns).len() >= 3,
        );
        assert!(std::net::TcpStream::connect(("127.0.0.1", v.port)).is_ok());
    }
    for v in &victims {
        kill9(v.monitor);
    }
    for v in &victims {
        wait_until(
            &format!("every process of {} to end with its monitor", v.name),
            Duration::from_secs(20),
            || in_pid_namespace(&v.pidns).is_empty() && cgroup_pids(&v.id).is_empty(),
        );
        // Its port went with the monitor, and nothing answers it any more.
        assert!(std::net::TcpStream::connect(("127.0.0.1", v.port)).is_err());
    }
    // ps and inspect tell the truth: exited, no PID, and why.
    let states = ps_states(&f);
    assert_eq!(states.len(), N);
    for (name, state, status) in &states {
        assert_eq!(state, "exited", "{name}: {status}");
    }
    for v in &victims {
        let st = f.inspect(&v.name)["State"].clone();
        assert_eq!(st["Status"], "exited", "{st}");
        assert_eq!(st["Pid"], 0, "{st}");
        assert!(st["Error"].as_str().unwrap().contains("monitor"), "{st}");
    }
    // A start after that really starts it again, with its port.
    let again = &victims[0];
    f.ok(&["start", &again.name]);
    let st = f.inspect(&again.name)["State"].clone();
    assert_eq!(st["Status"], "running", "{st}");
    assert!(alive(st["Pid"].as_i64().unwrap()));
    wait_until(
        "the port of the restarted container",
        Duration::from_secs(10),
        || std::net::TcpStream::connect(("127.0.0.1", again.port)).is_ok(),
    );
    for v in &victims {
        f.ok(&["rm", "-f", &v.name]);
        assert_nothing_left(&v.id);
        assert!(in_pid_namespace(&v.pidns).is_empty());
    }
    assert_eq!(f.ok(&["ps", "-aq"]), "");
}

#[test]
fn processes_left_in_the_cgroup_show_as_running_and_block_start_until_stopped() {
    let Some(f) = Fixture::new() else { return };
    let port = hoist_testkit::free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let id = f.ok(&[
        "run", "-d", "--name", "leaky", "-p", &publish, "busybox", "sleep", "600",
    ]);
    assert_eq!(f.ok(&["port", "leaky", "80"]), format!("127.0.0.1:{port}"));
    let st = state_json(&f, &id);
    let (pid, monitor) = (
        st["pid"].as_i64().unwrap(),
        st["monitor_pid"].as_i64().unwrap(),
    );
    // A process outside the container's PID namespace that got into its
    // cgroup: it does not die with the container's PID 1.
    let mut stray = ChildGuard::spawn(std::process::Command::new("sleep").arg("600")).unwrap();
    let dirs = cgroup_dirs(&id);
    assert!(!dirs.is_empty());
    for d in &dirs {
        std::fs::write(d.join("cgroup.procs"), stray.id().to_string()).unwrap();
    }
    kill9(monitor);
    wait_until(
        "the container's PID 1 to die",
        Duration::from_secs(20),
        || !alive(pid),
    );
    // Still something of it runs: ps and inspect say so.
    let states = ps_states(&f);
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].1, "running", "{states:?}");
    assert!(states[0].2.contains("unsupervised"), "{states:?}");
    let st = f.inspect("leaky")["State"].clone();
    assert_eq!(st["Status"], "running", "{st}");
    assert!(st["Error"].as_str().unwrap().contains("monitor"), "{st}");
    // Its ports were the monitor's: none is claimed any more.
    assert_eq!(f.ok(&["port", "leaky"]), "");
    assert!(!f.ok(&["ps"]).contains(&port.to_string()));
    // start is refused, with a way out.
    let out = f.out(&["start", "leaky"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("hoist stop leaky"),
        "{}",
        stderr(&out)
    );
    assert!(!stray.exited(), "a refused start touched the process");
    // stop ends what is left.
    f.ok(&["stop", "-t", "5", "leaky"]);
    wait_until("the stray process to end", Duration::from_secs(10), || {
        stray.exited()
    });
    let st = f.inspect("leaky")["State"].clone();
    assert_eq!(st["Status"], "exited", "{st}");
    assert!(cgroup_pids(&id).is_empty());
    // Now it starts, and rm -f leaves nothing.
    f.ok(&["start", "leaky"]);
    assert_eq!(f.inspect("leaky")["State"]["Status"], "running");
    f.ok(&["rm", "-f", "leaky"]);
    assert_nothing_left(&id);
}
