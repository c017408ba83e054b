//! Network records: `<root>/networks/<name>.json` says what a network is
//! (subnet, gateway, options, labels, its bridge's name); the directory
//! `<root>/networks/<name>/` holds its lock and its leases. The default
//! network `bridge` is made on first use, like docker's.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, NetworkError, Result};
use crate::subnet::{host_routes, Ipv4Net};
use crate::subnet6::Ipv6Prefix;

/// docker's name for the default network.
pub const DEFAULT_NETWORK: &str = "bridge";
/// docker's default subnet, used when the host has no route into it.
const DEFAULT_SUBNET: &str = "172.17.0.0/16";
/// The default network's bridge (docker0, podman0).
const DEFAULT_BRIDGE: &str = "hoist0";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Network {
    pub name: String,
    pub id: String,
    pub driver: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    #[serde(default)]
    pub internal: bool,
    /// With `--ipv6`: the network's IPv6 prefix (containers get the same
    /// host number as in IPv4).
    #[serde(default)]
    pub ipv6_subnet: Option<Ipv6Prefix>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The Linux bridge's interface name.
    pub bridge: String,
    /// Whether containers resolve each other by name (user networks; not the
    /// default network, as in docker).
    pub dns_enabled: bool,
    pub created: String,
}

impl Network {
    /// A container's IPv6 address: the prefix plus its IPv4 host number.
    pub fn ipv6_for(&self, ip: Ipv4Addr) -> Option<std::net::Ipv6Addr> {
        let n = u32::from(ip).wrapping_sub(u32::from(self.subnet.addr));
        self.ipv6_subnet.map(|p| p.nth(n))
    }

    /// The bridge's IPv6 address (the IPv4 gateway's host number).
    pub fn ipv6_gateway(&self) -> Option<std::net::Ipv6Addr> {
        self.ipv6_for(self.gateway)
    }
}

/// What `network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub subnet: Option<String>,
    /// `--ipv6`, with `subnet6` (or a random ULA /64).
    pub ipv6: bool,
    pub subnet6: Option<String>,
    pub gateway: Option<String>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

pub fn networks_dir(root: &Path) -> PathBuf {
    root.join("networks")
}

pub fn record_path(root: &Path, name: &str) -> PathBuf {
    networks_dir(root).join(format!("{name}.json"))
}

/// `<root>/networks/<name>/`: lock and leases.
pub fn state_dir(root: &Path, name: &str) -> PathBuf {
    networks_dir(root).join(name)
}

/// docker's names, plus the modes that are not networks at all.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        return Err(NetworkError::BadName(name.into()));
    }
    if ["host", "none", "private", "default"].contains(&name) {
        return Err(NetworkError::Invalid(format!(
            "{name} is a network mode, not a network name; choose another name"
        )));
    }
    Ok(())
}

