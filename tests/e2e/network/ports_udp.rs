//! Published UDP ports and `-P`: the monitor's UDP relay keeps a session per
//! client (each client gets its own answers, from its own backend socket),
//! readiness gates new sessions, and `-P` publishes the image's EXPOSEd
//! ports and `--expose` on free host ports shown by inspect and `port`.
//! busybox has no UDP server, so the echo server is python3 entered into the
//! container's network namespace with nsenter (a real process on a real
//! socket; the relay only cares about the namespace). The clients are
//! sockets the test opens inside the test's namespace, where hoist runs.

use super::env::NetEnv;
use hoist_testkit::{wait_until, ChildGuard};
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

/// A UDP socket on 127.0.0.1 of the namespace at `ns_path` (made by a
/// thread that entered it: a socket stays in the namespace it was made in).
fn client_in(ns_path: &str) -> UdpSocket {
    let path = ns_path.to_string();
    std::thread::spawn(move || {
        let ns = std::fs::File::open(&path).expect("open the namespace");
        // SAFETY: setns moves only this short-lived thread.
        let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind a client socket");
        s.set_read_timeout(Some(Duration::from_secs(1)))
            .expect("read timeout");
        s
    })
    .join()
    .expect("client thread")
}

fn client(env: &NetEnv) -> UdpSocket {
    client_in(&format!("/run/netns/{}", env.ns.name()))
}

/// One request, its answer (None on timeout). A late answer to an earlier
/// request may still be queued: answers to other messages are skipped.
fn ask(s: &UdpSocket, port: u16, msg: &str) -> Option<String> {
    s.send_to(msg.as_bytes(), ("127.0.0.1", port)).ok()?;
    let mut buf = [0u8; 2048];
    loop {
        let n = s.recv(&mut buf).ok()?;
        let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
        if answer.starts_with(&format!("{msg}@")) {
            return Some(answer);
        }
    }
}

/// A UDP echo server on `port` inside the network namespace of container
/// `name`: answers "DATA@SOURCEPORT", so a test sees which backend socket
/// (session) a datagram came through.
fn echo_server(env: &NetEnv, name: &str, port: u16, log: &Path) -> ChildGuard {
    let pid = env.inspect(name)["State"]["Pid"].as_i64().unwrap_or(0);
    assert!(pid > 0, "{name} is not running");
    echo_server_in(pid, port, log)
}

/// The echo server in the network namespace of process `pid`.
fn echo_server_in(pid: i64, port: u16, log: &Path) -> ChildGuard {
    let script = format!(
        "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('',{port}))\n\
         open({log:?},'w').write('listening')\n\
         while True:\n  d,a=s.recvfrom(65535)\n  s.sendto(d+b'@'+str(a[1]).encode(),a)\n"
    );
    let guard = ChildGuard::spawn(
        std::process::Command::new("nsenter")
            .arg(format!("--net=/proc/{pid}/ns/net"))
            .args(["--", "python3", "-c", &script]),
    )
    .expect("start the echo server");
    wait_until("the echo server", Duration::from_secs(10), || {
        std::fs::read_to_string(log).is_ok_and(|t| t == "listening")
    });
    guard
}

/// The backend source port in an answer "DATA@PORT".
fn session_of(answer: &str) -> &str {
    answer.rsplit('@').next().unwrap_or_default()
}

