//! Named volumes: `<root>/volumes/<name>/_data`, created on first use, kept
//! after the containers using them are removed.

use serde::{Deserialize, Serialize};
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

/// Creates the volume if it does not exist; returns it either way.
pub fn ensure(root: &Path, name: &str, anonymous: bool) -> Result<Volume> {
    check_name(name)?;
    let dir = volumes_dir(root).join(name);
    if let Ok(v) = inspect(root, name) {
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
    };
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
