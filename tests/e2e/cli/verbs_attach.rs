//! `attach` to containers started with `run -d`: stdin reaches a `-i`
//! container (a `-t` one through its pty) and its exit code comes back; the
//! detach keys leave it running and a re-attach sees only what comes after
//! it; signals are proxied; attaching to a stopped container is docker's
//! error.

use super::stderr;
use crate::container::Fixture;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

fn spawn_attach(f: &Fixture, args: &[&str]) -> (Child, Receiver<String>) {
    let mut child = crate::common::hoist(f.path())
        .arg("attach")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

fn next_line(rx: &Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(15))
        .expect("a line from the attached container")
}

#[test]
fn attach_passes_stdin_detaches_and_returns_the_exit_code() {
    let Some(f) = Fixture::new() else { return };
    let script = "read line; echo \"got $line\"; exit 7";
    f.ok(&[
        "run", "-d", "-i", "--name", "reader", "busybox", "sh", "-c", script,
    ]);
    let out = f.out_with_stdin(&["container", "attach", "reader"], b"hello\n");
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got hello\n");

    let echo = "while read l; do echo \"echo:$l\"; done";
    f.ok(&[
        "run", "-d", "-i", "--name", "echoer", "busybox", "sh", "-c", echo,
    ]);
    for word in ["one", "two"] {
        let (mut child, rx) = spawn_attach(&f, &["echoer"]);
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{word}").unwrap();
        // Only what the container writes after the attach point.
        assert_eq!(next_line(&rx), format!("echo:{word}"));
        stdin.write_all(&[0x10, 0x11]).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(
            stderr(&out).contains("read escape sequence"),
            "{}",
            stderr(&out)
        );
        assert_eq!(f.inspect("echoer")["State"]["Running"], true);
    }

    // A signal to attach reaches the container (--sig-proxy is the default).
    let trap = "trap 'echo trapped; exit 5' TERM; echo ready; while true; do sleep 0.1; done";
    f.ok(&[
        "run", "-d", "--name", "trapper", "busybox", "sh", "-c", trap,
    ]);
    hoist_testkit::wait_until("the trap is set", Duration::from_secs(10), || {
        f.ok(&["logs", "trapper"]).contains("ready")
    });
    let (child, rx) = spawn_attach(&f, &["--no-stdin", "trapper"]);
    let status = format!("/proc/{}/status", child.id());
    hoist_testkit::wait_until(
        "attach blocks the signals it proxies",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(&status)
                .unwrap_or_default()
                .lines()
                .any(|l| l.starts_with("SigBlk:") && !l.ends_with("0000000000000000"))
        },
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(next_line(&rx), "trapped");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));

    // A -t container: its input through the pty its monitor holds.
    f.ok(&["run", "-d", "-i", "-t", "--name", "tty", "busybox", "sh"]);
    let out = f.out_with_stdin(&["attach", "tty"], b"echo hi-$((40+2))\nexit 3\n");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.trim_end() == "hi-42"), "{text}");

    f.ok(&["create", "--name", "cold", "busybox", "true"]);
    let cold = f.out(&["attach", "cold"]);
    assert_eq!(cold.status.code(), Some(1));
    assert!(
        stderr(&cold).contains("cannot attach to a stopped container"),
        "{}",
        stderr(&cold)
    );
}
