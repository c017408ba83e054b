//! `network inspect`: docker's JSON for a network, plus `Hoist`: what hoist
//! has made on the host for it (bridge, nftables table, DNS responder).

use hoist_network::{host, lease, record};
use serde_json::{json, Value};
use std::path::Path;

pub fn run(root: &Path, names: &[String], format: Option<&str>) -> anyhow::Result<i32> {
    let mut out = Vec::new();
    let mut failed = false;
    for name in names {
        match record::find(root, name) {
            Ok(net) => out.push(describe(root, &net)?),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    match format {
        Some(f) => crate::render::template::print_each(
            &crate::render::template::Template::parse_docker(f)?,
            &out,
        )?,
        None => println!("{}", serde_json::to_string_pretty(&Value::Array(out))?),
    }
    Ok(if failed { 1 } else { 0 })
}

/// docker's IPAM.Config: the IPv4 subnet, and the IPv6 one with --ipv6.
fn ipam_config(net: &hoist_network::Network) -> Value {
    let mut v = vec![json!({"Subnet": net.subnet.to_string(), "Gateway": net.gateway.to_string()})];
    if let (Some(p), Some(gw)) = (net.ipv6_subnet, net.ipv6_gateway()) {
        v.push(json!({"Subnet": p.to_string(), "Gateway": gw.to_string()}));
    }
    Value::Array(v)
}

fn describe(root: &Path, net: &hoist_network::Network) -> anyhow::Result<Value> {
    let mut containers = serde_json::Map::new();
    for l in lease::all(root, &net.name)? {
        containers.insert(
            l.container_id.clone(),
            json!({
                "Name": l.name,
                "MacAddress": l.mac,
                "IPv4Address": format!("{}/{}", l.ipv4, net.subnet.prefix),
                "IPv6Address": l.ipv6.clone().unwrap_or_default(),
                "Aliases": l.aliases,
            }),
        );
    }
    let on_host = host::state(net);
    let responder = hoist_network::dns::responder_pid(root, &net.name);
    Ok(json!({
        "Name": net.name,
        "Id": net.id,
        "Created": net.created,
        "Scope": "local",
        "Driver": net.driver,
        "EnableIPv6": net.ipv6_subnet.is_some(),
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": ipam_config(net),
        },
        "Internal": net.internal,
        "Attachable": true,
        "Ingress": false,
        "Containers": containers,
        "Options": net.options,
        "Labels": net.labels,
        "Hoist": {
            "Bridge": net.bridge,
            "BridgePresent": on_host.bridge.is_some(),
            "NftablesTable": on_host.nftables_table,
            "DnsEnabled": net.dns_enabled,
            "DnsResponder": responder.map(|pid| json!({
                "Pid": pid, "Listen": format!("{}:53", net.gateway),
            })),
        },
    }))
}
