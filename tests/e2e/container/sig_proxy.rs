//! `run --sig-proxy`: by default (attached) a SIGTERM to the CLI reaches the
//! container's PID 1; with `--sig-proxy=false` a SIGTERM or SIGINT ends the
//! CLI alone (as docker 20.10's client does) and the container runs on (under
//! a monitor of its own, the CLI attached to it), while output, stdin up to
//! EOF, the exit code and `--rm` work as in an ordinary attached run. The same
//! steps under a dockerd of the test's own give the same results, and
//! `--mount ... volume-opt` the same filesystem inside.

use super::{stderr, stdout, Fixture};
use nix::sys::signal::{kill, signal, SigHandler, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

/// Says so when SIGTERM or SIGINT reaches it (sh as PID 1 would ignore
/// them otherwise).
const TRAP: &str = "trap 'echo trapped; exit 5' TERM INT; echo ready; \
                    while true; do /bin/busybox sleep 0.1; done";

/// Starts `run` (hoist's or docker's), waits for its "ready" line, sends the
/// CLI `sig` (then SIGKILL with `then_kill`); returns how it ended and the
/// lines it printed after "ready".
fn signal_the_cli(mut run: Command, sig: Signal, then_kill: bool) -> (ExitStatus, Vec<String>) {
    // A shell starts background jobs with SIGINT and SIGQUIT ignored, and an
    // ignored disposition survives exec (a CI runner may start the suite that
    // way): give the CLI the dispositions a user's terminal gives it.
    let default_signals = || -> std::io::Result<()> {
        for sig in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTERM] {
            // SAFETY: SIG_DFL installs no handler; signal(2) is async-signal-safe.
            unsafe { signal(sig, SigHandler::SigDfl) }.map_err(std::io::Error::from)?;
        }
        Ok(())
    };
    // SAFETY: the hook only calls signal(2) between fork and exec.
    unsafe { run.pre_exec(default_signals) };
    let mut child = run
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(30));
    assert_eq!(first.as_deref(), Ok("ready"));
    // Not reaped before the kills: the PID is still the child's.
    let pid = Pid::from_raw(child.id() as i32);
    kill(pid, sig).unwrap();
    if then_kill {
        kill(pid, Signal::SIGKILL).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the CLI did not end within 30 s of {sig}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = reader.join();
    (status, rx.try_iter().collect())
}

fn hoist_run(f: &Fixture, args: &[&str]) -> Command {
    let mut c = crate::common::hoist(f.path());
    c.arg("run").args(args);
    c
}

