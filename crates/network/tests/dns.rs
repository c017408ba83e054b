//! The DNS responder's library entry point (`dns::serve`) on a thread of the test,
//! listening on a loopback port, queried by a real client (`dig`). The responder as a
//! process (ensure_responder, port 53 on a gateway inside a namespace, forwarding to a
//! real upstream) is tested end to end in tests/e2e/dns.rs.

use hoist_network::dns::{
    ensure_responder, responder_pid, serve, stop_responder, Ready, ServeOptions,
};
use hoist_testkit::{free_port, wait_until, TempRoot};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ID: &str = "0123456789abcdef0123456789abcdef";

fn write_record(root: &Path, network: &str, internal: bool) {
    std::fs::create_dir_all(root.join("networks").join(network).join("leases")).unwrap();
    let record = serde_json::json!({
        "name": network, "id": "f00", "driver": "bridge", "subnet": "10.99.0.0/24",
        "gateway": "10.99.0.1", "internal": internal, "bridge": "hoist-test",
        "dns_enabled": true, "created": "",
    });
    std::fs::write(
        root.join("networks").join(format!("{network}.json")),
        record.to_string(),
    )
    .unwrap();
}

fn write_lease(root: &Path, network: &str, id: &str, name: &str, aliases: &[&str], ip: &str) {
    let lease = serde_json::json!({
        "container_id": id, "name": name, "aliases": aliases, "ipv4": ip, "ipv6": null,
        "mac": "02:42:0a:63:00:02", "owner_pid": 0, "owner_start_time": 0,
    });
    let dir = root.join("networks").join(network).join("leases");
    // As the IPAM does: O_EXCL create, then the content.
    std::fs::write(dir.join(ip), lease.to_string()).unwrap();
}

fn remove_lease(root: &Path, network: &str, ip: &str) {
    std::fs::remove_file(root.join("networks").join(network).join("leases").join(ip)).unwrap();
}

/// `dig` against the responder: (status, answers).
fn dig(addr: SocketAddr, args: &[&str]) -> (String, Vec<String>) {
    let out = Command::new("dig")
        .arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string()])
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
        .map(|l| l.split_whitespace().last().unwrap_or("").to_string())
        .collect();
    (status, answers)
}

struct Running {
    addr: SocketAddr,
    thread: std::thread::JoinHandle<Result<(), hoist_network::dns::DnsError>>,
}

/// Starts `serve` on a thread and waits for its ready report. `free_port` only knows the
/// TCP port was free a moment ago; the responder also needs the same UDP port, which a
/// concurrent test's `dig` may be using as its source port: such a clash is retried on
/// another port, any other failure is not.
fn start(root: &Path, network: &str, grace: Duration) -> Running {
    let resolv = root.join("resolv.conf");
    // No upstream at all: a forwarded name must fail (SERVFAIL), never leave the host.
    std::fs::write(&resolv, "# no nameserver\n").unwrap();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let opts = ServeOptions {
            store_root: root.to_path_buf(),
            network: network.to_string(),
            listen: addr,
            resolv_conf: resolv.clone(),
            idle_grace: grace,
        };
        let (r, w) = std::io::pipe().unwrap();
        let thread = std::thread::spawn(move || serve(&opts, Ready::new(Some(w.into()))));
        let mut line = String::new();
        BufReader::new(r).read_line(&mut line).unwrap();
        if line.trim() == "ok" {
            return Running { addr, thread };
        }
        let _ = thread.join();
        assert!(
            attempts < 5 && line.contains("Address already in use"),
            "the responder reports ready: {line}"
        );
    }
}

