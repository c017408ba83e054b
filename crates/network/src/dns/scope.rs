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
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// The tables one query is answered from: the responder's own network first (its answer
/// wins when the target shares it with the client), then the client's other networks —
/// read only when the own network does not have the name, so a name of the own network
/// costs what it did before other networks were considered.
pub struct Scope<'a> {
    own: Arc<NameTable>,
    /// The asking container and where its other networks are read from (None: a client
    /// with no lease on this network, the host itself).
    client: Option<(String, RefCell<&'a mut OtherNetworks>)>,
    shared: OnceCell<Vec<Arc<NameTable>>>,
}

impl Scope<'_> {
    /// Only one network's names (the answers' unit tests).
    #[cfg(test)]
    pub fn single(table: Arc<NameTable>) -> Scope<'static> {
        Scope {
            own: table,
            client: None,
            shared: OnceCell::new(),
        }
    }

    /// The containers answering to `name` on the first network of the scope that has it.
    pub fn lookup(&self, name: &str) -> &[Addrs] {
        let own = self.own.lookup(name);
        if !own.is_empty() {
            return own;
        }
        self.shared()
            .iter()
            .map(|t| t.lookup(name))
            .find(|found| !found.is_empty())
            .unwrap_or(&[])
    }

    /// The container name holding `addr` on a network of the scope.
    pub fn reverse(&self, addr: IpAddr) -> Option<&str> {
        self.own
            .reverse(addr)
            .or_else(|| self.shared().iter().find_map(|t| t.reverse(addr)))
    }

    /// The tables of the client's other networks, read on first use.
    fn shared(&self) -> &[Arc<NameTable>] {
        self.shared.get_or_init(|| match &self.client {
            Some((id, others)) => others.borrow_mut().holding(id),
            None => Vec::new(),
        })
    }
}

/// The lease tables of the responder's network and of every other network with names,
/// each cached until its leases directory's mtime moves (one stat per network a query
/// reads).
pub(crate) struct Watchers {
    own: LeaseWatcher,
    others: OtherNetworks,
}

impl Watchers {
    pub fn new(store_root: &Path, network: &str) -> Watchers {
        Watchers {
            own: LeaseWatcher::new(paths::leases_dir(store_root, network)),
            others: OtherNetworks {
                networks_dir: store_root.join("networks"),
                store_root: store_root.to_path_buf(),
                own_name: network.to_string(),
                watchers: BTreeMap::new(),
                listed: None,
            },
        }
    }

    /// What `client` may resolve: this network's names, and those of each other network
    /// its container is on too. A client with no lease here (the host) gets this
    /// network's names only.
    pub fn scope_for(&mut self, client: IpAddr) -> Scope<'_> {
        let own = self.own.current();
        let client = own
            .container_at(client)
            .map(|id| (id.to_string(), RefCell::new(&mut self.others)));
        Scope {
            own,
            client,
            shared: OnceCell::new(),
        }
    }

    /// Forgets cached readings that hold a dead owner (the responder's timer).
    pub fn revalidate(&mut self) {
        self.own.revalidate();
        for w in self.others.watchers.values_mut() {
            w.revalidate();
        }
    }
}

/// The networks other than the responder's with names, listed again when `networks/`'s
/// mtime moves (a network made or removed writes or deletes its record there).
pub(crate) struct OtherNetworks {
    networks_dir: PathBuf,
    store_root: PathBuf,
    own_name: String,
    /// By name: the order a target's shared network is picked in when the responder's
    /// own is not shared.
    watchers: BTreeMap<String, LeaseWatcher>,
    /// The mtime of `networks/` the list was read at, when that reading can be trusted.
    listed: Option<SystemTime>,
}

impl OtherNetworks {
    /// The tables of the networks where container `id` has a lease.
    fn holding(&mut self, id: &str) -> Vec<Arc<NameTable>> {
        self.relist();
        self.watchers
            .values_mut()
            .map(LeaseWatcher::current)
            .filter(|table| table.holds(id))
            .collect()
    }

