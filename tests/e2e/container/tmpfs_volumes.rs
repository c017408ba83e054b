//! Named tmpfs volumes (docker's `volume create --opt type=tmpfs`): memory
//! backed, shared by the containers that mount them, unmounted on `volume rm`.

use super::Fixture;

fn mounted_at(path: &std::path::Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let p = path.to_string_lossy();
    info.lines()
        .any(|l| l.split(' ').nth(4) == Some(p.as_ref()))
}

#[test]
fn tmpfs_volumes_are_memory_backed_shared_and_unmounted_on_rm() {
    let Some(f) = Fixture::new() else { return };
    let name = f.ok(&[
        "volume",
        "create",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        "o=size=1m,mode=1777",
        "shm-logs",
    ]);
    assert_eq!(name, "shm-logs");
    let v = &serde_json::from_str::<serde_json::Value>(&f.ok(&["volume", "inspect", "shm-logs"]))
        .unwrap()[0];
    assert_eq!(v["Options"]["type"], "tmpfs");
    let data = std::path::PathBuf::from(v["Mountpoint"].as_str().unwrap());
    assert!(
        mounted_at(&data),
        "the tmpfs is mounted on {}",
        data.display()
    );

    // Two containers share it; inside it is a 1 MiB tmpfs.
    f.ok(&[
        "run",
        "-d",
        "--name",
        "w",
        "-v",
        "shm-logs:/logs",
        "busybox",
        "sleep",
        "60",
    ]);
    f.ok(&["exec", "w", "sh", "-c", "echo shared > /logs/f"]);
    let seen = f.ok(&[
        "run",
        "--rm",
        "-v",
        "shm-logs:/logs",
        "busybox",
        "cat",
        "/logs/f",
    ]);
    assert_eq!(seen, "shared");
    let fs = f.ok(&["exec", "w", "stat", "-f", "-c", "%T", "/logs"]);
    assert_eq!(fs, "tmpfs");
    let full = f.out(&[
        "exec",
        "w",
        "sh",
        "-c",
        "head -c 2000000 /dev/zero > /logs/big",
    ]);
    assert_ne!(full.status.code(), Some(0), "the size limit holds");

    // In use: rm refuses; after the container is gone, rm unmounts and deletes.
    assert_ne!(f.out(&["volume", "rm", "shm-logs"]).status.code(), Some(0));
    f.ok(&["rm", "-f", "w"]);
    f.ok(&["volume", "rm", "shm-logs"]);
    assert!(!mounted_at(&data));
    assert!(!data.exists());

    // Bad options: clear errors, nothing created or mounted.
    for (opts, says) in [
        (&["--opt", "type=nfs"][..], "not supported"),
        (
            &["--opt", "type=tmpfs", "--opt", "o=size=1m,exec"][..],
            "is not one of",
        ),
        (
            &["--opt", "type=tmpfs", "--opt", "device=/dev/sda"][..],
            "device must be tmpfs",
        ),
        (&["--opt", "color=red"][..], "not known"),
        (&["--opt", "type"][..], "not KEY=VALUE"),
    ] {
        let mut args = vec!["volume", "create"];
        args.extend_from_slice(opts);
        args.push("bad-vol");
        let out = f.out(&args);
        assert_ne!(out.status.code(), Some(0), "{opts:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{opts:?}: {err}");
        assert!(f.ok(&["volume", "ls", "-q"]).is_empty(), "{opts:?}");
    }
}
