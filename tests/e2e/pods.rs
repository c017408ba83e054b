//! End-to-end tests: pods (root, on the busybox base image;
//! crates/runtime/src/pod/, src/commands/container/pod.rs): shared loopback,
//! IPC, host name and volumes, the pod's published ports, start/stop/rm
//! together, nothing left behind, bad input refused before anything starts.

use crate::container::{assert_nothing_left, stderr, Fixture};
use serde_json::Value;
use std::time::Duration;

/// A store root whose pods are force-removed at the end, pass or fail.
struct Pods(Fixture);

impl Pods {
    fn new() -> Option<Pods> {
        Fixture::new().map(Pods)
    }
    fn inspect(&self, pod: &str) -> Value {
        let v: Value = serde_json::from_str(&self.0.ok(&["pod", "inspect", pod])).unwrap();
        v[0].clone()
    }
}

impl Drop for Pods {
    fn drop(&mut self) {
        // `out`, not `ok`: a panic here while unwinding would abort.
        let ids = self.0.out(&["pod", "ps", "-q"]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = self.0.out(&["pod", "rm", "-f", id]);
        }
    }
}

/// The body of a GET on 127.0.0.1:`port`, if one came back.
fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

/// A busybox httpd on `port` serving `text` at /index.html.
fn web(port: u16, text: &str) -> String {
    format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p {port} -h /www")
}

fn ns(pid: i64, which: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{which}"))
        .unwrap()
        .display()
        .to_string()
}

/// An open descriptor of a namespace: while it is held, the namespace's
/// inode number stays its own (the kernel reuses freed ones at once), so a
/// process found in it afterwards really is in it.
fn hold_ns(pid: i64, which: &str) -> std::fs::File {
    std::fs::File::open(format!("/proc/{pid}/ns/{which}")).unwrap()
}

