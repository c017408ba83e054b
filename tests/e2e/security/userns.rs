//! User namespaces (`--userns=auto`, `--uidmap`/`--gidmap`): container root
//! is an unprivileged host uid; the image's files still look like root's
//! inside (idmapped layers, not copies); what it writes to a volume belongs
//! to the mapped uid; host files stay out of its reach; bad maps are refused
//! before anything exists.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use super::kit;
use crate::container::{stderr, Fixture};

/// A field of /proc/PID/status ("Uid:" → its four ids).
fn status_ids(pid: &str, field: &str) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

/// Mount points under `dir` (a leak check).
fn mounts_under(dir: &std::path::Path) -> Vec<String> {
    let prefix = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&prefix))
        .collect()
}

#[test]
fn auto_maps_root_to_an_unprivileged_host_range() {
    let Some(f) = Fixture::new() else { return };
    let vol = tempfile::tempdir().unwrap();
    // The volume is a host directory any uid may write, as a user would
    // give one to a remapped container.
    std::fs::set_permissions(vol.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let bind = format!("{}:/data", vol.path().display());
    let start = |name: &str| {
        f.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--userns=auto",
            "--network",
            "none",
            "-v",
            &bind,
            "-v",
            "named:/vol",
            "busybox",
            "sleep",
            "300",
        ]);
        f.inspect(name)["State"]["Pid"]
            .as_i64()
            .unwrap()
            .to_string()
    };
    let a = start("ua");
    let b = start("ub");
    // Inside: root, and the image's files are root's (not nobody's).
    let id = f.ok(&["exec", "ua", "id"]);
    assert!(id.starts_with("uid=0(root) gid=0(root)"), "{id}");
    assert_eq!(
        f.ok(&["exec", "ua", "stat", "-c", "%u:%g", "/bin/busybox"]),
        "0:0"
    );
    assert_eq!(
        f.ok(&["exec", "ua", "cat", "/proc/self/uid_map"])
            .split_whitespace()
            .next(),
        Some("0")
    );
    // Outside: PID 1 runs as the mapped uid, in a range of its own.
    let (ua, ub) = (status_ids(&a, "Uid:"), status_ids(&b, "Uid:"));
    let (ga, _) = (status_ids(&a, "Gid:"), status_ids(&b, "Gid:"));
    assert!(ua.iter().all(|u| *u == ua[0]) && ua[0] >= 100_000, "{ua:?}");
    assert_eq!(ga[0], ua[0], "gids follow uids");
    assert!(
        ua[0].abs_diff(ub[0]) >= 65_536,
        "two containers share ids: {} and {}",
        ua[0],
        ub[0]
    );
    // A file written to the volume belongs to the mapped uid on the host.
    f.ok(&[
        "exec",
        "ua",
        "sh",
        "-c",
        "echo hi > /data/made-inside && mkdir /data/d",
    ]);
    let meta = std::fs::metadata(vol.path().join("made-inside")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (ua[0], ua[0]));
    // A named volume made for it is its root's: it writes there too.
    f.ok(&["exec", "ua", "sh", "-c", "echo hi > /vol/made-inside"]);
    let named = f.path().join("volumes/named/_data/made-inside");
    assert_eq!(std::fs::metadata(named).unwrap().uid(), ua[0]);
    // A file written to the rootfs is root's inside.
    assert_eq!(
        f.ok(&[
            "exec",
            "ua",
            "sh",
            "-c",
            "touch /etc/new && stat -c %u /etc/new"
        ]),
        "0"
    );
    // The layers are shared, not copied per container: one snapshot per layer.
    let snapshots = std::fs::read_dir(f.path().join("snapshots"))
        .unwrap()
        .count();
    let layers = f.inspect("ua")["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .map(|l| l.split(':').count());
    if let Some(layers) = layers {
        assert_eq!(
            snapshots, layers,
            "a snapshot per layer, none per container"
        );
    }
    assert!(snapshots >= 1);
    f.ok(&["rm", "-f", "ua", "ub"]);
    assert!(!std::path::Path::new(&format!("/proc/{a}")).exists());
    assert_eq!(mounts_under(f.path()), Vec::<String>::new());
}

