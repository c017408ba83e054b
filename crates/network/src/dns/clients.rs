//! Who may ask: the network's own containers (its subnet) and the host itself. The gateway
//! is a host address, so a container of another network — an internal one included —
//! could otherwise reach this responder through its own gateway, learn this network's
//! names, and have queries forwarded out of a network that must have no way out.

use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Clone, Copy)]
pub struct ClientFilter {
    /// (network bits, mask); None: everyone (a record without a subnet).
    subnet: Option<(u32, u32)>,
    own: IpAddr,
}

impl ClientFilter {
    pub fn new(subnet: Option<(Ipv4Addr, u8)>, own: IpAddr) -> ClientFilter {
        let subnet = subnet.map(|(addr, len)| {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            (u32::from(addr) & mask, mask)
        });
        ClientFilter { subnet, own }
    }

    pub fn allows(&self, peer: IpAddr) -> bool {
        let Some((net, mask)) = self.subnet else {
            return true;
        };
        if peer == self.own || peer.is_loopback() {
            return true; // the host itself (dig on the host, hoist's own checks)
        }
        match peer {
            IpAddr::V4(v4) => u32::from(v4) & mask == net,
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .is_some_and(|v4| u32::from(v4) & mask == net),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_subnet_and_the_host_may_ask() {
        let gw: IpAddr = "10.89.0.1".parse().unwrap();
        let f = ClientFilter::new(Some(("10.89.0.0".parse().unwrap(), 24)), gw);
        for ok in ["10.89.0.7", "10.89.0.255", "10.89.0.1", "127.0.0.1"] {
            assert!(f.allows(ok.parse().unwrap()), "{ok}");
        }
        for no in ["10.89.1.7", "10.200.0.1", "192.0.2.1"] {
            assert!(!f.allows(no.parse().unwrap()), "{no}");
        }
        assert!(ClientFilter::new(None, gw).allows("192.0.2.1".parse().unwrap()));
        let all = ClientFilter::new(Some(("0.0.0.0".parse().unwrap(), 0)), gw);
        assert!(all.allows("192.0.2.1".parse().unwrap()));
    }
}
