//! Named volumes: `<root>/volumes/<name>/_data`, created on first use, kept
//! after the containers using them are removed. Like docker's local driver,
//! a volume created with `type=tmpfs` options is memory-backed: a tmpfs is
//! mounted on `_data` (at creation, and again on use if it is gone, e.g.
//! after a reboot) and unmounted when the volume is removed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, RuntimeError};
use crate::time;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub name: String,
    pub driver: String,
    pub mountpoint: PathBuf,
    pub created_at: String,
    #[serde(default)]
    pub anonymous: bool,
    /// docker's driver options (`type`, `device`, `o`), as given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// `volume create --label` (compose's `com.docker.compose.*`); older
    /// records have none.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// tmpfs options a volume may set; anything else is refused.
const TMPFS_OPTIONS: &[&str] = &["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks"];

/// Checks docker-style driver options and returns the tmpfs mount data
/// (`o=`), or None for a plain directory volume.
pub fn tmpfs_data(options: &BTreeMap<String, String>) -> Result<Option<String>> {
    if options.is_empty() {
        return Ok(None);
    }
    let bad = |m: String| Err(RuntimeError::Invalid(m));
    for key in options.keys() {
        if !["type", "device", "o"].contains(&key.as_str()) {
            return bad(format!(
                "volume option {key:?} is not known (the local driver takes type, device and o)"
            ));
        }
    }
    match options.get("type").map(String::as_str) {
        Some("tmpfs") => {}
        Some(other) => {
            return bad(format!(
            "volume type {other:?} is not supported: hoist's volumes are directories or type=tmpfs"
        ))
        }
        None => return bad("volume options need type=tmpfs".into()),
    }
    if let Some(device) = options.get("device") {
        if device != "tmpfs" {
            return bad(format!(
                "a tmpfs volume's device must be tmpfs, not {device:?}"
            ));
        }
    }
    let data = options.get("o").cloned().unwrap_or_default();
    for part in data.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        if !TMPFS_OPTIONS.contains(&k)
            || v.is_empty()
            || !v.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return bad(format!(
                "tmpfs volume option {part:?} is not one of {} with a value (e.g. o=size=64m,mode=1777)",
                TMPFS_OPTIONS.join(", ")
            ));
        }
    }
    Ok(Some(data))
}

/// Whether `dir` is the root of a mount (its device differs from its parent's).
fn is_mount_point(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(dir), dir.parent().map(std::fs::metadata)) {
        (Ok(d), Some(Ok(p))) => d.dev() != p.dev(),
        _ => false,
    }
}

/// Mounts the volume's tmpfs when it has one and it is not mounted yet.
fn mount_tmpfs_if_needed(v: &Volume) -> Result<()> {
    let Some(data) = tmpfs_data(&v.options)? else {
        return Ok(());
    };
    if is_mount_point(&v.mountpoint) {
        return Ok(());
    }
    use nix::mount::{mount, MsFlags};
    mount(
        Some("tmpfs"),
        &v.mountpoint,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(data.as_str()),
    )
    .map_err(|e| {
        RuntimeError::io(
            format!("mounting the tmpfs of volume {} ({data})", v.name),
            e.into(),
        )
    })
}

pub fn volumes_dir(root: &Path) -> PathBuf {
    root.join("volumes")
}

/// docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && name.len() <= 255
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(RuntimeError::Invalid(format!(
            "{name:?} is not a valid volume name (letters, digits, _ . -, starting with a letter or digit)"
        )))
    }
}

/// Creates the volume if it does not exist; returns it either way (with its
/// tmpfs mounted, for a tmpfs volume).
pub fn ensure(root: &Path, name: &str, anonymous: bool) -> Result<Volume> {
    if let Ok(v) = inspect(root, name) {
        mount_tmpfs_if_needed(&v)?;
        return Ok(v);
    }
    create(root, name, anonymous, BTreeMap::new())
}

/// Creates a volume with docker-style driver options (`type=tmpfs`, `o=...`);
/// an existing volume is returned only if its options are the same.
pub fn create(
    root: &Path,
    name: &str,
    anonymous: bool,
    options: BTreeMap<String, String>,
) -> Result<Volume> {
    create_labelled(root, name, anonymous, options, BTreeMap::new())
}

/// `create` with labels. An existing volume keeps the labels it has (as
/// docker's does: labels are set at creation only).
pub fn create_labelled(
    root: &Path,
    name: &str,
    anonymous: bool,
    options: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
) -> Result<Volume> {
    check_name(name)?;
    tmpfs_data(&options)?;
    let dir = volumes_dir(root).join(name);
    if let Ok(v) = inspect(root, name) {
        if v.options != options {
            return Err(RuntimeError::Invalid(format!(
                "volume {name} already exists with other options; remove it first"
            )));
        }
        mount_tmpfs_if_needed(&v)?;
        return Ok(v);
    }
    let data = dir.join("_data");
    std::fs::create_dir_all(&data).ctx(|| format!("creating {}", data.display()))?;
    let v = Volume {
        name: name.to_string(),
        driver: "local".into(),
        mountpoint: data,
        created_at: time::now(),
        anonymous,
        options,
        labels,
    };
    if let Err(e) = mount_tmpfs_if_needed(&v) {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    let meta = serde_json::to_vec_pretty(&v).unwrap_or_default();
    crate::fsutil::write_atomic(&dir.join("volume.json"), &meta)?;
    Ok(v)
}

pub fn inspect(root: &Path, name: &str) -> Result<Volume> {
    check_name(name).map_err(|_| RuntimeError::NoSuchVolume(name.into()))?;
    let meta = volumes_dir(root).join(name).join("volume.json");
    let text = std::fs::read(&meta).map_err(|_| RuntimeError::NoSuchVolume(name.into()))?;
    serde_json::from_slice(&text)
        .map_err(|e| RuntimeError::Invalid(format!("{}: {e}", meta.display())))
}

pub fn list(root: &Path) -> Result<Vec<Volume>> {
    let dir = volumes_dir(root);
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    for e in entries.flatten() {
        if let Ok(v) = inspect(root, &e.file_name().to_string_lossy()) {
            out.push(v);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Removes a volume; `in_use` says whether a container still refers to it.
pub fn remove(root: &Path, name: &str, in_use: bool) -> Result<()> {
    inspect(root, name)?;
    if in_use {
        return Err(RuntimeError::VolumeInUse(name.into()));
    }
    let dir = volumes_dir(root).join(name);
    let data = dir.join("_data");
    if is_mount_point(&data) {
        nix::mount::umount2(&data, nix::mount::MntFlags::MNT_DETACH)
            .map_err(|e| RuntimeError::io(format!("unmounting volume {name}"), e.into()))?;
    }
    std::fs::remove_dir_all(&dir).ctx(|| format!("removing {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_list_remove() {
        let root = tempfile::tempdir().unwrap();
        let v = ensure(root.path(), "data", false).unwrap();
        assert!(v.mountpoint.ends_with("volumes/data/_data"));
        assert_eq!(ensure(root.path(), "data", false).unwrap(), v);
        assert_eq!(list(root.path()).unwrap().len(), 1);
        assert!(matches!(
            remove(root.path(), "data", true),
            Err(RuntimeError::VolumeInUse(_))
        ));
        remove(root.path(), "data", false).unwrap();
        assert!(inspect(root.path(), "data").is_err());
        assert!(check_name("../x").is_err());
    }
}