#[test]
fn containers_share_loopback_ipc_uts_volumes_and_the_pod_port() {
    let Some(p) = Pods::new() else { return };
    let f = &p.0;
    let port = hoist_testkit::free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    f.ok(&[
        "pod",
        "create",
        "--name",
        "duo",
        "-p",
        &publish,
        "--volume",
        "duo-data:/shared",
    ]);
    f.ok(&[
        "run",
        "-d",
        "--pod",
        "duo",
        "--name",
        "front",
        "busybox",
        "sh",
        "-c",
        &web(8080, "from-front"),
    ]);
    f.ok(&[
        "run",
        "-d",
        "--pod",
        "duo",
        "--name",
        "back",
        "busybox",
        "sh",
        "-c",
        &web(9090, "from-back"),
    ]);
    // Each reaches the other on 127.0.0.1.
    let wget = |from: &str, port: u16| {
        let url = format!("http://127.0.0.1:{port}/index.html");
        let o = f.out(&["exec", from, "wget", "-qO-", &url]);
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let got = hoist_testkit::wait_until_ok("back via front", Duration::from_secs(20), || {
        wget("front", 9090)
    });
    assert_eq!(got, "from-back");
    let got = hoist_testkit::wait_until_ok("front via back", Duration::from_secs(20), || {
        wget("back", 8080)
    });
    assert_eq!(got, "from-front");
    // The pod's published port reaches the container listening on 8080.
    assert_eq!(get(port, "/index.html").unwrap().trim(), "from-front");
    // Same net, ipc and uts namespaces (not the host's); own pid namespaces.
    let pid = |c: &str| f.inspect(c)["State"]["Pid"].as_i64().unwrap();
    let (a, b) = (pid("front"), pid("back"));
    for which in ["net", "ipc", "uts"] {
        assert_eq!(ns(a, which), ns(b, which), "{which}");
        assert_ne!(
            ns(a, which),
            ns(std::process::id() as i64, which),
            "{which}"
        );
    }
    assert_ne!(ns(a, "pid"), ns(b, "pid"));
    assert_eq!(f.ok(&["exec", "back", "hostname"]), "duo");
    // The pod's volume is seen by both.
    f.ok(&[
        "exec",
        "front",
        "sh",
        "-c",
        "echo shared-bytes > /shared/note",
    ]);
    assert_eq!(
        f.ok(&["exec", "back", "cat", "/shared/note"]),
        "shared-bytes"
    );
    let v = p.inspect("duo");
    assert_eq!(v["State"], "running", "{v}");
    assert_eq!(v["Containers"].as_array().unwrap().len(), 2);
    assert_eq!(v["Ports"][0]["HostPort"], port);
    assert!(f.ok(&["pod", "ps"]).contains("duo"));
}

#[test]
fn pod_stop_start_and_rm_act_on_all_and_leave_nothing_behind() {
    let Some(p) = Pods::new() else { return };
    let f = &p.0;
    f.ok(&[
        "pod",
        "create",
        "--name",
        "trio",
        "--volume",
        "trio-data:/data",
    ]);
    let ids: Vec<String> = ["one", "two"]
        .iter()
        .map(|n| {
            f.ok(&[
                "run", "-d", "--pod", "trio", "--name", n, "busybox", "sleep", "600",
            ])
        })
        .collect();
    let v = p.inspect("trio");
    let holder = v["HolderPid"].as_i64().unwrap();
    assert!(holder > 0, "{v}");
    let netns = ns(holder, "net");
    // Held open so the kernel cannot give the namespace's inode number to a
    // new namespace (of a test running alongside) once it is freed.
    let _keep = hold_ns(holder, "net");
    f.ok(&["pod", "stop", "-t", "1", "trio"]);
    for n in ["one", "two"] {
        assert_eq!(f.inspect(n)["State"]["Status"], "exited");
    }
    assert_eq!(p.inspect("trio")["State"], "stopped");
    assert!(
        !std::path::Path::new(&format!("/proc/{holder}")).exists() || {
            // A zombie not yet reaped by init counts as gone.
            let stat = std::fs::read_to_string(format!("/proc/{holder}/stat")).unwrap_or_default();
            stat.rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z'))
        }
    );
    f.ok(&["pod", "start", "trio"]);
    for n in ["one", "two"] {
        assert_eq!(f.inspect(n)["State"]["Status"], "running");
    }
    let holder = p.inspect("trio")["HolderPid"].as_i64().unwrap();
    let netns2 = ns(holder, "net");
    let _keep2 = hold_ns(holder, "net");
    // Without -f a running pod stays.
    let out = f.out(&["pod", "rm", "trio"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("pod stop"), "{}", stderr(&out));
    f.ok(&["pod", "rm", "-f", "trio"]);
    assert_eq!(f.ok(&["pod", "ps", "-q"]), "");
    assert_eq!(f.ok(&["ps", "-aq"]), "");
    for id in &ids {
        assert_nothing_left(id);
    }
    let root = f.path().display().to_string();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&root), "a mount under {root} remains");
    // No process is left in either network namespace the pod had.
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(link) = std::fs::read_link(e.path().join("ns/net")) else {
            continue;
        };
        let link = link.display().to_string();
        assert!(
            link != netns && link != netns2,
            "process {:?} is still in the pod's network namespace",
            e.file_name()
        );
        // Other tests run pods at the same time: only a holder of this
        // test's store counts.
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).to_string())
            .collect();
        assert!(
            !(args.iter().any(|a| a == "__pod") && args.contains(&root)),
            "a pod holder of this test still runs: {args:?}"
        );
    }
    assert!(!f
        .path()
        .join("pods")
        .read_dir()
        .unwrap()
        .any(|e| e.unwrap().file_name().len() == 64));
}

