//! The names a network's responder answers: read from the IPAM's lease files
//! (`networks/<name>/leases/<ipv4>`, one JSON file per address in use) and re-read when the
//! leases directory changes, so a container started a moment ago resolves at once and a
//! removed one stops resolving with its lease.

use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The fields of a lease file that name resolution needs (read leniently: the IPAM's
/// `crate::lease::Lease` is the writer and may grow).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Lease {
    pub container_id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub ipv4: Ipv4Addr,
    /// An address, possibly with its prefix length ("fd00::2/64").
    #[serde(default)]
    pub ipv6: Option<String>,
    /// The process the lease lives as long as; 0 when unknown.
    #[serde(default)]
    pub owner_pid: i32,
    #[serde(default)]
    pub owner_start_time: u64,
}

impl Lease {
    fn ipv6_addr(&self) -> Option<Ipv6Addr> {
        let text = self.ipv6.as_deref()?;
        text.split('/').next()?.parse().ok()
    }

    /// False once the owner has gone (a SIGKILLed monitor, a reboot): the IPAM takes
    /// such a lease back lazily, but its name must stop resolving now.
    pub fn owner_alive(&self) -> bool {
        self.owner_pid <= 0
            || super::pidfile::process_start_time(self.owner_pid) == Some(self.owner_start_time)
    }
}

/// The addresses of one container, as answered for any of its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addrs {
    pub ipv4: Ipv4Addr,
    pub ipv6: Option<Ipv6Addr>,
}

/// Names (lower case, no trailing dot) to the containers that carry them: a container's
/// name, its aliases and the first 12 characters of its id (docker's short id, also its
/// default host name). An alias several containers share answers all of them.
#[derive(Debug, Default)]
pub struct NameTable {
    by_name: HashMap<String, Vec<Addrs>>,
    by_addr: HashMap<IpAddr, String>,
    /// Address to the container id holding it: who is asking (a client is known by its
    /// source address on this network).
    holders: HashMap<IpAddr, String>,
    /// The container ids with a lease here: on which other networks a client is too.
    ids: HashSet<String>,
    /// The owners of the leases read, checked on a timer.
    owners: Vec<Lease>,
}

/// Docker's short container id length.
const SHORT_ID: usize = 12;

impl NameTable {
    pub fn from_leases(leases: &[Lease]) -> NameTable {
        let mut t = NameTable {
            owners: leases.iter().filter(|l| l.owner_pid > 0).cloned().collect(),
            ..NameTable::default()
        };
        for l in leases {
            let addrs = Addrs {
                ipv4: l.ipv4,
                ipv6: l.ipv6_addr(),
            };
            let short_id: String = l.container_id.chars().take(SHORT_ID).collect();
            let names = std::iter::once(&l.name)
                .chain(l.aliases.iter())
                .chain(std::iter::once(&short_id));
            for name in names {
                let key = normalize(name);
                if key.is_empty() {
                    continue;
                }
                let list = t.by_name.entry(key).or_default();
                if !list.contains(&addrs) {
                    list.push(addrs);
                }
            }
            t.by_addr.insert(IpAddr::V4(l.ipv4), l.name.clone());
            t.holders.insert(IpAddr::V4(l.ipv4), l.container_id.clone());
            if let Some(v6) = addrs.ipv6 {
                t.by_addr.insert(IpAddr::V6(v6), l.name.clone());
                t.holders.insert(IpAddr::V6(v6), l.container_id.clone());
            }
            t.ids.insert(l.container_id.clone());
        }
        t
    }

    /// The containers answering to `name` (any case, with or without the trailing dot).
    pub fn lookup(&self, name: &str) -> &[Addrs] {
        self.by_name
            .get(&normalize(name))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The container name holding `addr` (reverse lookups).
    pub fn reverse(&self, addr: IpAddr) -> Option<&str> {
        self.by_addr.get(&addr).map(String::as_str)
    }

    /// The id of the container holding `addr` on this network (an IPv4-mapped IPv6
    /// address counts as its IPv4 address).
    pub fn container_at(&self, addr: IpAddr) -> Option<&str> {
        self.holders.get(&addr.to_canonical()).map(String::as_str)
    }

    /// Whether the container `id` has a lease on this network.
    pub fn holds(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// How many containers the table holds.
    #[cfg(test)]
    fn lease_count(&self) -> usize {
        self.by_addr.keys().filter(|a| a.is_ipv4()).count()
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Reads every lease in `dir` whose owner lives. Returns the leases and whether the
/// reading is complete: a file that does not parse (being written, or foreign) is left
/// out and makes the reading incomplete, so it is not cached.
pub fn read_leases(dir: &Path) -> (Vec<Lease>, bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (Vec::new(), false);
    };
    let mut leases = Vec::new();
    let mut complete = true;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue; // the IPAM's temporary files
        }
        let parsed = std::fs::read(entry.path())
            .ok()
            .and_then(|data| serde_json::from_slice::<Lease>(&data).ok());
        match parsed {
            Some(l) if l.owner_alive() => leases.push(l),
            Some(_) => {}
            None => complete = false,
        }
    }
    (leases, complete)
}

/// Whether `dir` holds a lease that keeps the responder: one whose owner lives, or one
/// that does not parse yet (being written: its container is about to start).
pub fn has_leases(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        if e.file_name().to_string_lossy().starts_with('.') {
            return false;
        }
        let parsed = std::fs::read(e.path())
            .ok()
            .and_then(|data| serde_json::from_slice::<Lease>(&data).ok());
        parsed.is_none_or(|l| l.owner_alive())
    })
}

/// A change to a directory less than this old may be followed by another within the same
/// clock tick (directory mtimes come from the kernel's coarse clock, 1–4 ms), which would
/// leave the mtime unchanged: a table read that soon after a change is not trusted.
const MTIME_SETTLE: Duration = Duration::from_millis(50);

