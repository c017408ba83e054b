//! An image that carries a setuid-root binary, a file capability, a 0777
//! directory and a 0666 node for the host's disk is pushed to `hoist registry
//! serve`, pulled into a fresh store and run once. Then an unprivileged host
//! user tries each attack through the store's paths: every one must fail
//! with EACCES, while the container (as root) still sees all of it.

use crate::common::{hoist, hoist_ok};
use hoist_testkit::{free_port, require_program, require_root, Peer, TempRoot};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `argv` as nobody (uid/gid 65534, no supplementary groups). Through
/// a shell: setpriv keeps root's capabilities until its own execve, so it
/// would resolve `argv[0]` with CAP_DAC_OVERRIDE; the shell has none left.
fn as_nobody(argv: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["/bin/sh", "-c", "exec \"$@\"", "sh"])
        .args(argv)
        .output()
        .expect("run setpriv")
}

fn assert_eacces(what: &str, out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("Permission denied"),
        "{what} must fail with EACCES, got {} stdout {:?} stderr {err:?}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Major and minor of the device holding the host's root filesystem.
fn root_fs_device() -> (u64, u64) {
    let dev = std::fs::metadata("/").unwrap().dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

/// The hostile rootfs as a tar (GNU tar keeps the capability xattr and the node).
fn hostile_tar(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "suid", "cap", "shared", "nodes"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    // A setuid-root `id` (coreutils; busybox drops setuid for its applets, so
    // it could not show an euid of 0). It runs on the host from the snapshot.
    std::fs::copy("/usr/bin/id", rootfs.join("suid/id")).unwrap();
    std::fs::set_permissions(rootfs.join("suid/id"), PermissionsExt::from_mode(0o4755)).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("cap/busybox")).unwrap();
    let ok = Command::new("setcap")
        .args(["cap_net_raw+ep"])
        .arg(rootfs.join("cap/busybox"))
        .status()
        .unwrap();
    assert!(ok.success(), "setcap failed");
    std::fs::set_permissions(rootfs.join("shared"), PermissionsExt::from_mode(0o777)).unwrap();
    let (major, minor) = root_fs_device();
    let node = rootfs.join("nodes/hostdisk");
    let ok = Command::new("mknod")
        .arg(&node)
        .args(["b", &major.to_string(), &minor.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "mknod failed");
    std::fs::set_permissions(&node, PermissionsExt::from_mode(0o666)).unwrap();
    let tar = dir.join("hostile.tar");
    let ok = Command::new("tar")
        .args(["--xattrs", "--xattrs-include=*", "-C"])
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(ok.success(), "tar failed");
    tar
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o7777
}

/// The snapshot dir holding `rel` (the image has one layer).
fn snapshot_with(root: &Path, rel: &str) -> PathBuf {
    std::fs::read_dir(root.join("snapshots"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join(rel).symlink_metadata().is_ok())
        .unwrap_or_else(|| panic!("no snapshot holds {rel}"))
}

#[test]
fn unprivileged_users_cannot_reach_a_pulled_images_files() {
    require_root!();
    require_program!("setpriv");
    require_program!("setcap");
    require_program!("getcap");
    require_program!("busybox");
    let work = TempRoot::new();
    // Traversable down to the store root, as /var/lib is: only the store's
    // own modes may stand between a host user and the image's files.
    std::fs::set_permissions(work.path(), PermissionsExt::from_mode(0o755)).unwrap();
    let tar = hostile_tar(work.path());

    let port = free_port();
    let mut serve = hoist(&work.join("registry-root"));
    serve
        .args(["registry", "serve", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--storage-root")
        .arg(work.join("registry-data"));
    let _registry = Peer::start(&mut serve, port, &work.join("registry.log"));
    let name = format!("127.0.0.1:{port}/hostile/img:1");
    let builder = work.join("builder-root");
    hoist_ok(&builder, &["import", tar.to_str().unwrap(), "-t", &name]);
    hoist_ok(&builder, &["push", "--tls-verify=false", &name]);

    let root = work.join("store");
    hoist_ok(&root, &["pull", "--tls-verify=false", &name]);
    let seen = hoist_ok(
        &root,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            &name,
            "/bin/busybox",
            "stat",
            "-c",
            "%a %F %t:%T",
            "/suid/id",
            "/nodes/hostdisk",
            "/shared",
        ],
    );
    let (major, minor) = root_fs_device();
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines[0], "4755 regular file 0:0", "{seen}");
    assert_eq!(
        lines[1],
        format!("666 block special file {major:x}:{minor:x}"),
        "{seen}"
    );
    assert_eq!(lines[2], "777 directory 0:0", "{seen}");

    for dir in ["", "content", "snapshots", "containers", "volumes", "tmp"] {
        assert_eq!(mode(&root.join(dir)), 0o700, "{dir}");
    }
    let snap = snapshot_with(&root, "suid/id");
    let caps = Command::new("getcap")
        .arg(snap.join("cap/busybox"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&caps.stdout).contains("cap_net_raw"),
        "the capability survived the pull: {caps:?}"
    );

    let suid = as_nobody(&[snap.join("suid/id").to_str().unwrap(), "-u"]);
    assert_ne!(
        String::from_utf8_lossy(&suid.stdout).trim(),
        "0",
        "ran as euid 0"
    );
    assert_eacces("exec of the setuid binary", &suid);
    let node = snap.join("nodes/hostdisk");
    let disk = as_nobody(&[
        "dd",
        &format!("if={}", node.display()),
        "of=/dev/null",
        "bs=512",
        "count=1",
    ]);
    assert_eacces("opening the device node", &disk);
    let planted = snap.join("shared/planted");
    let write = as_nobody(&["touch", planted.to_str().unwrap()]);
    assert_eacces("writing into the 0777 lower dir", &write);
    assert!(!planted.exists());
    let cap = as_nobody(&[snap.join("cap/busybox").to_str().unwrap(), "true"]);
    assert_eacces("exec of the binary with a capability", &cap);
}

#[test]
fn an_older_stores_loose_modes_are_tightened_on_open() {
    let work = TempRoot::new();
    let root = work.join("store");
    hoist_ok(&root, &["images"]);
    // What an older hoist left: everything 0755.
    for dir in ["", "content", "snapshots", "containers", "tmp"] {
        std::fs::set_permissions(root.join(dir), PermissionsExt::from_mode(0o755)).unwrap();
    }
    hoist_ok(&root, &["images"]);
    for dir in [
        "",
        "content",
        "snapshots",
        "containers",
        "volumes",
        "pods",
        "tmp",
    ] {
        assert_eq!(mode(&root.join(dir)), 0o700, "{dir}");
    }
}

#[test]
fn verbs_that_create_a_fresh_root_make_it_private() {
    let work = TempRoot::new();
    let by_volume = work.join("by-volume");
    hoist_ok(&by_volume, &["volume", "create", "v1"]);
    assert_eq!(mode(&by_volume), 0o700, "root made by volume create");
    assert_eq!(mode(&by_volume.join("volumes")), 0o700);

    let by_pod = work.join("by-pod");
    hoist_ok(&by_pod, &["pod", "create", "--name", "p1"]);
    assert_eq!(mode(&by_pod), 0o700, "root made by pod create");
    assert_eq!(mode(&by_pod.join("pods")), 0o700);
    hoist_ok(&by_pod, &["pod", "rm", "p1"]);

    // The registry's default storage lives under hoist's root.
    let by_registry = work.join("by-registry");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut serve = hoist(&by_registry);
    serve.args(["registry", "serve", "--addr", &addr]);
    let _registry = hoist_testkit::ChildGuard::spawn(&mut serve).expect("start registry");
    hoist_testkit::wait_until(
        "the registry's storage",
        std::time::Duration::from_secs(30),
        || by_registry.join("registry").exists(),
    );
    assert_eq!(mode(&by_registry), 0o700, "root made by registry serve");
}
