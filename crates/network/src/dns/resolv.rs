//! resolv.conf: the host's (where the responder finds its upstream resolvers) and a
//! container's (nameserver = its network's gateway, the host's search and options kept,
//! as docker does).

use std::fmt::Write as _;
use std::net::IpAddr;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<IpAddr>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl ResolvConf {
    /// Parses resolv.conf(5): `nameserver`, `search` (and the older `domain`), `options`;
    /// other lines and unparsable addresses are ignored, as glibc does.
    pub fn parse(text: &str) -> ResolvConf {
        let mut rc = ResolvConf::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    // An IPv6 address may carry a zone (fe80::1%eth0); the zone is dropped.
                    if let Some(ip) = words
                        .next()
                        .and_then(|w| w.split('%').next())
                        .and_then(|w| w.parse().ok())
                    {
                        rc.nameservers.push(ip);
                    }
                }
                Some("search") | Some("domain") => {
                    rc.search = words.map(str::to_string).collect();
                }
                Some("options") => rc.options.extend(words.map(str::to_string)),
                _ => {}
            }
        }
        rc
    }

    /// A container's resolv.conf on a network with a responder: the gateway is its only
    /// nameserver (the responder forwards what it does not know), the host's search
    /// domains and options are kept.
    pub fn for_container(gateway: IpAddr, host: &ResolvConf) -> ResolvConf {
        ResolvConf {
            nameservers: vec![gateway],
            search: host.search.clone(),
            options: host.options.clone(),
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for ns in &self.nameservers {
            let _ = writeln!(out, "nameserver {ns}");
        }
        if !self.search.is_empty() {
            let _ = writeln!(out, "search {}", self.search.join(" "));
        }
        if !self.options.is_empty() {
            let _ = writeln!(out, "options {}", self.options.join(" "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_a_container_copy() {
        let host = ResolvConf::parse(
            "# generated\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nnameserver bogus\n\
             search corp.example lab.example\noptions edns0 trust-ad\n",
        );
        assert_eq!(
            host.nameservers,
            vec![
                "127.0.0.53".parse::<IpAddr>().unwrap(),
                "fe80::1".parse().unwrap()
            ]
        );
        assert_eq!(host.search, vec!["corp.example", "lab.example"]);
        let c = ResolvConf::for_container("10.88.0.1".parse().unwrap(), &host);
        assert_eq!(
            c.render(),
            "nameserver 10.88.0.1\nsearch corp.example lab.example\noptions edns0 trust-ad\n"
        );
    }
}
