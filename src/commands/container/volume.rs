//! volume create | ls | inspect | rm | prune.

use hoist_runtime::container::volumes_in_use;
use hoist_runtime::volumes;
use std::path::Path;

use crate::cli::container::VolumeCommand;

pub fn run(root: &Path, cmd: VolumeCommand) -> anyhow::Result<i32> {
    match cmd {
        VolumeCommand::Create { name, opt } => {
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
            let v = volumes::create(root, &name, false, options)?;
            println!("{}", v.name);
        }
        VolumeCommand::Ls { quiet } => {
            let list = volumes::list(root)?;
            if !quiet {
                println!("{:<10}VOLUME NAME", "DRIVER");
            }
            for v in list {
                if quiet {
                    println!("{}", v.name);
                } else {
                    println!("{:<10}{}", v.driver, v.name);
                }
            }
        }
        VolumeCommand::Inspect { names } => {
            let list = names
                .iter()
                .map(|n| volumes::inspect(root, n))
                .collect::<Result<Vec<_>, _>>()?;
            println!("{}", serde_json::to_string_pretty(&list)?);
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
