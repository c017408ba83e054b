//! IPv6 prefixes of networks with `--ipv6`: a ULA /64 (fd00::/8 with 40
//! random bits, RFC 4193) unless the user gives one. A container's IPv6
//! address is the prefix plus the same host number as its IPv4 address, so
//! the IPv4 lease (unique) makes the IPv6 one unique too.

use std::net::Ipv6Addr;

use crate::error::{NetworkError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Prefix {
    pub addr: Ipv6Addr,
    pub prefix: u8,
}

impl Ipv6Prefix {
    fn mask(prefix: u8) -> u128 {
        if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - prefix as u32)
        }
    }

    pub fn overlaps(&self, other: &Ipv6Prefix) -> bool {
        let p = self.prefix.min(other.prefix);
        u128::from(self.addr) & Self::mask(p) == u128::from(other.addr) & Self::mask(p)
    }

    /// The prefix plus host number `n`.
    pub fn nth(&self, n: u32) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) | u128::from(n))
    }

    /// A random unique local /64 (fdXX:XXXX:XXXX::/64).
    pub fn random_ula() -> Ipv6Prefix {
        let mut b = [0u8; 5];
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            use std::io::Read;
            let _ = f.read_exact(&mut b);
        }
        let mut octets = [0u8; 16];
        octets[0] = 0xfd;
        octets[1..6].copy_from_slice(&b);
        Ipv6Prefix {
            addr: Ipv6Addr::from(octets),
            prefix: 64,
        }
    }
}

impl std::fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl std::str::FromStr for Ipv6Prefix {
    type Err = NetworkError;
    fn from_str(s: &str) -> Result<Ipv6Prefix> {
        let bad = || {
            NetworkError::Invalid(format!(
                "invalid IPv6 subnet {s:?}: give a prefix such as fd12:3456:789a::/64"
            ))
        };
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv6Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if !(48..=112).contains(&prefix) {
            return Err(NetworkError::Invalid(format!(
                "IPv6 subnet {s}: the prefix length must be between 48 and 112"
            )));
        }
        if u128::from(addr) & !Self::mask(prefix) != 0 {
            return Err(NetworkError::Invalid(format!(
                "IPv6 subnet {s} has host bits set"
            )));
        }
        Ok(Ipv6Prefix { addr, prefix })
    }
}

impl serde::Serialize for Ipv6Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Ipv6Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Ipv6Prefix, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ula_prefixes_parse_overlap_and_number_hosts() {
        let p: Ipv6Prefix = "fd12:3456:789a::/64".parse().unwrap();
        assert_eq!(p.nth(2).to_string(), "fd12:3456:789a::2");
        assert!(p.overlaps(&"fd12:3456:789a::/48".parse().unwrap()));
        assert!(!p.overlaps(&"fd12:3456::/48".parse().unwrap()));
        assert!(!p.overlaps(&"fd12:3456:789b::/64".parse().unwrap()));
        assert!("fd12::1/64".parse::<Ipv6Prefix>().is_err());
        assert!("fd12::/8".parse::<Ipv6Prefix>().is_err());
        let r = Ipv6Prefix::random_ula();
        assert_eq!(r.addr.octets()[0], 0xfd);
        assert_eq!(r.prefix, 64);
    }
}
