//! Which ports a container publishes: its `-p` specs, and with `-P`
//! (`--publish-all`) every port the image EXPOSEs plus every `--expose`,
//! each on a free host port picked when the container starts. As in docker,
//! a port given with `-p` keeps its explicit mapping; `-P` adds the rest.

use super::super::config::{
    parse_publish, ImageDefaults, PortMapping, Protocol, RunOptions, MAX_PORT_RANGE,
};
use crate::error::{Result, RuntimeError};
use crate::spec::NetworkMode;

/// Where `-P` binds. docker uses every address (0.0.0.0); hoist publishes
/// on loopback unless an address is given (`-p 80` binds 127.0.0.1 too), so
/// `-P` does the same: a port is reachable from other machines only when
/// someone asked for it with `-p IP:...`.
pub const PUBLISH_ALL_ADDRESS: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// The container's published ports, checked against its network mode.
pub fn ports(defaults: &ImageDefaults, opts: &RunOptions) -> Result<Vec<PortMapping>> {
    let mut ports = Vec::new();
    for p in &opts.publish {
        ports.extend(parse_publish(p)?);
    }
    let mut exposed = Vec::new();
    for e in &opts.expose {
        exposed.extend(parse_expose(e, "--expose")?);
    }
    if opts.publish_all {
        for e in &defaults.exposed_ports {
            exposed.extend(parse_expose(e, "the image's EXPOSE")?);
        }
        for (container_port, protocol) in exposed {
            let taken = ports
                .iter()
                .any(|m| m.container_port == container_port && m.protocol == protocol);
            if !taken {
                ports.push(PortMapping {
                    host_ip: PUBLISH_ALL_ADDRESS,
                    host_port: 0,
                    container_port,
                    protocol,
                });
            }
        }
    }
    if !ports.is_empty() && !matches!(opts.network, NetworkMode::Private | NetworkMode::Bridge) {
        return Err(RuntimeError::Invalid(
            "-p/-P need a network of the container's own (ports of --network host are the host's; none has no ports)".into(),
        ));
    }
    Ok(ports)
}

/// `80`, `53/udp`, `8000-8010/tcp` (docker's `--expose` and the keys of an
/// image's `ExposedPorts`).
pub fn parse_expose(spec: &str, what: &str) -> Result<Vec<(u16, Protocol)>> {
    let bad = |why: &str| RuntimeError::Invalid(format!("{what} {spec:?}: {why}"));
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let protocol = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => return Err(bad("unknown protocol (use tcp or udp)")),
    };
    let port = |p: &str| p.parse::<u16>().map_err(|_| bad("not a port number"));
    let (a, b) = match ports.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(ports)?, port(ports)?),
    };
    if a == 0 || a > b {
        return Err(bad("ports run from 1 to 65535, a range from low to high"));
    }
    if usize::from(b - a) >= MAX_PORT_RANGE {
        return Err(bad(&format!(
            "expose at most {MAX_PORT_RANGE} ports per range"
        )));
    }
    Ok((a..=b).map(|p| (p, protocol)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(publish: &[&str], expose: &[&str], all: bool) -> RunOptions {
        RunOptions {
            publish: publish.iter().map(|s| s.to_string()).collect(),
            expose: expose.iter().map(|s| s.to_string()).collect(),
            publish_all: all,
            network: NetworkMode::Private,
            ..Default::default()
        }
    }

    fn image(exposed: &[&str]) -> ImageDefaults {
        ImageDefaults {
            exposed_ports: exposed.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn publish_all_adds_exposed_ports_and_explicit_ones_win() {
        let img = image(&["8080/tcp", "5353/udp"]);
        let p = ports(&img, &opts(&["9000:8080"], &["7000-7001/udp"], true)).unwrap();
        let keys: Vec<_> = p.iter().map(|m| (m.key(), m.host_port)).collect();
        assert_eq!(
            keys,
            [
                ("8080/tcp".to_string(), 9000),
                ("7000/udp".to_string(), 0),
                ("7001/udp".to_string(), 0),
                ("5353/udp".to_string(), 0),
            ]
        );
        assert!(p[1..].iter().all(|m| m.host_ip == PUBLISH_ALL_ADDRESS));
        // A TCP mapping does not take the UDP port of the same number.
        let p = ports(&image(&["53/udp"]), &opts(&["53:53"], &[], true)).unwrap();
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn without_publish_all_exposed_ports_stay_unpublished() {
        let p = ports(&image(&["8080/tcp"]), &opts(&[], &["9000"], false)).unwrap();
        assert!(p.is_empty());
        // ... but a bad --expose is still an error.
        assert!(ports(&image(&[]), &opts(&[], &["x/udp"], false)).is_err());
    }

    #[test]
    fn expose_rejects_what_docker_rejects() {
        assert_eq!(parse_expose("53/UDP", "x").unwrap(), [(53, Protocol::Udp)]);
        assert_eq!(parse_expose("80", "x").unwrap(), [(80, Protocol::Tcp)]);
        for bad in ["0", "80/sctp", "90-80", "http", "1-5000"] {
            assert!(parse_expose(bad, "--expose").is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_need_a_network_of_their_own() {
        let mut o = opts(&[], &[], true);
        o.network = NetworkMode::Host;
        assert!(ports(&image(&[]), &o).unwrap().is_empty());
        let e = ports(&image(&["80"]), &o).unwrap_err().to_string();
        assert!(e.contains("-P"), "{e}");
    }
}
