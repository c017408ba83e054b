//! `hoist builder prune`: frees cache mounts no build is using and forgets
//! the step records (their layers go with `hoist system prune`).

use anyhow::Context as _;

use crate::cli::build::PruneArgs;
use crate::cli::GlobalArgs;

pub(super) fn run(_args: PruneArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let store = super::open_store(global)?;
    let report = hoist_builder::cachemount::prune(store.root())
        .context("cannot prune the build cache's mounts")?;
    let steps = hoist_builder::cache::Cache::open(store.root())
        .and_then(|c| c.clear())
        .context("cannot prune the build cache's step records")?;
    for busy in &report.busy {
        eprintln!("cache mount {busy} is in use by a build; left alone");
    }
    println!(
        "Freed {} cache mount(s), {} bytes; forgot {steps} step record(s)",
        report.removed.len(),
        report.bytes
    );
    Ok(0)
}
