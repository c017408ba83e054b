//! `hoist images`: the named images, as a table or JSON.

use crate::cli::image::ImagesArgs;
use anyhow::bail;
use hoist_oci::Reference;
use hoist_store::Store;
use serde_json::json;

struct Row {
    repository: String,
    tag: String,
    digest: String,
    id: String,
    created: String,
    size: u64,
}

pub fn run(store: &Store, args: ImagesArgs) -> anyhow::Result<i32> {
    let mut rows = Vec::new();
    for named in store.names()? {
        let Ok(reference) = Reference::parse(&named.name) else {
            continue;
        };
        let familiar = reference.familiar();
        let repository = familiar
            .rsplit_once(':')
            .map_or(familiar.as_str(), |p| p.0)
            .to_string();
        let (id, created, size) = match store.load_image(&named.descriptor) {
            Ok(img) => {
                let size = img.layers().iter().map(|l| l.size()).sum::<u64>()
                    + img.manifest.config().size();
                let created = img.config.created().clone().unwrap_or_default();
                (img.config_digest.to_string(), created, size)
            }
            Err(_) => (
                named.digest().to_string(),
                String::new(),
                named.descriptor.size(),
            ),
        };
        rows.push(Row {
            repository,
            tag: reference.tag().unwrap_or("<none>").to_string(),
            digest: named.digest().to_string(),
            id,
            created,
            size,
        });
    }
    rows.sort_by(|a, b| (&a.repository, &a.tag).cmp(&(&b.repository, &b.tag)));
    match args.format.as_str() {
        "json" => {
            let list: Vec<_> = rows
                .iter()
                .map(|r| {
                    json!({"Repository": r.repository, "Tag": r.tag, "Digest": r.digest,
                           "Id": r.id, "Created": r.created, "Size": r.size})
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        "table" => print_table(&rows, args.digests),
        other => bail!("unknown --format {other:?}: use table or json"),
    }
    Ok(0)
}

fn print_table(rows: &[Row], digests: bool) {
    let mut headers = vec!["REPOSITORY", "TAG"];
    if digests {
        headers.push("DIGEST");
    }
    headers.extend(["IMAGE ID", "CREATED", "SIZE"]);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let short = r.id.split_once(':').map_or(r.id.as_str(), |p| p.1);
            let mut row = vec![r.repository.clone(), r.tag.clone()];
            if digests {
                row.push(r.digest.clone());
            }
            row.extend([
                short[..short.len().min(12)].to_string(),
                r.created.clone(),
                human_size(r.size),
            ]);
            row
        })
        .collect();
    for line in crate::render::table::lines(&headers, &cells) {
        println!("{line}");
    }
}

/// Sizes the way docker prints them (decimal units).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes}B")
    } else {
        format!("{v:.3}{}", UNITS[i]).replace(".000", "")
    }
}
