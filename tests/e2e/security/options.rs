//! `--security-opt seccomp=unconfined|PROFILE.json`, `--privileged`,
//! `--cap-add/--cap-drop`, `no-new-privileges`, masked paths: each allows
//! what it should and nothing more.

use std::os::unix::fs::PermissionsExt;

use super::{allowed, kit, parse_results};
use crate::container::{stderr, Fixture};

fn suite(
    f: &Fixture,
    kit: &std::path::Path,
    flags: &[&str],
    attempts: &[&str],
) -> std::collections::BTreeMap<String, String> {
    let mount = format!("{}:/t:ro", kit.display());
    let mut args = vec!["run", "--rm", "--network", "none", "-v", &mount];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "/t/escape"]);
    args.extend_from_slice(attempts);
    parse_results(&f.ok(&args))
}

fn status_field(f: &Fixture, flags: &[&str], field: &str) -> String {
    let mut args = vec!["run", "--rm", "--network", "none"];
    args.extend_from_slice(flags);
    let pattern = format!("^{field}:");
    args.extend_from_slice(&["busybox", "grep", &pattern, "/proc/self/status"]);
    let line = f.ok(&args);
    line.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn unconfined_and_privileged_allow_what_they_should() {
    let Some(kit) = kit() else { return };
    let Some(f) = Fixture::new() else { return };
    // Without the filter, calls that need no capability work again; those
    // that need one (mount: CAP_SYS_ADMIN) still do not.
    let unconfined = ["--security-opt", "seccomp=unconfined"];
    assert_eq!(status_field(&f, &unconfined, "Seccomp"), "0");
    let r = suite(&f, kit, &unconfined, &["keyctl", "unshare-user", "mount"]);
    assert!(
        allowed(&r, "keyctl") && allowed(&r, "unshare-user"),
        "{r:?}"
    );
    assert!(!allowed(&r, "mount"), "{r:?}");
    // --cap-add SYS_ADMIN opens the calls the profile keeps for it.
    let r = suite(&f, kit, &["--cap-add", "SYS_ADMIN"], &["mount", "keyctl"]);
    assert!(allowed(&r, "mount") && !allowed(&r, "keyctl"), "{r:?}");

    // --privileged: every capability this process may give, no filter,
    // /sys, /proc/sys and the cgroup fs writable, block devices.
    let privileged = ["--privileged"];
    assert_eq!(status_field(&f, &privileged, "Seccomp"), "0");
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    let own_bounding = own
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(status_field(&f, &privileged, "CapEff"), own_bounding);
    let r = suite(
        &f,
        kit,
        &privileged,
        &[
            "mount",
            "unshare-mount",
            "write-proc-sys-kernel",
            "write-sys-kernel",
            "write-cgroup",
            "mknod-block",
        ],
    );
    assert!(r.values().all(|v| v == "allowed"), "privileged: {r:?}");
    // The host's devices are there.
    let devs = f.ok(&["run", "--rm", "--privileged", "busybox", "ls", "/dev"]);
    let host_has_other = std::fs::read_dir("/dev")
        .unwrap()
        .flatten()
        .any(|e| e.file_name() == "kmsg");
    if host_has_other {
        assert!(devs.split_whitespace().any(|d| d == "kmsg"), "{devs}");
    }
}

#[test]
fn masked_paths_are_empty_unless_privileged() {
    let Some(f) = Fixture::new() else { return };
    if !std::path::Path::new("/proc/timer_list").exists() {
        hoist_testkit::skip_or_fail("masked paths", "this kernel has no /proc/timer_list");
        return;
    }
    let size = |flags: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "sh", "-c", "cat /proc/timer_list | wc -c"]);
        f.ok(&args).trim().parse::<u64>().unwrap()
    };
    assert_eq!(size(&[]), 0, "/proc/timer_list is masked");
    assert!(size(&["--privileged"]) > 0, "--privileged unmasks it");
    // /proc/sys is read-only, /sys/firmware an empty directory.
    let out = f.out(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo 1 > /proc/sys/kernel/panic",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Read-only"), "{}", stderr(&out));
    let fw = f.ok(&["run", "--rm", "busybox", "ls", "-A", "/sys/firmware"]);
    assert_eq!(fw, "");
}

#[test]
fn cap_drop_all_cannot_chown_and_no_new_privileges_stops_setuid() {
    let Some(kit) = kit() else { return };
    let Some(f) = Fixture::new() else { return };
    let chown = "touch /tmp/f && chown 1:1 /tmp/f && echo chowned";
    assert_eq!(
        f.ok(&["run", "--rm", "busybox", "sh", "-c", chown]),
        "chowned"
    );
    let out = f.out(&[
        "run",
        "--rm",
        "--cap-drop",
        "ALL",
        "busybox",
        "sh",
        "-c",
        chown,
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        status_field(&f, &["--cap-drop", "ALL"], "CapEff"),
        "0000000000000000"
    );
    assert_eq!(
        status_field(&f, &["--cap-drop", "all", "--cap-add", "chown"], "CapEff"),
        "0000000000000001"
    );
    let bad = f.out(&["run", "--rm", "--cap-add", "NOT_A_CAP", "busybox", "true"]);
    assert_eq!(bad.status.code(), Some(125));
    assert!(stderr(&bad).contains("NOT_A_CAP"), "{}", stderr(&bad));

    // A set-uid root copy of the suite's binary, run as user 1000: root
    // without no_new_privs (docker's default), 1000 with it.
    let suid = tempfile::tempdir().unwrap();
    let bin = suid.path().join("escape");
    std::fs::copy(kit.join("escape"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let mount = format!("{}:/s:ro", suid.path().display());
    let euid = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "--user", "1000", "-v", &mount];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "/s/escape", "euid"]);
        f.ok(&args)
    };
    assert_eq!(euid(&[]), "0", "set-uid works by default, as in docker");
    assert_eq!(euid(&["--security-opt", "no-new-privileges"]), "1000");
    assert_eq!(
        status_field(&f, &["--security-opt", "no-new-privileges"], "NoNewPrivs"),
        "1"
    );
}

#[test]
fn seccomp_profiles_in_docker_and_podman_format_are_applied() {
    let Some(kit) = kit() else { return };
    let Some(f) = Fixture::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Everything allowed but mkdir, which fails with EACCES (13).
    let own = dir.path().join("no-mkdir.json");
    std::fs::write(
        &own,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", own.display());
    let out = f.out(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "mkdir",
        "/tmp/d",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    let r = suite(&f, kit, &["--security-opt", &opt], &["keyctl"]);
    assert!(allowed(&r, "keyctl"), "{r:?}");
    // podman's own profile (ENOSYS by default, EPERM lists, includes by cap).
    let podmans = std::path::Path::new("/usr/share/containers/seccomp.json");
    if podmans.exists() {
        let opt = format!("seccomp={}", podmans.display());
        let r = suite(
            &f,
            kit,
            &["--security-opt", &opt],
            &["keyctl", "kexec_load", "mount"],
        );
        assert!(allowed(&r, "keyctl"), "{r:?}");
        assert_eq!(r["kexec_load"], "refused EPERM");
        assert!(!allowed(&r, "mount"), "{r:?}");
    }
    // A bad profile is refused at create with the file and the reason.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).unwrap();
    let opt = format!("seccomp={}", bad.display());
    let out = f.out(&["run", "--rm", "--security-opt", &opt, "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.contains("bad.json") && err.contains("SCMP_ACT_NOPE"),
        "{err}"
    );
    assert_eq!(f.ok(&["ps", "-aq"]), "", "nothing was created");
}
