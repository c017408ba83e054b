//! `run`/`create` flags that amend the spec (--ulimit, --group-add,
//! --shm-size, --device) take effect inside the container and show in
//! inspect's HostConfig with the security flags; --cidfile as docker's;
//! bad values refused with exit 125 before anything is made.

use super::stderr;
use crate::container::Fixture;

#[test]
fn run_flags_reach_the_container_and_inspect() {
    let Some(f) = Fixture::new() else { return };
    let script = "ulimit -n; ulimit -Hn; id -G; df -k /dev/shm | tail -n1; \
                  stat -c %t:%T /dev/mynull; echo x > /dev/mynull && echo written";
    f.ok(&[
        "create",
        "--name",
        "flags",
        "--ulimit",
        "nofile=1024:2048",
        "--group-add",
        "1234",
        "--shm-size",
        "128m",
        "--device",
        "/dev/null:/dev/mynull:rw",
        "--cap-add",
        "NET_ADMIN",
        "--security-opt",
        "no-new-privileges",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let out = f.out(&["start", "-a", "flags"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..2], ["1024", "2048"], "{text}");
    assert!(lines[2].split_whitespace().any(|g| g == "1234"), "{text}");
    assert_eq!(lines[3].split_whitespace().nth(1), Some("131072"), "{text}");
    assert_eq!(&lines[4..], ["1:3", "written"], "{text}");

    let host = &f.inspect("flags")["HostConfig"];
    assert_eq!(host["Ulimits"][0]["Name"], "nofile");
    assert_eq!(host["Ulimits"][0]["Soft"], 1024);
    assert_eq!(host["Ulimits"][0]["Hard"], 2048);
    assert_eq!(host["GroupAdd"][0], "1234");
    assert_eq!(host["ShmSize"], 128u64 << 20);
    assert_eq!(host["Devices"][0]["PathInContainer"], "/dev/mynull");
    assert_eq!(host["Devices"][0]["CgroupPermissions"], "rw");
    assert!(host["CapAdd"][0].as_str().unwrap().ends_with("NET_ADMIN"));
    assert_eq!(host["SecurityOpt"][0], "no-new-privileges");
    assert_eq!(host["Privileged"], false);

    // Memory plus swap, the soft limit and CPU shares reach the cgroup.
    f.ok(&[
        "run",
        "-d",
        "--name",
        "weights",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--memory-reservation",
        "32m",
        "--cpu-shares",
        "512",
        "busybox",
        "sleep",
        "600",
    ]);
    let v = f.inspect("weights");
    let id = v["Id"].as_str().unwrap();
    assert_eq!(v["HostConfig"]["MemorySwap"], 128i64 << 20);
    assert_eq!(v["HostConfig"]["CpuShares"], 512);
    let read = |p: String| std::fs::read_to_string(p).unwrap().trim().to_string();
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        let d = format!("/sys/fs/cgroup/hoist/{id}");
        assert_eq!(read(format!("{d}/memory.low")), (32u64 << 20).to_string());
        assert_eq!(read(format!("{d}/cpu.weight")), "20");
    } else {
        let m = format!("/sys/fs/cgroup/memory/hoist/{id}");
        assert_eq!(
            read(format!("{m}/memory.soft_limit_in_bytes")),
            (32u64 << 20).to_string()
        );
        let memsw = format!("{m}/memory.memsw.limit_in_bytes");
        if std::path::Path::new(&memsw).exists() {
            assert_eq!(read(memsw), (128u64 << 20).to_string());
        }
        assert_eq!(
            read(format!("/sys/fs/cgroup/cpu/hoist/{id}/cpu.shares")),
            "512"
        );
    }
}

#[test]
fn cidfile_and_refused_flags() {
    let Some(f) = Fixture::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cid = dir.path().join("cid");
    let cid_arg = cid.display().to_string();
    f.ok(&[
        "create",
        "--cidfile",
        &cid_arg,
        "--name",
        "c1",
        "busybox",
        "true",
    ]);
    let id = f.inspect("c1")["Id"].as_str().unwrap().to_string();
    assert_eq!(std::fs::read_to_string(&cid).unwrap(), id);
    let again = f.out(&[
        "create",
        "--cidfile",
        &cid_arg,
        "--name",
        "c2",
        "busybox",
        "true",
    ]);
    assert_eq!(again.status.code(), Some(125));
    assert!(
        stderr(&again).contains("container ID file found"),
        "{}",
        stderr(&again)
    );
    let fg = dir.path().join("fg");
    f.ok(&[
        "run",
        "--rm",
        "--cidfile",
        &fg.display().to_string(),
        "busybox",
        "true",
    ]);
    assert_eq!(std::fs::read_to_string(&fg).unwrap().len(), 64);

    for (args, says) in [
        (vec!["--ulimit", "nofile=2:1"], "soft limit"),
        (vec!["--ulimit", "files=1"], "invalid --ulimit"),
        (vec!["--device", "/tmp"], "not a device"),
        (vec!["--group-add", "staff"], "Unable to find group staff"),
        (vec!["--shm-size", "0"], "greater than 0"),
        (vec!["--memory-swap", "1g"], "needs --memory"),
        (
            vec!["-m", "64m", "--memory-swap", "32m"],
            "at least --memory",
        ),
    ] {
        let mut all = vec!["run", "--rm"];
        all.extend(args.iter());
        all.extend(["busybox", "true"]);
        let out = f.out(&all);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    // Nothing was created by the refused runs.
    assert_eq!(f.ok(&["ps", "-aq"]).lines().count(), 1);
}
