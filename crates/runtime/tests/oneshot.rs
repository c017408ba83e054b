//! The fork-safe core through the one-shot API, on a busybox rootfs made here
//! (root only; skipped otherwise, failing under HOIST_TEST_STRICT=1).

use hoist_runtime::spec::NetworkMode;
use hoist_runtime::{run_oneshot, OneShot, Stdio};
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

struct Rootfs {
    _dir: tempfile::TempDir,
    lower: PathBuf,
    base: PathBuf,
}

fn busybox_rootfs() -> Option<Rootfs> {
    if !Path::new("/bin/busybox").exists() {
        hoist_testkit::skip_or_fail("oneshot", "/bin/busybox is missing");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let lower = dir.path().join("lower");
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
        std::fs::create_dir_all(lower.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", lower.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "echo", "cat", "ps", "hostname", "ip", "mount", "mknod", "ls", "id", "sleep",
    ] {
        std::os::unix::fs::symlink("busybox", lower.join("bin").join(applet)).unwrap();
    }
    std::fs::write(
        lower.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(lower.join("etc/group"), "root:x:0:\nuser:x:1000:\n").unwrap();
    Some(Rootfs {
        base: dir.path().to_path_buf(),
        lower,
        _dir: dir,
    })
}

/// Runs `sh -c script` in a fresh overlay; returns (exit code, output).
fn run(root: &Rootfs, script: &str, tweak: impl FnOnce(&mut OneShot)) -> (i32, String) {
    let n: u64 = rand::random();
    let upper = root.base.join(format!("upper-{n}"));
    let work = root.base.join(format!("work-{n}"));
    std::fs::create_dir(&upper).unwrap();
    std::fs::create_dir(&work).unwrap();
    let out_path = root.base.join(format!("out-{n}"));
    let out = File::create(&out_path).unwrap();
    let err = out.try_clone().unwrap();
    let mut shot = OneShot {
        lowerdirs: vec![root.lower.clone()],
        upperdir: upper,
        workdir: work,
        argv: vec!["sh".into(), "-c".into(), script.into()],
        env: vec!["PATH=/bin".into()],
        network: NetworkMode::None,
        stdout: Stdio::Fd(OwnedFd::from(out)),
        stderr: Stdio::Fd(OwnedFd::from(err)),
        ..Default::default()
    };
    tweak(&mut shot);
    let status = match run_oneshot(&shot) {
        Ok(s) => s.exit_code,
        Err(e) => e.exit_code(),
    };
    (status, std::fs::read_to_string(out_path).unwrap())
}

#[test]
fn oneshot_core_behaves_like_docker() {
    hoist_testkit::require_root!();
    let Some(root) = busybox_rootfs() else { return };
    assert_eq!(run(&root, "echo hi", |_| {}), (0, "hi\n".into()));
    assert_eq!(run(&root, "exit 7", |_| {}).0, 7);
    let (code, _) = run(&root, "", |s| s.argv = vec!["nonexistent".into()]);
    assert_eq!(code, 127);
    let (code, _) = run(&root, "", |s| s.argv = vec!["/etc/passwd".into()]);
    assert_eq!(code, 126);
    // PID 1 is the command; no host process is visible.
    let (code, out) = run(&root, "ps -o pid,comm", |_| {});
    assert_eq!(code, 0);
    let procs: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(procs, vec![vec!["1", "ps"]], "{out}");
    let (_, out) = run(&root, "hostname", |s| s.hostname = Some("box".into()));
    assert_eq!(out, "box\n");
    let (_, out) = run(&root, "ls /sys/class/net", |_| {});
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), vec!["lo"]);
    let (_, out) = run(&root, "id -u; id -g; pwd", |s| {
        s.user = "user".into();
        s.cwd = "/work/dir".into();
    });
    assert_eq!(out, "1000\n1000\n/work/dir\n");
}

#[test]
fn oneshot_core_refuses_hostile_actions() {
    hoist_testkit::require_root!();
    let Some(root) = busybox_rootfs() else { return };
    for (what, script) in [
        ("sysrq", "echo h > /proc/sysrq-trigger"),
        ("proc sys", "echo 3 > /proc/sys/vm/drop_caches"),
        ("mount", "mount -t tmpfs tmpfs /tmp"),
        ("mknod disk", "mknod /tmp/sda b 8 0"),
        (
            "cgroup limit",
            "echo 999999999 > /sys/fs/cgroup/memory/memory.limit_in_bytes",
        ),
        ("timer_list", "test -s /proc/timer_list"),
    ] {
        let (code, out) = run(&root, script, |_| {});
        assert_ne!(code, 0, "{what} succeeded inside the container: {out}");
    }
    let (_, out) = run(&root, "echo 3 > /proc/sys/vm/drop_caches", |_| {});
    assert!(out.contains("Read-only"), "{out}");
    // The limit file is there (the cgroup fs is mounted) but read-only.
    let (code, out) = run(
        &root,
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
        |_| {},
    );
    assert_eq!(code, 0, "{out}");
    // The test process itself is invisible and cannot be signalled.
    let me = std::process::id();
    let (code, out) = run(&root, &format!("kill -0 {me}"), |_| {});
    assert_ne!(code, 0, "signalled a host process: {out}");
}

#[test]
fn fifty_concurrent_oneshots() {
    hoist_testkit::require_root!();
    let Some(root) = busybox_rootfs() else { return };
    let root = std::sync::Arc::new(root);
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let root = root.clone();
            std::thread::spawn(move || run(&root, &format!("echo {i}; exit {}", i % 5), |_| {}))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let (code, out) = h.join().unwrap();
        assert_eq!((code, out), ((i % 5) as i32, format!("{i}\n")));
    }
}
