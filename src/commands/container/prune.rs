//! `hoist container prune`: remove every container that is not running, as docker does.

use hoist_runtime::container::{self, Status};
use std::path::Path;

pub fn prune(root: &Path, filters: &[String]) -> anyhow::Result<i32> {
    let mut until = None;
    let mut labels = Vec::new();
    for f in filters {
        match f.split_once('=') {
            Some(("until", v)) => {
                until = Some(hoist_runtime::time::parse_since(v).ok_or_else(|| {
                    anyhow::anyhow!("--filter until={v}: not a time (RFC 3339, unix seconds or a duration like 10m)")
                })?)
            }
            Some(("label", v)) => labels.push(v.to_string()),
            _ => anyhow::bail!("invalid filter {f:?} for container prune (until=, label=)"),
        }
    }
    println!("Deleted Containers:");
    let mut failed = false;
    for (rec, st) in container::list(root) {
        if matches!(st.status, Status::Running | Status::Restarting) {
            continue;
        }
        if let Some(t) = until {
            let created = humantime::parse_rfc3339_weak(&rec.created).ok();
            if created.is_none_or(|c| c >= t) {
                continue;
            }
        }
        let have = super::ps_filter::labels_of(&rec);
        let labelled = labels.iter().all(|l| match l.split_once('=') {
            Some((k, v)) => have.get(k).is_some_and(|h| h == v),
            None => have.contains_key(l),
        });
        if !labelled {
            continue;
        }
        match container::remove(root, &rec, false) {
            Ok(()) => println!("{}", rec.id),
            Err(e) => {
                eprintln!("Error: removing {}: {e}", rec.name);
                failed = true;
            }
        }
    }
    println!("\nTotal reclaimed space: 0B");
    Ok(if failed { 1 } else { 0 })
}
