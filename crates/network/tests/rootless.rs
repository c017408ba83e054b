//! The rootless network helper (slirp4netns) for real, inside namespaces the
//! test makes: a "host" namespace joined by a veth to an "outside" one,
//! which has a TCP listener and a DNS server (dnsmasq) that the host's
//! resolv.conf names. A fresh "container" namespace attached to the helper
//! reaches the listener (seen as the host's address: the helper's NAT) and
//! resolves a name through the helper's forwarder; stopping the helper
//! ends its process; bad input is a clear error with nothing left running.

use hoist_network::rootless::{self, Options, Target};
use hoist_network::NetworkError;
use hoist_testkit::{require_program, require_root, wait_until, ChildGuard, Netns};
use std::ffi::CString;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const HOST_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const OUTSIDE_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// The host namespace, its outside world and the outside's DNS server.
struct World {
    host: Netns,
    outside: Netns,
    _dns: ChildGuard,
}

impl World {
    fn new() -> World {
        let host = Netns::new("rlh");
        let outside = Netns::new("rlo");
        host.link_to(&outside, "up0", "192.0.2.1/24", "192.0.2.2/24");
        host.ip(&["route", "add", "default", "via", "192.0.2.2"]);
        std::fs::write(
            host.etc_dir().join("resolv.conf"),
            format!("nameserver {OUTSIDE_ADDR}\n"),
        )
        .unwrap();
        let mut dnsmasq = outside.command("dnsmasq");
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
        wait_until("dnsmasq answers", Duration::from_secs(10), || {
            dig(&outside, "192.0.2.2", "outside.test").as_deref() == Some("192.0.2.2")
        });
        World {
            host,
            outside,
            _dns: dns,
        }
    }

    /// Runs `f` on a thread in the host namespace that sees the host's
    /// resolv.conf (its own mount namespace, as `ip netns exec` does): the
    /// helper it starts inherits both.
    fn in_host<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let netns = std::fs::File::open(Path::new("/run/netns").join(self.host.name())).unwrap();
        let resolv = self.host.etc_dir().join("resolv.conf");
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: namespace calls that move only this thread; the
                // mount changes stay in its new mount namespace.
                unsafe {
                    assert_eq!(libc::unshare(libc::CLONE_NEWNS | libc::CLONE_FS), 0);
                    let root = CString::new("/").unwrap();
                    let none = std::ptr::null();
                    assert_eq!(
                        libc::mount(
                            none,
                            root.as_ptr(),
                            none,
                            libc::MS_REC | libc::MS_PRIVATE,
                            none as _
                        ),
                        0
                    );
                    let src = CString::new(resolv.to_str().unwrap()).unwrap();
                    let dst = CString::new("/etc/resolv.conf").unwrap();
                    assert_eq!(
                        libc::mount(src.as_ptr(), dst.as_ptr(), none, libc::MS_BIND, none as _),
                        0,
                        "{}",
                        std::io::Error::last_os_error()
                    );
                    assert_eq!(libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET), 0);
                }
                f()
            })
            .join()
            .unwrap()
        })
    }
}

/// A new network namespace with `lo` up, as the runtime's netns helper
/// thread makes a container's.
fn new_container_netns() -> OwnedFd {
    std::thread::spawn(|| {
        // SAFETY: moves only this thread, which ends right after.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let ns: OwnedFd = std::fs::File::open("/proc/thread-self/ns/net")
            .unwrap()
            .into();
        let ok = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .unwrap();
        assert!(ok.success());
        ns
    })
    .join()
    .unwrap()
}

/// Runs `f` on a thread inside the container namespace `ns`.
fn in_container<T: Send>(ns: &OwnedFd, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: moves only this thread.
            assert_eq!(
                unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            f()
        })
        .join()
        .unwrap()
    })
}

