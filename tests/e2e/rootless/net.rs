//! Rootless networking (issue 19): the user's containers on the default
//! network go out through slirp4netns. Everything stays in namespaces the
//! test made: the user's network namespace (user.rs) stands in for the
//! host and is joined by a veth to an "outside" one with a web server and a
//! DNS server (dnsmasq) that the user's resolv.conf names. Checked: a
//! container fetches from the outside server by name (outbound NAT and the
//! helper's DNS forwarder), `-p 127.0.0.1:PORT:80` answers on the user
//! namespace's loopback, the helper process ends with the container, and
//! the default network together with a user network is refused with the
//! reason (user networks themselves: netns.rs).

use std::time::Duration;

use super::user::{Ranges, User};
use hoist_testkit::{free_port, wait_until, ChildGuard, Netns};

/// The user's containers' outside world: a web server and a resolver.
pub(super) struct Outside {
    _ns: Netns,
    pub(super) port: u16,
    _web: ChildGuard,
    _dns: ChildGuard,
    _dir: tempfile::TempDir,
}

impl Outside {
    pub(super) fn start(user: &User) -> Outside {
        let ns = Netns::new("rlout");
        user.netns
            .link_to(&ns, "up0", "192.0.2.1/24", "192.0.2.2/24");
        user.netns
            .ip(&["route", "add", "default", "via", "192.0.2.2"]);
        // Before the user's first hoist command: its namespace holder keeps
        // the mounts it was made with, this resolv.conf among them.
        std::fs::write(
            user.netns.etc_dir().join("resolv.conf"),
            "nameserver 192.0.2.2\n",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("marker.txt"), "from-outside\n").unwrap();
        let port = free_port();
        let mut web = ns.command("python3");
        web.args(["-m", "http.server", "--bind", "192.0.2.2"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let web = ChildGuard::spawn(&mut web).unwrap();
        let mut dnsmasq = ns.command("dnsmasq");
        dnsmasq.args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=192.0.2.2",
            "--address=/outside.test/192.0.2.2",
            "--pid-file=",
            "--user=root",
        ]);
        let dns = ChildGuard::spawn(&mut dnsmasq).unwrap();
        let url = format!("http://192.0.2.2:{port}/marker.txt");
        wait_until("the outside web server", Duration::from_secs(20), || {
            ns.sh(&format!("curl -sf {url}")).1.contains("from-outside")
        });
        wait_until("the outside resolver", Duration::from_secs(20), || {
            ns.sh("dig +short +time=1 @192.0.2.2 outside.test")
                .1
                .contains("192.0.2.2")
        });
        Outside {
            _ns: ns,
            port,
            _web: web,
            _dns: dns,
            _dir: dir,
        }
    }
}

/// Puts a tun device node of `mode` over /dev/net/tun in the mount
/// namespace of the user's holder (the one its hoist commands join): this
/// machine's own node may be root's alone (0600), where no user can have a
/// tap; the host's node is left as it is.
pub(super) fn bind_tun(user: &User, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let node = user.dir().join(format!("tun-{mode:o}"));
    let path = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
    // SAFETY: mknod of a new node in the test's own directory.
    let made = unsafe { libc::mknod(path.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(10, 200)) };
    assert_eq!(made, 0, "{}", std::io::Error::last_os_error());
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(mode)).unwrap();
    let holder = user.holder_pid().expect("the user's holder runs");
    let out = std::process::Command::new("nsenter")
        .args(["-t", &holder.to_string(), "-m", "mount", "--bind"])
        .arg(&node)
        .arg("/dev/net/tun")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The PIDs of the user's slirp4netns processes.
pub(super) fn helpers(user: &User) -> Vec<i32> {
    user.processes()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "slirp4netns")
        })
        .collect()
}

