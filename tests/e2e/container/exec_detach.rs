//! `exec -it --detach-keys` (default ctrl-p ctrl-q, as docker): on a real
//! pty, the keys end the CLI with "read escape sequence" and exit 0, and the
//! exec'd process runs on (its pty is neither hung up nor left unread).

use super::{stderr, Fixture};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `hoist ARGS` with a pty of the test's own as its stdin, stdout and stderr;
/// returns the child, the master (to type into) and what it shows so far.
fn on_pty(f: &Fixture, args: &[&str]) -> (std::process::Child, std::fs::File, Arc<Mutex<String>>) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
    let child = crate::common::hoist(f.path())
        .args(args)
        .stdin(slave(&pty.slave))
        .stdout(slave(&pty.slave))
        .stderr(slave(&pty.slave))
        .spawn()
        .unwrap();
    drop(pty.slave);
    let master = std::fs::File::from(pty.master);
    let shown = Arc::new(Mutex::new(String::new()));
    let (mut reader, sink) = (master.try_clone().unwrap(), shown.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Ends with EIO once the CLI (the slave's last holder) is gone.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                return;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    (child, master, shown)
}

fn shows(shown: &Mutex<String>, what: &str) {
    hoist_testkit::wait_until(what, Duration::from_secs(15), || {
        shown.lock().unwrap().contains(what)
    });
}

#[test]
fn exec_it_detaches_with_the_keys_and_the_process_runs_on() {
    let Some(f) = Fixture::new() else { return };
    f.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "x",
        "busybox",
        "sleep",
        "600",
    ]);
    for (keys, typed, flags) in [
        ("default", &[0x10u8, 0x11][..], &[][..]),
        (
            "ctrl-x,y",
            &[0x18, b'y'][..],
            &["--detach-keys", "ctrl-x,y"][..],
        ),
    ] {
        let mut args = vec!["exec", "-it"];
        args.extend(flags);
        args.extend(["x", "sh"]);
        let (mut child, mut master, shown) = on_pty(&f, &args);
        writeln!(master, "echo mark-$((6*7))").unwrap();
        shows(&shown, "mark-42");
        // The command still runs when the keys come; a hung-up pty (SIGHUP)
        // or one nobody reads would keep its file from appearing.
        let file = format!("/tmp/after-{}", keys.len());
        writeln!(master, "sleep 1; echo survived-{keys} > {file}").unwrap();
        master.write_all(typed).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{keys}: {}", shown.lock().unwrap());
        shows(&shown, "read escape sequence");
        hoist_testkit::wait_until(
            "the detached exec finishes its command",
            Duration::from_secs(15),
            || {
                f.out(&["exec", "x", "cat", &file]).stdout
                    == format!("survived-{keys}\n").as_bytes()
            },
        );
    }
    // Bad keys: docker's exit 125, nothing run.
    let out = f.out(&["exec", "-it", "--detach-keys", "ctrl-pp", "x", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("detach key"), "{}", stderr(&out));
}
