//! IPv4 subnets (`10.89.0.0/24`): parsing, containment, overlap, and the host's
//! own routes, which a new network's subnet must not collide with.

use std::net::Ipv4Addr;

use crate::error::{NetworkError, Result};

/// An IPv4 network: address (host bits zero) and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Ipv4Net {
        let net = Ipv4Net { addr, prefix };
        Ipv4Net {
            addr: Ipv4Addr::from(u32::from(addr) & net.mask()),
            prefix,
        }
    }

    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr)
    }

    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    /// The all-ones address of the subnet.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// The n-th address (0 = the network address).
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr).wrapping_add(n))
    }

    /// Whether `ip` may be given to a host: inside, not the network or
    /// broadcast address.
    pub fn is_host(&self, ip: Ipv4Addr) -> bool {
        self.contains(ip) && ip != self.addr && (self.prefix >= 31 || ip != self.broadcast())
    }

    /// Number of addresses.
    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix as u32)
    }
}

impl std::fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl std::str::FromStr for Ipv4Net {
    type Err = NetworkError;
    fn from_str(s: &str) -> Result<Ipv4Net> {
        let bad = || {
            NetworkError::Invalid(format!(
                "invalid subnet {s:?}: give an IPv4 CIDR such as 10.89.5.0/24"
            ))
        };
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if !(8..=30).contains(&prefix) {
            return Err(NetworkError::Invalid(format!(
                "subnet {s}: the prefix length must be between 8 and 30"
            )));
        }
        let net = Ipv4Net::new(addr, prefix);
        if net.addr != addr {
            return Err(NetworkError::Invalid(format!(
                "subnet {s} has host bits set; did you mean {net}?"
            )));
        }
        Ok(net)
    }
}

impl serde::Serialize for Ipv4Net {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Ipv4Net {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Ipv4Net, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The destinations of the IPv4 routes of the namespace we run in
/// (/proc/net/route; the default route is left out: it overlaps everything).
pub fn host_routes() -> Vec<Ipv4Net> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    parse_proc_route(&text)
}

fn parse_proc_route(text: &str) -> Vec<Ipv4Net> {
    let hex = |s: &str| u32::from_str_radix(s, 16).ok().map(u32::from_be);
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let dest = hex(f.get(1)?)?;
            let mask = hex(f.get(7)?)?;
            (mask != 0).then(|| Ipv4Net::new(Ipv4Addr::from(dest), mask.count_ones() as u8))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_contains_overlap() {
        let n: Ipv4Net = "10.89.3.0/24".parse().unwrap();
        assert!(n.contains("10.89.3.200".parse().unwrap()));
        assert!(!n.contains("10.89.4.1".parse().unwrap()));
        assert_eq!(n.broadcast(), "10.89.3.255".parse::<Ipv4Addr>().unwrap());
        assert!(!n.is_host(n.addr) && !n.is_host(n.broadcast()));
        let wide: Ipv4Net = "10.89.0.0/16".parse().unwrap();
        assert!(n.overlaps(&wide) && wide.overlaps(&n));
        assert!(!n.overlaps(&"10.89.4.0/24".parse().unwrap()));
        assert!("10.89.3.1/24".parse::<Ipv4Net>().is_err());
        assert!("10.89.3.0".parse::<Ipv4Net>().is_err());
        assert!("10.89.3.0/31".parse::<Ipv4Net>().is_err());
    }

    #[test]
    fn proc_net_route_is_read_without_the_default_route() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t0000000A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        assert_eq!(parse_proc_route(text), vec!["10.0.0.0/16".parse().unwrap()]);
    }
}
