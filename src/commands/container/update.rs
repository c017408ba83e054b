//! `update [--memory] [--cpus] [--pids-limit] [--restart] [--cpuset-cpus]
//! [--cpuset-mems] CONTAINER...`:
//! lifecycle::update for each container; prints each name as docker does.
//! Nothing to change is docker's usage error; a failing container is
//! reported and the others still updated (exit 1 at the end).

use std::path::Path;

use hoist_runtime::container::extras::SpecExtras;
use hoist_runtime::lifecycle::UpdateOptions;

use super::run::{lifecycle, parse_size};
use crate::cli::container::UpdateArgs;
use crate::commands::coded;

/// A `--cpuset-*` value, checked against the machine (exit 125 when refused).
fn cpuset(v: &Option<String>, mems: bool) -> anyhow::Result<Option<String>> {
    v.as_deref()
        .map(|v| SpecExtras::parse_cpuset(v, mems))
        .transpose()
        .map_err(|e| coded(125, e.into()))
}

pub fn update(root: &Path, a: &UpdateArgs) -> anyhow::Result<i32> {
    let opts = UpdateOptions {
        memory: a.memory.as_deref().map(parse_size).transpose()?,
        cpus: a.cpus,
        pids_limit: a.pids_limit,
        restart: a.restart.clone(),
        cpuset_cpus: cpuset(&a.cpuset_cpus, false)?,
        cpuset_mems: cpuset(&a.cpuset_mems, true)?,
    };
    if opts.memory.is_none()
        && opts.cpus.is_none()
        && opts.pids_limit.is_none()
        && opts.restart.is_none()
        && opts.cpuset_cpus.is_none()
        && opts.cpuset_mems.is_none()
    {
        return Err(coded(
            125,
            anyhow::anyhow!("you must provide one or more flags when using this command (--memory, --cpus, --pids-limit, --restart, --cpuset-cpus, --cpuset-mems)"),
        ));
    }
    let lc = lifecycle(root)?;
    let mut code = 0;
    for c in &a.containers {
        match lc.find(c).and_then(|rec| lc.update(&rec, &opts)) {
            Ok(_) => println!("{c}"),
            Err(e) => {
                eprintln!("Error: updating {c}: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}
