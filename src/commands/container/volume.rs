//! volume create | ls | inspect | rm | prune.

use hoist_runtime::container::volumes_in_use;
use hoist_runtime::volumes;
use std::path::Path;

use crate::cli::container::VolumeCommand;
use crate::render::template::{self, Format};
use serde_json::{json, Value};

/// A volume in docker's shape (its record plus the fields docker always has).
fn volume_json(v: &volumes::Volume) -> Value {
    let mut j = serde_json::to_value(v).unwrap_or_else(|_| json!({}));
    if let Some(m) = j.as_object_mut() {
        m.entry("Scope").or_insert(json!("local"));
        m.entry("Labels").or_insert(json!({}));
        m.entry("Options").or_insert(json!({}));
    }
    j
}

fn volume_matches(
    v: &volumes::Volume,
    j: &Value,
    used: &[String],
    filter: &str,
) -> anyhow::Result<bool> {
    let Some((k, want)) = filter.split_once('=') else {
        anyhow::bail!("bad format of filter {filter:?} (expected name=value)");
    };
    Ok(match k {
        "name" => v.name.contains(want),
        "driver" => v.driver == want,
        "dangling" => match want {
            "true" | "1" => !used.contains(&v.name),
            "false" | "0" => used.contains(&v.name),
            _ => anyhow::bail!("invalid filter 'dangling={want}' (true or false)"),
        },
        "label" => {
            let labels = &j["Labels"];
            match want.split_once('=') {
                Some((lk, lv)) => labels[lk] == lv,
                None => labels.get(want).is_some(),
            }
        }
        _ => anyhow::bail!("invalid filter '{k}' (volume filters: name, driver, dangling, label)"),
    })
}

fn ls(root: &Path, quiet: bool, format: &str, filters: &[String]) -> anyhow::Result<()> {
    let format = Format::parse(format)?;
    let used = if filters.is_empty() {
        Vec::new()
    } else {
        volumes_in_use(root)
    };
    let mut rows = Vec::new();
    for v in volumes::list(root)? {
        let j = volume_json(&v);
        // Values of one key are alternatives; different keys must all match (docker's rule).
        let mut by_key: std::collections::BTreeMap<&str, bool> = Default::default();
        for f in filters {
            let key = f.split_once('=').map_or(f.as_str(), |p| p.0);
            let hit = volume_matches(&v, &j, &used, f)?;
            *by_key.entry(key).or_insert(false) |= hit;
        }
        if by_key.values().all(|hit| *hit) {
            rows.push((v, j));
        }
    }
    if quiet {
        rows.iter().for_each(|(v, _)| println!("{}", v.name));
        return Ok(());
    }
    match format {
        Format::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|(v, _)| vec![v.driver.clone(), v.name.clone()])
                .collect();
            for line in crate::render::table::lines(&["DRIVER", "VOLUME NAME"], &cells) {
                println!("{line}");
            }
        }
        Format::Json => rows.iter().for_each(|(_, j)| println!("{j}")),
        Format::Template(t) => {
            let headers = json!({"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                                 "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "CreatedAt": "CREATED AT"});
            let values: Vec<Value> = rows.into_iter().map(|(_, j)| j).collect();
            for line in template::rows(&t, &headers, &values)? {
                println!("{line}");
            }
        }
    }
    Ok(())
}

pub fn run(root: &Path, cmd: VolumeCommand) -> anyhow::Result<i32> {
    match cmd {
        VolumeCommand::Create { name, opt, label } => {
            // Opening the store makes (or tightens) the root and its state dirs 0700
            // before anything is created under them.
            hoist_store::Store::open(root)?;
            let name = name.unwrap_or_else(|| hoist_runtime::container::config::random_hex(64));
            let mut options = std::collections::BTreeMap::new();
            for o in &opt {
                let Some((k, v)) = o.split_once('=') else {
                    anyhow::bail!("--opt {o:?} is not KEY=VALUE (e.g. --opt type=tmpfs)");
                };
                options.insert(k.to_string(), v.to_string());
            }
            let labels = hoist_runtime::container::labels::parse_labels(&label, &[])?;
            let v = volumes::create_labelled(root, &name, false, options, labels)?;
            println!("{}", v.name);
        }
        VolumeCommand::Ls {
            quiet,
            format,
            filter,
        } => ls(root, quiet, &format, &filter)?,
        VolumeCommand::Inspect { format, names } => {
            let list = names
                .iter()
                .map(|n| volumes::inspect(root, n).map(|v| volume_json(&v)))
                .collect::<Result<Vec<_>, _>>()?;
            match format {
                Some(f) => crate::render::template::print_each(
                    &crate::render::template::Template::parse_docker(&f)?,
                    &list,
                )?,
                None => println!("{}", serde_json::to_string_pretty(&list)?),
            }
        }
        VolumeCommand::Rm { force, names } => {
            let used = volumes_in_use(root);
            let mut failed = false;
            for n in names {
                let in_use = !force && used.contains(&n);
                match volumes::remove(root, &n, in_use) {
                    Ok(()) => println!("{n}"),
                    Err(e) => {
                        eprintln!("Error: {e}");
                        failed = true;
                    }
                }
            }
            return Ok(if failed { 1 } else { 0 });
        }
        VolumeCommand::Prune { force: _ } => {
            let used = volumes_in_use(root);
            println!("Deleted Volumes:");
            for v in volumes::list(root)? {
                if !used.contains(&v.name) && volumes::remove(root, &v.name, false).is_ok() {
                    println!("{}", v.name);
                }
            }
        }
    }
    Ok(0)
}