#[test]
fn answers_names_aliases_and_short_ids_and_follows_the_leases() {
    hoist_testkit::require_program!("dig");
    let root = TempRoot::new();
    write_record(root.path(), "n1", false);
    write_lease(root.path(), "n1", ID, "web", &["front"], "10.99.0.2");
    let r = start(root.path(), "n1", Duration::from_secs(1));
    let a = r.addr;

    for name in ["web", "WEB.", "Front", "0123456789ab"] {
        assert_eq!(
            dig(a, &[name, "A"]),
            ("NOERROR".into(), vec!["10.99.0.2".into()]),
            "{name}"
        );
    }
    assert_eq!(
        dig(a, &["+tcp", "web", "A"]).1,
        vec!["10.99.0.2"],
        "over TCP"
    );
    assert_eq!(
        dig(a, &["web", "AAAA"]),
        ("NOERROR".into(), vec![]),
        "no IPv6: NODATA"
    );
    assert_eq!(
        dig(a, &["-x", "10.99.0.2"]).1,
        vec!["web."],
        "reverse lookup"
    );
    assert_eq!(
        dig(a, &["elsewhere.example", "A"]).0,
        "SERVFAIL",
        "an unknown name with no upstream"
    );

    // A container started later resolves at once: no waiting.
    write_lease(root.path(), "n1", "feed", "db", &[], "10.99.0.3");
    assert_eq!(dig(a, &["db", "A"]).1, vec!["10.99.0.3"]);

    // A removed container stops resolving within a second.
    let removed = Instant::now();
    remove_lease(root.path(), "n1", "10.99.0.2");
    wait_until("web to stop resolving", Duration::from_secs(1), || {
        dig(a, &["web", "A"]).1.is_empty()
    });
    assert!(removed.elapsed() < Duration::from_secs(1));

    // The last lease gone, the responder exits after its grace period, pidfile and all.
    let pidfile = root.join("networks/n1/dns.pid");
    assert!(pidfile.exists());
    remove_lease(root.path(), "n1", "10.99.0.3");
    wait_until("the idle responder to exit", Duration::from_secs(5), || {
        r.thread.is_finished()
    });
    r.thread.join().unwrap().unwrap();
    assert!(!pidfile.exists(), "the pidfile goes with the responder");
    assert_eq!(
        dig(a, &["db", "A"]).0,
        "NO REPLY",
        "nothing listens any more"
    );
}

#[test]
fn an_internal_network_refuses_names_it_does_not_know() {
    hoist_testkit::require_program!("dig");
    let root = TempRoot::new();
    write_record(root.path(), "inner", true);
    write_lease(root.path(), "inner", ID, "web", &[], "10.99.0.2");
    let r = start(root.path(), "inner", Duration::from_millis(200));
    assert_eq!(dig(r.addr, &["web", "A"]).1, vec!["10.99.0.2"]);
    assert_eq!(dig(r.addr, &["example.test", "A"]).0, "REFUSED");
    remove_lease(root.path(), "inner", "10.99.0.2");
    wait_until("the idle responder to exit", Duration::from_secs(5), || {
        r.thread.is_finished()
    });
    r.thread.join().unwrap().unwrap();
}

#[test]
fn a_busy_address_is_reported_on_the_ready_pipe() {
    let root = TempRoot::new();
    write_record(root.path(), "n2", false);
    let taken = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let opts = ServeOptions {
        store_root: root.path().to_path_buf(),
        network: "n2".into(),
        listen: taken.local_addr().unwrap(),
        resolv_conf: "/etc/resolv.conf".into(),
        idle_grace: Duration::from_secs(1),
    };
    let (r, w) = std::io::pipe().unwrap();
    let err = serve(&opts, Ready::new(Some(w.into()))).unwrap_err();
    let mut line = String::new();
    BufReader::new(r).read_line(&mut line).unwrap();
    assert!(
        line.starts_with("err 125 cannot listen for DNS on"),
        "{line}"
    );
    assert!(err.to_string().contains("another DNS server"), "{err}");
    assert!(!root.join("networks/n2/dns.pid").exists());
}

#[test]
fn a_missing_network_record_is_a_clear_error() {
    let root = TempRoot::new();
    let opts = ServeOptions::new(root.path().to_path_buf(), "ghost", Ipv4Addr::LOCALHOST);
    let err = serve(&opts, Ready::new(None)).unwrap_err();
    assert!(
        err.to_string().contains("network \"ghost\" has no record"),
        "{err}"
    );
}

#[test]
fn a_stale_pidfile_is_no_responder_and_stopping_it_clears_it() {
    let root = TempRoot::new();
    write_record(root.path(), "n3", false);
    let pidfile = root.join("networks/n3/dns.pid");
    // This very process, with a start time it does not have: a reused pid.
    std::fs::write(&pidfile, format!("{} 1\n", std::process::id())).unwrap();
    assert_eq!(responder_pid(root.path(), "n3"), None);
    assert!(!stop_responder(root.path(), "n3").unwrap());
    assert!(!pidfile.exists());
    assert!(!stop_responder(root.path(), "never-made").unwrap());
}

