//! Small filesystem helpers: atomic writes (temp file + rename). No fsync:
//! readers must never see half a file, but losing the last state change in a
//! power cut is acceptable (and fsync costs milliseconds on every start).

use std::io::Write;
use std::path::Path;

use crate::error::{IoContext, Result};

/// Writes `data` to `path` so readers see either the old or the new content.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", rand::random::<u64>()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        std::fs::rename(&tmp, path)
    };
    let r = write();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r.ctx(|| format!("writing {}", path.display()))
}

/// Bytes of the regular files (and symlinks) under `p`, not following links;
/// what cannot be read counts as 0 (a size for a report, not an accounting).
pub fn tree_size(p: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(p)
        .map(|d| d.flatten().map(|e| tree_size(&e.path())).sum())
        .unwrap_or(0)
}

/// Opens `rel` (e.g. "ID/hoist.json") read-only relative to the open directory
/// `dir`: one openat(2), no whole-path lookup per file (listings open thousands).
pub fn open_in(dir: &std::fs::File, rel: &str) -> std::io::Result<std::fs::File> {
    use nix::fcntl::{openat, OFlag};
    use nix::sys::stat::Mode;
    let fd = openat(dir, rel, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())?;
    Ok(std::fs::File::from(fd))
}
