//! `hoist system df`: docker's four rows (images, containers, local volumes, build cache)
//! with TOTAL, ACTIVE, SIZE and RECLAIMABLE, or a line per object with `-v`.

use crate::cli::system::DfArgs;
use crate::commands::image::human_size;
use crate::render::template::{self, Format};
use hoist_runtime::container::{self, config::MountRequest, Status};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Bytes under `path` (not following symlinks).
fn disk_use(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|d| d.flatten().map(|e| disk_use(&e.path())).sum())
        .unwrap_or(0)
}

fn percent(part: u64, whole: u64) -> String {
    match (part * 100).checked_div(whole) {
        Some(p) => format!("{p}%"),
        None => "0%".into(),
    }
}

pub fn run(root: &Path, a: &DfArgs) -> anyhow::Result<i32> {
    let store = hoist_store::Store::open(root)?;
    let containers = container::list(root);
    let used_images: HashSet<&str> = containers
        .iter()
        .map(|(r, _)| r.image_digest.as_str())
        .collect();
    // Images: every named image once (by manifest digest), its layers and config.
    let mut images: BTreeMap<String, (Vec<String>, u64)> = BTreeMap::new();
    for named in store.names()? {
        let digest = named.digest().to_string();
        let size = store
            .load_image(&named.descriptor)
            .map(|img| {
                img.layers().iter().map(|l| l.size()).sum::<u64>() + img.manifest.config().size()
            })
            .unwrap_or(0);
        let entry = images.entry(digest).or_insert((Vec::new(), size));
        entry
            .0
            .push(crate::commands::image::display_name(&named.name));
    }
    let image_size: u64 = images.values().map(|i| i.1).sum();
    let active_images = images
        .keys()
        .filter(|d| used_images.contains(d.as_str()))
        .count();
    let unused_size: u64 = images
        .iter()
        .filter(|(d, _)| !used_images.contains(d.as_str()))
        .map(|(_, i)| i.1)
        .sum();
    let container_sizes: Vec<u64> = containers
        .iter()
        .map(|(r, _)| {
            let dir = container::container_dir(root, &r.id);
            disk_use(&container::paths::record_of(&dir).join("upper"))
        })
        .collect();
    let running = |s: &Status| matches!(s, Status::Running | Status::Restarting);
    let active_containers = containers
        .iter()
        .filter(|(_, s)| running(&s.status))
        .count();
    let containers_size: u64 = container_sizes.iter().sum();
    let stopped_size: u64 = containers
        .iter()
        .zip(&container_sizes)
        .filter(|((_, s), _)| !running(&s.status))
        .map(|(_, n)| n)
        .sum();
    let volumes = hoist_runtime::volumes::list(root)?;
    let in_use: HashSet<String> = containers
        .iter()
        .flat_map(|(r, _)| {
            r.mounts.iter().filter_map(|m| match m {
                MountRequest::Volume { name, .. } => Some(name.clone()),
                _ => None,
            })
        })
        .collect();
    let volume_sizes: Vec<u64> = volumes
        .iter()
        .map(|v| disk_use(&hoist_runtime::volumes::volumes_dir(root).join(&v.name)))
        .collect();
    let volumes_size: u64 = volume_sizes.iter().sum();
    let unused_volumes: u64 = volumes
        .iter()
        .zip(&volume_sizes)
        .filter(|(v, _)| !in_use.contains(&v.name))
        .map(|(_, n)| n)
        .sum();
    let row = |kind: &str, total: usize, active: usize, size: u64, reclaim: u64| {
        json!({
            "Type": kind, "TotalCount": total.to_string(), "Active": active.to_string(),
            "Size": human_size(size),
            "Reclaimable": format!("{} ({})", human_size(reclaim), percent(reclaim, size)),
        })
    };
    let rows = vec![
        row(
            "Images",
            images.len(),
            active_images,
            image_size,
            unused_size,
        ),
        row(
            "Containers",
            containers.len(),
            active_containers,
            containers_size,
            stopped_size,
        ),
        row(
            "Local Volumes",
            volumes.len(),
            in_use.len(),
            volumes_size,
            unused_volumes,
        ),
        row("Build Cache", 0, 0, 0, 0),
    ];
    let format = if a.format == "table" && a.verbose {
        "verbose"
    } else {
        a.format.as_str()
    };
    match format {
        "verbose" => {
            println!("Images space usage:\n");
            let lines: Vec<Vec<String>> = images
                .iter()
                .map(|(d, (names, size))| {
                    let used = containers
                        .iter()
                        .filter(|(r, _)| &r.image_digest == d)
                        .count();
                    vec![
                        names.join(", "),
                        d.chars().take(19).collect(),
                        human_size(*size),
                        used.to_string(),
                    ]
                })
                .collect();
            print_lines(&["REPOSITORY", "DIGEST", "SIZE", "CONTAINERS"], &lines);
            println!("\nContainers space usage:\n");
            let lines: Vec<Vec<String>> = containers
                .iter()
                .zip(&container_sizes)
                .map(|((r, s), n)| {
                    vec![
                        r.short_id().to_string(),
                        r.image.clone(),
                        human_size(*n),
                        s.status.as_str().to_string(),
                        r.name.clone(),
                    ]
                })
                .collect();
            print_lines(
                &["CONTAINER ID", "IMAGE", "SIZE", "STATUS", "NAMES"],
                &lines,
            );
            println!("\nLocal Volumes space usage:\n");
            let lines: Vec<Vec<String>> = volumes
                .iter()
                .zip(&volume_sizes)
                .map(|(v, n)| {
                    vec![
                        v.name.clone(),
                        usize::from(in_use.contains(&v.name)).to_string(),
                        human_size(*n),
                    ]
                })
                .collect();
            print_lines(&["VOLUME NAME", "LINKS", "SIZE"], &lines);
        }
        f => match Format::parse(f)? {
            Format::Table => {
                let lines: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        ["Type", "TotalCount", "Active", "Size", "Reclaimable"]
                            .iter()
                            .map(|k| r[k].as_str().unwrap_or("").to_string())
                            .collect()
                    })
                    .collect();
                print_lines(&["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], &lines);
            }
            Format::Json => rows.iter().for_each(|r| println!("{r}")),
            Format::Template(t) => {
                let headers: Value = json!({"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"});
                for line in template::rows(&t, &headers, &rows)? {
                    println!("{line}");
                }
            }
        },
    }
    Ok(0)
}

fn print_lines(headers: &[&str], rows: &[Vec<String>]) {
    for line in crate::render::table::lines(headers, rows) {
        println!("{line}");
    }
}