fn dig(ns: &Netns, server: &str, name: &str) -> Option<String> {
    let out = ns
        .command("dig")
        .args(["+short", "+time=1", "+tries=1", &format!("@{server}"), name])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn a_container_namespace_goes_out_and_resolves_through_the_helper() {
    require_root!();
    require_program!("slirp4netns");
    require_program!("dnsmasq");
    require_program!("dig");
    let world = World::new();
    // The outside world's server, bound in its namespace.
    let listener = {
        let ns = std::fs::File::open(Path::new("/run/netns").join(world.outside.name())).unwrap();
        std::thread::spawn(move || {
            // SAFETY: moves only this thread; the socket stays in the namespace.
            assert_eq!(
                unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            TcpListener::bind((OUTSIDE_ADDR, 0)).unwrap()
        })
        .join()
        .unwrap()
    };
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, peer) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).unwrap();
        conn.write_all(b"pong").unwrap();
        (peer.ip(), buf)
    });
    let ctr = new_container_netns();
    let helper_pid = world.in_host(|| {
        let helper = rootless::start(
            Target::Netns {
                netns: ctr.as_fd(),
                userns: None,
            },
            &Options::default(),
        )
        .unwrap();
        let pid = helper.pid();
        // Ready means usable: no wait before the first connection.
        let (addrs, answer, dns) = in_container(&ctr, || {
            let mut c =
                TcpStream::connect_timeout(&(OUTSIDE_ADDR, port).into(), Duration::from_secs(10))
                    .unwrap();
            c.write_all(b"ping").unwrap();
            let mut answer = [0u8; 4];
            c.read_exact(&mut answer).unwrap();
            let addrs = Command::new("ip")
                .args(["-o", "-4", "addr"])
                .output()
                .unwrap();
            let dns = Command::new("dig")
                .args(["+short", "+time=2", "+tries=2"])
                .arg(format!("@{}", rootless::DNS))
                .arg("outside.test")
                .output()
                .unwrap();
            (
                String::from_utf8_lossy(&addrs.stdout).into_owned(),
                answer,
                String::from_utf8_lossy(&dns.stdout).trim().to_string(),
            )
        });
        let want = [
            rootless::INTERFACE,
            "inet",
            &format!("{}/24", rootless::ADDRESS),
        ];
        assert!(
            addrs.lines().any(|l| l
                .split_whitespace()
                .skip(1)
                .take(3)
                .eq(want.iter().copied())),
            "{addrs}"
        );
        assert_eq!(&answer, b"pong");
        assert_eq!(dns, OUTSIDE_ADDR.to_string(), "the helper's DNS forwarder");
        assert!(process_exists(pid));
        helper.stop();
        pid
    });
    let (peer, got) = server.join().unwrap();
    assert_eq!(&got, b"ping");
    // NATed by the helper: the outside sees the host's address.
    assert_eq!(peer, HOST_ADDR);
    assert!(!process_exists(helper_pid), "the helper is gone after stop");
}

#[test]
fn dropping_the_handle_ends_the_helper() {
    require_root!();
    require_program!("slirp4netns");
    let host = Netns::new("rld");
    let file = std::fs::File::open(Path::new("/run/netns").join(host.name())).unwrap();
    let pid = std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: moves only this thread.
            assert_eq!(
                unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            let ctr = new_container_netns();
            let helper = rootless::start(
                Target::Netns {
                    netns: ctr.as_fd(),
                    userns: None,
                },
                &Options::default(),
            )
            .unwrap();
            let pid = helper.pid();
            assert!(process_exists(pid));
            drop(helper);
            pid
        })
        .join()
        .unwrap()
    });
    assert!(!process_exists(pid));
}

#[test]
fn a_missing_helper_names_the_package_to_install() {
    let opts = Options {
        binary: "/nonexistent/slirp4netns".into(),
        ..Default::default()
    };
    let me = std::process::id() as i32;
    let err = rootless::start(Target::Pid(me), &opts).unwrap_err();
    assert!(matches!(err, NetworkError::HelperMissing { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("/nonexistent/slirp4netns") && msg.contains("apt-get install slirp4netns"),
        "{msg}"
    );
}

#[test]
fn a_helper_that_fails_is_reported_with_its_words_and_reaped() {
    require_program!("slirp4netns");
    // A PID that does not exist: slirp4netns cannot open its namespace.
    let gone = {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id() as i32;
        c.wait().unwrap();
        pid
    };
    let err = rootless::start(Target::Pid(gone), &Options::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, NetworkError::HelperFailed { .. }), "{err:?}");
    assert!(
        msg.contains("before the container's network was ready") && msg.contains(&gone.to_string()),
        "{msg}"
    );
}
