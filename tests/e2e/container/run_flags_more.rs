//! More of docker's `run`/`create` flags, each checked by its effect inside
//! the container: `--sysctl` (the container's own IPC and network
//! namespaces' parameters, the host's untouched), `--cpuset-cpus` (the
//! CPUs the kernel lets its processes run on, also through `update`),
//! `--group-add NAME` (resolved in the image's /etc/group), and `exec`
//! passing everything after the container to the command. Bad values are
//! refused with docker's messages and exit 125, nothing created.

use super::{assert_nothing_left, stderr, stdout, Fixture};

/// Runs a refused `run --rm ... busybox true`: exit 125, `says` in stderr.
fn refused(f: &Fixture, flags: &[&str], says: &str) {
    let mut args = vec!["run", "--rm"];
    args.extend(flags);
    args.extend(["busybox", "true"]);
    let out = f.out(&args);
    assert_eq!(out.status.code(), Some(125), "{flags:?}: {}", stderr(&out));
    assert!(stderr(&out).contains(says), "{flags:?}: {}", stderr(&out));
}

fn host_sysctl(key: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/{key}"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn sysctls_set_the_containers_own_namespaces() {
    let Some(f) = Fixture::new() else { return };
    let host_shmmax = host_sysctl("kernel/shmmax");
    let host_msgmax = host_sysctl("kernel/msgmax");
    // The parameters are written at each start: a second start sees them too.
    let script = "cat /proc/sys/kernel/shmmax /proc/sys/kernel/msgmax \
                  /proc/sys/net/ipv4/ip_forward; \
                  echo 5 > /proc/sys/kernel/shmmax 2>/dev/null || echo read-only";
    f.ok(&[
        "create",
        "--name",
        "tuned",
        "--sysctl",
        "kernel.shmmax=1073741824",
        "--sysctl",
        "kernel.msgmax=12345",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    for _ in 0..2 {
        let out = f.out(&["start", "-a", "tuned"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            stdout(&out).lines().collect::<Vec<_>>(),
            ["1073741824", "12345", "1", "read-only"],
            "{}",
            stderr(&out)
        );
    }
    let sysctls = &f.inspect("tuned")["HostConfig"]["Sysctls"];
    assert_eq!(sysctls["kernel.shmmax"], "1073741824");
    assert_eq!(sysctls["net.ipv4.ip_forward"], "1");
    assert_eq!(host_sysctl("kernel/shmmax"), host_shmmax);
    assert_eq!(host_sysctl("kernel/msgmax"), host_msgmax);
    // docker leaves Sysctls out of a container without any.
    f.ok(&["create", "--name", "plain", "busybox", "true"]);
    assert!(f.inspect("plain")["HostConfig"].get("Sysctls").is_none());

    refused(&f, &["--sysctl", "kernel.panic=1"], "is not whitelisted");
    refused(&f, &["--sysctl", "vm.swappiness=1"], "is not whitelisted");
    refused(&f, &["--sysctl", "net.ipv4..x=1"], "empty part");
    refused(&f, &["--sysctl", "net.ipv4/../x=1"], "has no '/'");
    // Refused before anything is made: no bridge, no host namespace touched.
    refused(
        &f,
        &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
        "sysctl 'net.ipv4.ip_forward' not allowed in host network namespace",
    );
    // A parameter the kernel does not have fails the start, naming it.
    let out = f.out(&[
        "run",
        "--rm",
        "--sysctl",
        "net.ipv4.no_such_thing=1",
        "busybox",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("setting sysctl net.ipv4.no_such_thing"),
        "{}",
        stderr(&out)
    );
    assert_eq!(f.ok(&["ps", "-aq"]).lines().count(), 2);
}

fn allowed_cpus(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or_else(|| panic!("no Cpus_allowed_list in {out}"))
        .trim()
        .to_string()
}

#[test]
fn cpuset_cpus_bind_the_container_to_its_cpus() {
    let Some(f) = Fixture::new() else { return };
    let out = f.ok(&[
        "run",
        "--rm",
        "--cpuset-cpus",
        "0",
        "busybox",
        "cat",
        "/proc/self/status",
    ]);
    assert_eq!(allowed_cpus(&out), "0");

    let id = f.ok(&[
        "run",
        "-d",
        "--cpuset-cpus",
        "0",
        "--cpuset-mems",
        "0",
        "busybox",
        "sleep",
        "600",
    ]);
    let host = &f.inspect(&id)["HostConfig"];
    assert_eq!(host["CpusetCpus"], "0");
    assert_eq!(host["CpusetMems"], "0");
    let v1 = std::path::Path::new("/sys/fs/cgroup/cpuset").is_dir();
    let dir = if v1 {
        format!("/sys/fs/cgroup/cpuset/hoist/{id}")
    } else {
        format!("/sys/fs/cgroup/hoist/{id}")
    };
    let cpus = std::fs::read_to_string(format!("{dir}/cpuset.cpus")).unwrap();
    assert_eq!(cpus.trim(), "0");

    // update of a container that had no cpuset: it is moved into one.
    let last = std::thread::available_parallelism().map_or(1, |n| n.get()) - 1;
    let other = f.ok(&["run", "-d", "busybox", "sleep", "600"]);
    f.ok(&["update", "--cpuset-cpus", &last.to_string(), &other]);
    let status = f.ok(&["exec", &other, "cat", "/proc/1/status"]);
    assert_eq!(allowed_cpus(&status), last.to_string());
    assert_eq!(
        f.inspect(&other)["HostConfig"]["CpusetCpus"],
        last.to_string()
    );

    for c in [&id, &other] {
        f.ok(&["rm", "-f", c]);
        assert_nothing_left(c);
    }
    assert!(!std::path::Path::new(&dir).exists());

    refused(
        &f,
        &["--cpuset-cpus", "99"],
        "Requested CPUs are not available - requested 99",
    );
    refused(
        &f,
        &["--cpuset-cpus", "0-x"],
        "Invalid value 0-x for cpuset cpus",
    );
    refused(
        &f,
        &["--cpuset-mems", "9"],
        "Requested memory nodes are not available - requested 9",
    );
    assert_eq!(f.ok(&["ps", "-aq"]), "");
}

#[test]
fn group_add_takes_names_from_the_images_group_file() {
    let Some(f) = Fixture::new() else { return };
    // Fixture::image's /etc/group has staff (50); busybox's has not.
    f.image("groups", &[], &[]);
    f.ok(&[
        "create",
        "--name",
        "grouped",
        "--group-add",
        "staff",
        "--group-add",
        "1234",
        "groups",
        "id",
        "-G",
    ]);
    let out = f.out(&["start", "-a", "grouped"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let gids: Vec<String> = stdout(&out).split_whitespace().map(String::from).collect();
    assert!(gids.contains(&"50".to_string()), "{gids:?}");
    assert!(gids.contains(&"1234".to_string()), "{gids:?}");
    assert_eq!(
        f.inspect("grouped")["HostConfig"]["GroupAdd"],
        serde_json::json!(["staff", "1234"])
    );
    let out = f.out(&["run", "--rm", "--group-add", "staff", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Unable to find group staff"),
        "{}",
        stderr(&out)
    );
    assert_eq!(f.ok(&["ps", "-aq"]).lines().count(), 1);
}

#[test]
fn exec_gives_everything_after_the_container_to_the_command() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&["run", "-d", "--name", "target", "busybox", "sleep", "600"]);
    let listing = f.ok(&["exec", "target", "ls", "-la", "/"]);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with('d') && l.ends_with(" proc")),
        "{listing}"
    );
    // -x and -e after the command are the command's, not hoist's flags.
    assert_eq!(f.ok(&["exec", "target", "sh", "-c", "echo $0", "-x"]), "-x");
    assert_eq!(
        f.ok(&["exec", "target", "sh", "-c", "echo \"$0 $1\"", "-e", "X=1"]),
        "-e X=1"
    );
    // Flags before the container are still hoist's.
    assert_eq!(
        f.ok(&[
            "exec",
            "-e",
            "X=2",
            "-w",
            "/tmp",
            "target",
            "sh",
            "-c",
            "echo $X $PWD"
        ]),
        "2 /tmp"
    );
    // --privileged: CAP_SYS_ADMIN (21) for this process only.
    let eff = |args: &[&str]| {
        let out = f.ok(args);
        let hex = out
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .unwrap_or_else(|| panic!("{out}"))
            .trim()
            .to_string();
        u64::from_str_radix(&hex, 16).unwrap()
    };
    let status = ["target", "cat", "/proc/self/status"];
    let plain = eff(&[&["exec"][..], &status].concat());
    let privileged = eff(&[&["exec", "--privileged"][..], &status].concat());
    assert_eq!(plain & (1 << 21), 0, "{plain:x}");
    assert_ne!(privileged & (1 << 21), 0, "{privileged:x}");
    assert_eq!(plain & !privileged, 0, "{plain:x} {privileged:x}");
    // --env-file, then -e over it.
    let envs = tempfile::tempdir().unwrap();
    let file = envs.path().join("env");
    std::fs::write(&file, "# comment\nA=from-file\nB=file\n").unwrap();
    let file = file.display().to_string();
    assert_eq!(
        f.ok(&[
            "exec",
            "--env-file",
            &file,
            "-e",
            "B=flag",
            "target",
            "sh",
            "-c",
            "echo $A $B"
        ]),
        "from-file flag"
    );
    let out = f.out(&["exec", "--env-file", "/no/such/env", "target", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("/no/such/env"), "{}", stderr(&out));
    let out = f.out(&["exec", "target"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    f.ok(&["rm", "-f", &id]);
    assert_nothing_left(&id);
}

#[test]
fn mount_long_syntax_oom_score_adj_and_stop_timeout() {
    let Some(f) = Fixture::new() else { return };
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "hello\n").unwrap();
    let bind = format!(
        "type=bind,source={},target=/data,readonly",
        host.path().display()
    );
    let script = "cat /data/f; touch /data/x 2>/dev/null || echo read-only; \
                  df -k /scratch | tail -n1; cat /proc/self/oom_score_adj; \
                  echo kept > /v/y && cat /v/y";
    let out = f.ok(&[
        "run",
        "--rm",
        "--mount",
        &bind,
        "--mount",
        "type=tmpfs,target=/scratch,tmpfs-size=1m",
        "--mount",
        "source=vol1,target=/v",
        "--oom-score-adj",
        "500",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["hello", "read-only"], "{out}");
    assert_eq!(lines[2].split_whitespace().nth(1), Some("1024"), "{out}");
    assert_eq!(&lines[3..], ["500", "kept"], "{out}");
    assert!(!host.path().join("x").exists());
    // The named volume outlives the container.
    assert!(f.ok(&["volume", "ls", "-q"]).lines().any(|v| v == "vol1"));

    refused(
        &f,
        &["--mount", "type=bind,source=/no/such/dir/x,target=/x"],
        "bind source path does not exist: /no/such/dir/x",
    );
    refused(
        &f,
        &["--mount", "type=bind,source=/tmp"],
        "target is required",
    );
    refused(
        &f,
        &["--oom-score-adj", "1001"],
        "range for oom score adj is [-1000, 1000]",
    );

    // (Raising the score needs no privilege; lowering it needs
    // CAP_SYS_RESOURCE, which this test machine's root lacks.)
    // sleep as PID 1 ignores SIGTERM: stop waits for the container's own
    // --stop-timeout (1 s) instead of the default 10 s, then kills it.
    f.ok(&[
        "run",
        "-d",
        "--name",
        "quick",
        "--stop-timeout",
        "1",
        "--oom-score-adj",
        "300",
        "busybox",
        "sleep",
        "600",
    ]);
    let v = f.inspect("quick");
    assert_eq!(v["Config"]["StopTimeout"], 1);
    assert_eq!(v["HostConfig"]["OomScoreAdj"], 300);
    let pid = v["State"]["Pid"].as_i64().unwrap();
    let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
    assert_eq!(adj.trim(), "300");
    let began = std::time::Instant::now();
    f.ok(&["stop", "quick"]);
    let took = began.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(8),
        "stop took {took:?}"
    );
    assert_eq!(f.inspect("quick")["State"]["Running"], false);
}

/// The same flags under a dockerd of the test's own: the same effects inside,
/// the same inspect fields, the same exit code for each refused value.
#[test]
fn the_flags_match_dockers() {
    if !hoist_testkit::have_program("dockerd") || !hoist_testkit::have_program("docker") {
        hoist_testkit::skip_or_fail(
            "run flags vs docker",
            "dockerd is missing (apt-get install docker.io)",
        );
        return;
    }
    let Some(f) = Fixture::new() else { return };
    let rootfs = f.root.join("rf-rootfs");
    for d in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
    let tar = f.root.join("rf-rootfs.tar");
    crate::common::tar_dir(&rootfs, &tar);
    let tar = tar.to_str().unwrap();
    let ns = hoist_testkit::Netns::new("hrf-dk");
    let dockerd = hoist_testkit::Dockerd::start(&ns);
    let docker = |args: &[&str]| dockerd.docker().args(args).output().unwrap();
    let out = docker(&["import", tar, "rfbb:latest"]);
    assert!(out.status.success(), "{}", stderr(&out));
    f.ok(&["import", tar, "-t", "rfbb:latest"]);

    const SCRIPT: &str = "B=/bin/busybox; $B cat /proc/sys/kernel/shmmax \
                          /proc/sys/net/ipv4/ip_forward; \
                          $B grep Cpus_allowed_list /proc/self/status; \
                          $B id -G | $B tr ' ' '\\n' | $B sort -n | $B tr '\\n' ' '; echo; \
                          $B cat /proc/self/oom_score_adj; \
                          $B df -k /t | $B tail -n1 | $B awk '{print $2}'";
    let flags = [
        "--network",
        "none",
        "--sysctl",
        "kernel.shmmax=1073741824",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--cpuset-cpus",
        "0",
        "--group-add",
        "staff",
        "--group-add",
        "1234",
        "--oom-score-adj",
        "300",
        "--stop-timeout",
        "7",
        "--mount",
        "type=tmpfs,target=/t,tmpfs-size=1m",
    ];
    let mut run = vec!["run", "--name", "same"];
    run.extend(flags);
    run.extend(["rfbb", "/bin/busybox", "sh", "-c", SCRIPT]);
    let theirs = docker(&run);
    assert!(
        theirs.status.success(),
        "{}\n{}",
        stderr(&theirs),
        dockerd.log()
    );
    let ours = f.ok(&run);
    assert_eq!(ours, stdout(&theirs).trim_end(), "hoist vs docker");
    assert!(ours.starts_with("1073741824\n1\n"), "{ours}");

    let d: serde_json::Value =
        serde_json::from_slice(&docker(&["inspect", "same"]).stdout).unwrap();
    let h = f.inspect("same");
    for path in [
        "/HostConfig/Sysctls",
        "/HostConfig/CpusetCpus",
        "/HostConfig/CpusetMems",
        "/HostConfig/GroupAdd",
        "/HostConfig/OomScoreAdj",
        "/Config/StopTimeout",
    ] {
        assert_eq!(h.pointer(path), d[0].pointer(path), "{path}");
    }

    for bad in [
        vec!["--sysctl", "kernel.panic=1"],
        vec!["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
        vec!["--cpuset-cpus", "99"],
        vec!["--group-add", "nosuch"],
        vec!["--oom-score-adj", "1001"],
        vec!["--mount", "type=bind,source=/no/such/dir/x,target=/x"],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend(bad.iter());
        args.extend(["rfbb", "/bin/busybox", "true"]);
        let (theirs, ours) = (docker(&args), f.out(&args));
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{bad:?}\nhoist: {}\ndocker: {}",
            stderr(&ours),
            stderr(&theirs)
        );
    }
}

#[test]
fn run_attach_shows_only_the_streams_asked_for() {
    let Some(f) = Fixture::new() else { return };
    let script = "echo to-out; echo to-err >&2";
    let run = |streams: &[&str]| {
        let mut args = vec!["run", "--name"];
        let name = format!("a-{}", streams.join("-"));
        args.push(&name);
        for s in streams {
            args.extend(["-a", s]);
        }
        args.extend(["busybox", "sh", "-c", script]);
        let out = f.out(&args);
        assert!(out.status.success(), "{streams:?}: {}", stderr(&out));
        // The log has both streams whatever was shown.
        let logs = f.out(&["logs", &name]);
        assert_eq!(stdout(&logs), "to-out\n");
        assert_eq!(stderr(&logs), "to-err\n");
        (stdout(&out), stderr(&out))
    };
    assert_eq!(run(&["stdout"]), ("to-out\n".into(), String::new()));
    let (out, err) = run(&["STDERR"]);
    assert_eq!(out, "");
    assert!(err.contains("to-err"), "{err}");
    let (out, err) = run(&["stdout", "stderr"]);
    assert_eq!(out, "to-out\n");
    assert!(err.contains("to-err"), "{err}");
    refused(
        &f,
        &["-d", "-a", "stdout"],
        "Conflicting options: -a and -d",
    );
    refused(
        &f,
        &["-a", "stdall"],
        "valid streams are STDIN, STDOUT and STDERR",
    );
}
