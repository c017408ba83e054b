//! Hostile containers: symlink tricks in mount targets, writes to kernel
//! knobs, mount, the cgroup limits, device nodes, host processes.

use super::{stderr, Fixture};

#[test]
fn volume_target_through_a_symlink_stays_inside_the_rootfs() {
    let Some(f) = Fixture::new() else { return };
    // The image's /escape points at /tmp and /up climbs with "..": mounts on
    // /escape/NAME and /up/tmp/NAME must land inside the container's rootfs
    // (/tmp/NAME there), never in the host's /tmp.
    let name = format!("hoist-escape-{}", std::process::id());
    f.image(
        "evil:1",
        &[],
        &[
            ("/escape", "symlink:/tmp"),
            ("/up", "symlink:../../../../../../.."),
        ],
    );
    let a = format!("evilvol:/escape/{name}");
    let b = format!("evilvol2:/up/tmp/{name}-2");
    let script =
        format!("echo pwned > /escape/{name}/file; echo pwned > /up/tmp/{name}-2/file; echo done");
    assert_eq!(
        f.ok(&["run", "--rm", "-v", &a, "-v", &b, "evil:1", "sh", "-c", &script]),
        "done"
    );
    for host in [format!("/tmp/{name}"), format!("/tmp/{name}-2")] {
        assert!(
            !std::path::Path::new(&host).exists(),
            "{host} was created on the host"
        );
    }
    for vol in ["evilvol", "evilvol2"] {
        let file = f.root.join("volumes").join(vol).join("_data/file");
        assert_eq!(
            std::fs::read_to_string(file).unwrap(),
            "pwned\n",
            "the write went to the volume"
        );
    }
}

#[test]
fn kernel_knobs_mounts_cgroups_and_devices_are_refused() {
    let Some(f) = Fixture::new() else { return };
    let refused = |script: &str| {
        let out = f.out(&[
            "run", "--rm", "--memory", "64m", "busybox", "sh", "-c", script,
        ]);
        assert_ne!(
            out.status.code(),
            Some(0),
            "allowed inside a container: {script}"
        );
        stderr(&out)
    };
    if std::path::Path::new("/proc/sysrq-trigger").exists() {
        refused("echo h > /proc/sysrq-trigger");
    }
    assert!(refused("echo 3 > /proc/sys/vm/drop_caches").contains("Read-only"));
    refused("mount -t tmpfs none /mnt");
    refused("mount --bind /bin /mnt");
    let cg = refused(
        "echo 1073741824 > /sys/fs/cgroup/memory/memory.limit_in_bytes || echo max > /sys/fs/cgroup/memory.max",
    );
    assert!(cg.contains("Read-only"), "{cg}");
    refused("mknod /tmp/sda b 8 0");
    refused("mknod /tmp/mem c 1 1 && head -c1 /tmp/mem");
    refused("test -s /proc/timer_list");
    // The limit itself is as set, read-only, visible.
    let limit = f.ok(&["run", "--rm", "--memory", "64m", "busybox", "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"]);
    assert_eq!(limit, (64u64 << 20).to_string());
}

#[test]
fn host_processes_are_invisible_and_unsignallable() {
    let Some(f) = Fixture::new() else { return };
    let me = std::process::id().to_string();
    // Only the container's own few processes, numbered from 1.
    let procs = f.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "ls /proc | grep '^[0-9]'",
    ]);
    let pids: Vec<u32> = procs.lines().map(|p| p.parse().unwrap()).collect();
    assert!(
        pids.contains(&1) && pids.iter().all(|p| *p < 10),
        "visible: {pids:?}"
    );
    let kill = f.out(&["run", "--rm", "busybox", "kill", "-9", &me]);
    assert_ne!(kill.status.code(), Some(0));
    let own = f.out(&["run", "--rm", "busybox", "kill", "-0", "1"]);
    assert_eq!(own.status.code(), Some(0), "its own PID 1 is itself");
}

#[test]
fn device_nodes_from_an_imported_tar_open_only_where_the_cgroup_allows() {
    let Some(f) = Fixture::new() else { return };
    // A rootfs tar with busybox and two device nodes: 1:3 (null, on docker's
    // allow list) and 8:0 (the first SCSI disk, not on it).
    let tarball = f.path().join("devs.tar");
    {
        let mut b = tar::Builder::new(std::fs::File::create(&tarball).unwrap());
        b.append_path_with_name("/bin/busybox", "bin/busybox")
            .unwrap();
        for applet in ["sh", "head", "echo"] {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, format!("bin/{applet}"), "busybox")
                .unwrap();
        }
        for (name, kind, major, minor) in [
            ("null2", tar::EntryType::Char, 1, 3),
            ("disk", tar::EntryType::Block, 8, 0),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_size(0);
            h.set_mode(0o666);
            h.set_device_major(major).unwrap();
            h.set_device_minor(minor).unwrap();
            b.append_data(&mut h, name, std::io::empty()).unwrap();
        }
        b.finish().unwrap();
    }
    f.ok(&[
        "import",
        tarball.to_str().unwrap(),
        "-t",
        "devs:1",
        "--change",
        "ENV PATH=/bin",
    ]);
    let out = f.out(&[
        "run",
        "--rm",
        "devs:1",
        "sh",
        "-c",
        "echo x > /null2 && echo null-ok; head -c1 /disk >/dev/null || echo disk-refused",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("null-ok"), "{text} {}", stderr(&out));
    assert!(text.contains("disk-refused"), "{text} {}", stderr(&out));
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );
}
