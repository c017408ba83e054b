//! Describing a directory tree (everything a layer must preserve) so two
//! trees can be compared.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

#[derive(Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub content: Vec<u8>,
    pub xattrs: Vec<(String, Vec<u8>)>,
    pub nlink: u64,
}

pub fn describe(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let ft = meta.file_type();
        let (kind, content) = if ft.is_dir() {
            ("dir", Vec::new())
        } else if ft.is_symlink() {
            (
                "symlink",
                fs::read_link(&path)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes(),
            )
        } else if ft.is_file() {
            ("file", fs::read(&path).unwrap())
        } else if ft.is_fifo() {
            ("fifo", Vec::new())
        } else if ft.is_char_device() {
            ("char", meta.rdev().to_le_bytes().to_vec())
        } else {
            ("other", Vec::new())
        };
        let mut xattrs: Vec<(String, Vec<u8>)> = if ft.is_symlink() {
            Vec::new()
        } else {
            xattr::list(&path)
                .map(|names| {
                    names
                        .filter(|n| !n.to_string_lossy().starts_with("security.selinux"))
                        .map(|n| {
                            (
                                n.to_string_lossy().into_owned(),
                                xattr::get(&path, &n).unwrap().unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        xattrs.sort();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        out.insert(
            rel,
            Node {
                kind,
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                // Symlink mtimes are not compared: not every tool sets them.
                mtime: if ft.is_symlink() { 0 } else { meta.mtime() },
                content,
                xattrs,
                nlink: if ft.is_dir() { 0 } else { meta.nlink() },
            },
        );
        if ft.is_dir() {
            walk(root, &path, out);
        }
    }
}

/// Everything under `dir` except the subtree `skip` (paths and contents).
pub fn snapshot_except(dir: &Path, skip: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p == skip {
                continue;
            }
            let meta = fs::symlink_metadata(&p).unwrap();
            let content = if meta.is_file() {
                fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            out.push((p.to_string_lossy().into_owned(), content));
            if meta.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}
