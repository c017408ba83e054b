//! Named volumes outlive containers; :ro is read-only; tmpfs is in memory and
//! gone after a stop; the volume commands.

use super::{stderr, Fixture};

#[test]
fn named_volume_survives_rm_and_is_seen_by_a_newer_image() {
    let Some(f) = Fixture::new() else { return };
    f.ok(&[
        "run",
        "--rm",
        "-v",
        "appdata:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/file",
    ]);
    assert_eq!(f.ok(&["volume", "ls", "-q"]), "appdata");
    f.image(
        "busybox:newer",
        &[r#"CMD ["cat", "/data/file"]"#],
        &[("/etc/newer", "yes")],
    );
    assert_eq!(
        f.ok(&["run", "--rm", "-v", "appdata:/data", "busybox:newer"]),
        "kept"
    );
    let ro = f.out(&[
        "run",
        "--rm",
        "-v",
        "appdata:/data:ro",
        "busybox",
        "sh",
        "-c",
        "echo x > /data/file",
    ]);
    assert_ne!(ro.status.code(), Some(0));
    assert!(stderr(&ro).contains("Read-only"), "{}", stderr(&ro));
    let v: serde_json::Value =
        serde_json::from_str(&f.ok(&["volume", "inspect", "appdata"])).unwrap();
    assert!(v[0]["Mountpoint"]
        .as_str()
        .unwrap()
        .ends_with("volumes/appdata/_data"));
    // In use -> refused; unused -> removed.
    f.ok(&[
        "create",
        "--name",
        "holder",
        "-v",
        "appdata:/data",
        "busybox",
        "true",
    ]);
    assert_ne!(f.out(&["volume", "rm", "appdata"]).status.code(), Some(0));
    f.ok(&["rm", "holder"]);
    f.ok(&["volume", "create", "spare"]);
    let pruned = f.ok(&["volume", "prune", "-f"]);
    assert!(
        pruned.contains("appdata") && pruned.contains("spare"),
        "{pruned}"
    );
    assert_eq!(f.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn bind_mounts_and_tmpfs() {
    let Some(f) = Fixture::new() else { return };
    let host = f.root.join("hostdir");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("in"), "from-host").unwrap();
    let bind = format!("{}:/mnt/h", host.display());
    let out = f.ok(&[
        "run",
        "--rm",
        "-v",
        &bind,
        "busybox",
        "sh",
        "-c",
        "cat /mnt/h/in; echo back > /mnt/h/out",
    ]);
    assert_eq!(out, "from-host");
    assert_eq!(std::fs::read_to_string(host.join("out")).unwrap(), "back\n");
    let ro = format!("{}:/mnt/h:ro", host.display());
    let ro_out = f.out(&["run", "--rm", "-v", &ro, "busybox", "touch", "/mnt/h/x"]);
    assert_ne!(ro_out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ro_out.stderr).contains("Read-only"));
    assert!(!host.join("x").exists());
    // tmpfs: memory-backed, sized, and empty again after a stop.
    f.ok(&[
        "run",
        "-d",
        "--name",
        "t",
        "--tmpfs",
        "/scratch:size=1m,mode=1777",
        "busybox",
        "sleep",
        "60",
    ]);
    let mounts = f.ok(&["exec", "t", "grep", " /scratch ", "/proc/mounts"]);
    assert!(
        mounts.starts_with("tmpfs /scratch tmpfs") && mounts.contains("size=1024k"),
        "{mounts}"
    );
    f.ok(&["exec", "t", "sh", "-c", "echo data > /scratch/f"]);
    let full = f.out(&[
        "exec",
        "t",
        "sh",
        "-c",
        "head -c 2000000 /dev/zero > /scratch/big",
    ]);
    assert_ne!(full.status.code(), Some(0), "the size limit holds");
    f.ok(&["stop", "-t", "0", "t"]);
    f.ok(&["start", "t"]);
    assert_ne!(
        f.out(&["exec", "t", "test", "-e", "/scratch/f"])
            .status
            .code(),
        Some(0)
    );
}
