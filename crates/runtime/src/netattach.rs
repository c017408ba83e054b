//! A container's networks around its runs: what to attach (from hoist.json),
//! `/etc/hosts` and `/etc/resolv.conf` to match, `network.json` (the live
//! attachments, read by `inspect`), handing the leases to the container's
//! PID 1 once it runs, and releasing them when it stops or is removed.

use hoist_network::{Attachment, Owner};
use std::net::IpAddr;
use std::path::Path;

use crate::container::ContainerRecord;
use crate::core::netns::NetSetup;
use crate::error::{IoContext, Result};
use crate::spec::NetworkMode;

/// `containers/<id>/network.json`: the attachments of the current run.
pub const STATE_FILE: &str = "network.json";

/// What the netns helper thread should attach, for a bridge-mode container
/// (a rootless one on the default network gets the user-mode helper
/// instead: netrootless.rs; on user networks, these in the rootless
/// network namespace).
pub fn setup_for(root: &Path, rec: &ContainerRecord) -> Option<NetSetup> {
    let bridge = rec.network == NetworkMode::Bridge && rec.pod.is_none();
    let rootless_default = crate::rootless::active() && !crate::netrootless::on_user_networks(rec);
    (bridge && !rootless_default).then(|| NetSetup {
        root: root.to_path_buf(),
        container_id: rec.id.clone(),
        name: rec.name.clone(),
        requests: rec.networks.clone(),
        hoist_exe: std::env::current_exe().ok(),
    })
}

/// Before the child starts: the attachments recorded, the /etc files
/// rewritten with the container's addresses and DNS (the child bind-mounts
/// the same files).
pub fn before_start(dir: &Path, rec: &ContainerRecord, atts: &[Attachment]) -> Result<()> {
    let path = dir.join(STATE_FILE);
    let data = serde_json::to_vec(atts).expect("attachments serialize");
    std::fs::write(&path, data).ctx(|| format!("writing {}", path.display()))?;
    write_etc(dir, rec, atts)
}

/// Once PID 1 runs, the leases follow it: a container whose monitor is
/// SIGKILLed keeps its address for as long as it runs.
pub fn after_start(root: &Path, rec: &ContainerRecord, atts: &[Attachment], pid: i32) {
    if let Some(owner) = Owner::of(pid) {
        if let Err(e) = hoist_network::attach::hand_over(root, &rec.id, atts, owner) {
            tracing::warn!("handing the leases to PID {pid}: {e}");
        }
    }
}

/// After the container's run: addresses released, veths deleted, bridges
/// without users removed.
pub fn after_stop(root: &Path, dir: &Path, rec: &ContainerRecord, atts: &[Attachment]) {
    crate::netpod::member_stopped(root, rec);
    // network.json also has what `network connect` added while it ran.
    let mut all = attachments(dir);
    for a in atts {
        if !all.iter().any(|b| b.network == a.network) {
            all.push(a.clone());
        }
    }
    if !rec.ports.is_empty() {
        // The port proxy's connector thread stays in the old namespace until
        // its next connection, and so would the veth, still answering for
        // an address given back: it goes now.
        for a in &all {
            hoist_network::host::delete_veth(&a.host_interface);
        }
    }
    hoist_network::release(root, &rec.id, &all);
    let _ = std::fs::remove_file(dir.join(STATE_FILE));
}

/// For `rm` (a monitor that died left its attachments recorded).
pub fn release_recorded(root: &Path, dir: &Path, id: &str) {
    let atts = attachments(dir);
    if !atts.is_empty() {
        hoist_network::release(root, id, &atts);
    }
}

/// The attachments of the current run (empty when not running).
pub fn attachments(dir: &Path) -> Vec<Attachment> {
    std::fs::read(dir.join(STATE_FILE))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default()
}

