//! Which names a client may resolve: those of every network it is on, as docker's embedded
//! DNS answers. A container on several networks asks the first responder its resolv.conf
//! names; a name living only on its second network would otherwise be forwarded upstream,
//! and an upstream NXDOMAIN is final (the resolver never asks the second responder).
//!
//! The client is known by its source address: the lease on this network holding it names
//! its container id, and that id's leases in the other networks' lease directories say
//! which networks it shares with whom. A network the client is not on is never read for an
//! answer (a container must not learn the names of networks it is not attached to).

use super::names::{settled, Addrs, LeaseWatcher, NameTable};
use super::{paths, record};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// The tables one query is answered from: the responder's own network first (its answer
/// wins when the target shares it with the client), then the client's other networks.
#[derive(Debug, Default)]
pub struct Scope {
    tables: Vec<Arc<NameTable>>,
}

impl Scope {
    /// Only one network's names (a client with no lease here: the host itself).
    pub fn single(table: Arc<NameTable>) -> Scope {
        Scope {
            tables: vec![table],
        }
    }

    /// The containers answering to `name` on the first network of the scope that has it.
    pub fn lookup(&self, name: &str) -> &[Addrs] {
        self.tables
            .iter()
            .map(|t| t.lookup(name))
            .find(|found| !found.is_empty())
            .unwrap_or(&[])
    }

    /// The container name holding `addr` on a network of the scope.
    pub fn reverse(&self, addr: IpAddr) -> Option<&str> {
        self.tables.iter().find_map(|t| t.reverse(addr))
    }
}

/// The lease tables of the responder's network and of every other network with names,
/// each cached until its leases directory's mtime moves (one stat per network a query
/// needs). The list of networks is read again when `networks/`'s mtime moves (a network
/// made or removed renames or deletes its record there).
pub(crate) struct Watchers {
    networks_dir: PathBuf,
    store_root: PathBuf,
    own_name: String,
    own: LeaseWatcher,
    /// Other networks with names, by name (the order a target's shared network is
    /// picked in when the responder's own is not shared).
    others: BTreeMap<String, LeaseWatcher>,
    /// The mtime of `networks/` the list was read at, when that reading can be trusted.
    listed: Option<SystemTime>,
}

impl Watchers {
    pub fn new(store_root: &Path, network: &str) -> Watchers {
        Watchers {
            networks_dir: store_root.join("networks"),
            store_root: store_root.to_path_buf(),
            own_name: network.to_string(),
            own: LeaseWatcher::new(paths::leases_dir(store_root, network)),
            others: BTreeMap::new(),
            listed: None,
        }
    }

    /// What `client` may resolve: this network's names, and those of each other network
    /// its container is on too. A client with no lease here (the host) gets this
    /// network's names only.
    pub fn scope_for(&mut self, client: IpAddr) -> Scope {
        let own = self.own.current();
        let Some(id) = own.container_at(client).map(str::to_owned) else {
            return Scope::single(own);
        };
        self.relist();
        let mut tables = vec![own];
        for watcher in self.others.values_mut() {
            let table = watcher.current();
            if table.holds(&id) {
                tables.push(table);
            }
        }
        Scope { tables }
    }

    /// Forgets cached readings that hold a dead owner (the responder's timer).
    pub fn revalidate(&mut self) {
        self.own.revalidate();
        for w in self.others.values_mut() {
            w.revalidate();
        }
    }

    /// Reads the list of other networks again when `networks/` has changed; watchers of
    /// networks still there keep their cached tables.
    fn relist(&mut self) {
        let mtime = std::fs::metadata(&self.networks_dir)
            .and_then(|m| m.modified())
            .ok();
        if mtime.is_some() && mtime == self.listed {
            return;
        }
        let names = named_networks(&self.networks_dir, &self.store_root, &self.own_name);
        let mut others = std::mem::take(&mut self.others);
        self.others = names
            .into_iter()
            .map(|name| {
                let watcher = others.remove(&name).unwrap_or_else(|| {
                    LeaseWatcher::new(paths::leases_dir(&self.store_root, &name))
                });
                (name, watcher)
            })
            .collect();
        self.listed = mtime.filter(|m| settled(*m));
    }
}

