//! `hoist kube play FILE...` (`--replicas N`, `--replace`).

use crate::cli::kube::PlayArgs;
use hoist_kube::play::PlayOptions;
use hoist_runtime::lifecycle::Lifecycle;

pub fn play(lc: &Lifecycle, a: &PlayArgs) -> anyhow::Result<i32> {
    let m = super::load(&a.files)?;
    hoist_kube::play::check::check(&m)?;
    super::images::ensure(lc.root(), &m)?;
    if a.replace {
        hoist_kube::play::down(lc, &m, &mut super::printer(lc))?;
    }
    let opts = PlayOptions {
        replicas: a.replicas,
        image_digests: super::images::digests(lc.root(), &m),
    };
    hoist_kube::play::play(lc, &m, &opts, &mut super::printer(lc)).map_err(|e| match e {
        hoist_kube::play::PlayError::Apply { workload, failure } => {
            let made = super::made(&failure.done, lc);
            if made.is_empty() {
                anyhow::anyhow!("{workload}: {failure}")
            } else {
                anyhow::anyhow!(
                    "{workload}: {failure}; before it, {} created or started and left as they are (`hoist kube down` removes them)",
                    made.join(", ")
                )
            }
        }
        other => other.into(),
    })?;
    Ok(0)
}