fn host_port(env: &NetEnv, name: &str, key: &str) -> u16 {
    let v = env.inspect(name);
    let binding = &v["NetworkSettings"]["Ports"][key][0];
    assert_eq!(binding["HostIp"], "127.0.0.1", "{key}: {binding}");
    binding["HostPort"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{key} is not published: {}", v["NetworkSettings"]))
}

/// Two clients at once, each asking several times: each gets its own
/// answers, each through one session of its own.
fn assert_sessions_apart(env: &NetEnv, port: u16) {
    let (a, b) = (client(env), client(env));
    let mut first = None;
    wait_until("the first answer", Duration::from_secs(20), || {
        first = ask(&a, port, "a0");
        first.is_some()
    });
    let first = first.unwrap();
    assert!(first.starts_with("a0@"), "{first}");
    let threads: Vec<_> = [(a, "a"), (b, "b")]
        .into_iter()
        .map(|(s, tag)| {
            std::thread::spawn(move || {
                (1..=20)
                    .map(|i| {
                        let msg = format!("{tag}{i}");
                        // Answers may be lost (UDP): ask again, bounded.
                        let answer = (0..10).find_map(|_| ask(&s, port, &msg));
                        let answer = answer.unwrap_or_else(|| panic!("no answer to {msg}"));
                        assert!(answer.starts_with(&format!("{msg}@")), "{msg}: {answer}");
                        session_of(&answer).to_string()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let sessions: Vec<Vec<String>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for s in &sessions {
        assert!(
            s.iter().all(|p| *p == s[0]),
            "one client, several sessions: {s:?}"
        );
    }
    assert_eq!(sessions[0][0], session_of(&first), "a's session changed");
    assert_ne!(
        sessions[0][0], sessions[1][0],
        "two clients shared a session"
    );
}

#[test]
fn udp_port_relays_each_client_its_own_answers_on_bridge_and_private() {
    let Some(env) = NetEnv::new("udp") else {
        return;
    };
    for (network, port) in [("bridge", 15301u16), ("private", 15302)] {
        let name = format!("echo-{network}");
        let publish = format!("127.0.0.1:{port}:5300/udp");
        env.ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            network,
            "-p",
            &publish,
            "busybox",
            "sleep",
            "300",
        ]);
        assert_eq!(host_port(&env, &name, "5300/udp"), port);
        assert_eq!(
            env.ok(&["port", &name, "5300/udp"]),
            format!("127.0.0.1:{port}")
        );
        assert_eq!(
            env.ok(&["port", &name]),
            format!("5300/udp -> 127.0.0.1:{port}")
        );
        // Nothing answers for tcp 5300: the mapping is UDP only.
        assert_eq!(env.ok(&["port", &name, "5300"]), "");
        let log = env.root.join(format!("echo-{network}.log"));
        let _server = echo_server(&env, &name, 5300, &log);
        assert_sessions_apart(&env, port);
        env.ok(&["rm", "-f", &name]);
    }
}

#[test]
fn udp_readiness_gates_new_sessions() {
    let Some(env) = NetEnv::new("udpready") else {
        return;
    };
    env.ok(&[
        "run",
        "-d",
        "--name",
        "echo",
        "--network",
        "private",
        "-p",
        "127.0.0.1:15303:5300/udp",
        "--readiness-probe",
        "exec cat /tmp/ready period=200ms failure=1",
        "busybox",
        "sleep",
        "300",
    ]);
    let log = env.root.join("echo.log");
    let _server = echo_server(&env, "echo", 5300, &log);
    let c = client(&env);
    // Not ready: the relay opens no session, so nothing reaches the server.
    assert_eq!(ask(&c, 15303, "early"), None);
    env.ok(&["exec", "echo", "touch", "/tmp/ready"]);
    wait_until("answered once ready", Duration::from_secs(20), || {
        ask(&c, 15303, "ready").is_some_and(|a| a.starts_with("ready@"))
    });
    // Not ready again: the open session keeps flowing, a new client is dropped.
    env.ok(&["exec", "echo", "rm", "/tmp/ready"]);
    wait_until("new clients dropped", Duration::from_secs(20), || {
        ask(&client(&env), 15303, "new").is_none()
    });
    let kept = (0..10).find_map(|_| ask(&c, 15303, "kept"));
    assert!(kept.is_some_and(|a| a.starts_with("kept@")));
}

#[test]
fn publish_all_publishes_exposed_ports_on_free_ports() {
    let Some(env) = NetEnv::new("puball") else {
        return;
    };
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nEXPOSE 8080\nEXPOSE 5353/udp 9090/tcp\n",
    )
    .unwrap();
    env.ok(&[
        "build",
        "--progress",
        "plain",
        "-t",
        "exposer",
        ctx.path().to_str().unwrap(),
    ]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-P",
        "--expose",
        "7000-7001/udp",
        "-p",
        "127.0.0.1:15380:9090",
        // A readiness probe may check a port only -P publishes.
        "--readiness-probe",
        "tcp :8080 period=200ms",
        "exposer",
        "sh",
        "-c",
        "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www",
    ]);
    let ports = env.inspect("web")["NetworkSettings"]["Ports"].clone();
    let mut keys: Vec<&String> = ports.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["5353/udp", "7000/udp", "7001/udp", "8080/tcp", "9090/tcp"],
        "{ports}"
    );
    // An explicit -p of an exposed port wins; the others get free ports.
    assert_eq!(host_port(&env, "web", "9090/tcp"), 15380);
    let tcp = host_port(&env, "web", "8080/tcp");
    let udp = host_port(&env, "web", "5353/udp");
    assert!(tcp != 0 && udp != 0 && tcp != 15380);
    assert_eq!(env.ok(&["port", "web", "8080"]), format!("127.0.0.1:{tcp}"));
    let get = || {
        let out = env
            .ns
            .command("curl")
            .args(["-s", "-m", "2"])
            .arg(format!("http://127.0.0.1:{tcp}/index.html"))
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).contains("hello")
    };
    wait_until("served on the -P port", Duration::from_secs(20), get);
    let log = env.root.join("echo.log");
    let _server = echo_server(&env, "web", 5353, &log);
    let c = client(&env);
    wait_until(
        "answered on the -P udp port",
        Duration::from_secs(20),
        || ask(&c, udp, "dns?").is_some_and(|a| a.starts_with("dns?@")),
    );
    // ... but not one no port of it publishes; nothing is left behind.
    let err = env.fails(&[
        "run",
        "-d",
        "--name",
        "unprobed",
        "-P",
        "--readiness-probe",
        "tcp :9999",
        "exposer",
        "sleep",
        "300",
    ]);
    assert!(err.contains("9999"), "{err}");
    assert!(!env.ok(&["ps", "-a"]).contains("unprobed"));
}

#[test]
fn bad_udp_and_expose_specs_are_refused_before_anything_is_made() {
    let Some(env) = NetEnv::new("udpbad") else {
        return;
    };
    for (flags, needle) in [
        (["-p", "53/sctp"], "tcp or udp"),
        (["-p", "8000-8002:9000-9001/udp"], "same length"),
        (["--expose", "x/udp"], "--expose"),
    ] {
        let mut args = vec!["run", "-d", "--name", "bad"];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&["busybox", "sleep", "300"]);
        let err = env.fails(&args);
        assert!(err.contains(needle), "{flags:?}: {err}");
        assert_eq!(
            env.ok(&["ps", "-a", "-q"]),
            "",
            "{flags:?} left a container"
        );
    }
    let err = env.fails(&[
        "run",
        "-d",
        "-P",
        "--network",
        "host",
        "--expose",
        "80",
        "busybox",
        "true",
    ]);
    assert!(err.contains("-P"), "{err}");
    // A pod's member publishes nothing of its own (the pod does).
    env.ok(&["pod", "create", "--name", "pod1"]);
    let err = env.fails(&["run", "-d", "--pod", "pod1", "-P", "busybox", "true"]);
    let _ = env.out(&["pod", "rm", "-f", "pod1"]);
    assert!(err.contains("-P cannot be used with --pod"), "{err}");
}