    /// Reads the list again when `networks/` has changed; watchers of networks still
    /// there keep their cached tables.
    fn relist(&mut self) {
        let mtime = std::fs::metadata(&self.networks_dir)
            .and_then(|m| m.modified())
            .ok();
        if mtime.is_some() && mtime == self.listed {
            return;
        }
        let names = named_networks(&self.networks_dir, &self.store_root, &self.own_name);
        let mut previous = std::mem::take(&mut self.watchers);
        self.watchers = names
            .into_iter()
            .map(|name| {
                let watcher = previous.remove(&name).unwrap_or_else(|| {
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

    /// What `client` gets for `name` from responder `w`.
    fn v4(w: &mut Watchers, client: &str, name: &str) -> Vec<Ipv4Addr> {
        let scope = w.scope_for(ip(client));
        scope.lookup(name).iter().map(|a| a.ipv4).collect()
    }

    fn reverse(w: &mut Watchers, client: &str, addr: &str) -> Option<String> {
        w.scope_for(ip(client)).reverse(ip(addr)).map(String::from)
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
        let (a, c, host) = ("10.1.0.2", "10.1.0.4", "127.0.0.1");
        assert_eq!(v4(&mut n1, a, "c"), [Ipv4Addr::new(10, 1, 0, 4)], "own");
        assert_eq!(
            v4(&mut n1, a, "b"),
            [Ipv4Addr::new(10, 2, 0, 3)],
            "shared n2"
        );
        assert_eq!(reverse(&mut n1, a, "10.2.0.3").as_deref(), Some("b"));
        assert_eq!(
            v4(&mut n1, a, "a"),
            [Ipv4Addr::new(10, 1, 0, 2)],
            "own network's address first"
        );
        assert!(v4(&mut n1, a, "d").is_empty(), "a is not on n3");
        assert!(
            v4(&mut n1, a, "e").is_empty(),
            "the default network has no names"
        );
        assert!(v4(&mut n1, c, "b").is_empty(), "c is not on n2");
        assert_eq!(reverse(&mut n1, c, "10.2.0.3"), None);
        assert!(
            v4(&mut n1, host, "b").is_empty(),
            "the host is on no network"
        );
        let mut n2 = Watchers::new(dir.path(), "n2");
        assert!(v4(&mut n2, "10.2.0.3", "c").is_empty(), "b is not on n1");
        assert_eq!(v4(&mut n2, "10.2.0.3", "a"), [Ipv4Addr::new(10, 2, 0, 2)]);
        assert_eq!(
            v4(&mut n2, "10.2.0.2", "c"),
            [Ipv4Addr::new(10, 1, 0, 4)],
            "n2 asked for a name of n1"
        );
    }

    #[test]
    fn networks_and_leases_made_later_are_seen() {
        let dir = world();
        let r = dir.path();
        let mut n1 = Watchers::new(r, "n1");
        let c = "10.1.0.4";
        assert!(v4(&mut n1, c, "d").is_empty());
        // c joins n3 (connect): d resolves for c at once.
        lease(r, "n3", "ccc", "c", "10.3.0.6");
        assert_eq!(v4(&mut n1, c, "d"), [Ipv4Addr::new(10, 3, 0, 5)]);
        // A network created later, c on it with f.
        network(r, "n4", true);
        lease(r, "n4", "ccc", "c", "10.4.0.2");
        lease(r, "n4", "fff", "f", "10.4.0.3");
        assert_eq!(v4(&mut n1, c, "f"), [Ipv4Addr::new(10, 4, 0, 3)]);
        // c leaves n3: d stops resolving for it.
        std::fs::remove_file(paths::leases_dir(r, "n3").join("10.3.0.6")).unwrap();
        assert!(v4(&mut n1, c, "d").is_empty());
    }
}
