//! `run`/`create --pull missing|always|never`: the image is pulled first when it is not in
//! the store (docker's default, `missing`), always, or never; with `pull`'s progress, on
//! stderr so a container's own output stays alone on stdout.

use crate::cli::transfer::ProgressMode;
use crate::commands::coded;
use crate::commands::transfer::async_runtime;
use crate::render::progress::Progress;
use anyhow::Context;
use hoist_client::ClientOptions;
use hoist_oci::Reference;
use std::path::Path;

/// A registry on this machine (127.0.0.0/8, ::1, localhost): docker trusts these over plain
/// HTTP without being told (its default insecure registries), and so does `run`'s pull.
fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |p| p.0);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Pulls `image` into the store at `root` when `policy` says so. Errors carry 125 (hoist's
/// own failure before the container exists), as docker's do.
pub fn ensure_image(root: &Path, image: &str, policy: &str) -> anyhow::Result<()> {
    let wanted = match policy {
        "never" => false,
        "always" => true,
        _ => hoist_store::Store::open(root)
            .map(|s| s.resolve(image).is_err())
            .unwrap_or(true),
    };
    if !wanted {
        return Ok(());
    }
    pull(root, image, policy != "always").map_err(|e| coded(125, e))
}

fn pull(root: &Path, image: &str, was_missing: bool) -> anyhow::Result<()> {
    let reference =
        Reference::parse(image).with_context(|| format!("image reference {image:?}"))?;
    if was_missing {
        eprintln!("Unable to find image '{}' locally", reference.familiar());
    }
    let opts = ClientOptions {
        tls_verify: !is_loopback(reference.registry()),
        ..ClientOptions::default()
    };
    let local = hoist_client::local::Local::open(root)?;
    let rt = async_runtime()?;
    let progress = Progress::new(ProgressMode::Auto, false);
    let result = rt.block_on(hoist_client::pull::pull(
        &reference,
        &local,
        &opts,
        None,
        progress.sink(),
    ));
    progress.finish();
    let pulled = result.with_context(|| format!("pulling {}", reference.familiar()))?;
    eprintln!("Digest: {}", pulled.digest);
    eprintln!(
        "Status: Downloaded newer image for {}",
        reference.familiar()
    );
    Ok(())
}
