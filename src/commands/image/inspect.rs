//! `hoist inspect NAME...`: a JSON array with each image's IDs, names,
//! config and layers (with sizes).

use crate::cli::GlobalArgs;
use hoist_store::Store;
use serde_json::{json, Value};

pub fn run(store: &Store, names: &[String], global: &GlobalArgs) -> anyhow::Result<i32> {
    let mut out = Vec::new();
    let mut failed = 0;
    for name in names {
        // A container of that name or ID comes first, like docker.
        let container = crate::commands::container::try_inspect(name, global);
        match container.unwrap_or_else(|| inspect_image(store, name)) {
            Ok(v) => out.push(v),
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed += 1;
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(if failed > 0 { 1 } else { 0 })
}

fn inspect_image(store: &Store, name: &str) -> anyhow::Result<Value> {
    let found = store.resolve(name)?;
    let img = store.load_image(&found.descriptor)?;
    let digest = found.digest();
    let repo_tags: Vec<String> = store
        .names()?
        .into_iter()
        .filter(|n| n.digest() == digest)
        .map(|n| super::display_name(&n.name))
        .collect();
    let diff_ids = img.diff_ids();
    let layers: Vec<Value> = img
        .layers()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "Digest": l.digest().to_string(),
                "DiffID": diff_ids.get(i).map(|d| d.to_string()),
                "MediaType": l.media_type().to_string(),
                "Size": l.size(),
            })
        })
        .collect();
    let size: u64 = img.layers().iter().map(|l| l.size()).sum();
    Ok(json!({
        "Id": img.config_digest.to_string(),
        "Digest": img.manifest_digest.to_string(),
        "RepoTags": repo_tags,
        "ManifestMediaType": img.manifest_media_type,
        "Created": img.config_json.get("created"),
        "Architecture": img.config_json.get("architecture"),
        "Os": img.config_json.get("os"),
        "Config": img.config_json.get("config"),
        "RootFS": img.config_json.get("rootfs"),
        "History": img.config_json.get("history"),
        "Layers": layers,
        "Size": size,
    }))
}
