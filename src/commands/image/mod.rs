//! Image verbs over the local store.

mod archive_load;
mod archive_save;
pub(crate) mod change;
mod check;
mod import;
mod inspect;
mod list;
mod prune;

use crate::cli::{image::ImageCommand, GlobalArgs};
use anyhow::Context;
use hoist_store::Store;

pub use list::human_size;
pub use prune::{images as prune_images, run as prune_store};

pub fn run(cmd: ImageCommand, global: &GlobalArgs) -> anyhow::Result<i32> {
    let store = open_store(global)?;
    match cmd {
        ImageCommand::Import(args) => import::run(&store, args),
        ImageCommand::Images(args) => list::run(&store, args),
        ImageCommand::Tag(a) => tag(&store, &a.source, &a.target),
        ImageCommand::Rmi(a) => rmi(&store, &a.names),
        ImageCommand::Inspect(a) => inspect::run(&store, &a, global),
        ImageCommand::Save(a) => archive_save::run(&store, &a.output, &a.names),
        ImageCommand::Load(a) => archive_load::run(&store, &a.input),
    }
}

/// `hoist system check [--repair]`.
pub fn check(global: &GlobalArgs, repair: bool) -> anyhow::Result<i32> {
    check::run(&open_store(global)?, repair)
}

/// An image by name, ID or digest. docker's image ID is `sha256:` + the config digest's
/// hex, which the store knows by its hex (a manifest digest is what `sha256:...` means to
/// it): that form is tried as hex when it is not a manifest.
pub fn resolve_image(store: &Store, name: &str) -> hoist_store::Result<hoist_store::NamedImage> {
    match store.resolve(name) {
        Err(e) => match name.strip_prefix("sha256:") {
            Some(hex) => store.resolve(hex).map_err(|_| e),
            None => Err(e),
        },
        ok => ok,
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
    if failed < names.len() {
        prune::unused_layer_copies(store)?;
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The familiar form of a stored full name (`busybox:latest`).
pub fn display_name(full: &str) -> String {
    hoist_oci::Reference::parse(full)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| full.to_string())
}
