//! `--init`: PID 1 is hoist's own init (no binary in the image), as docker's
//! `--init` runs docker-init (tini): it reaps orphaned zombies, forwards
//! `stop`'s SIGTERM to the command (which a PID 1 shell would ignore),
//! passes exit codes and signal deaths through (128+N), and leaves `-t`
//! working. Each assertion fails without the init (shown side by side).

use super::Fixture;
use std::time::Duration;

/// (comm, state) of every process in container `name`, read by one shell.
fn processes(f: &Fixture, name: &str) -> Vec<(String, String)> {
    let script = "for s in /proc/[0-9]*/stat; do read -r l < $s && echo \"$l\"; done";
    let out = f.ok(&["exec", name, "sh", "-c", script]);
    out.lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once(" (")?;
            let (comm, rest) = rest.rsplit_once(") ")?;
            Some((comm.to_string(), rest.split(' ').next()?.to_string()))
        })
        .collect()
}

/// `sh -c '(sleep 0.1 &); exec sleep 30'`: the short sleep's parent (a
/// subshell) ends at once, so it is reparented to PID 1 and is a zombie
/// once it ends unless PID 1 reaps it.
const ORPHAN: &[&str] = &["sh", "-c", "(sleep 0.1 &); exec sleep 30"];

#[test]
fn init_reaps_orphans_and_names_itself() {
    let Some(f) = Fixture::new() else { return };
    let mut args = vec![
        "create",
        "--init",
        "--network",
        "none",
        "--name",
        "reaped",
        "busybox",
    ];
    args.extend(ORPHAN);
    f.ok(&args);
    assert_eq!(f.inspect("reaped")["HostConfig"]["Init"], true);
    f.ok(&["start", "reaped"]);
    let mut args = vec![
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "zombie",
        "busybox",
    ];
    args.extend(ORPHAN);
    f.ok(&args);
    assert!(f.inspect("zombie")["HostConfig"]["Init"].is_null());

    // Without an init the orphan stays a zombie under `sleep 30`...
    hoist_testkit::wait_until_ok("a zombie without --init", Duration::from_secs(10), || {
        let ps = processes(&f, "zombie");
        ps.iter()
            .any(|(c, s)| c == "sleep" && s == "Z")
            .then_some(ps)
    });
    // ...with one it is reaped: one sleep left, nothing in state Z.
    let ps = hoist_testkit::wait_until_ok("the orphan reaped", Duration::from_secs(10), || {
        let ps = processes(&f, "reaped");
        let sleeps = ps.iter().filter(|(c, _)| c == "sleep").count();
        (sleeps == 1 && ps.iter().all(|(_, s)| s != "Z")).then_some(ps)
    });
    assert!(ps.iter().any(|(c, _)| c == "hoist-init"), "{ps:?}");
    // PID 1 is the init, named as docker names docker-init's command line.
    let pid1 = f.ok(&["exec", "reaped", "cat", "/proc/1/comm"]);
    assert_eq!(pid1, "hoist-init");
    let cmdline = f.ok(&[
        "exec",
        "reaped",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/1/cmdline",
    ]);
    assert_eq!(
        cmdline.trim(),
        "hoist-init -- sh -c (sleep 0.1 &); exec sleep 30"
    );
    let top = f.ok(&["exec", "reaped", "ps"]);
    assert!(top.contains("hoist-init"), "{top}");
}

#[test]
fn init_forwards_stop_and_passes_exit_codes() {
    let Some(f) = Fixture::new() else { return };
    // A shell as PID 1 ignores SIGTERM; under the init it is PID 2 and dies
    // of the forwarded signal: 143 at once, not 137 at the timeout's SIGKILL.
    f.ok(&[
        "run",
        "-d",
        "--init",
        "--network",
        "none",
        "--name",
        "term",
        "--health-cmd",
        "test -e /proc/1/comm",
        "--health-interval",
        "100ms",
        "busybox",
        "sh",
        "-c",
        "sleep 30; true",
    ]);
    // Health checks run beside the init as beside any PID 1.
    f.wait_for(
        "healthy",
        20,
        |v| v["State"]["Health"]["Status"] == "healthy",
        "term",
    );
    f.ok(&["stop", "-t", "20", "term"]);
    assert_eq!(f.inspect("term")["State"]["ExitCode"], 143);

    let code = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "--init", "--network", "none"];
        all.extend(args);
        f.out(&all).status.code()
    };
    assert_eq!(code(&["busybox", "sh", "-c", "exit 7"]), Some(7));
    // In a user namespace of its own, as root of it or as another user.
    let remapped = ["--userns=auto", "busybox", "sh", "-c", "exit 8"];
    assert_eq!(code(&remapped), Some(8));
    assert_eq!(
        code(&["-u", "1000", "busybox", "sh", "-c", "exit 9"]),
        Some(9)
    );
    // PID 1 cannot SIGKILL itself from inside; the init's child can: 128+9.
    assert_eq!(
        code(&["busybox", "sh", "-c", "kill -9 $$; exit 3"]),
        Some(137)
    );
    // A command that is not there fails as without an init.
    assert_eq!(code(&["busybox", "no-such-command"]), Some(127));
    // A command that ignores SIGTERM (inherited by its sleep) is killed at
    // the timeout: SIGKILL to the init ends the whole namespace.
    f.ok(&[
        "run",
        "-d",
        "--init",
        "--network",
        "none",
        "--name",
        "stubborn",
        "busybox",
        "sh",
        "-c",
        "trap '' TERM; sleep 30; true",
    ]);
    f.ok(&["stop", "-t", "1", "stubborn"]);
    assert_eq!(f.inspect("stubborn")["State"]["ExitCode"], 137);
    f.ok(&["rm", "term", "stubborn"]);
    assert_eq!(f.ok(&["ps", "-aq"]), "");
}

#[test]
fn init_keeps_the_terminal() {
    let Some(f) = Fixture::new() else { return };
    // The command is in the terminal's foreground process group (its own):
    // pgrp (field 5) equals tpgid (field 8).
    let out = f.ok(&[
        "run", "--rm", "-t", "--init", "--network", "none", "busybox", "sh", "-c",
        "tty; read -r p c s pp g se t tp r < /proc/self/stat; [ $g = $tp ] && [ $g = $$ ] && echo foreground",
    ]);
    assert_eq!(out, "/dev/pts/0\r\nforeground");
    assert_eq!(
        f.out(&[
            "run",
            "--rm",
            "-t",
            "--init",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "exit 4"
        ])
        .status
        .code(),
        Some(4)
    );
    f.assert_shell_reads_stdin(&[
        "run",
        "--rm",
        "-i",
        "-t",
        "--init",
        "--network",
        "none",
        "busybox",
        "sh",
    ]);
}