#[test]
fn bad_pod_input_fails_before_anything_starts() {
    let Some(p) = Pods::new() else { return };
    let f = &p.0;
    f.ok(&["pod", "create", "--name", "p1", "-p", "127.0.0.1:0:8080"]);
    for (args, want) in [
        (vec!["--pod", "nope"], "no such pod: nope"),
        (
            vec!["--pod", "p1", "--liveness-probe", "tcp 8080"],
            "should start with ':'",
        ),
        (
            vec!["--pod", "p1", "--startup-probe", "udp :53"],
            "unknown probe kind",
        ),
        (
            vec!["--pod", "p1", "--readiness-probe", "tcp :5432"],
            "not published",
        ),
        (
            vec!["--pod", "p1", "-p", "127.0.0.1:0:80"],
            "-p cannot be used with --pod",
        ),
        (
            vec!["--pod", "p1", "--hostname", "x"],
            "--hostname cannot be used with --pod",
        ),
        (
            vec!["--pod", "p1", "--network", "host"],
            "--network cannot be used with --pod",
        ),
    ] {
        let mut a = vec!["run", "-d"];
        a.extend(args.iter());
        a.extend(["busybox", "true"]);
        let out = f.out(&a);
        assert_eq!(out.status.code(), Some(125), "{a:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(want), "{a:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // Nothing was created, nothing started (the pod's holder neither).
    assert_eq!(f.ok(&["ps", "-aq"]), "");
    assert_eq!(p.inspect("p1")["State"], "created");
    for (args, want) in [
        (vec!["--name", "p1"], "already in use"),
        (vec!["--name", "a/b"], "invalid pod name"),
        (vec!["--name", "p2", "-p", "nonsense"], "not a port"),
        (
            vec!["--name", "p3", "--volume", "v:relative"],
            "must be absolute",
        ),
    ] {
        let mut a = vec!["pod", "create"];
        a.extend(args.iter());
        let out = f.out(&a);
        assert!(!out.status.success(), "{a:?}");
        assert!(stderr(&out).contains(want), "{a:?}: {}", stderr(&out));
    }
    assert_eq!(f.ok(&["pod", "ps", "-q"]).lines().count(), 1);
    let out = f.out(&["pod", "start", "nope"]);
    assert!(stderr(&out).contains("no such pod"), "{}", stderr(&out));
}

#[test]
fn sidecar_example_ships_the_access_log() {
    let Some(p) = Pods::new() else { return };
    let port = hoist_testkit::free_port();
    let out = std::process::Command::new("bash")
        .arg(crate::common::repo_dir().join("examples/sidecar/run.sh"))
        .env("HOIST", crate::common::hoist_bin())
        .env("HOIST_ROOT", p.0.path())
        .env("PORT", port.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("GET /index.html -> hello from the pod"),
        "{text}"
    );
    for want in [
        "url:/index.html",
        "response:200",
        "url:/missing",
        "response:404",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("shipped: ") && l.contains(want)),
            "{want} not shipped:\n{text}"
        );
    }
    // The script removed its pod and volume.
    assert_eq!(p.0.ok(&["pod", "ps", "-q"]), "");
    assert_eq!(p.0.ok(&["volume", "ls", "-q"]), "");
    // Its tmpfs volume was unmounted with it.
    let root = p.0.path().to_string_lossy().to_string();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&root), "{mounts}");
}

#[test]
fn a_not_ready_member_closes_the_pods_port_to_new_connections() {
    let Some(p) = Pods::new() else { return };
    let f = &p.0;
    let port = hoist_testkit::free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    f.ok(&["pod", "create", "--name", "gated", "-p", &publish]);
    f.ok(&[
        "run",
        "-d",
        "--pod",
        "gated",
        "--name",
        "web",
        "--startup-probe",
        "tcp :8080 period=100ms failure=100",
        "--readiness-probe",
        "exec cat /tmp/ready period=100ms failure=1",
        "busybox",
        "sh",
        "-c",
        &format!("touch /tmp/ready; {}", web(8080, "gated-web")),
    ]);
    f.wait_for("ready", 20, |v| v["State"]["Ready"] == true, "web");
    let up = || get(port, "/index.html").is_some_and(|b| b.contains("gated-web"));
    hoist_testkit::wait_until("the pod's port to open", Duration::from_secs(20), up);
    f.ok(&["exec", "web", "rm", "/tmp/ready"]);
    f.wait_for("not ready", 20, |v| v["State"]["Ready"] == false, "web");
    hoist_testkit::wait_until("the pod's port to close", Duration::from_secs(20), || {
        get(port, "/index.html").is_none()
    });
    f.ok(&["exec", "web", "touch", "/tmp/ready"]);
    hoist_testkit::wait_until("the pod's port to reopen", Duration::from_secs(20), up);
}

