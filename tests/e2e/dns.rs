//! The per-network DNS responder as a real process: `ensure_responder` starts the real
//! `hoist __dns` on port 53 of a gateway address inside a namespace the test made,
//! `dig` asks it from that namespace, and names it does not know go to a real upstream
//! resolver (dnsmasq) in a second namespace joined by a veth. Nothing leaves the machine.

use crate::common::hoist_bin;
use hoist_network::dns::{ensure_responder, responder_pid, stop_responder};
use hoist_testkit::{wait_until, ChildGuard, Netns, TempRoot};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
const INNER_GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 99, 1, 1);
const UPSTREAM: &str = "10.200.0.2";

/// "hoist running in the namespace": ensure_responder starts `EXE --root ... __dns ...`;
/// this EXE runs the real hoist binary through `ip netns exec`, which also puts the
/// namespace's /etc/netns/NAME/resolv.conf in place of /etc/resolv.conf.
fn hoist_in(ns: &Netns, dir: &Path) -> PathBuf {
    let exe = dir.join("hoist-in-netns");
    std::fs::write(
        &exe,
        format!(
            "#!/bin/sh\nexec ip netns exec {} {} \"$@\"\n",
            ns.name(),
            hoist_bin().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    exe
}

fn write_record(root: &Path, network: &str, gateway: Ipv4Addr, internal: bool) {
    std::fs::create_dir_all(root.join("networks").join(network).join("leases")).unwrap();
    let record = serde_json::json!({
        "name": network, "id": "f00", "driver": "bridge", "subnet": format!("{gateway}/24"),
        "gateway": gateway.to_string(), "internal": internal, "bridge": "hoist-test",
        "dns_enabled": true, "created": "",
    });
    std::fs::write(
        root.join("networks").join(format!("{network}.json")),
        record.to_string(),
    )
    .unwrap();
}

fn lease_path(root: &Path, network: &str, ip: &str) -> PathBuf {
    root.join("networks").join(network).join("leases").join(ip)
}

fn write_lease(root: &Path, network: &str, id: &str, name: &str, aliases: &[&str], ip: &str) {
    let lease = serde_json::json!({
        "container_id": id, "name": name, "aliases": aliases, "ipv4": ip, "ipv6": null,
        "mac": "02:42:0a:63:00:02", "owner_pid": 0, "owner_start_time": 0,
    });
    std::fs::write(lease_path(root, network, ip), lease.to_string()).unwrap();
}

/// `dig` from inside `ns`: (status, answers).
fn dig(ns: &Netns, server: Ipv4Addr, args: &[&str]) -> (String, Vec<String>) {
    let out = ns
        .command("dig")
        .arg(format!("@{server}"))
        .args(["+time=2", "+tries=1", "+noall", "+comments", "+answer"])
        .args(args)
        .output()
        .expect("run dig");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("NO REPLY")
        .to_string();
    let answers = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            fields[4..].join(" ")
        })
        .collect();
    (status, answers)
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        !state.starts_with('Z') && !state.starts_with('X')
    })
}

/// Stops the responders a test started, whatever happens to the test: they are not
/// the test's children (they run detached) and would keep the namespace alive.
struct Responders<'a> {
    root: &'a Path,
    networks: Vec<&'static str>,
}

impl Drop for Responders<'_> {
    fn drop(&mut self) {
        for n in &self.networks {
            let _ = stop_responder(self.root, n);
        }
    }
}

/// The test's namespace: a bridge holding both gateways (as a network's bridge does; the
/// kernel here has no dummy links), and an upstream namespace
/// (dnsmasq for example.test) joined by a veth.
struct World {
    ns: Netns,
    _upstream_ns: Netns,
    _dnsmasq: ChildGuard,
}

