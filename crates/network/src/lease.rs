//! IPAM: one file per address in use, `<root>/networks/<name>/leases/<ipv4>`,
//! created with O_CREAT|O_EXCL while holding the network's lock, so an address
//! is never handed out twice. A lease names the process whose life the address
//! follows (the monitor while the container starts, then the container's PID 1);
//! when that process is gone (SIGKILL, reboot) the lease is stale and is taken
//! back lazily, at the next allocation that needs it. The DNS responder answers
//! from these files.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, NetworkError, Result};
use crate::record::{state_dir, Network};

/// One address in use (the file's JSON; the format the DNS responder reads).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Lease {
    pub container_id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub ipv4: Ipv4Addr,
    pub ipv6: Option<String>,
    pub mac: String,
    pub owner_pid: i32,
    pub owner_start_time: u64,
}

/// The process a lease lives as long as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub pid: i32,
    pub start_time: u64,
}

impl Owner {
    /// The calling process.
    pub fn me() -> Owner {
        Owner::of(std::process::id() as i32).expect("our own /proc/self/stat")
    }

    /// A live process, or None.
    pub fn of(pid: i32) -> Option<Owner> {
        process_start_time(pid).map(|start_time| Owner { pid, start_time })
    }

    pub fn alive(&self) -> bool {
        process_start_time(self.pid) == Some(self.start_time)
    }
}

/// Field 22 of /proc/PID/stat (clock ticks since boot); None for a process
/// that is gone or a zombie.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    if after.starts_with('Z') || after.starts_with('X') {
        return None;
    }
    after.split(' ').nth(19)?.parse().ok()
}

pub fn leases_dir(root: &Path, network: &str) -> PathBuf {
    state_dir(root, network).join("leases")
}

pub fn lock_path(root: &Path, network: &str) -> PathBuf {
    state_dir(root, network).join("lock")
}

/// docker's MAC for an address: 02:42 then the four address bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn mac_string(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Who asks for an address.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub container_id: &'a str,
    pub name: &'a str,
    pub aliases: &'a [String],
    pub ip: Option<Ipv4Addr>,
    pub owner: Owner,
}

/// Allocates an address on `net` and writes its lease. The caller holds the
/// network's lock (`lock_path`).
pub fn allocate(root: &Path, net: &Network, claim: &Claim) -> Result<Lease> {
    let dir = leases_dir(root, &net.name);
    std::fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
    let ip = match claim.ip {
        Some(ip) => {
            if !net.subnet.is_host(ip) || ip == net.gateway {
                return Err(NetworkError::AddressOutside {
                    ip: ip.to_string(),
                    network: net.name.clone(),
                    subnet: net.subnet.to_string(),
                });
            }
            if dir.join(ip.to_string()).exists() && !reclaim_if_stale(&dir, ip)? {
                return Err(NetworkError::AddressInUse {
                    ip: ip.to_string(),
                    network: net.name.clone(),
                });
            }
            ip
        }
        None => match first_free(&dir, net)? {
            Some(ip) => ip,
            None => {
                // Full: take back every stale lease, then look again.
                for ip in in_use(&dir)? {
                    reclaim_if_stale(&dir, ip)?;
                }
                first_free(&dir, net)?.ok_or_else(|| NetworkError::Exhausted(net.name.clone()))?
            }
        },
    };
    let lease = Lease {
        container_id: claim.container_id.into(),
        name: claim.name.into(),
        aliases: claim.aliases.to_vec(),
        ipv4: ip,
        ipv6: net.ipv6_for(ip).map(|a| a.to_string()),
        mac: mac_string(mac_for(ip)),
        owner_pid: claim.owner.pid,
        owner_start_time: claim.owner.start_time,
    };
    let path = dir.join(ip.to_string());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => NetworkError::AddressInUse {
                ip: ip.to_string(),
                network: net.name.clone(),
            },
            _ => NetworkError::io(format!("creating {}", path.display()), e),
        })?;
    use std::io::Write;
    let written = f.write_all(&serde_json::to_vec(&lease).expect("a lease serializes"));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(NetworkError::io(format!("writing {}", path.display()), e));
    }
    Ok(lease)
}