#[test]
fn a_udp_session_follows_the_container_into_its_next_run() {
    let Some(env) = NetEnv::new("udprestart") else {
        return;
    };
    env.ok(&[
        "run",
        "-d",
        "--name",
        "echo",
        "--restart",
        "always",
        "-p",
        "127.0.0.1:15304:5300/udp",
        "busybox",
        "sleep",
        "300",
    ]);
    let first_pid = env.inspect("echo")["State"]["Pid"].as_i64().unwrap_or(0);
    let log = env.root.join("echo1.log");
    let server = echo_server(&env, "echo", 5300, &log);
    let c = client(&env);
    let mut before = None;
    wait_until("answered", Duration::from_secs(20), || {
        before = ask(&c, 15304, "one");
        before.is_some()
    });
    // SAFETY: the container's PID 1, from inspect; a crash to restart from.
    unsafe { libc::kill(first_pid as i32, libc::SIGKILL) };
    drop(server);
    let mut pid = 0;
    wait_until("restarted", Duration::from_secs(20), || {
        pid = env.inspect("echo")["State"]["Pid"].as_i64().unwrap_or(0);
        pid > 0 && pid != first_pid
    });
    let log = env.root.join("echo2.log");
    let _server = echo_server_in(pid, 5300, &log);
    // The same client: its old session's socket is in the dead run's
    // namespace; the relay opens a new one in the new namespace.
    wait_until("answered by the new run", Duration::from_secs(20), || {
        ask(&c, 15304, "two").is_some_and(|a| a.starts_with("two@"))
    });
}

#[test]
fn a_pods_udp_port_reaches_its_members() {
    let Some(env) = NetEnv::new("udppod") else {
        return;
    };
    /// Removes the pod (its holder, its members) pass or fail.
    struct PodGuard<'a>(&'a NetEnv);
    impl Drop for PodGuard<'_> {
        fn drop(&mut self) {
            let _ = self.0.out(&["pod", "rm", "-f", "pod1"]);
        }
    }
    let _pod = PodGuard(&env);
    env.ok(&[
        "pod",
        "create",
        "--name",
        "pod1",
        "-p",
        "127.0.0.1:15305:5300/udp",
    ]);
    env.ok(&["run", "-d", "--pod", "pod1", "busybox", "sleep", "300"]);
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["pod", "inspect", "pod1"])).expect("pod inspect JSON");
    let v = if v.is_array() { v[0].clone() } else { v };
    assert_eq!(v["Ports"][0]["Protocol"], "udp", "{v}");
    let holder = v["HolderPid"].as_i64().unwrap_or(0);
    assert!(holder > 0, "{v}");
    let log = env.root.join("echo.log");
    let _server = echo_server_in(holder, 5300, &log);
    assert_sessions_apart(&env, 15305);
}