/// Reads a network record; the default network is created on first use.
pub fn load(root: &Path, name: &str) -> Result<Network> {
    let path = record_path(root, name);
    match std::fs::read(&path) {
        Ok(data) => serde_json::from_slice(&data).map_err(|e| NetworkError::Corrupt {
            path,
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if name == DEFAULT_NETWORK {
                return ensure_default(root);
            }
            Err(NetworkError::NotFound(name.into()))
        }
        Err(e) => Err(NetworkError::io(format!("reading {}", path.display()), e)),
    }
}

/// Finds a network by name, full ID or unique ID prefix.
pub fn find(root: &Path, what: &str) -> Result<Network> {
    match load(root, what) {
        Err(NetworkError::NotFound(_)) | Err(NetworkError::BadName(_)) => {}
        other => return other,
    }
    let hits: Vec<Network> = list(root)?
        .into_iter()
        .filter(|n| what.len() >= 3 && n.id.starts_with(what))
        .collect();
    match hits.len() {
        1 => Ok(hits.into_iter().next().unwrap()),
        0 => Err(NetworkError::NotFound(what.into())),
        _ => Err(NetworkError::Invalid(format!(
            "network ID prefix {what} is ambiguous; give more of it"
        ))),
    }
}

/// Every network, by name (the default one included, made if missing).
pub fn list(root: &Path) -> Result<Vec<Network>> {
    let mut out = vec![ensure_default(root)?];
    let dir = networks_dir(root);
    let entries = std::fs::read_dir(&dir).ctx(|| format!("reading {}", dir.display()))?;
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".json") {
            if name != DEFAULT_NETWORK && !name.starts_with('.') {
                match load(root, name) {
                    Ok(n) => out.push(n),
                    Err(NetworkError::NotFound(_)) => {} // removed meanwhile
                    Err(e) => return Err(e),
                }
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Creates the default network's record unless it exists (racing creators:
/// the first rename wins, the others read it).
pub fn ensure_default(root: &Path) -> Result<Network> {
    let path = record_path(root, DEFAULT_NETWORK);
    if let Ok(data) = std::fs::read(&path) {
        return serde_json::from_slice(&data).map_err(|e| NetworkError::Corrupt {
            path,
            message: e.to_string(),
        });
    }
    let _guard = crate::lock::Lock::exclusive(&networks_dir(root).join(".create.lock"))?;
    if path.exists() {
        return load(root, DEFAULT_NETWORK);
    }
    let others = existing_subnets(root)?;
    let preferred: Ipv4Net = DEFAULT_SUBNET.parse()?;
    let subnet = if free(&preferred, &others) {
        preferred
    } else {
        pick_subnet(&others)?
    };
    let net = Network {
        name: DEFAULT_NETWORK.into(),
        id: random_id(),
        driver: "bridge".into(),
        subnet,
        gateway: subnet.nth(1),
        internal: false,
        ipv6_subnet: None,
        labels: BTreeMap::new(),
        options: BTreeMap::new(),
        bridge: DEFAULT_BRIDGE.into(),
        dns_enabled: false,
        created: now(),
    };
    save(root, &net)?;
    Ok(net)
}

/// `hoist network create`.
pub fn create(root: &Path, name: &str, opts: &CreateOptions) -> Result<Network> {
    check_name(name)?;
    if name == DEFAULT_NETWORK {
        return Err(NetworkError::Exists(name.into()));
    }
    ensure_default(root)?;
    let _guard = crate::lock::Lock::exclusive(&networks_dir(root).join(".create.lock"))?;
    if record_path(root, name).exists() {
        return Err(NetworkError::Exists(name.into()));
    }
    let others = existing_subnets(root)?;
    let subnet = match &opts.subnet {
        Some(s) => {
            let net: Ipv4Net = s.parse()?;
            if let Some((_, other)) = others.iter().find(|(n, _)| n.overlaps(&net)) {
                return Err(NetworkError::Overlap {
                    subnet: net.to_string(),
                    other: other.clone(),
                });
            }
            net
        }
        None => pick_subnet(&others)?,
    };
    let gateway = match &opts.gateway {
        Some(g) => {
            let ip: Ipv4Addr = g.parse().map_err(|_| {
                NetworkError::Invalid(format!("invalid gateway {g:?}: give an IPv4 address"))
            })?;
            if !subnet.is_host(ip) {
                return Err(NetworkError::Invalid(format!(
                    "gateway {ip} is not a host address of subnet {subnet}"
                )));
            }
            ip
        }
        None => subnet.nth(1),
    };
    let ipv6_subnet = ipv6_prefix(root, opts)?;
    let id = random_id();
    let net = Network {
        name: name.into(),
        bridge: format!("hoist-{}", &id[..9]),
        id,
        driver: "bridge".into(),
        subnet,
        gateway,
        internal: opts.internal,
        ipv6_subnet,
        labels: opts.labels.clone(),
        options: opts.options.clone(),
        dns_enabled: true,
        created: now(),
    };
    save(root, &net)?;
    Ok(net)
}

/// Removes the record and the (empty) state directory. The caller has made
/// sure no container uses it and the bridge is gone.
pub fn remove_record(root: &Path, net: &Network) -> Result<()> {
    let path = record_path(root, &net.name);
    std::fs::remove_file(&path).ctx(|| format!("removing {}", path.display()))?;
    let _ = std::fs::remove_dir_all(state_dir(root, &net.name));
    Ok(())
}

fn save(root: &Path, net: &Network) -> Result<()> {
    let dir = networks_dir(root);
    std::fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
    let path = record_path(root, &net.name);
    let tmp = dir.join(format!(".{}.json.tmp", net.name));
    let data = serde_json::to_vec_pretty(net).expect("a network record serializes");
    std::fs::write(&tmp, data).ctx(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).ctx(|| format!("writing {}", path.display()))
}

/// Subnets a new network must not overlap: other networks' and the host's
/// routes, each with a description for the error message.
fn existing_subnets(root: &Path) -> Result<Vec<(Ipv4Net, String)>> {
    let mut out = Vec::new();
    let dir = networks_dir(root);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".json").filter(|n| !n.starts_with('.')) {
                if let Ok(n) = load(root, name) {
                    out.push((n.subnet, format!("network {} ({})", n.name, n.subnet)));
                }
            }
        }
    }
    for r in host_routes() {
        out.push((r, format!("a route of this host ({r})")));
    }
    Ok(out)
}

