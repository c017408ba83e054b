//! The escape suite in a hoist container (every attempt refused), in an
//! `exec` and a build step (both under the same filter), and the cross-check
//! against `podman run`: hoist refuses everything podman refuses.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::{allowed, kit, parse_results};
use crate::container::{stderr, stdout, Fixture};

/// Every attempt of escape.c (its names, in its order).
const ATTEMPTS: [&str; 17] = [
    "unshare-user",
    "unshare-mount",
    "mount",
    "keyctl",
    "bpf",
    "perf_event_open",
    "open_by_handle_at",
    "kexec_load",
    "init_module",
    "ptrace-outside",
    "mknod-block",
    "write-proc-sys-kernel",
    "write-sysrq-trigger",
    "write-sys-kernel",
    "write-cgroup",
    "raw-socket",
    "setns-pid1",
];

/// `hoist run` of the suite: docker's defaults less NET_RAW (the raw-socket
/// attempt is about a container without it), the kit mounted at /t.
fn hoist_suite(f: &Fixture, kit: &Path) -> BTreeMap<String, String> {
    let out = f.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--cap-drop",
        "NET_RAW",
        "-e",
        &format!("ESCAPE_OUTSIDE_PID={}", std::process::id()),
        "-v",
        &format!("{}:/t:ro", kit.display()),
        "busybox",
        "/t/escape",
        "all",
    ]);
    parse_results(&out)
}

#[test]
fn every_escape_attempt_is_refused_in_run_exec_and_build_steps() {
    let Some(kit) = kit() else { return };
    let Some(f) = Fixture::new() else { return };
    let results = hoist_suite(&f, kit);
    assert_eq!(results.len(), ATTEMPTS.len(), "{results:?}");
    let escaped: Vec<_> = results.iter().filter(|(_, r)| *r == "allowed").collect();
    assert!(
        escaped.is_empty(),
        "allowed in a hoist container: {escaped:?}"
    );
    // The filter itself refused the calls it lists (EPERM), not only a
    // missing capability or file.
    for call in [
        "keyctl",
        "unshare-user",
        "bpf",
        "perf_event_open",
        "kexec_load",
    ] {
        assert_eq!(results[call], "refused EPERM", "{call}");
    }

    // exec joins the container's filter.
    f.ok(&[
        "run",
        "-d",
        "--name",
        "sec-exec",
        "-v",
        &format!("{}:/t:ro", kit.display()),
        "busybox",
        "sleep",
        "60",
    ]);
    let status = f.ok(&["exec", "sec-exec", "grep", "^Seccomp:", "/proc/self/status"]);
    assert!(status.ends_with('2'), "exec is not filtered: {status}");
    let exec = parse_results(&f.ok(&[
        "exec",
        "sec-exec",
        "/t/escape",
        "keyctl",
        "unshare-user",
        "mount",
    ]));
    assert!(exec.values().all(|r| r != "allowed"), "exec: {exec:?}");
    f.ok(&["rm", "-f", "sec-exec"]);

    // A build step (the runtime's one-shot path) runs under it too.
    let ctx = crate::build::context(&[(
        "Dockerfile",
        "FROM busybox:latest\nRUN grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status > /status\n",
    )]);
    crate::build::build_ok(f.path(), &["-t", "sec-step:1"], ctx.path());
    let step = f.ok(&["run", "--rm", "sec-step:1", "cat", "/status"]);
    assert!(step.contains("Seccomp:\t2"), "build step: {step}");
    // One program cached under the store for all of them: it is keyed by
    // the resolved section, and no rule of the profile depends on NET_RAW.
    let cached = std::fs::read_dir(f.path().join("seccomp")).unwrap().count();
    assert_eq!(cached, 1, "cached programs");
}

/// podman in throwaway storage, running the same binary from a rootfs dir.
fn podman_suite(kit: &Path, work: &Path) -> Option<BTreeMap<String, String>> {
    if !hoist_testkit::have_program("podman") {
        hoist_testkit::skip_or_fail("escape suite under podman", "podman is not installed");
        return None;
    }
    let rootfs = work.join("rootfs");
    for d in ["bin", "tmp", "proc", "sys", "dev"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(kit.join("escape"), rootfs.join("bin/escape")).unwrap();
    let out = Command::new("podman")
        .arg("--root")
        .arg(work.join("storage"))
        .arg("--runroot")
        .arg(work.join("run"))
        .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
        .args(["--events-backend", "file", "--runtime", "runc"])
        .args(["run", "--rm", "--network", "none", "--cap-drop", "NET_RAW"])
        .args([
            "--ulimit",
            "nofile=16384:16384",
            "--ulimit",
            "nproc=16384:16384",
        ])
        .arg("-e")
        .arg(format!("ESCAPE_OUTSIDE_PID={}", std::process::id()))
        .arg("--rootfs")
        .arg(&rootfs)
        .args(["/bin/escape", "all"])
        .output()
        .expect("running podman");
    assert!(
        out.status.success(),
        "podman run: {}{}",
        stdout(&out),
        stderr(&out)
    );
    Some(parse_results(&stdout(&out)))
}

#[test]
fn hoist_refuses_everything_podman_refuses() {
    let Some(kit) = kit() else { return };
    let Some(f) = Fixture::new() else { return };
    let work = tempfile::tempdir().unwrap();
    let Some(podman) = podman_suite(kit, work.path()) else {
        return;
    };
    let hoist = hoist_suite(&f, kit);
    println!("{:<24} {:<22} podman", "attempt", "hoist");
    for name in ATTEMPTS {
        println!(
            "{name:<24} {:<22} {}",
            hoist.get(name).map_or("-", String::as_str),
            podman.get(name).map_or("-", String::as_str)
        );
    }
    for name in ATTEMPTS {
        if !allowed(&podman, name) {
            assert!(
                !allowed(&hoist, name),
                "{name}: podman refuses it, hoist allows it"
            );
        }
    }
}
