//! `hoist network create|ls|inspect|rm|prune|connect|disconnect`, and the
//! network flags of `run`/`create` (flags.rs) and `inspect`'s
//! NetworkSettings (settings.rs).

pub mod flags;
mod inspect;
pub mod settings;

use anyhow::{anyhow, bail};
use hoist_network::record::{self, CreateOptions};
use hoist_network::{attach, NetworkError};
use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::network::{NetworkCommand, NetworkTop};
use crate::cli::GlobalArgs;

pub fn run(cmd: NetworkTop, global: &GlobalArgs) -> anyhow::Result<i32> {
    let NetworkTop::Network { command } = cmd;
    let root = super::container::root_of(global);
    match command {
        NetworkCommand::Create {
            subnet,
            ipv6,
            gateway,
            internal,
            driver,
            label,
            opt,
            name,
        } => {
            if driver != "bridge" {
                bail!("network driver {driver:?} is not supported (only bridge)");
            }
            let (v6, v4): (Vec<String>, Vec<String>) =
                subnet.into_iter().partition(|s| s.contains(':'));
            if v4.len() > 1 || v6.len() > 1 {
                bail!("give at most one IPv4 and one IPv6 --subnet");
            }
            if !v6.is_empty() && !ipv6 {
                bail!("an IPv6 --subnet needs --ipv6");
            }
            let opts = CreateOptions {
                subnet: v4.into_iter().next(),
                ipv6,
                subnet6: v6.into_iter().next(),
                gateway,
                internal,
                labels: key_values("--label", &label)?,
                options: key_values("--opt", &opt)?,
            };
            let net = record::create(&root, &name, &opts)?;
            println!("{}", net.id);
            Ok(0)
        }
        NetworkCommand::Ls {
            quiet,
            no_trunc,
            format,
            filter,
        } => ls(&root, quiet, no_trunc, &format, &filter),
        NetworkCommand::Inspect { format, networks } => {
            inspect::run(&root, &networks, format.as_deref())
        }
        NetworkCommand::Rm { force, networks } => rm(&root, force, &networks),
        NetworkCommand::Prune { force: _ } => prune(&root),
        NetworkCommand::Connect {
            ip,
            alias,
            network,
            container,
        } => settings::connect(&root, &network, &container, ip.as_deref(), alias),
        NetworkCommand::Disconnect {
            force,
            network,
            container,
        } => settings::disconnect(&root, &network, &container, force),
    }
}

fn key_values(flag: &str, items: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    items
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            if k.is_empty() {
                return Err(anyhow!("invalid {flag} {kv:?}: use KEY=VALUE"));
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// docker's columns: NETWORK ID, NAME, DRIVER, SCOPE.
fn ls(
    root: &Path,
    quiet: bool,
    no_trunc: bool,
    format: &str,
    filters: &[String],
) -> anyhow::Result<i32> {
    let mut nets = record::list(root)?;
    for f in filters {
        let (key, value) = f
            .split_once('=')
            .ok_or_else(|| anyhow!("invalid --filter {f:?}: use KEY=VALUE"))?;
        nets.retain(|n| match key {
            "name" => n.name.contains(value),
            "id" => n.id.starts_with(value),
            "driver" => n.driver == value,
            "label" => match value.split_once('=') {
                Some((k, v)) => n.labels.get(k).is_some_and(|x| x == v),
                None => n.labels.contains_key(value),
            },
            _ => true,
        });
        if !["name", "id", "driver", "label"].contains(&key) {
            bail!("unknown --filter {key:?}: use name, id, label or driver");
        }
    }
    let id = |s: &str| {
        if no_trunc {
            s.to_string()
        } else {
            s[..12.min(s.len())].to_string()
        }
    };
    if quiet {
        for n in &nets {
            println!("{}", id(&n.id));
        }
        return Ok(0);
    }
    let as_json = |n: &record::Network| {
        serde_json::json!({"ID": id(&n.id), "Name": n.name, "Driver": n.driver, "Scope": "local",
            "Subnet": n.subnet.to_string(), "Internal": n.internal, "Labels": n.labels,
            "IPv6": n.ipv6_subnet.is_some(), "CreatedAt": n.created})
    };
    match crate::render::template::Format::parse(format)? {
        crate::render::template::Format::Table => {}
        crate::render::template::Format::Json => {
            nets.iter().for_each(|n| println!("{}", as_json(n)));
            return Ok(0);
        }
        // docker's `network ls --format` templates ({{.Name}}, `table {{.ID}}\t{{.Driver}}`).
        crate::render::template::Format::Template(t) => {
            let headers = serde_json::json!({"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER",
                "Scope": "SCOPE", "Subnet": "SUBNET", "Internal": "INTERNAL", "Labels": "LABELS",
                "IPv6": "IPV6", "CreatedAt": "CREATED AT"});
            let values: Vec<_> = nets.iter().map(as_json).collect();
            for line in crate::render::template::rows(&t, &headers, &values)? {
                println!("{line}");
            }
            return Ok(0);
        }
    }
    let rows: Vec<Vec<String>> = nets
        .iter()
        .map(|n| vec![id(&n.id), n.name.clone(), n.driver.clone(), "local".into()])
        .collect();
    for line in crate::render::table::lines(&["NETWORK ID", "NAME", "DRIVER", "SCOPE"], &rows) {
        println!("{line}");
    }
    Ok(0)
}

fn rm(root: &Path, force: bool, names: &[String]) -> anyhow::Result<i32> {
    let mut failed = false;
    for name in names {
        match attach::remove_network(root, name) {
            Ok(_) => println!("{name}"),
            Err(NetworkError::NotFound(_)) if force => {}
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

fn prune(root: &Path) -> anyhow::Result<i32> {
    let deleted = prune_unused(root)?;
    if !deleted.is_empty() {
        println!("Deleted Networks:");
        for n in deleted {
            println!("{n}");
        }
    }
    Ok(0)
}

/// Removes every user network no container uses, and the default network's
/// bridge and rules while no one uses them (`network prune`, `system
/// prune`); returns the removed networks' names.
pub fn prune_unused(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut deleted = Vec::new();
    for net in record::list(root)? {
        if net.name == record::DEFAULT_NETWORK {
            // Not removable; its bridge and rules go while no one uses them.
            attach::remove_host_state(root, &net)?;
            continue;
        }
        if attach::in_use(root, &net)? {
            continue;
        }
        match attach::remove_network(root, &net.name) {
            Ok(_) => deleted.push(net.name),
            Err(NetworkError::InUse { .. }) => {} // a container arrived meanwhile
            Err(e) => return Err(e.into()),
        }
    }
    Ok(deleted)
}