/// The IPv6 prefix of a new network: none without `--ipv6`; the given one
/// (not overlapping another network's); else a random ULA /64.
fn ipv6_prefix(root: &Path, opts: &CreateOptions) -> Result<Option<Ipv6Prefix>> {
    if !opts.ipv6 && opts.subnet6.is_none() {
        return Ok(None);
    }
    let prefix = match &opts.subnet6 {
        Some(s) => s.parse()?,
        None => Ipv6Prefix::random_ula(),
    };
    for other in list(root)? {
        if let Some(p) = other.ipv6_subnet.filter(|p| p.overlaps(&prefix)) {
            return Err(NetworkError::Overlap {
                subnet: prefix.to_string(),
                other: format!("network {} ({p})", other.name),
            });
        }
    }
    Ok(Some(prefix))
}

fn free(net: &Ipv4Net, taken: &[(Ipv4Net, String)]) -> bool {
    !taken.iter().any(|(t, _)| t.overlaps(net))
}

/// podman's pool for user networks: 10.89.0.0/24, 10.89.1.0/24, ...
fn pick_subnet(taken: &[(Ipv4Net, String)]) -> Result<Ipv4Net> {
    (0..=255u8)
        .map(|i| Ipv4Net::new(Ipv4Addr::new(10, 89, i, 0), 24))
        .find(|n| free(n, taken))
        .ok_or(NetworkError::NoSubnet)
}

fn random_id() -> String {
    let mut bytes = [0u8; 32];
    let f = std::fs::File::open("/dev/urandom");
    if let Ok(mut f) = f {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3339, UTC, seconds.
fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_networks_get_distinct_subnets_and_overlaps_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let a = create(root.path(), "a", &CreateOptions::default()).unwrap();
        let b = create(root.path(), "b", &CreateOptions::default()).unwrap();
        assert!(!a.subnet.overlaps(&b.subnet));
        assert_ne!(a.bridge, b.bridge);
        assert!(a.dns_enabled);
        let err = create(
            root.path(),
            "c",
            &CreateOptions {
                subnet: Some(a.subnet.to_string()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, NetworkError::Overlap { .. }), "{err}");
        assert!(!record_path(root.path(), "c").exists());
        assert!(matches!(
            create(root.path(), "a", &CreateOptions::default()),
            Err(NetworkError::Exists(_))
        ));
        let names: Vec<String> = list(root.path())
            .unwrap()
            .into_iter()
            .map(|n| n.name)
            .collect();
        assert_eq!(names, ["a", "b", "bridge"]);
        assert!(!load(root.path(), "bridge").unwrap().dns_enabled);
    }

    #[test]
    fn gateway_must_be_inside_the_subnet() {
        let root = tempfile::tempdir().unwrap();
        let opts = CreateOptions {
            subnet: Some("10.99.0.0/24".into()),
            gateway: Some("10.98.0.1".into()),
            ..Default::default()
        };
        assert!(create(root.path(), "x", &opts).is_err());
        assert!(matches!(
            load(root.path(), "x"),
            Err(NetworkError::NotFound(_))
        ));
    }
}