/// The pod events of `pod` (`events --filter pod=NAME --format json`).
fn pod_events(f: &Fixture, pod: &str) -> Vec<Value> {
    let filter = format!("pod={pod}");
    f.ok(&["events", "--filter", &filter, "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn actions(evs: &[Value]) -> Vec<String> {
    evs.iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

fn is_gone(pid: i64) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.is_empty()
        || stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
}

#[test]
fn a_killed_holder_is_replaced_in_the_pods_own_namespaces() {
    let Some(p) = Pods::new() else { return };
    let f = &p.0;
    let port = hoist_testkit::free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    f.ok(&["pod", "create", "--name", "phoenix", "-p", &publish]);
    f.ok(&[
        "run",
        "-d",
        "--pod",
        "phoenix",
        "--name",
        "web",
        "busybox",
        "sh",
        "-c",
        &web(8080, "still-here"),
    ]);
    f.ok(&[
        "run", "-d", "--pod", "phoenix", "--name", "side", "busybox", "sleep", "600",
    ]);
    let got = hoist_testkit::wait_until_ok("the pod's port", Duration::from_secs(20), || {
        get(port, "/index.html")
    });
    assert_eq!(got.trim(), "still-here");
    let old = p.inspect("phoenix")["HolderPid"].as_i64().unwrap();
    let pid = |c: &str| f.inspect(c)["State"]["Pid"].as_i64().unwrap();
    let (web_pid, side_pid) = (pid("web"), pid("side"));
    let netns = ns(web_pid, "net");
    let _keep = hold_ns(web_pid, "net");
    assert_eq!(ns(old, "net"), netns);
    // The test started this holder (pod start through run --pod): by PID.
    let killed = std::process::Command::new("kill")
        .args(["-9", &old.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let new = hoist_testkit::wait_until_ok("a new holder", Duration::from_secs(20), || {
        let v = p.inspect("phoenix");
        let h = v["HolderPid"].as_i64().unwrap_or(0);
        (h > 0 && h != old && v["State"] == "running").then_some(h)
    });
    assert!(is_gone(old));
    // The same namespaces: the members were not disturbed.
    for which in ["net", "ipc", "uts"] {
        assert_eq!(ns(new, which), ns(web_pid, which), "{which}");
    }
    assert_eq!((pid("web"), pid("side")), (web_pid, side_pid));
    assert_eq!(f.ok(&["exec", "side", "hostname"]), "phoenix");
    let got = hoist_testkit::wait_until_ok("the pod's port again", Duration::from_secs(20), || {
        get(port, "/index.html")
    });
    assert_eq!(got.trim(), "still-here");
    // Both members watched the holder; one death, one replacement.
    let evs = pod_events(f, "phoenix");
    assert_eq!(
        actions(&evs),
        ["create", "start", "died", "start"],
        "{evs:?}"
    );
    assert_eq!(evs[2]["attributes"]["pid"], old.to_string());
    assert_eq!(evs[3]["attributes"]["recovered"], "true");
    // The replacement is a holder like any other: stop and rm end it all.
    f.ok(&["pod", "rm", "-f", "phoenix"]);
    hoist_testkit::wait_until("the new holder to end", Duration::from_secs(10), || {
        is_gone(new)
    });
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(link) = std::fs::read_link(e.path().join("ns/net")) {
            let pid: i64 = e.file_name().to_string_lossy().parse().unwrap_or(0);
            assert!(
                link.display().to_string() != netns || is_gone(pid),
                "process {pid} is still in the pod's network namespace"
            );
        }
    }
    let evs = pod_events(f, "phoenix");
    assert_eq!(
        actions(&evs),
        ["create", "start", "died", "start", "stop", "remove"],
        "{evs:?}"
    );
}

#[test]
fn ps_shows_which_pod_each_container_is_in() {
    let Some(p) = Pods::new() else { return };
    let f = &p.0;
    let pod_id = f.ok(&["pod", "create", "--name", "pea"]);
    f.ok(&[
        "run", "-d", "--pod", "pea", "--name", "inpod", "busybox", "sleep", "600",
    ]);
    f.ok(&["run", "-d", "--name", "solo", "busybox", "sleep", "600"]);
    let table = f.ok(&["ps", "--pod"]);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(
        header.contains("POD ID") && header.ends_with("PODNAME"),
        "{table}"
    );
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{table}"))
            .to_string()
    };
    let inpod = row("inpod");
    assert!(
        inpod.contains(&pod_id[..12]) && inpod.trim_end().ends_with("pea"),
        "{table}"
    );
    assert!(!row("solo").contains("pea"), "{table}");
    assert!(!f.ok(&["ps"]).contains("PODNAME"));
    let json: Vec<Value> = f
        .ok(&["ps", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_name = |n: &str| json.iter().find(|v| v["Names"] == n).unwrap().clone();
    assert_eq!(by_name("inpod")["Pod"], pod_id.as_str());
    assert_eq!(by_name("inpod")["PodName"], "pea");
    assert_eq!(by_name("solo")["Pod"], "");
    assert_eq!(by_name("solo")["PodName"], "");
    assert_eq!(f.inspect("inpod")["Pod"], pod_id.as_str());
    assert_eq!(f.inspect("solo")["Pod"], "");
    // And the other way round: pod ps --ctr-names lists the pod's members.
    let pods = f.ok(&["pod", "ps", "--ctr-names"]);
    assert!(pods.lines().next().unwrap().ends_with("NAMES"), "{pods}");
    let line = pods.lines().find(|l| l.contains("pea")).unwrap();
    assert!(line.trim_end().ends_with("inpod"), "{pods}");
    assert!(!pods.contains("solo"), "{pods}");
    f.ok(&["rm", "-f", "solo"]);
}

#[test]
fn pod_lifecycle_events_follow_podman() {
    let Some(p) = Pods::new() else { return };
    let f = &p.0;
    let id = f.ok(&["pod", "create", "--name", "evpod"]);
    f.ok(&["pod", "start", "evpod"]);
    f.ok(&[
        "run", "-d", "--pod", "evpod", "--name", "evc", "busybox", "true",
    ]);
    f.ok(&["pod", "stop", "evpod"]);
    f.ok(&["pod", "rm", "-f", "evpod"]);
    let want = ["create", "start", "stop", "remove"];
    let by_type: Vec<Value> = f
        .ok(&["events", "--filter", "type=pod", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(actions(&by_type), want, "{by_type:?}");
    assert!(by_type
        .iter()
        .all(|e| e["type"] == "pod" && e["id"] == id.as_str()));
    // By ID prefix too, and the member's own events are container events.
    assert_eq!(actions(&pod_events(f, &id[..12])), want);
    let all = f.ok(&["events"]);
    assert!(
        all.lines().any(|l| l.contains(" container start ")),
        "{all}"
    );
    assert!(all
        .lines()
        .any(|l| l.contains(" pod remove ") && l.contains("name=evpod")));
    let out = f.out(&["events", "--filter", "type=volcano"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("container and pod"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_member_restarting_while_its_pod_has_no_holder_brings_the_pod_back() {
    let Some(p) = Pods::new() else { return };
    let f = &p.0;
    f.ok(&["pod", "create", "--name", "lazarus"]);
    // Mostly between runs (restart backoff), so its monitor's watcher is
    // usually not there when the holder dies: the next start must cope.
    f.ok(&[
        "run",
        "-d",
        "--pod",
        "lazarus",
        "--name",
        "blink",
        "--restart",
        "always",
        "busybox",
        "true",
    ]);
    let count = || f.inspect("blink")["RestartCount"].as_u64().unwrap_or(0);
    hoist_testkit::wait_until("two restarts", Duration::from_secs(20), || count() >= 2);
    let old = p.inspect("lazarus")["HolderPid"].as_i64().unwrap();
    assert!(old > 0);
    let killed = std::process::Command::new("kill")
        .args(["-9", &old.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let before = count();
    hoist_testkit::wait_until(
        "two more restarts after the holder died",
        Duration::from_secs(30),
        || count() >= before + 2,
    );
    let v = p.inspect("lazarus");
    let new = v["HolderPid"].as_i64().unwrap();
    assert!(new > 0 && new != old, "{v}");
    assert!(is_gone(old));
    let st = f.inspect("blink")["State"].clone();
    assert!(
        st["Status"] == "running" || st["Status"] == "restarting",
        "{st}"
    );
    let evs = pod_events(f, "lazarus");
    let died = evs.iter().filter(|e| e["action"] == "died").count();
    assert_eq!(died, 1, "{evs:?}");
    f.ok(&["pod", "rm", "-f", "lazarus"]);
    assert!(is_gone(new));
}
