//! Foreground `run`: output, exit codes, docker's merge rules, isolation basics.

use super::{stderr, stdout, Fixture};

#[test]
fn run_prints_and_exits_like_docker() {
    let Some(f) = Fixture::new() else { return };
    assert_eq!(f.ok(&["run", "--rm", "busybox", "echo", "hi"]), "hi");
    let code = |args: &[&str]| f.out(args).status.code().unwrap();
    assert_eq!(code(&["run", "--rm", "busybox", "true"]), 0);
    assert_eq!(code(&["run", "--rm", "busybox", "sh", "-c", "exit 7"]), 7);
    let missing = f.out(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(missing.status.code(), Some(127));
    assert!(
        stderr(&missing).contains("not found"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(code(&["run", "--rm", "busybox", "/etc/passwd"]), 126);
    // hoist's own errors: a bad flag value, an unknown image.
    assert_eq!(
        code(&["run", "--rm", "-p", "notaport", "busybox", "true"]),
        125
    );
    assert_eq!(
        code(&["run", "--rm", "--memory", "lots", "busybox", "true"]),
        125
    );
    // An unknown flag is a usage error: 125, like docker.
    let bad_flag = f.out(&["run", "--no-such-flag", "busybox", "true"]);
    assert_eq!(bad_flag.status.code(), Some(125), "{}", stderr(&bad_flag));
    assert!(stderr(&bad_flag).contains("--no-such-flag"));
    let unknown = f.out(&["run", "--rm", "no-such-image", "true"]);
    assert_eq!(unknown.status.code(), Some(125), "{}", stderr(&unknown));
    // Killed by a signal: 128 + 9.
    let id = f.ok(&["run", "-d", "busybox", "sleep", "60"]);
    f.ok(&["kill", &id]);
    assert_eq!(f.ok(&["wait", &id]), "137");
    assert_eq!(f.inspect(&id)["State"]["ExitCode"], 137);
    // --rm removed every container but the last.
    assert_eq!(f.ok(&["ps", "-aq"]).lines().count(), 1);
}

#[test]
fn image_config_and_flags_merge_like_docker() {
    let Some(f) = Fixture::new() else { return };
    f.image(
        "merge:1",
        &[
            r#"ENTRYPOINT ["echo", "ep"]"#,
            r#"CMD ["from-cmd"]"#,
            "ENV A=image",
            "ENV B=image",
            "WORKDIR /srv/app",
            "USER user",
        ],
        &[],
    );
    assert_eq!(f.ok(&["run", "--rm", "merge:1"]), "ep from-cmd");
    assert_eq!(f.ok(&["run", "--rm", "merge:1", "x", "y"]), "ep x y");
    // A new entrypoint drops the image's CMD.
    assert_eq!(
        f.ok(&["run", "--rm", "--entrypoint", "pwd", "merge:1"]),
        "/srv/app"
    );
    let out = f.ok(&[
        "run",
        "--rm",
        "-e",
        "B=flag",
        "-e",
        "C=flag",
        "--entrypoint",
        "sh",
        "merge:1",
        "-c",
        "echo $A $B $C; id -u; id -G; pwd",
    ]);
    assert_eq!(out, "image flag flag\n1000\n1000 50\n/srv/app");
    let out = f.ok(&[
        "run",
        "--rm",
        "-u",
        "0:0",
        "-w",
        "/tmp/new",
        "--entrypoint",
        "",
        "merge:1",
        "sh",
        "-c",
        "id -u; pwd",
    ]);
    assert_eq!(out, "0\n/tmp/new");
    let env_file = f.root.join("env");
    std::fs::write(&env_file, "# comment\nFROM_FILE=yes\nA=file\n").unwrap();
    let out = f.ok(&[
        "run",
        "--rm",
        "--env-file",
        env_file.to_str().unwrap(),
        "--entrypoint",
        "sh",
        "merge:1",
        "-c",
        "echo $FROM_FILE $A",
    ]);
    assert_eq!(out, "yes file");
}

#[test]
fn isolation_hostname_pid1_and_network() {
    let Some(f) = Fixture::new() else { return };
    assert_eq!(
        f.ok(&["run", "--rm", "--hostname", "box1", "busybox", "hostname"]),
        "box1"
    );
    let ps = f.ok(&["run", "--rm", "busybox", "ps", "-o", "pid,comm"]);
    let rows: Vec<Vec<&str>> = ps
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        vec![vec!["1", "ps"]],
        "only the command, as PID 1:\n{ps}"
    );
    let links = f.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ls",
        "/sys/class/net",
    ]);
    assert_eq!(links.split_whitespace().collect::<Vec<_>>(), vec!["lo"]);
    let up = f.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "cat",
        "/sys/class/net/lo/operstate",
    ]);
    assert_ne!(up, "down");
    // A network namespace of its own (made on a helper thread,
    // core/netns.rs), not the host's.
    let netns = f.ok(&["run", "--rm", "busybox", "readlink", "/proc/self/ns/net"]);
    let host = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert!(netns.starts_with("net:["), "{netns}");
    assert_ne!(netns, host.to_string_lossy());
    let host = f.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "ls",
        "/sys/class/net",
    ]);
    assert!(host.split_whitespace().count() >= 1);
    let caps = f.ok(&[
        "run",
        "--rm",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert!(
        caps.ends_with("00000000a80425fb"),
        "docker's default set: {caps}"
    );
    let nnp = f.ok(&[
        "run",
        "--rm",
        "busybox",
        "grep",
        "NoNewPrivs",
        "/proc/self/status",
    ]);
    // docker's default: off (`--security-opt no-new-privileges` sets it;
    // tests/e2e/security), so a set-uid binary in an image works.
    assert!(nnp.ends_with('0'), "{nnp}");
    let ro = f.out(&["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
    assert_ne!(ro.status.code(), Some(0));
    assert!(
        stderr(&ro).contains("Read-only"),
        "{}{}",
        stdout(&ro),
        stderr(&ro)
    );
}

#[test]
fn foreground_run_forwards_signals_and_stdin() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let Some(f) = Fixture::new() else { return };
    let mut child = hoist_testkit::ChildGuard::spawn(
        crate::common::hoist(f.path())
            .args(["run", "--rm", "busybox", "sh", "-c"])
            .arg("trap 'echo got-term; exit 5' TERM; echo ready; while true; do sleep 0.1; done")
            .stdout(Stdio::piped()),
    )
    .unwrap();
    let mut lines = BufReader::new(child.child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    child.signal(libc::SIGTERM);
    assert_eq!(lines.next().unwrap().unwrap(), "got-term");
    assert_eq!(child.child.wait().unwrap().code(), Some(5));
    // -i passes stdin through.
    let mut cat = crate::common::hoist(f.path())
        .args([
            "run",
            "--rm",
            "-i",
            "busybox",
            "sh",
            "-c",
            "read x; echo got:$x; exit 4",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    cat.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = cat.wait_with_output().unwrap();
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(4), "got:hello\n")
    );
}

#[test]
fn only_rm_containers_mount_their_rootfs_volatile() {
    let Some(f) = Fixture::new() else { return };
    let root_mount = "grep '^overlay / ' /proc/mounts";
    // --rm: the upper dir goes at exit, so overlayfs skips its syncs.
    let rm = f.ok(&["run", "--rm", "busybox", "sh", "-c", root_mount]);
    // (newer kernels show the option as fsync=volatile)
    assert!(rm.contains("volatile"), "{rm}");
    let kept = f.ok(&["run", "--name", "kept", "busybox", "sh", "-c", root_mount]);
    assert!(!kept.contains("volatile"), "{kept}");
    // A volatile mount leaves a marker that makes overlayfs refuse the next
    // mount; a created --rm container started after one (a crash) still runs.
    let id = f.ok(&["create", "--rm", "busybox", "echo", "again"]);
    let work = f.inspect(&id)["GraphDriver"]["Data"]["WorkDir"]
        .as_str()
        .unwrap()
        .to_string();
    let marker = std::path::Path::new(&work).join("work/incompat/volatile");
    std::fs::create_dir_all(&marker).unwrap();
    assert_eq!(f.ok(&["start", "-a", &id]), "again");
    assert_eq!(
        f.ok(&["ps", "-aq"]).lines().count(),
        1,
        "only 'kept' is left"
    );
    f.ok(&["rm", "kept"]);
}