fn world() -> World {
    let ns = Netns::new("dns");
    ns.ip(&["link", "add", "d0", "type", "bridge"]);
    ns.ip(&["addr", "add", &format!("{GATEWAY}/24"), "dev", "d0"]);
    ns.ip(&["addr", "add", &format!("{INNER_GATEWAY}/24"), "dev", "d0"]);
    ns.ip(&["link", "set", "d0", "up"]);
    let upstream_ns = Netns::new("dnsup");
    ns.link_to(
        &upstream_ns,
        "up0",
        "10.200.0.1/24",
        &format!("{UPSTREAM}/24"),
    );
    std::fs::write(
        ns.etc_dir().join("resolv.conf"),
        format!("nameserver {UPSTREAM}\n"),
    )
    .unwrap();
    // Six 255-byte strings: longer than dnsmasq's 1232-byte UDP answers, so it truncates.
    let big: Vec<String> = (b'a'..=b'f')
        .map(|c| String::from_utf8(vec![c; 255]).unwrap())
        .collect();
    let dnsmasq = ChildGuard::spawn(
        upstream_ns
            .command("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--user=root",
                "--pid-file",
                &format!("--listen-address={UPSTREAM}"),
                "--address=/example.test/10.200.0.9",
                &format!("--txt-record=big.example.test,{}", big.join(",")),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("start dnsmasq");
    let up: Ipv4Addr = UPSTREAM.parse().unwrap();
    wait_until("dnsmasq to answer", Duration::from_secs(10), || {
        dig(&upstream_ns, up, &["www.example.test", "A"]).1 == ["10.200.0.9"]
    });
    World {
        ns,
        _upstream_ns: upstream_ns,
        _dnsmasq: dnsmasq,
    }
}

#[test]
fn the_responder_answers_follows_leases_forwards_and_exits_idle() {
    hoist_testkit::require_root!();
    hoist_testkit::require_program!("dig");
    hoist_testkit::require_program!("dnsmasq");
    let w = world();
    let root = TempRoot::new();
    let r = root.path();
    let _guard = Responders {
        root: r,
        networks: vec!["n1", "inner"],
    };
    let exe = hoist_in(&w.ns, r);
    write_record(r, "n1", GATEWAY, false);
    write_lease(
        r,
        "n1",
        "0123456789abcdef00",
        "web",
        &["front"],
        "10.99.0.2",
    );

    // Two starts at once make one process.
    let (a, b) = std::thread::scope(|s| {
        let one = s.spawn(|| ensure_responder(r, "n1", GATEWAY, &exe));
        let two = s.spawn(|| ensure_responder(r, "n1", GATEWAY, &exe));
        (one.join().unwrap().unwrap(), two.join().unwrap().unwrap())
    });
    assert_eq!(a.pid, b.pid, "one responder for concurrent starts");
    assert!(
        a.started != b.started,
        "exactly one call started it: {a:?} {b:?}"
    );
    assert_eq!(responder_pid(r, "n1"), Some(a.pid));
    let again = ensure_responder(r, "n1", GATEWAY, &exe).unwrap();
    assert_eq!((again.pid, again.started), (a.pid, false));

    // A responder that died (SIGKILL: its pidfile stays) is started again by the next
    // container, on the same port.
    // SAFETY: kill on the pid of the responder this test started.
    unsafe { libc::kill(a.pid, libc::SIGKILL) };
    wait_until(
        "the killed responder to die",
        Duration::from_secs(5),
        || !alive(a.pid),
    );
    assert!(r.join("networks/n1/dns.pid").exists());
    assert_eq!(
        responder_pid(r, "n1"),
        None,
        "a dead pid is not a responder"
    );
    let a = ensure_responder(r, "n1", GATEWAY, &exe).unwrap();
    assert!(a.started && a.pid != again.pid, "{a:?}");

    // Names, aliases, short ids, any case, UDP and TCP.
    for name in ["web", "WEB.", "fRoNt", "0123456789AB"] {
        assert_eq!(
            dig(&w.ns, GATEWAY, &[name, "A"]),
            ("NOERROR".into(), vec!["10.99.0.2".into()]),
            "{name}"
        );
    }
    assert_eq!(dig(&w.ns, GATEWAY, &["+tcp", "web"]).1, ["10.99.0.2"]);

    // Only the network (and the host) may ask: a client of another network reaching
    // the gateway learns nothing and gets nothing forwarded.
    for tcp in ["+notcp", "+tcp"] {
        assert_eq!(
            dig(&w.ns, GATEWAY, &["-b", "10.200.0.1", tcp, "web"]),
            ("REFUSED".into(), vec![]),
            "{tcp}"
        );
    }
    assert_eq!(
        dig(&w.ns, GATEWAY, &["-b", "10.200.0.1", "www.example.test"]).0,
        "REFUSED"
    );

    // A container started later resolves at once.
    write_lease(r, "n1", "fedcba9876543210ff", "db", &[], "10.99.0.3");
    assert_eq!(dig(&w.ns, GATEWAY, &["db", "A"]).1, ["10.99.0.3"]);

    // Other names go to the namespace's resolv.conf upstream (a real dnsmasq).
    assert_eq!(
        dig(&w.ns, GATEWAY, &["www.example.test", "A"]),
        ("NOERROR".into(), vec!["10.200.0.9".into()])
    );
    // Truncated upstream UDP answers are fetched again over TCP: the whole TXT set comes
    // back over UDP to a client that offers 4096 bytes and will not retry over TCP.
    let (status, txt) = dig(
        &w.ns,
        GATEWAY,
        &["+bufsize=4096", "+ignore", "big.example.test", "TXT"],
    );
    assert_eq!((status.as_str(), txt.len()), ("NOERROR", 1), "{txt:?}");
    assert!(txt[0].contains(&"f".repeat(255)), "the last string arrived");
    // A client limited to 512 bytes gets TC and dig asks again over TCP: same answer.
    assert_eq!(
        dig(&w.ns, GATEWAY, &["+noedns", "big.example.test", "TXT"]).1,
        txt
    );

    // A removed container stops resolving within a second.
    let removed = Instant::now();
    std::fs::remove_file(lease_path(r, "n1", "10.99.0.2")).unwrap();
    wait_until("web to stop resolving", Duration::from_secs(1), || {
        dig(&w.ns, GATEWAY, &["web", "A"]).1.is_empty()
    });
    assert!(removed.elapsed() < Duration::from_secs(1));

    // An internal network answers its names and forwards nothing.
    write_record(r, "inner", INNER_GATEWAY, true);
    write_lease(r, "inner", "aaaabbbbccccdddd", "secret", &[], "10.99.1.2");
    ensure_responder(r, "inner", INNER_GATEWAY, &exe).unwrap();
    assert_eq!(dig(&w.ns, INNER_GATEWAY, &["secret"]).1, ["10.99.1.2"]);
    assert_eq!(
        dig(&w.ns, INNER_GATEWAY, &["www.example.test"]).0,
        "REFUSED"
    );
    assert!(
        dig(&w.ns, INNER_GATEWAY, &["db"]).1.is_empty(),
        "another network's names are not known here"
    );

    // resolv.conf is re-read when it changes. Three silent upstreams (addresses no one
    // holds: the packets go nowhere): SERVFAIL within the 4 s budget, before glibc's 5 s
    // timeout would make the client ask again.
    std::fs::write(
        w.ns.etc_dir().join("resolv.conf"),
        "nameserver 10.200.0.77\nnameserver 10.200.0.78\nnameserver 10.200.0.79\n",
    )
    .unwrap();
    let asked = Instant::now();
    assert_eq!(
        dig(&w.ns, GATEWAY, &["+time=8", "gone.example.test"]).0,
        "SERVFAIL"
    );
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // network rm: stop_responder ends it at once and frees the port.
    assert!(stop_responder(r, "inner").unwrap());
    assert_eq!(responder_pid(r, "inner"), None);
    assert_eq!(dig(&w.ns, INNER_GATEWAY, &["secret"]).0, "NO REPLY");

    // The last lease gone, the responder exits by itself after its grace period.
    std::fs::remove_file(lease_path(r, "n1", "10.99.0.3")).unwrap();
    let pid = a.pid;
    wait_until(
        "the idle responder to exit",
        Duration::from_secs(15),
        || !alive(pid),
    );
    assert!(!r.join("networks/n1/dns.pid").exists());
    assert!(!stop_responder(r, "n1").unwrap(), "nothing left to stop");
}

#[test]
fn a_responder_that_cannot_bind_reports_why() {
    hoist_testkit::require_root!();
    let ns = Netns::new("dnsbad");
    let root = TempRoot::new();
    let r = root.path();
    write_record(r, "n1", GATEWAY, false);
    let exe = hoist_in(&ns, r);
    // 10.99.0.1 is no address of this namespace.
    let err = ensure_responder(r, "n1", GATEWAY, &exe).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("cannot listen for DNS on 10.99.0.1:53"),
        "{msg}"
    );
    assert_eq!(responder_pid(r, "n1"), None);
    let err = ensure_responder(r, "ghost", GATEWAY, &exe).unwrap_err();
    assert!(err.to_string().contains("has no record"), "{err}");
}
