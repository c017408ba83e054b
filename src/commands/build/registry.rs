//! The registry side of `hoist build`: pulling a missing base image before
//! its stage runs, and `--push` after the build. Both reuse the client that
//! `hoist pull`/`hoist push` use, with the same TLS flags.

use std::sync::Arc;

use anyhow::Context as _;
use hoist_builder::PullMissing;
use hoist_oci::Reference;

use crate::cli::transfer::{ProgressMode, TlsArgs};
use crate::cli::GlobalArgs;
use crate::commands::transfer::{async_runtime, open_local, options};
use crate::render::progress::Progress;

/// A hook the builder calls for a base image that is not in the store.
pub(super) fn pull_missing(global: &GlobalArgs, tls: &TlsArgs, quiet: bool) -> PullMissing {
    let global = global.clone();
    let opts = options(tls);
    PullMissing(Arc::new(
        move |name: &str, platform: &hoist_store::Platform| {
            let reference = Reference::parse(name).map_err(|e| format!("{name:?}: {e}"))?;
            if !quiet {
                eprintln!("Pulling base image {reference} for {platform}");
            }
            let platform = hoist_client::manifest::Platform {
                os: platform.os.clone(),
                architecture: platform.architecture.clone(),
                variant: platform.variant.clone(),
            };
            let local = open_local(&global).map_err(|e| format!("{e:#}"))?;
            let rt = async_runtime().map_err(|e| format!("{e:#}"))?;
            // The build's own view owns the terminal: the pull reports no bars.
            let progress = Progress::new(ProgressMode::Quiet, true);
            let pulled = rt
                .block_on(hoist_client::pull::pull(
                    &reference,
                    &local,
                    &opts,
                    Some(&platform),
                    progress.sink(),
                ))
                .map_err(|e| format!("{e:#}"))?;
            if !quiet {
                eprintln!("Pulled {reference} ({})", pulled.digest);
            }
            Ok(pulled.digest)
        },
    ))
}

/// Pushes the built image under each of its names to the registry the name
/// points at, as `hoist push NAME` would.
pub(super) fn push_tags(
    global: &GlobalArgs,
    tags: &[String],
    tls: &TlsArgs,
    progress_mode: &str,
) -> anyhow::Result<()> {
    let local = open_local(global)?;
    let rt = async_runtime()?;
    let quiet = progress_mode == "quiet";
    let mode = if progress_mode == "plain" {
        ProgressMode::Plain
    } else {
        ProgressMode::Auto
    };
    for tag in tags {
        let dest = Reference::parse(tag).with_context(|| format!("push destination {tag:?}"))?;
        let progress = Progress::new(mode, quiet);
        let result = rt.block_on(hoist_client::push::push(
            &local,
            tag,
            &dest,
            &options(tls),
            progress.sink(),
        ));
        progress.finish();
        let report = result.with_context(|| {
            format!("the image is built, but pushing {dest} failed; retry with `hoist push {tag}`")
        })?;
        if !quiet {
            eprintln!(
                "Pushed {dest}: {} uploaded, {} already there, {} mounted ({})",
                report.uploaded, report.existed, report.mounted, report.digest
            );
        }
    }
    Ok(())
}
