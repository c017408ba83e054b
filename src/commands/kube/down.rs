//! `hoist kube down FILE...`.

use hoist_runtime::lifecycle::Lifecycle;
use std::path::PathBuf;

pub fn down(lc: &Lifecycle, files: &[PathBuf]) -> anyhow::Result<i32> {
    let m = super::load(files)?;
    hoist_kube::play::down(lc, &m, &mut super::printer(lc))?;
    Ok(0)
}
