//! Setup and teardown for real, inside a namespace the test makes (standing
//! in for the host's): reserve makes the bridge and the nftables table, plumb
//! puts a veth peer into a fresh "container" namespace with its address and
//! route, traffic flows to the gateway, and release / remove_network leave
//! nothing behind.

use hoist_network::attach::{remove_network, Endpoint};
use hoist_network::netlink::Netlink;
use hoist_network::record::{self, CreateOptions};
use hoist_network::{plumb, release, reserve, Owner, Request};
use hoist_testkit::{require_program, require_root, wait_until, Netns};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::time::Duration;

/// Runs `f` on a thread that has joined `ns` (so do the processes it starts).
fn in_ns<T: Send>(ns: &Netns, f: impl FnOnce() -> T + Send) -> T {
    let file = std::fs::File::open(Path::new("/run/netns").join(ns.name())).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setns of this thread only, to a namespace file we hold.
            assert_eq!(
                unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            f()
        })
        .join()
        .unwrap()
    })
}

#[test]
fn a_container_namespace_is_plumbed_and_everything_goes_again() {
    require_root!();
    require_program!("nft");
    let host = Netns::new("plumb");
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let subnet = "10.66.0.0/24";
    let opts = CreateOptions {
        subnet: Some(subnet.into()),
        ..Default::default()
    };
    let net = record::create(root, "n", &opts).unwrap();
    let atts = in_ns(&host, || {
        let who = Endpoint {
            container_id: "c1",
            name: "c1",
            owner: Owner::me(),
            hoist_exe: None,
        };
        let req = Request {
            network: "n".into(),
            ..Default::default()
        };
        let atts = reserve(root, &who, &[req]).unwrap();
        let listener = TcpListener::bind((net.gateway, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut host_nl = Netlink::open().unwrap();
        // SAFETY: this thread alone moves to a new namespace, the "container".
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let ctr_ns = std::fs::File::open("/proc/thread-self/ns/net").unwrap();
        let mut ctr_nl = Netlink::open().unwrap();
        plumb(&atts, &mut host_nl, &mut ctr_nl, ctr_ns.as_fd()).unwrap();
        // From the container's side to the gateway, through veth and bridge.
        let mut out = TcpStream::connect((net.gateway, port)).unwrap();
        let (mut conn, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip(), atts[0].ipv4);
        out.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        atts
    });
    assert_eq!(atts[0].ipv4.to_string(), "10.66.0.2");
    assert_eq!(atts[0].mac, "02:42:0a:42:00:02");
    let (_, links) = host.sh("ip -o link");
    assert!(links.contains(&net.bridge), "{links}");
    let (_, rules) = host.sh("nft list ruleset");
    assert!(
        rules.contains("masquerade") && rules.contains(&net.bridge),
        "{rules}"
    );
    let (_, forward) = host.sh("cat /proc/sys/net/ipv4/ip_forward");
    assert_eq!(forward.trim(), "1");
    // The container namespace is gone with its thread: its veth follows.
    wait_until("the veth to go", Duration::from_secs(10), || {
        !host.sh("ip -o link").1.contains(&atts[0].host_interface)
    });
    in_ns(&host, || release(root, "c1", &atts));
    assert!(hoist_network::lease::all(root, "n").unwrap().is_empty());
    in_ns(&host, || remove_network(root, "n")).unwrap();
    let (_, links) = host.sh("ip -o link");
    assert!(!links.contains(&net.bridge), "{links}");
    let (_, rules) = host.sh("nft list ruleset");
    assert!(!rules.contains("hoist"), "{rules}");
    assert!(!record::record_path(root, "n").exists());
}
