//! Reading a file of a container's rootfs before it is mounted: the overlay's
//! upper dir first, then the lower dirs top-first (a whiteout hides a file).

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// The layered directories of a rootfs, top-most first.
pub struct RootView {
    pub dirs_top_first: Vec<PathBuf>,
}

impl RootView {
    /// Reads `path` (absolute in the container) as text, if some layer has it.
    /// Symlinks are not followed out of a layer: an image cannot point hoist at
    /// a host file this way.
    pub fn read(&self, path: &str) -> Option<String> {
        let rel = path.trim_start_matches('/');
        for dir in &self.dirs_top_first {
            let p = dir.join(rel);
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_char_device() => return None, // overlay whiteout
                Ok(m) if m.is_file() => return std::fs::read_to_string(&p).ok(),
                Ok(_) => return None,
                Err(_) => {
                    if whiteout(dir, rel) {
                        return None;
                    }
                }
            }
        }
        None
    }
}

fn whiteout(dir: &Path, rel: &str) -> bool {
    let p = Path::new(rel);
    match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => dir
            .join(parent)
            .join(format!(".wh.{}", name.to_string_lossy()))
            .exists(),
        _ => false,
    }
}
