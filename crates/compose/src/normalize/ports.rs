//! `ports:` short syntax (`[HOST_IP:][PUBLISHED[-END]:]TARGET[-END][/PROTOCOL]`) and long
//! syntax into [`Port`]s. A target range is expanded to one entry per port, as compose does;
//! a published range against one target stays a range (any free port of it).

use super::read::{idx, map, opt_string, string, sub, unknown};
use crate::error::{invalid, Result};
use crate::model::{Port, Warning};
use crate::yaml::{Node, Value};

pub(crate) fn ports(n: &Node, path: &str, warnings: &mut Vec<Warning>) -> Result<Vec<Port>> {
    let items = match &n.value {
        Value::Seq(items) => items.as_slice(),
        Value::Null => &[],
        _ => {
            return Err(invalid(
                &n.pos,
                path,
                format!("expected a list of ports, got {}", n.kind()),
            ))
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = idx(path, i);
        match &item.value {
            Value::Map(_) => out.push(long(item, &p, warnings)?),
            Value::Scalar { text, .. } => {
                out.extend(short(text).map_err(|e| invalid(&item.pos, &p, e))?)
            }
            _ => {
                return Err(invalid(
                    &item.pos,
                    &p,
                    format!("expected a port or a mapping, got {}", item.kind()),
                ))
            }
        }
    }
    Ok(out)
}

fn long(n: &Node, path: &str, warnings: &mut Vec<Warning>) -> Result<Port> {
    let mut port = Port {
        target: 0,
        published: None,
        host_ip: None,
        protocol: "tcp".into(),
        mode: "ingress".into(),
        name: None,
    };
    let mut has_target = false;
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        match k.as_str() {
            "target" => {
                port.target = one_port(&string(v, &p)?).map_err(|e| invalid(&v.pos, &p, e))?;
                has_target = true;
            }
            "published" => {
                port.published = match opt_string(v, &p)? {
                    Some(s) if !s.is_empty() => {
                        range(&s).map_err(|e| invalid(&v.pos, &p, e))?;
                        Some(s)
                    }
                    _ => None,
                }
            }
            "host_ip" => {
                port.host_ip = opt_string(v, &p)?;
                if let Some(ip) = &port.host_ip {
                    check_ip(ip).map_err(|e| invalid(&v.pos, &p, e))?;
                }
            }
            "protocol" => {
                port.protocol = protocol(&string(v, &p)?).map_err(|e| invalid(&v.pos, &p, e))?
            }
            "mode" => port.mode = string(v, &p)?,
            "name" => port.name = opt_string(v, &p)?,
            "app_protocol" => {}
            _ => unknown(warnings, k, v, path),
        }
    }
    if !has_target {
        return Err(invalid(
            &n.pos,
            path,
            "a port in long syntax needs `target` (the container port)",
        ));
    }
    Ok(port)
}

/// One short-syntax entry, possibly several ports.
pub(crate) fn short(spec: &str) -> std::result::Result<Vec<Port>, String> {
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, protocol(p)?),
        None => (spec, "tcp".to_string()),
    };
    let (host_ip, published, target) = if let Some(after) = rest.strip_prefix('[') {
        let (ip, tail) = after
            .split_once(']')
            .ok_or_else(|| format!("{spec:?}: `[` without `]` around the host address"))?;
        let tail = tail
            .strip_prefix(':')
            .ok_or_else(|| format!("{spec:?}: expected [ADDRESS]:PUBLISHED:TARGET"))?;
        let (published, target) = tail
            .split_once(':')
            .ok_or_else(|| format!("{spec:?}: expected [ADDRESS]:PUBLISHED:TARGET"))?;
        (Some(ip.to_string()), published, target)
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.len() {
            1 => (None, "", parts[0]),
            2 => (None, parts[0], parts[1]),
            n => (Some(parts[..n - 2].join(":")), parts[n - 2], parts[n - 1]),
        }
    };
    if let Some(ip) = &host_ip {
        check_ip(ip)?;
    }
    let (t0, t1) = range(target)?;
    let published_range = if published.is_empty() {
        None
    } else {
        Some(range(published)?)
    };
    let make = |target: u16, published: Option<String>| Port {
        target,
        published,
        host_ip: host_ip.clone(),
        protocol: proto.clone(),
        mode: "ingress".into(),
        name: None,
    };
    let count = t1 - t0 + 1;
    Ok(match published_range {
        None => (t0..=t1).map(|t| make(t, None)).collect(),
        Some((p0, p1)) if count == 1 => {
            let published = if p0 == p1 { p0.to_string() } else { format!("{p0}-{p1}") };
            vec![make(t0, Some(published))]
        }
        Some((p0, p1)) if p1 - p0 + 1 == count => {
            (0..count).map(|i| make(t0 + i, Some((p0 + i).to_string()))).collect()
        }
        Some((p0, p1)) => {
            return Err(format!(
                "{spec:?}: the published range {p0}-{p1} and the container range {t0}-{t1} differ in size"
            ))
        }
    })
}