#[test]
fn a_rootless_container_goes_out_resolves_and_publishes() {
    for p in ["slirp4netns", "dnsmasq", "dig", "curl", "python3"] {
        if !hoist_testkit::have_program(p) {
            hoist_testkit::skip_or_fail("rootless::net", &format!("`{p}` is not installed"));
            return;
        }
    }
    let Some(user) = User::new(Ranges::Given) else {
        return;
    };
    let outside = Outside::start(&user);
    user.import_busybox();

    // A tun device the user cannot open: the default is a loopback of the
    // container's own, `info` says why, and asking for the helper is a
    // clear error.
    bind_tun(&user, 0o600);
    let info: serde_json::Value =
        serde_json::from_str(&user.ok(&["info", "--format", "json"])).unwrap();
    let helper = info["Rootless"]["NetworkHelper"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        helper.starts_with("none") && helper.contains("/dev/net/tun"),
        "{helper}"
    );
    let links = user.ok(&["run", "--rm", "busybox", "ip", "-o", "link"]);
    assert_eq!(links.lines().count(), 1, "loopback only: {links}");
    let out = user.out(&["run", "--rm", "--network", "bridge", "busybox", "true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains("/dev/net/tun") && err.contains("0600"),
        "{err}"
    );
    assert!(helpers(&user).is_empty());

    // Debian's own mode: the helper works, and is the default.
    bind_tun(&user, 0o666);
    let info: serde_json::Value =
        serde_json::from_str(&user.ok(&["info", "--format", "json"])).unwrap();
    assert_eq!(info["Rootless"]["NetworkHelper"], "slirp4netns", "{info}");

    // Outbound by name: the helper's DNS forwarder, then its NAT.
    let url = format!("http://outside.test:{}/marker.txt", outside.port);
    let got = user.ok(&["run", "--rm", "busybox", "wget", "-qO-", &url]);
    assert_eq!(got, "from-outside\n");
    let resolv = user.ok(&["run", "--rm", "busybox", "cat", "/etc/resolv.conf"]);
    assert!(resolv.contains("nameserver 10.0.2.3"), "{resolv}");
    assert!(helpers(&user).is_empty(), "a --rm run's helper is gone");

    // -p on the loopback of the user's (the "host's") namespace.
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    user.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        "mkdir /www && echo published > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    let running = helpers(&user);
    assert_eq!(running.len(), 1, "one helper for the running container");
    let get = format!("curl -sf --max-time 2 http://127.0.0.1:{port}/");
    wait_until(
        "the published port answers",
        Duration::from_secs(20),
        || user.netns.sh(&get).1.contains("published"),
    );
    // The running container still goes out.
    let fetched = user.ok(&["exec", "web", "wget", "-qO-", &url]);
    assert_eq!(fetched, "from-outside\n");
    user.ok(&["stop", "-t", "1", "web"]);
    wait_until(
        "the helper ends with the container",
        Duration::from_secs(10),
        || {
            running
                .iter()
                .all(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        },
    );
    user.ok(&["rm", "web"]);

    // A monitor killed outright takes its helper along (the kernel closes
    // the helper's exit descriptor with the monitor).
    user.ok(&["run", "-d", "--name", "orphan", "busybox", "sleep", "300"]);
    let helper = *helpers(&user).first().expect("the helper runs");
    let stat = std::fs::read_to_string(format!("/proc/{helper}/stat")).unwrap();
    let monitor: i32 = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: the monitor this test's `run -d` started, by PID.
    assert_eq!(unsafe { libc::kill(monitor, libc::SIGKILL) }, 0);
    wait_until(
        "the helper ends with its monitor",
        Duration::from_secs(10),
        || helpers(&user).is_empty(),
    );
    user.ok(&["rm", "-f", "orphan"]);

    // The helper's default network and a user network (netns.rs) in one
    // container: refused with the reason, nothing made.
    user.ok(&["network", "create", "backend"]);
    let out = user.out(&[
        "run",
        "--rm",
        "--network",
        "bridge",
        "--network",
        "backend",
        "busybox",
        "true",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("one or the other"), "{err}");
    assert_eq!(user.ok(&["ps", "-aq"]), "");
    user.finish();
}