/// Writes hosts and resolv.conf beside the container (bind-mounted over
/// /etc/hosts and /etc/resolv.conf).
pub fn write_etc(dir: &Path, rec: &ContainerRecord, atts: &[Attachment]) -> Result<()> {
    for (name, text) in [
        ("hosts", hosts(rec, atts)),
        ("resolv.conf", resolv_conf(rec, atts)),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).ctx(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// docker's /etc/hosts: localhost, the container's own address with its
/// host name, name and aliases, then `--add-host` entries
/// (`host-gateway` is the first network's gateway).
pub fn hosts(rec: &ContainerRecord, atts: &[Attachment]) -> String {
    let mut s = if rec.network == NetworkMode::Host {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n".to_string()
    };
    if rec.network != NetworkMode::Host {
        let mut names = vec![rec.hostname.clone()];
        for extra in std::iter::once(&rec.name).chain(atts.iter().flat_map(|a| &a.aliases)) {
            if !names.contains(extra) {
                names.push(extra.clone());
            }
        }
        match atts.first() {
            Some(a) => {
                s += &format!("{}\t{}\n", a.ipv4, names.join(" "));
                if let Some(ip6) = a.ipv6 {
                    s += &format!("{ip6}\t{}\n", names.join(" "));
                }
            }
            None => s += &format!("127.0.0.1\t{}\n", rec.hostname),
        }
    }
    for h in &rec.add_hosts {
        if let Some((host, ip)) = h.split_once(':') {
            let ip = match (ip, atts.first()) {
                ("host-gateway", Some(a)) => a.gateway.to_string(),
                ("host-gateway", None) => continue,
                _ => ip.to_string(),
            };
            s += &format!("{ip}\t{host}\n");
        }
    }
    s
}

/// /etc/resolv.conf: `--dns`/`--dns-search` if given; else the DNS
/// responders of the container's networks that have one, else the host's resolvers (loopback
/// ones left out: they are not reachable from the container's namespace).
pub fn resolv_conf(rec: &ContainerRecord, atts: &[Attachment]) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if rec.network == NetworkMode::Host && rec.dns.is_empty() && rec.dns_search.is_empty() {
        return host;
    }
    // (A pod member is "private" but shares its pod's attachments.)
    let own_loopback_only =
        atts.is_empty() && matches!(rec.network, NetworkMode::None | NetworkMode::Private);
    if own_loopback_only && rec.dns.is_empty() && rec.dns_search.is_empty() {
        return String::new();
    }
    let mut servers: Vec<String> = rec.dns.clone();
    if servers.is_empty() {
        // Each network's responder, first network first (resolv.conf reads
        // three at most).
        servers.extend(
            atts.iter()
                .filter_map(|a| a.dns)
                .map(|ip| ip.to_string())
                .take(3),
        );
        if servers.is_empty() {
            servers.extend(host_nameservers(&host));
        }
    }
    let search: Vec<String> = if rec.dns_search.is_empty() {
        host.lines()
            .filter_map(|l| l.strip_prefix("search "))
            .flat_map(|l| l.split_whitespace().map(String::from))
            .collect()
    } else {
        rec.dns_search.clone()
    };
    let mut s = String::new();
    if !search.is_empty() && search != ["."] {
        s += &format!("search {}\n", search.join(" "));
    }
    for ns in servers {
        s += &format!("nameserver {ns}\n");
    }
    s
}

fn host_nameservers(resolv: &str) -> Vec<String> {
    resolv
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(|a| a.trim().to_string())
        .filter(|a| a.parse::<IpAddr>().is_ok_and(|ip| !ip.is_loopback()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_name_the_container_on_its_address_and_add_hosts() {
        let rec = ContainerRecord {
            id: "a".repeat(64),
            name: "web".into(),
            hostname: "abc".into(),
            network: NetworkMode::Bridge,
            add_hosts: vec!["db:10.1.2.3".into(), "gw:host-gateway".into()],
            ..Default::default()
        };
        let att: Attachment = serde_json::from_value(serde_json::json!({
            "network": "n", "network_id": "x", "interface": "eth0", "host_interface": "veth1",
            "bridge": "hoist0", "ipv4": "10.89.0.2", "prefix_len": 24, "gateway": "10.89.0.1",
            "mac": "02:42:0a:59:00:02", "aliases": ["api"], "internal": false, "dns": "10.89.0.1"
        }))
        .unwrap();
        let h = hosts(&rec, std::slice::from_ref(&att));
        assert!(h.contains("10.89.0.2\tabc web api\n"), "{h}");
        assert!(
            h.contains("10.1.2.3\tdb\n") && h.contains("10.89.0.1\tgw\n"),
            "{h}"
        );
        assert_eq!(
            resolv_conf(&rec, &[att]).lines().last(),
            Some("nameserver 10.89.0.1")
        );
    }
}