/// `80` or `8000-8010`; ports 1-65535, start ≤ end.
fn range(s: &str) -> std::result::Result<(u16, u16), String> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (one_port(a)?, one_port(b)?);
            if a > b {
                return Err(format!(
                    "invalid port range {s:?}: the start is above the end"
                ));
            }
            Ok((a, b))
        }
        None => {
            let p = one_port(s)?;
            Ok((p, p))
        }
    }
}

fn one_port(s: &str) -> std::result::Result<u16, String> {
    match s.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        Ok(p) => Err(format!("invalid port {p}: ports are 1-65535")),
        Err(_) => Err(format!("invalid port {s:?}: not a number")),
    }
}

fn protocol(p: &str) -> std::result::Result<String, String> {
    let p = p.to_ascii_lowercase();
    match p.as_str() {
        "tcp" | "udp" | "sctp" => Ok(p),
        _ => Err(format!("unknown protocol {p:?} (tcp, udp or sctp)")),
    }
}

fn check_ip(ip: &str) -> std::result::Result<(), String> {
    ip.parse::<std::net::IpAddr>()
        .map(|_| ())
        .map_err(|_| format!("{ip:?} is not an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(spec: &str) -> Vec<String> {
        short(spec)
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}|{}|{}/{}",
                    p.host_ip.as_deref().unwrap_or(""),
                    p.published.as_deref().unwrap_or(""),
                    p.target,
                    p.protocol
                )
            })
            .collect()
    }

    #[test]
    fn short_syntax_forms() {
        assert_eq!(show("3000"), ["||3000/tcp"]);
        assert_eq!(
            show("3000-3002"),
            ["||3000/tcp", "||3001/tcp", "||3002/tcp"]
        );
        assert_eq!(show("8000:8000"), ["|8000|8000/tcp"]);
        assert_eq!(
            show("9090-9091:8080-8081"),
            ["|9090|8080/tcp", "|9091|8081/tcp"]
        );
        assert_eq!(show("8000-9000:80"), ["|8000-9000|80/tcp"]);
        assert_eq!(show("127.0.0.1:8001:8001"), ["127.0.0.1|8001|8001/tcp"]);
        assert_eq!(show("127.0.0.1::5000"), ["127.0.0.1||5000/tcp"]);
        assert_eq!(show("6060:6060/UDP"), ["|6060|6060/udp"]);
        assert_eq!(show("[::1]:6001:6001"), ["::1|6001|6001/tcp"]);
        assert_eq!(show("::1:6001:6001"), ["::1|6001|6001/tcp"]);
    }

    #[test]
    fn bad_ports_are_refused() {
        for (spec, says) in [
            ("0:80", "ports are 1-65535"),
            ("70000", "ports are 1-65535"),
            ("81-80", "start is above the end"),
            ("8000-8001:80-82", "differ in size"),
            ("http", "not a number"),
            ("80/icmp", "unknown protocol"),
            ("300.1.1.1:80:80", "not an IP address"),
        ] {
            let err = short(spec).unwrap_err();
            assert!(err.contains(says), "{spec}: {err}");
        }
    }
}