#[test]
fn a_responder_that_cannot_start_is_a_clear_error() {
    let root = TempRoot::new();
    write_record(root.path(), "n4", false);
    let missing = root.join("no-such-hoist");
    let err = ensure_responder(root.path(), "n4", Ipv4Addr::LOCALHOST, &missing).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("network \"n4\"") && msg.contains("no-such-hoist"),
        "{msg}"
    );
    // A program that exits without reporting ready: its log is the error.
    let exe = root.join("fails");
    std::fs::write(&exe, "#!/bin/sh\necho 'cannot do DNS today' >&2\nexit 3\n").unwrap();
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let err = ensure_responder(root.path(), "n4", Ipv4Addr::LOCALHOST, &exe).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("exited without reporting ready") && msg.contains("cannot do DNS today"),
        "{msg}"
    );
    assert_eq!(responder_pid(root.path(), "n4"), None);
}

/// Docker's embedded DNS answers for every network the asking container is on: app is on
/// n1 and n2, b on n2 only, c on n1 only. Each asks from its own address on the network
/// (`dig -b`; loopback addresses stand in for the containers' ones).
#[test]
fn a_container_on_two_networks_resolves_both_and_others_only_their_own() {
    hoist_testkit::require_program!("dig");
    let root = TempRoot::new();
    let r = root.path();
    write_record(r, "n1", false);
    write_record(r, "n2", false);
    write_lease(r, "n1", ID, "app", &[], "127.0.0.11");
    write_lease(r, "n2", ID, "app", &["app2"], "127.0.0.21");
    write_lease(r, "n2", "b0b", "b", &[], "127.0.0.22");
    write_lease(r, "n1", "c0c", "c", &[], "127.0.0.13");
    let n1 = start(r, "n1", Duration::from_millis(200));
    let n2 = start(r, "n2", Duration::from_millis(200));
    let from = |who: &str| format!("-b{who}");

    // app asks n1's responder for a name of n2, and n2's for a name of n1.
    let a1 = from("127.0.0.11");
    assert_eq!(
        dig(n1.addr, &[&a1, "b", "A"]),
        ("NOERROR".into(), vec!["127.0.0.22".into()])
    );
    assert_eq!(dig(n1.addr, &[&a1, "c", "A"]).1, vec!["127.0.0.13"]);
    assert_eq!(dig(n1.addr, &[&a1, "-x", "127.0.0.22"]).1, vec!["b."]);
    assert_eq!(
        dig(n1.addr, &[&a1, "app2", "A"]).1,
        vec!["127.0.0.21"],
        "an alias on n2 only"
    );
    assert_eq!(
        dig(n1.addr, &[&a1, "app", "A"]).1,
        vec!["127.0.0.11"],
        "on both: the asked network's address"
    );
    assert_eq!(
        dig(n2.addr, &[&from("127.0.0.21"), "c", "A"]).1,
        vec!["127.0.0.13"]
    );

    // c is not on n2, b not on n1, the host on neither: their names are not answered
    // (forwarded; no upstream here, so SERVFAIL).
    for (server, who, name) in [
        (n1.addr, "127.0.0.13", "b"),
        (n1.addr, "127.0.0.13", "app2"),
        (n2.addr, "127.0.0.22", "c"),
        (n1.addr, "127.0.0.1", "b"),
    ] {
        assert_eq!(
            dig(server, &[&from(who), name, "A"]),
            ("SERVFAIL".into(), vec![]),
            "{who} asking for {name}"
        );
    }
    assert_eq!(
        dig(n1.addr, &[&from("127.0.0.13"), "-x", "127.0.0.22"]).0,
        "SERVFAIL"
    );
    assert_eq!(
        dig(n2.addr, &[&from("127.0.0.22"), "app", "A"]).1,
        vec!["127.0.0.21"]
    );

    // app leaves n2 (disconnect): n2's names stop resolving for app through n1.
    remove_lease(r, "n2", "127.0.0.21");
    assert_eq!(dig(n1.addr, &[&a1, "b", "A"]).0, "SERVFAIL");

    for (network, ip) in [
        ("n1", "127.0.0.11"),
        ("n1", "127.0.0.13"),
        ("n2", "127.0.0.22"),
    ] {
        remove_lease(r, network, ip);
    }
    for running in [n1, n2] {
        wait_until("the idle responder to exit", Duration::from_secs(5), || {
            running.thread.is_finished()
        });
        running.thread.join().unwrap().unwrap();
    }
}