#[test]
fn explicit_maps_and_host_files_out_of_reach() {
    let Some(kit) = kit() else { return };
    let Some(f) = Fixture::new() else { return };
    // Host files: root's secret (0600) and a root-owned set-uid copy of the
    // suite's binary, bind-mounted into the container.
    let host = tempfile::tempdir().unwrap();
    std::fs::set_permissions(host.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let secret = host.path().join("secret");
    std::fs::write(&secret, "host root's\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let suid = host.path().join("escape");
    std::fs::copy(kit.join("escape"), &suid).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let bind = format!("{}:/h", host.path().display());
    let maps = ["--uidmap", "0:200000:65536", "--gidmap", "0:300000:65536"];
    let run = |flags: &[&str], cmd: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "none", "-v", &bind];
        args.extend_from_slice(&maps);
        args.extend_from_slice(flags);
        args.push("busybox");
        args.extend_from_slice(cmd);
        f.out(&args)
    };
    let out = run(&[], &["sh", "-c", "id -u; id -g; cat /proc/self/gid_map"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..2], ["0", "0"], "{text}");
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["0", "300000", "65536"]
    );
    // Root inside, with every capability: the host's root files stay
    // closed (its capabilities count only for ids of its namespace).
    for cmd in [
        "cat /h/secret",
        "chown 0:0 /h/secret",
        "chmod 666 /h/secret",
        "touch /h/new",
        "rm /h/secret",
    ] {
        let out = run(&["--cap-add", "ALL"], &["sh", "-c", cmd]);
        assert_ne!(out.status.code(), Some(0), "{cmd} worked: {}", stderr(&out));
    }
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "host root's\n");
    let meta = std::fs::metadata(&secret).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o600));
    assert!(!host.path().join("new").exists());
    // A host root's set-uid binary gives no root: its owner is not mapped.
    let euid = run(&["--user", "1000"], &["/h/escape", "euid"]);
    assert_eq!(String::from_utf8_lossy(&euid.stdout).trim(), "1000");
    // Capability escapes still fail with every capability and no filter.
    let out = run(
        &["--cap-add", "ALL", "--security-opt", "seccomp=unconfined"],
        &[
            "/h/escape",
            "kexec_load",
            "init_module",
            "mknod-block",
            "open_by_handle_at",
            "write-sysrq-trigger",
        ],
    );
    let results = super::parse_results(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(results.len(), 5, "{results:?} {}", stderr(&out));
    assert!(
        results.values().all(|v| v.starts_with("refused")),
        "{results:?}"
    );
}

#[test]
fn bad_maps_are_refused_and_leave_nothing() {
    let Some(f) = Fixture::new() else { return };
    for (flags, want) in [
        (vec!["--uidmap", "0:100000:0"], "at least 1"),
        (
            vec!["--uidmap", "0:100000:10", "--uidmap", "5:200000:10"],
            "overlap",
        ),
        (
            vec!["--uidmap", "0:100000:10", "--uidmap", "10:100005:10"],
            "overlap",
        ),
        (vec!["--uidmap", "0:4294967290:100"], "goes past"),
        (vec!["--uidmap", "0:x:1"], "CONTAINER:HOST:SIZE"),
        (vec!["--uidmap", "1:100000:10"], "container id 0"),
        (vec!["--userns", "keep-id"], "--userns=auto"),
        (vec!["--userns", "sideways"], "expected host, auto"),
        (
            vec!["--userns", "auto", "--network", "host"],
            "--network host",
        ),
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&["busybox", "true"]);
        let out = f.out(&args);
        assert_eq!(out.status.code(), Some(125), "{flags:?}");
        assert!(stderr(&out).contains(want), "{flags:?}: {}", stderr(&out));
    }
    assert_eq!(f.ok(&["ps", "-aq"]), "", "nothing was created");
    assert_eq!(mounts_under(f.path()), Vec::<String>::new());
    let blocks = std::fs::read_dir(f.path().join("userns"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(blocks, 0, "no id block is kept");
}

#[test]
fn a_remapped_container_on_the_default_bridge_serves_its_published_port() {
    let Some(env) = crate::network::env::NetEnv::new("userns-net") else {
        return;
    };
    let web = "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www";
    env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--userns=auto",
        "-p",
        "127.0.0.1:18081:8080",
        "busybox",
        "sh",
        "-c",
        web,
    ]);
    let ip = env.ip_of("web", "bridge");
    assert!(!ip.is_empty(), "no address on the bridge");
    // Its network namespace is its own user namespace's.
    let pid = env.inspect("web")["State"]["Pid"].as_i64().unwrap();
    let owner = |p: String| std::fs::read_link(p).unwrap();
    assert_ne!(
        owner(format!("/proc/{pid}/ns/user")),
        owner("/proc/self/ns/user".into())
    );
    // Reached on the bridge by its address, and through the published port
    // (the monitor's proxy enters its network namespace).
    let get = |url: &str| {
        let out = env
            .ns
            .command("curl")
            .args(["-s", "-m", "2", url])
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).contains("hello")
    };
    let direct = format!("http://{ip}:8080/index.html");
    hoist_testkit::wait_until("served on the bridge", Duration::from_secs(20), || {
        get(&direct)
    });
    hoist_testkit::wait_until(
        "served on the published port",
        Duration::from_secs(20),
        || get("http://127.0.0.1:18081/index.html"),
    );
    env.ok(&["rm", "-f", "web"]);
    assert!(env.leases("bridge").is_empty(), "its address was released");
}
