//! `run -t`: the container's terminal is a pty of its own devpts (made by the
//! child, sent to the monitor), not a host pty.

use super::Fixture;
use std::time::Duration;

#[test]
fn run_t_gets_a_pty_of_the_container() {
    let Some(f) = Fixture::new() else { return };
    // PID 1's stdio is the first pty of the container's fresh devpts.
    let tty = f.ok(&["run", "--rm", "-t", "busybox", "tty"]);
    assert_eq!(tty, "/dev/pts/0");
    // Output goes through the pty (\n becomes \r\n); no -t, no terminal.
    let out = f.out(&[
        "run",
        "--rm",
        "-t",
        "busybox",
        "sh",
        "-c",
        "echo one; echo two",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\r\ntwo\r\n");
    let plain = f.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "test -t 1 || echo not-a-tty",
    ]);
    assert_eq!(plain, "not-a-tty");
    // The host's ptys are not in the container.
    let listing = f.ok(&["run", "--rm", "-t", "busybox", "ls", "/dev/pts"]);
    assert_eq!(
        listing.split_whitespace().collect::<Vec<_>>(),
        ["0", "ptmx"],
        "{listing:?}"
    );
    assert_eq!(
        f.out(&["run", "--rm", "-t", "busybox", "sh", "-c", "exit 4"])
            .status
            .code(),
        Some(4)
    );
    // A command that is not there: 127 as without -t, and nothing left over.
    let missing = f.out(&["run", "--rm", "-t", "busybox", "no-such-command"]);
    assert_eq!(missing.status.code(), Some(127));
    assert_eq!(f.ok(&["ps", "-a", "-q"]), "");

    // -it: our stdin reaches the shell through the pty.
    f.assert_shell_reads_stdin(&["run", "--rm", "-i", "-t", "busybox", "sh"]);

    // Detached with -t: the pty's output is logged; restart makes a new one.
    f.ok(&[
        "run",
        "-d",
        "-t",
        "--name",
        "dt",
        "busybox",
        "sh",
        "-c",
        "tty; sleep 600",
    ]);
    let logged = |times: usize| {
        hoist_testkit::wait_until_ok("the tty line in the log", Duration::from_secs(10), || {
            let logs = f.ok(&["logs", "dt"]);
            (logs.matches("/dev/pts/0").count() >= times).then_some(logs)
        })
    };
    logged(1);
    f.ok(&["restart", "-t", "0", "dt"]);
    logged(2);
    f.ok(&["rm", "-f", "dt"]);
}

#[test]
fn run_t_and_exec_t_take_the_terminal_size() {
    let Some(f) = Fixture::new() else { return };
    // `script` gives hoist a terminal of a known size; the container's pty
    // must report the same size.
    let hoist = shell_hoist(&f);
    f.ok(&["run", "-d", "--name", "sized", "busybox", "sleep", "600"]);
    for cmd in [
        format!("{hoist} run --rm -t busybox stty size"),
        format!("{hoist} exec -t sized stty size"),
    ] {
        let out = std::process::Command::new("script")
            .args([
                "-qec",
                &format!("stty cols 123 rows 45; {cmd}"),
                "/dev/null",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("script (bsdutils) runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{cmd}: {text}");
        assert!(text.contains("45 123"), "{cmd}: {text:?}");
    }
    f.ok(&["rm", "-f", "sized"]);
}

#[test]
fn run_t_and_exec_t_follow_terminal_resizes() {
    let Some(f) = Fixture::new() else { return };
    let hoist = shell_hoist(&f);
    let shared = tempfile::tempdir().unwrap();
    let dir = shared.path().display().to_string();
    f.ok(&[
        "run",
        "-d",
        "--name",
        "resized",
        "-v",
        &format!("{dir}:/m"),
        "busybox",
        "sleep",
        "600",
    ]);
    // Inside: say "started" through a file, then wait (bounded) until the
    // pty reports the new size. Outside, in script(1)'s terminal: resize
    // once the container has started, which sends SIGWINCH to hoist.
    let inner = "touch /m/mark; i=0; \
        while [ \"$(stty size)\" != \"20 70\" ]; do \
          i=$((i+1)); [ $i -gt 100 ] && { echo stuck at $(stty size); exit 1; }; sleep 0.1; \
        done; echo resized";
    for (n, cmd) in [
        format!("{hoist} run --rm -t -v {dir}:/m busybox sh -c '{inner}'"),
        format!("{hoist} exec -t resized sh -c '{inner}'"),
    ]
    .into_iter()
    .enumerate()
    {
        let _ = std::fs::remove_file(shared.path().join("mark"));
        let script = format!(
            "stty cols 100 rows 30; \
             ( until [ -e {dir}/mark ]; do sleep 0.05; done; stty cols 70 rows 20 < /dev/tty ) & \
             {cmd}"
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &script, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("script (bsdutils) runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("resized"), "case {n}: {cmd}: {text:?}");
    }
    f.ok(&["rm", "-f", "resized"]);
}

/// `hoist --root ROOT` as a shell command line, for script(1).
fn shell_hoist(f: &Fixture) -> String {
    format!(
        "{} --root {}",
        crate::common::hoist_bin().display(),
        f.path().display()
    )
}
