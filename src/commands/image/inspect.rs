//! `hoist inspect NAME...`: a JSON array with each image's IDs, names,
//! config and layers (with sizes).

use crate::cli::image::InspectArgs;
use crate::cli::GlobalArgs;
use hoist_store::Store;
use serde_json::{json, Value};

/// docker's order: a container of that name or ID first, then an image; `--type` picks one.
/// Objects that are found are printed even when others are not (exit 1 then), as docker does.
pub fn run(store: &Store, args: &InspectArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let template = args
        .format
        .as_deref()
        .map(crate::render::template::Template::parse_docker)
        .transpose()?;
    let mut out = Vec::new();
    let mut failed = 0;
    for name in &args.names {
        let container = match args.kind.as_deref() {
            Some("image") => None,
            _ => crate::commands::container::try_inspect(name, global),
        };
        let found = match (container, args.kind.as_deref()) {
            (Some(c), _) => c,
            (None, Some("container")) => Err(anyhow::anyhow!("No such container: {name}")),
            (None, _) => inspect_image(store, name)
                .map_err(|e| anyhow::anyhow!("No such object: {name} ({e:#})")),
        };
        match found {
            Ok(v) => out.push(v),
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed += 1;
            }
        }
    }
    match template {
        Some(t) => crate::render::template::print_each(&t, &out)?,
        None => println!("{}", serde_json::to_string_pretty(&out)?),
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn inspect_image(store: &Store, name: &str) -> anyhow::Result<Value> {
    let found = super::resolve_image(store, name)?;
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
    // docker's RepoDigests: REPO@MANIFEST-DIGEST for each repository the image is named in.
    let mut repo_digests: Vec<String> = repo_tags
        .iter()
        .map(|t| {
            let repo = t
                .rsplit_once(':')
                .filter(|(_, tag)| !tag.contains('/'))
                .map_or(t.as_str(), |p| p.0);
            format!("{repo}@{}", img.manifest_digest)
        })
        .collect();
    repo_digests.dedup();
    let config = &img.config_json;
    Ok(json!({
        "Id": img.config_digest.to_string(),
        "RepoTags": repo_tags,
        "RepoDigests": repo_digests,
        "Parent": "",
        "Comment": config.get("comment").cloned().unwrap_or(json!("")),
        "Created": config.get("created"),
        "DockerVersion": "",
        "Author": config.get("author").cloned().unwrap_or(json!("")),
        "Config": config.get("config"),
        "Architecture": config.get("architecture"),
        "Variant": config.get("variant"),
        "Os": config.get("os"),
        "Size": size,
        "GraphDriver": {"Name": "overlay", "Data": null},
        // docker's names: the OCI config says `type` and `diff_ids`.
        "RootFS": {"Type": "layers", "Layers": diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
        // hoist's own: the manifest and its layers.
        "Digest": img.manifest_digest.to_string(),
        "ManifestMediaType": img.manifest_media_type,
        "History": config.get("history"),
        "Layers": layers,
    }))
}
