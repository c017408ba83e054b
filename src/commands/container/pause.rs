//! pause, unpause: freeze and thaw containers (lifecycle/pause.rs); each name
//! is printed as it is done, errors name the container and exit 1 as docker's.

use std::path::Path;

use super::run::lifecycle;

pub fn pause(root: &Path, names: &[String]) -> anyhow::Result<i32> {
    each(root, names, |lc, rec| lc.pause(rec))
}

pub fn unpause(root: &Path, names: &[String]) -> anyhow::Result<i32> {
    each(root, names, |lc, rec| lc.unpause(rec))
}

fn each(
    root: &Path,
    names: &[String],
    op: impl Fn(
        &hoist_runtime::lifecycle::Lifecycle,
        &hoist_runtime::container::ContainerRecord,
    ) -> hoist_runtime::Result<()>,
) -> anyhow::Result<i32> {
    let lc = lifecycle(root)?;
    let mut failed = false;
    for name in names {
        match lc.find(name).and_then(|rec| op(&lc, &rec)) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}
