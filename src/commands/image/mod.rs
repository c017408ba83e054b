//! Image verbs over the local store.

mod archive_load;
mod archive_save;
mod change;
mod check;
mod import;
mod inspect;
mod list;
mod prune;

use crate::cli::{image::ImageCommand, image::SystemCommand, GlobalArgs};
use anyhow::Context;
use hoist_store::Store;

pub fn run(cmd: ImageCommand, global: &GlobalArgs) -> anyhow::Result<i32> {
    let store = open_store(global)?;
    match cmd {
        ImageCommand::Import(args) => import::run(&store, args),
        ImageCommand::Images(args) => list::run(&store, args),
        ImageCommand::Tag { source, target } => tag(&store, &source, &target),
        ImageCommand::Rmi { names } => rmi(&store, &names),
        ImageCommand::Inspect { names } => inspect::run(&store, &names, global),
        ImageCommand::Save { output, names } => archive_save::run(&store, &output, &names),
        ImageCommand::Load { input } => archive_load::run(&store, &input),
        ImageCommand::System {
            command: SystemCommand::Prune { .. },
        } => prune::run(&store, global),
        ImageCommand::System {
            command: SystemCommand::Check { repair },
        } => check::run(&store, repair),
    }
}

/// Opens the store at `--root` / `HOIST_ROOT` / the default root.
pub fn open_store(global: &GlobalArgs) -> anyhow::Result<Store> {
    let root = global.root.clone().unwrap_or_else(Store::default_root);
    Store::open(&root).with_context(|| format!("cannot open the store at {}", root.display()))
}

fn tag(store: &Store, source: &str, target: &str) -> anyhow::Result<i32> {
    let found = store.resolve(source)?;
    store.set_name(target, found.descriptor)?;
    Ok(0)
}

fn rmi(store: &Store, names: &[String]) -> anyhow::Result<i32> {
    let mut failed = 0;
    for name in names {
        match store.remove_name(name) {
            Ok(removed) => println!("Untagged: {}", display_name(&removed.name)),
            Err(e) => {
                eprintln!("Error: {e}");
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The familiar form of a stored full name (`busybox:latest`).
pub fn display_name(full: &str) -> String {
    hoist_oci::Reference::parse(full)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| full.to_string())
}