/// The networks other than `own` whose records say their names resolve.
fn named_networks(networks_dir: &Path, store_root: &Path, own: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(networks_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let name = file.strip_suffix(".json")?.to_string();
            let usable = !name.is_empty() && !name.starts_with('.') && name != own;
            let named = usable && record::read(store_root, &name).is_ok_and(|r| r.dns_enabled);
            named.then_some(name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn network(root: &Path, name: &str, dns: bool) {
        std::fs::create_dir_all(paths::leases_dir(root, name)).unwrap();
        let record = format!(r#"{{"name":"{name}","subnet":"10.0.0.0/8","dns_enabled":{dns}}}"#);
        std::fs::write(paths::record(root, name), record).unwrap();
    }

    fn lease(root: &Path, network: &str, id: &str, name: &str, ip: &str) {
        let lease = format!(r#"{{"container_id":"{id}","name":"{name}","ipv4":"{ip}"}}"#);
        std::fs::write(paths::leases_dir(root, network).join(ip), lease).unwrap();
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn v4(scope: &Scope, name: &str) -> Vec<Ipv4Addr> {
        scope.lookup(name).iter().map(|a| a.ipv4).collect()
    }

    /// a on n1 and n2, b on n2 only, c on n1 only, d on n3 only, e on the default
    /// network (no names) with a.
    fn world() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        network(r, "n1", true);
        network(r, "n2", true);
        network(r, "n3", true);
        network(r, "bridge", false);
        lease(r, "n1", "aaa", "a", "10.1.0.2");
        lease(r, "n2", "aaa", "a", "10.2.0.2");
        lease(r, "n2", "bbb", "b", "10.2.0.3");
        lease(r, "n1", "ccc", "c", "10.1.0.4");
        lease(r, "n3", "ddd", "d", "10.3.0.5");
        lease(r, "bridge", "aaa", "a", "172.17.0.2");
        lease(r, "bridge", "eee", "e", "172.17.0.3");
        dir
    }

    #[test]
    fn a_client_resolves_the_names_of_every_network_it_is_on_and_no_other() {
        let dir = world();
        let mut n1 = Watchers::new(dir.path(), "n1");
        let a = n1.scope_for(ip("10.1.0.2"));
        assert_eq!(v4(&a, "c"), [Ipv4Addr::new(10, 1, 0, 4)], "own network");
        assert_eq!(v4(&a, "b"), [Ipv4Addr::new(10, 2, 0, 3)], "shared n2");
        assert_eq!(a.reverse(ip("10.2.0.3")), Some("b"));
        assert_eq!(
            v4(&a, "a"),
            [Ipv4Addr::new(10, 1, 0, 2)],
            "own network's address first"
        );
        assert!(v4(&a, "d").is_empty(), "a is not on n3");
        assert!(v4(&a, "e").is_empty(), "the default network has no names");
        let c = n1.scope_for(ip("10.1.0.4"));
        assert!(v4(&c, "b").is_empty(), "c is not on n2");
        assert!(c.reverse(ip("10.2.0.3")).is_none());
        let host = n1.scope_for(ip("127.0.0.1"));
        assert!(v4(&host, "b").is_empty(), "the host is on no network");
        let mut n2 = Watchers::new(dir.path(), "n2");
        let b = n2.scope_for(ip("10.2.0.3"));
        assert!(v4(&b, "c").is_empty(), "b is not on n1");
        assert_eq!(v4(&b, "a"), [Ipv4Addr::new(10, 2, 0, 2)]);
        let a = n2.scope_for(ip("10.2.0.2"));
        assert_eq!(v4(&a, "c"), [Ipv4Addr::new(10, 1, 0, 4)], "n2 asked for n1");
    }

    #[test]
    fn networks_and_leases_made_later_are_seen() {
        let dir = world();
        let r = dir.path();
        let mut n1 = Watchers::new(r, "n1");
        assert!(v4(&n1.scope_for(ip("10.1.0.4")), "d").is_empty());
        // c joins n3 (connect): d resolves for c at once.
        lease(r, "n3", "ccc", "c", "10.3.0.6");
        let c = n1.scope_for(ip("10.1.0.4"));
        assert_eq!(v4(&c, "d"), [Ipv4Addr::new(10, 3, 0, 5)]);
        // A network created later, c on it with f.
        network(r, "n4", true);
        lease(r, "n4", "ccc", "c", "10.4.0.2");
        lease(r, "n4", "fff", "f", "10.4.0.3");
        let c = n1.scope_for(ip("10.1.0.4"));
        assert_eq!(v4(&c, "f"), [Ipv4Addr::new(10, 4, 0, 3)]);
        // c leaves n3: d stops resolving for it.
        std::fs::remove_file(paths::leases_dir(r, "n3").join("10.3.0.6")).unwrap();
        assert!(v4(&n1.scope_for(ip("10.1.0.4")), "d").is_empty());
    }
}