/// The current table of one leases directory, re-read only when the directory's mtime
/// has moved (one stat per query) or the last reading could not be trusted.
pub(crate) struct LeaseWatcher {
    dir: PathBuf,
    table: Arc<NameTable>,
    /// The mtime the table was read at, when that reading can be trusted.
    trusted_mtime: Option<SystemTime>,
}

impl LeaseWatcher {
    pub fn new(dir: PathBuf) -> LeaseWatcher {
        LeaseWatcher {
            dir,
            table: Arc::new(NameTable::default()),
            trusted_mtime: None,
        }
    }

    /// Forgets the cached reading when an owner it holds has died: a dead owner changes
    /// nothing in the directory. Called on the responder's timer, not per query.
    pub fn revalidate(&mut self) {
        if self.table.owners.iter().any(|o| !o.owner_alive()) {
            self.trusted_mtime = None;
        }
    }

    pub fn current(&mut self) -> Arc<NameTable> {
        let mtime = std::fs::metadata(&self.dir).and_then(|m| m.modified()).ok();
        if mtime.is_some() && mtime == self.trusted_mtime {
            return self.table.clone();
        }
        let (leases, complete) = read_leases(&self.dir);
        self.table = Arc::new(NameTable::from_leases(&leases));
        self.trusted_mtime = mtime.filter(|m| complete && settled(*m));
        self.table.clone()
    }
}

/// Whether a reading of a directory last changed at `mtime` can be trusted until its
/// mtime moves again (see `MTIME_SETTLE`).
pub(crate) fn settled(mtime: SystemTime) -> bool {
    SystemTime::now()
        .duration_since(mtime)
        .is_ok_and(|age| age >= MTIME_SETTLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(id: &str, name: &str, aliases: &[&str], v4: [u8; 4]) -> Lease {
        Lease {
            container_id: id.into(),
            name: name.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            ipv4: Ipv4Addr::from(v4),
            ipv6: None,
            owner_pid: 0,
            owner_start_time: 0,
        }
    }

    #[test]
    fn names_aliases_and_short_ids_resolve_in_any_case() {
        let t = NameTable::from_leases(&[
            lease("0123456789abcdef99", "Web", &["front"], [10, 0, 0, 2]),
            lease("fedcba9876543210aa", "db", &["front"], [10, 0, 0, 3]),
        ]);
        let web = Ipv4Addr::new(10, 0, 0, 2);
        assert_eq!(t.lookup("web")[0].ipv4, web);
        assert_eq!(t.lookup("WEB.")[0].ipv4, web);
        assert_eq!(t.lookup("0123456789AB")[0].ipv4, web);
        assert!(
            t.lookup("0123456789abc").is_empty(),
            "13 chars is not an id"
        );
        let front: Vec<_> = t.lookup("front").iter().map(|a| a.ipv4).collect();
        assert_eq!(front, vec![web, Ipv4Addr::new(10, 0, 0, 3)]);
        assert_eq!(t.reverse(IpAddr::V4(web)), Some("Web"));
        assert_eq!(t.container_at(IpAddr::V4(web)), Some("0123456789abcdef99"));
        let mapped = IpAddr::V6(web.to_ipv6_mapped());
        assert_eq!(t.container_at(mapped), Some("0123456789abcdef99"));
        assert!(t.holds("fedcba9876543210aa") && !t.holds("fedcba987654"));
        assert!(t.lookup("nope").is_empty());
        assert_eq!(t.lease_count(), 2);
    }

    #[test]
    fn watcher_sees_added_and_removed_leases_and_skips_partial_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LeaseWatcher::new(dir.path().to_path_buf());
        assert_eq!(w.current().lease_count(), 0);
        std::fs::write(
            dir.path().join("10.0.0.2"),
            r#"{"container_id":"abc","name":"a","aliases":[],"ipv4":"10.0.0.2","ipv6":null,"mac":"x","owner_pid":0,"owner_start_time":0}"#,
        )
        .unwrap();
        assert_eq!(w.current().lookup("a")[0].ipv4, Ipv4Addr::new(10, 0, 0, 2));
        std::fs::write(dir.path().join("10.0.0.3"), "").unwrap();
        assert_eq!(w.current().lease_count(), 1, "an empty file is skipped");
        std::fs::write(
            dir.path().join("10.0.0.3"),
            r#"{"container_id":"def","name":"b","ipv4":"10.0.0.3"}"#,
        )
        .unwrap();
        assert_eq!(w.current().lookup("b").len(), 1, "completed later, re-read");
        std::fs::remove_file(dir.path().join("10.0.0.2")).unwrap();
        assert!(w.current().lookup("a").is_empty());
    }

    #[test]
    fn a_lease_whose_owner_died_stops_resolving() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let start = crate::dns::pidfile::process_start_time(pid).unwrap();
        std::fs::write(
            dir.path().join("10.0.0.2"),
            format!(r#"{{"container_id":"abc","name":"a","ipv4":"10.0.0.2","ipv6":"fd00::2/64","owner_pid":{pid},"owner_start_time":{start}}}"#),
        )
        .unwrap();
        let mut w = LeaseWatcher::new(dir.path().to_path_buf());
        let t = w.current();
        assert_eq!(t.lookup("a")[0].ipv6, Some("fd00::2".parse().unwrap()));
        assert!(has_leases(dir.path()));
        child.kill().unwrap();
        child.wait().unwrap();
        w.revalidate();
        assert!(w.current().lookup("a").is_empty());
        assert!(
            !has_leases(dir.path()),
            "a dead owner's lease does not keep the responder"
        );
    }
}
