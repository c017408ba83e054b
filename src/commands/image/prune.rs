//! `hoist system prune`: remove blobs nothing references.

use super::list::human_size;
use crate::cli::GlobalArgs;
use hoist_store::Store;

pub fn run(store: &Store, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let report = store.gc(&[])?;
    println!(
        "Deleted {} blobs. Total reclaimed space: {}",
        report.blobs_removed,
        human_size(report.bytes_freed)
    );
    Ok(0)
}
