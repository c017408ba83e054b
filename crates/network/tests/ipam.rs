//! IPAM under contention and after crashes: leases are files made with O_EXCL
//! under the network's flock, and a lease whose owner process is gone is taken
//! back, never one whose owner lives.

use hoist_network::lease::{self, lock_path, Claim, Owner};
use hoist_network::record::{self, CreateOptions};
use hoist_network::NetworkError;
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::Path;

fn allocate(
    root: &Path,
    net: &str,
    id: &str,
    ip: Option<Ipv4Addr>,
    owner: Owner,
) -> hoist_network::Result<lease::Lease> {
    let net = record::load(root, net)?;
    // A lock file opened per call: flock contention as between processes.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(root, &net.name))
        .unwrap();
    use std::os::fd::AsRawFd;
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    lease::allocate(
        root,
        &net,
        &Claim {
            container_id: id,
            name: id,
            aliases: &[],
            ip,
            owner,
        },
    )
}

fn network(root: &Path, subnet: &str) {
    record::create(
        root,
        "n",
        &CreateOptions {
            subnet: Some(subnet.into()),
            ..Default::default()
        },
    )
    .unwrap();
    std::fs::create_dir_all(lock_path(root, "n").parent().unwrap()).unwrap();
}

#[test]
fn concurrent_allocations_never_share_an_address() {
    let root = tempfile::tempdir().unwrap();
    network(root.path(), "10.77.0.0/24");
    let threads: Vec<_> = (0..64)
        .map(|i| {
            let root = root.path().to_path_buf();
            std::thread::spawn(move || {
                allocate(&root, "n", &format!("c{i}"), None, Owner::me())
                    .unwrap()
                    .ipv4
            })
        })
        .collect();
    let ips: Vec<Ipv4Addr> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let distinct: HashSet<_> = ips.iter().collect();
    assert_eq!(distinct.len(), 64, "{ips:?}");
    let gateway: Ipv4Addr = "10.77.0.1".parse().unwrap();
    assert!(!ips.contains(&gateway));
    assert_eq!(lease::all(root.path(), "n").unwrap().len(), 64);
}

#[test]
fn a_full_subnet_reclaims_dead_owners_only() {
    let root = tempfile::tempdir().unwrap();
    network(root.path(), "10.78.0.0/29"); // hosts .1-.6, .1 the gateway: 5 addresses
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = Owner {
        pid: child.id() as i32,
        start_time: lease::process_start_time(child.id() as i32).unwrap_or(1),
    };
    child.wait().unwrap();
    assert!(!dead.alive());
    let stale = allocate(root.path(), "n", "dead", None, dead).unwrap();
    let mut live = Vec::new();
    for i in 0..4 {
        live.push(
            allocate(root.path(), "n", &format!("l{i}"), None, Owner::me())
                .unwrap()
                .ipv4,
        );
    }
    // Full: the next allocation takes the dead owner's address, never a live one.
    let again = allocate(root.path(), "n", "new", None, Owner::me()).unwrap();
    assert_eq!(again.ipv4, stale.ipv4);
    assert!(!live.contains(&again.ipv4));
    let err = allocate(root.path(), "n", "more", None, Owner::me()).unwrap_err();
    assert!(matches!(err, NetworkError::Exhausted(_)), "{err}");
}

#[test]
fn a_requested_address_must_be_free_and_inside() {
    let root = tempfile::tempdir().unwrap();
    network(root.path(), "10.79.0.0/24");
    let ip: Ipv4Addr = "10.79.0.50".parse().unwrap();
    allocate(root.path(), "n", "a", Some(ip), Owner::me()).unwrap();
    let taken = allocate(root.path(), "n", "b", Some(ip), Owner::me()).unwrap_err();
    assert!(
        matches!(taken, NetworkError::AddressInUse { .. }),
        "{taken}"
    );
    for bad in ["10.80.0.5", "10.79.0.0", "10.79.0.255", "10.79.0.1"] {
        let err = allocate(
            root.path(),
            "n",
            "c",
            Some(bad.parse().unwrap()),
            Owner::me(),
        )
        .unwrap_err();
        assert!(
            matches!(err, NetworkError::AddressOutside { .. }),
            "{bad}: {err}"
        );
    }
    // Released, it is free again.
    let net = record::load(root.path(), "n").unwrap();
    lease::release(root.path(), &net.name, ip, "a").unwrap();
    allocate(root.path(), "n", "b", Some(ip), Owner::me()).unwrap();
}

/// Set for the child processes of the test below: the store root to
/// allocate in.
const CHILD_ROOT: &str = "HOIST_IPAM_TEST_CHILD_ROOT";

/// Not a test of its own: the body of each child process of
/// `concurrent_processes_never_share_an_address` (a no-op otherwise).
#[test]
fn ipam_child_allocates_once() {
    let Some(root) = std::env::var_os(CHILD_ROOT) else {
        return;
    };
    let id = format!("p{}", std::process::id());
    let lease = allocate(Path::new(&root), "n", &id, None, Owner::me()).unwrap();
    println!("ALLOCATED {}", lease.ipv4);
}

#[test]
fn concurrent_processes_never_share_an_address() {
    let root = tempfile::tempdir().unwrap();
    network(root.path(), "10.76.0.0/24");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..24)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "ipam_child_allocates_once", "--nocapture"])
                .env(CHILD_ROOT, root.path())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ips = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let ip = text
            .lines()
            .find_map(|l| l.strip_prefix("ALLOCATED "))
            .unwrap_or_else(|| panic!("no allocation in {text}"))
            .to_string();
        ips.push(ip);
    }
    let distinct: HashSet<&String> = ips.iter().collect();
    assert_eq!(distinct.len(), 24, "{ips:?}");
    // Their owners (the children) are gone: every lease is stale now, and a
    // full sweep takes them all back.
    assert_eq!(lease::sweep(root.path(), "n").unwrap(), 0);
    assert!(lease::all(root.path(), "n").unwrap().is_empty());
}