/// The lowest host address that has no lease (the gateway excluded).
fn first_free(dir: &Path, net: &Network) -> Result<Option<Ipv4Addr>> {
    let used: std::collections::HashSet<Ipv4Addr> = in_use(dir)?.into_iter().collect();
    let last = net.subnet.size().min(1 << 24) as u32;
    Ok((1..last)
        .map(|n| net.subnet.nth(n))
        .find(|ip| net.subnet.is_host(*ip) && *ip != net.gateway && !used.contains(ip)))
}

/// The addresses that have a lease file.
pub fn in_use(dir: &Path) -> Result<Vec<Ipv4Addr>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(NetworkError::io(format!("reading {}", dir.display()), e)),
    }
}

/// Reads one lease; None when it is gone or unreadable (a torn write by a
/// process killed mid-allocation, which is then stale too).
pub fn read(dir: &Path, ip: Ipv4Addr) -> Option<Lease> {
    let data = std::fs::read(dir.join(ip.to_string())).ok()?;
    serde_json::from_slice(&data).ok()
}

/// Every lease of a network.
pub fn all(root: &Path, network: &str) -> Result<Vec<Lease>> {
    let dir = leases_dir(root, network);
    Ok(in_use(&dir)?
        .into_iter()
        .filter_map(|ip| read(&dir, ip))
        .collect())
}

/// Removes the lease of `ip` if its owner is gone; true when removed (or
/// already gone). The caller holds the lock.
fn reclaim_if_stale(dir: &Path, ip: Ipv4Addr) -> Result<bool> {
    let path = dir.join(ip.to_string());
    let stale = match read(dir, ip) {
        Some(l) => !Owner {
            pid: l.owner_pid,
            start_time: l.owner_start_time,
        }
        .alive(),
        None => true,
    };
    if stale {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(NetworkError::io(format!("removing {}", path.display()), e))
            }
            _ => {}
        }
    }
    Ok(stale)
}

/// Removes every stale lease; returns how many live ones remain. The caller
/// holds the lock.
pub fn sweep(root: &Path, network: &str) -> Result<usize> {
    let dir = leases_dir(root, network);
    let mut live = 0;
    for ip in in_use(&dir)? {
        if !reclaim_if_stale(&dir, ip)? {
            live += 1;
        }
    }
    Ok(live)
}

/// Removes `ip`'s lease if it still belongs to `container_id`. The caller
/// holds the lock.
pub fn release(root: &Path, network: &str, ip: Ipv4Addr, container_id: &str) -> Result<()> {
    let dir = leases_dir(root, network);
    match read(&dir, ip) {
        Some(l) if l.container_id != container_id => Ok(()),
        _ => {
            let path = dir.join(ip.to_string());
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(NetworkError::io(format!("removing {}", path.display()), e))
                }
                _ => Ok(()),
            }
        }
    }
}

/// Hands a lease to a new owner (the container's PID 1 once it runs), by an
/// atomic rename over the old file. The caller holds the lock.
pub fn set_owner(
    root: &Path,
    network: &str,
    ip: Ipv4Addr,
    container_id: &str,
    owner: Owner,
) -> Result<()> {
    update(root, network, ip, container_id, |lease| {
        lease.owner_pid = owner.pid;
        lease.owner_start_time = owner.start_time;
    })
}

/// Changes a lease's aliases (a pod's lease gains and loses its members'
/// names). The caller holds the lock.
pub fn set_aliases(
    root: &Path,
    network: &str,
    ip: Ipv4Addr,
    container_id: &str,
    change: impl FnOnce(&mut Vec<String>),
) -> Result<()> {
    update(root, network, ip, container_id, |lease| {
        change(&mut lease.aliases)
    })
}

/// Rewrites `container_id`'s lease of `ip` (if it still is theirs) through a
/// temp file renamed over it: readers see the old or the new, never half.
fn update(
    root: &Path,
    network: &str,
    ip: Ipv4Addr,
    container_id: &str,
    change: impl FnOnce(&mut Lease),
) -> Result<()> {
    let dir = leases_dir(root, network);
    let Some(mut lease) = read(&dir, ip).filter(|l| l.container_id == container_id) else {
        return Ok(());
    };
    change(&mut lease);
    let tmp = dir.join(format!(".{ip}.tmp"));
    std::fs::write(
        &tmp,
        serde_json::to_vec(&lease).expect("a lease serializes"),
    )
    .ctx(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(ip.to_string())).ctx(|| format!("renaming {}", tmp.display()))
}