#[test]
fn sig_proxy_false_leaves_the_container_running() {
    let Some(f) = Fixture::new() else { return };
    for (name, sig) in [
        ("quiet-term", Signal::SIGTERM),
        ("quiet-int", Signal::SIGINT),
    ] {
        let run = hoist_run(
            &f,
            &[
                "--sig-proxy=false",
                "--network",
                "none",
                "--name",
                name,
                "busybox",
                "sh",
                "-c",
                TRAP,
            ],
        );
        // The signal ended the CLI (a proxying CLI blocks it, so it would
        // not), and the container runs on, its trap not run.
        let (status, lines) = signal_the_cli(run, sig, false);
        assert_eq!(status.signal(), Some(sig as i32), "{name}: {status}");
        assert!(lines.is_empty(), "{name}: {lines:?}");
        assert_eq!(f.inspect(name)["State"]["Running"], true, "{name}");
        let id = f.inspect(name)["Id"].as_str().unwrap().to_string();
        assert!(
            f.ok(&["ps", "-q", "--no-trunc"]).contains(&id),
            "{name} in ps"
        );
        f.ok(&["rm", "-f", name]);
    }

    // The default proxies the signal: the container's trap runs.
    let run = hoist_run(
        &f,
        &[
            "--network",
            "none",
            "--name",
            "proxied",
            "busybox",
            "sh",
            "-c",
            TRAP,
        ],
    );
    let (status, lines) = signal_the_cli(run, Signal::SIGTERM, false);
    assert_eq!(status.code(), Some(5), "{status}");
    assert_eq!(lines, ["trapped"]);
    // Not only INT and TERM: SIGALRM (whose default would end the CLI).
    let alarm = "trap 'echo alarmed; exit 6' ALRM; echo ready; \
                 while true; do /bin/busybox sleep 0.1; done";
    let run = hoist_run(
        &f,
        &["--rm", "--network", "none", "busybox", "sh", "-c", alarm],
    );
    let (status, lines) = signal_the_cli(run, Signal::SIGALRM, false);
    assert_eq!(status.code(), Some(6), "{status}");
    assert_eq!(lines, ["alarmed"]);

    // Otherwise an attached run as usual: both streams, the exit code,
    // --rm, stdin until its EOF (then the container's stdin ends too).
    let out = f.out(&[
        "run",
        "--rm",
        "--sig-proxy=false",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "out\n");
    assert_eq!(stderr(&out), "err\n");
    let out = f.out_with_stdin(
        &[
            "run",
            "--rm",
            "-i",
            "--sig-proxy=false",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "cat; echo eof",
        ],
        b"line one\nline two\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "line one\nline two\neof\n");
    // With -t: the container's pty (its output, and with -i our input).
    let out = f.out(&[
        "run",
        "--rm",
        "-t",
        "--sig-proxy=false",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "test -t 1 && echo on-a-tty",
    ]);
    assert_eq!(stdout(&out), "on-a-tty\r\n", "{}", stderr(&out));
    f.assert_shell_reads_stdin(&[
        "run",
        "--rm",
        "-i",
        "-t",
        "--sig-proxy=false",
        "--network",
        "none",
        "busybox",
        "sh",
    ]);
    let left = f.ok(&["ps", "-aq"]);
    assert_eq!(left.lines().count(), 1, "only 'proxied' is left: {left}");
}

/// The same under docker: SIGTERM with --sig-proxy=false leaves it running,
/// by default the trap runs; a volume-opt tmpfs volume is the same inside.
#[test]
fn sig_proxy_and_volume_opt_match_dockers() {
    if !hoist_testkit::have_program("dockerd") || !hoist_testkit::have_program("docker") {
        hoist_testkit::skip_or_fail(
            "sig-proxy vs docker",
            "dockerd is missing (apt-get install docker.io)",
        );
        return;
    }
    let Some(f) = Fixture::new() else { return };
    let rootfs = f.root.join("sp-rootfs");
    for d in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh")).unwrap();
    let tar = f.root.join("sp-rootfs.tar");
    crate::common::tar_dir(&rootfs, &tar);
    let tar = tar.to_str().unwrap();
    let ns = hoist_testkit::Netns::new("hsp-dk");
    let dockerd = hoist_testkit::Dockerd::start(&ns);
    let docker = |args: &[&str]| dockerd.docker().args(args).output().unwrap();
    let out = docker(&["import", tar, "spbb:latest"]);
    assert!(out.status.success(), "{}", stderr(&out));
    f.ok(&["import", tar, "-t", "spbb:latest"]);
    let with = |mut c: Command, args: &[&str]| {
        c.args(args);
        c
    };
    let (hoist, docker_run) = (|| hoist_run(&f, &[]), || with(dockerd.docker(), &["run"]));

    // docker's client since 26 stays attached after one SIGTERM (20.10's
    // ends): the CLI is SIGKILLed after it in both, and the containers
    // compared: running on, their traps not run.
    let quiet = [
        "--sig-proxy=false",
        "--network",
        "none",
        "--name",
        "quiet",
        "spbb",
        "sh",
        "-c",
        TRAP,
    ];
    for (who, run) in [
        ("hoist", with(hoist(), &quiet)),
        ("docker", with(docker_run(), &quiet)),
    ] {
        let (_, lines) = signal_the_cli(run, Signal::SIGTERM, true);
        assert!(lines.is_empty(), "{who}: {lines:?}");
    }
    let running = stdout(&docker(&["inspect", "-f", "{{.State.Running}}", "quiet"]));
    assert_eq!(running.trim(), "true", "docker's runs on");
    assert_eq!(
        f.inspect("quiet")["State"]["Running"],
        true,
        "hoist's runs on"
    );
    let logs = |o: std::process::Output| stdout(&o) + &stderr(&o);
    assert_eq!(logs(docker(&["logs", "quiet"])), "ready\n");
    assert_eq!(logs(f.out(&["logs", "quiet"])), "ready\n");

    let proxied = [
        "--network",
        "none",
        "--name",
        "proxied",
        "spbb",
        "sh",
        "-c",
        TRAP,
    ];
    let theirs = signal_the_cli(with(docker_run(), &proxied), Signal::SIGTERM, false);
    let ours = signal_the_cli(with(hoist(), &proxied), Signal::SIGTERM, false);
    assert_eq!(ours.0.code(), theirs.0.code(), "exit code: hoist vs docker");
    assert_eq!(ours.1, theirs.1, "output after the signal: hoist vs docker");

    let mount = "type=volume,source=fast,target=/f,volume-opt=type=tmpfs,\
                 volume-opt=device=tmpfs,volume-opt=o=size=1m";
    let show = "B=/bin/busybox; $B grep ' /f ' /proc/mounts | $B cut -d' ' -f3; \
                $B df -k /f | $B tail -n1 | $B awk '{print $2}'";
    let args = [
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        mount,
        "spbb",
        "/bin/busybox",
        "sh",
        "-c",
        show,
    ];
    let theirs = docker(&args);
    assert!(theirs.status.success(), "{}", stderr(&theirs));
    assert_eq!(f.ok(&args), stdout(&theirs).trim_end(), "hoist vs docker");
    let d: serde_json::Value =
        serde_json::from_slice(&docker(&["volume", "inspect", "fast"]).stdout).unwrap();
    let h: serde_json::Value = serde_json::from_str(&f.ok(&["volume", "inspect", "fast"])).unwrap();
    assert_eq!(h[0]["Options"], d[0]["Options"]);
    let _ = docker(&["rm", "-f", "quiet", "proxied"]);
    f.ok(&["rm", "-f", "quiet", "proxied"]);
    f.ok(&["volume", "rm", "fast"]);
}
