//! Mount points a RUN step's mounts needed, removed from its upper dir
//! before the layer is packed, so that no mount leaves a trace in the image.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Removes the mount points the runtime had to create in the upper dir
/// (and directories it created above them), so that they do not become
/// part of the layer; BuildKit does the same. A directory is removed only
/// when it is empty and either new or identical in mode and owner to the
/// one a lower layer has (overlay copied it up to make the mount point).
pub(crate) fn remove_stubs(upper: &Path, lowers_bottom_first: &[PathBuf], targets: &[String]) {
    let lowers: Vec<&PathBuf> = lowers_bottom_first.iter().rev().collect();
    let mut targets: Vec<String> = targets
        .iter()
        .map(|t| resolve_in_layers(&lowers, t))
        .collect();
    // Deepest first, so that parents are empty when their turn comes.
    targets.sort_by_key(|t| std::cmp::Reverse(t.matches('/').count()));
    for rel in targets {
        let mut current = rel.as_str();
        loop {
            if current.is_empty() {
                break;
            }
            let path = upper.join(current);
            let Ok(meta) = fs::symlink_metadata(&path) else {
                break;
            };
            let lower = lowers
                .iter()
                .find_map(|l| fs::symlink_metadata(l.join(current)).ok());
            let same_as_lower = lower.as_ref().is_some_and(|l| {
                l.is_dir()
                    && meta.is_dir()
                    && l.mode() == meta.mode()
                    && l.uid() == meta.uid()
                    && l.gid() == meta.gid()
            });
            let removable = if meta.is_dir() {
                (lower.is_none() || same_as_lower)
                    && fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none())
                    && fs::remove_dir(&path).is_ok()
            } else {
                // The file stub of a file mount (a secret): new and empty.
                current == rel
                    && lower.is_none()
                    && meta.is_file()
                    && meta.len() == 0
                    && fs::remove_file(&path).is_ok()
            };
            if !removable {
                break;
            }
            current = current.rsplit_once('/').map_or("", |(parent, _)| parent);
        }
    }
}

/// A container path resolved through the lower layers' symlinks, as the
/// runtime resolved it when it made the mount point; relative, no leading /.
fn resolve_in_layers(lowers_top_first: &[&PathBuf], path: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut todo: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .rev()
        .map(String::from)
        .collect();
    let mut hops = 0;
    while let Some(part) = todo.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                parts.pop();
                continue;
            }
            _ => {}
        }
        let rel = if parts.is_empty() {
            part.clone()
        } else {
            format!("{}/{part}", parts.join("/"))
        };
        let link = lowers_top_first.iter().find_map(|l| {
            let m = fs::symlink_metadata(l.join(&rel)).ok()?;
            Some(if m.file_type().is_symlink() {
                fs::read_link(l.join(&rel)).ok()
            } else {
                None
            })
        });
        match link.flatten() {
            Some(target) if hops < 40 => {
                hops += 1;
                let target = target.to_string_lossy().to_string();
                if target.starts_with('/') {
                    parts.clear();
                }
                todo.extend(
                    target
                        .split('/')
                        .filter(|p| !p.is_empty())
                        .rev()
                        .map(String::from),
                );
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn stubs_go_and_real_content_stays() {
        let lower = tempfile::tempdir().unwrap();
        let upper = tempfile::tempdir().unwrap();
        fs::create_dir_all(lower.path().join("run")).unwrap();
        fs::create_dir_all(lower.path().join("real/var")).unwrap();
        std::os::unix::fs::symlink("/real/var", lower.path().join("var")).unwrap();
        // What the runtime made: /run/secrets/tok (file), /root/.cache/x,
        // /var/cache (through the symlink); and a file the step wrote.
        fs::create_dir_all(upper.path().join("run/secrets")).unwrap();
        fs::write(upper.path().join("run/secrets/tok"), "").unwrap();
        fs::create_dir_all(upper.path().join("root/.cache/x")).unwrap();
        fs::write(upper.path().join("root/kept"), "k").unwrap();
        fs::create_dir_all(upper.path().join("real/var/cache")).unwrap();
        let meta = fs::metadata(lower.path().join("real/var")).unwrap();
        fs::set_permissions(
            upper.path().join("real/var"),
            fs::Permissions::from_mode(meta.mode() & 0o7777),
        )
        .unwrap();
        remove_stubs(
            upper.path(),
            &[lower.path().to_path_buf()],
            &[
                "/run/secrets/tok".into(),
                "/root/.cache/x".into(),
                "/var/cache".into(),
            ],
        );
        let left: Vec<String> = walkdir::WalkDir::new(upper.path())
            .min_depth(1)
            .into_iter()
            .map(|e| {
                e.unwrap()
                    .path()
                    .strip_prefix(upper.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(left, vec!["root", "root/kept"]);
    }
}
