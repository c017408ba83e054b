//! COPY's new layer, held in memory: what `Staging` would write to disk (the
//! same modes, owners, times and replacement rules), recorded as a tree of
//! entries whose file contents stay where they are in the build context. The
//! layer is packed straight from the sources, so a COPY of 10,000 files
//! creates no files at all; the tree is written out as the layer's snapshot
//! only if a later step needs the root filesystem (`write_to`).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use filetime::FileTime;
use hoist_store::layer::{ListedContent, ListedEntry};

use super::staging::Owner;

/// A modification time: a fixed one, or "when the build changed it" (a
/// directory whose entries were added after its time was set, as on disk).
#[derive(Debug, Clone, Copy)]
enum Mtime {
    At(FileTime),
    Now,
}

#[derive(Debug, Clone)]
enum Kind {
    Dir(BTreeMap<String, Node>),
    File { path: PathBuf, size: u64 },
    Bytes(Vec<u8>),
    Symlink(PathBuf),
}

#[derive(Debug, Clone)]
struct Node {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: Mtime,
    kind: Kind,
}

/// The tree of a COPY's layer (the root itself is not part of the layer).
#[derive(Debug)]
pub(crate) struct LayerTree<'a> {
    root: BTreeMap<String, Node>,
    /// The image's root filesystem, for the metadata of existing directories.
    image: &'a Path,
    owner: Owner,
    chmod: Option<u32>,
}

fn not_a_dir(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotADirectory,
        format!("{path}: a file is already copied there, not a directory"),
    )
}

fn is_a_dir(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::IsADirectory,
        format!("{path}: a directory is already copied there"),
    )
}

impl<'a> LayerTree<'a> {
    pub fn new(image: &'a Path, owner: Owner, chmod: Option<u32>) -> Self {
        LayerTree {
            root: BTreeMap::new(),
            image,
            owner,
            chmod,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    /// Who owns what this process creates: `owner` as root; otherwise the
    /// process's own ids where it cannot give them away (as lchown's EPERM
    /// leaves a staged file).
    fn effective(&self, owner: Owner) -> (u32, u32) {
        // SAFETY: geteuid/getegid cannot fail.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if euid == 0 {
            (owner.uid, owner.gid)
        } else {
            (euid, egid)
        }
    }

    /// The children map of the directory at `parts`, which must exist.
    fn dir_mut(&mut self, parts: &[&str]) -> io::Result<&mut BTreeMap<String, Node>> {
        let mut map = &mut self.root;
        for (i, part) in parts.iter().enumerate() {
            match map.get_mut(*part) {
                Some(Node {
                    kind: Kind::Dir(children),
                    ..
                }) => map = children,
                Some(_) => return Err(not_a_dir(&format!("/{}", parts[..=i].join("/")))),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("/{}: no such directory", parts[..=i].join("/")),
                    ))
                }
            }
        }
        Ok(map)
    }

    /// Marks the directory at `parts` (not the root) as changed now.
    fn touch(&mut self, parts: &[&str]) {
        let Some((last, above)) = parts.split_last() else {
            return;
        };
        if let Ok(map) = self.dir_mut(above) {
            if let Some(node) = map.get_mut(*last) {
                node.mtime = Mtime::Now;
            }
        }
    }

    /// Inserts (or replaces) the entry at `parts`, marking its parent changed.
    fn insert(&mut self, parts: &[&str], node: Node) -> io::Result<()> {
        let (last, above) = parts.split_last().expect("not the root");
        self.dir_mut(above)?.insert(last.to_string(), node);
        self.touch(above);
        Ok(())
    }

    fn get(&self, parts: &[&str]) -> Option<&Node> {
        let mut map = &self.root;
        let (last, above) = parts.split_last()?;
        for part in above {
            match map.get(*part) {
                Some(Node {
                    kind: Kind::Dir(children),
                    ..
                }) => map = children,
                _ => return None,
            }
        }
        map.get(*last)
    }

    /// Creates the directories above `image_path` (and it, when `itself`),
    /// with the image's metadata where the image has that directory.
    pub fn parents(&mut self, image_path: &str, itself: bool) -> io::Result<()> {
        let parts: Vec<&str> = image_path.split('/').filter(|p| !p.is_empty()).collect();
        let upto = if itself {
            parts.len()
        } else {
            parts.len().saturating_sub(1)
        };
        for i in 1..=upto {
            let here = &parts[..i];
            if self.get(here).is_some() {
                continue;
            }
            let node = match self.image.join(here.join("/")).symlink_metadata() {
                Ok(m) if m.is_dir() => Node {
                    mode: m.mode() & 0o7777,
                    uid: m.uid(),
                    gid: m.gid(),
                    mtime: Mtime::At(FileTime::from_last_modification_time(&m)),
                    kind: Kind::Dir(BTreeMap::new()),
                },
                _ => {
                    let (uid, gid) = self.effective(self.owner);
                    Node {
                        mode: 0o755,
                        uid,
                        gid,
                        mtime: Mtime::Now,
                        kind: Kind::Dir(BTreeMap::new()),
                    }
                }
            };
            // Like Staging: the image's owner is kept only where it can be given.
            let node = if self.effective(Owner { uid: 0, gid: 0 }) == (0, 0) {
                node
            } else {
                let (uid, gid) = self.effective(self.owner);
                Node { uid, gid, ..node }
            };
            self.insert(here, node)?;
        }
        Ok(())
    }

    /// Copies one file, symlink or directory (not its contents) to `image_path`.
    pub fn put(&mut self, source: &Path, meta: &fs::Metadata, image_path: &str) -> io::Result<()> {
        self.parents(image_path, false)?;
        self.put_in_place(source, meta, image_path)
    }

    /// Like `put`, when the parent directory is known to be there already.
    pub fn put_in_place(
        &mut self,
        source: &Path,
        meta: &fs::Metadata,
        image_path: &str,
    ) -> io::Result<()> {
        let parts: Vec<&str> = image_path.split('/').filter(|p| !p.is_empty()).collect();
        let ft = meta.file_type();
        let (uid, gid) = self.effective(self.owner);
        let mtime = Mtime::At(FileTime::from_last_modification_time(meta));
        let mode = self.chmod.unwrap_or(meta.mode() & 0o7777);
        if parts.is_empty() {
            return Ok(()); // the root's own metadata is not part of a layer
        }
        let existing = self.get(&parts).map(|n| matches!(n.kind, Kind::Dir(_)));
        if ft.is_dir() {
            match existing {
                Some(true) => {
                    let (last, above) = parts.split_last().expect("not the root");
                    let node = self.dir_mut(above)?.get_mut(*last).expect("present");
                    node.mode = mode;
                    node.uid = uid;
                    node.gid = gid;
                    node.mtime = mtime;
                    Ok(())
                }
                Some(false) => Err(not_a_dir(image_path)),
                None => self.insert(
                    &parts,
                    Node {
                        mode,
                        uid,
                        gid,
                        mtime,
                        kind: Kind::Dir(BTreeMap::new()),
                    },
                ),
            }
        } else if ft.is_symlink() || ft.is_file() {
            if existing == Some(true) {
                return Err(is_a_dir(image_path));
            }
            let (mode, kind) = if ft.is_symlink() {
                (0o777, Kind::Symlink(fs::read_link(source)?))
            } else {
                let kind = Kind::File {
                    path: source.to_path_buf(),
                    size: meta.len(),
                };
                (mode, kind)
            };
            self.insert(
                &parts,
                Node {
                    mode,
                    uid,
                    gid,
                    mtime,
                    kind,
                },
            )
        } else {
            Ok(()) // sockets, fifos and devices are not copied
        }
    }

    /// A file with these bytes (COPY's inline heredoc files): mode 0644 or
    /// --chmod, the owner from --chown, the time of the build.
    pub fn put_bytes(&mut self, content: &[u8], image_path: &str) -> io::Result<()> {
        self.parents(image_path, false)?;
        let parts: Vec<&str> = image_path.split('/').filter(|p| !p.is_empty()).collect();
        if parts.is_empty()
            || self
                .get(&parts)
                .is_some_and(|n| matches!(n.kind, Kind::Dir(_)))
        {
            return Err(is_a_dir(image_path));
        }
        let (uid, gid) = self.effective(self.owner);
        self.insert(
            &parts,
            Node {
                mode: self.chmod.unwrap_or(0o644),
                uid,
                gid,
                mtime: Mtime::At(FileTime::now()),
                kind: Kind::Bytes(content.to_vec()),
            },
        )
    }

    /// The layer's entries in `pack_dir_to`'s order: depth first, names
    /// sorted as bytes.
    pub fn entries(&self) -> Vec<ListedEntry> {
        let now = FileTime::now().unix_seconds();
        let mut out = Vec::new();
        list(&self.root, "", now, &mut out);
        out
    }

    /// Writes the tree out under `dir` (an empty directory), as `Staging`
    /// would have: the layer's snapshot, for a later step that needs the
    /// root filesystem.
    pub fn write_to(&self, dir: &Path) -> io::Result<()> {
        write_children(&self.root, dir)
    }

    /// The tree without the image it was made against, kept until a later
    /// step needs it written out.
    pub fn into_pending(self) -> PendingSnapshot {
        PendingSnapshot(self.root)
    }
}

/// A packed layer's tree, not yet written out as its snapshot.
#[derive(Debug)]
pub(crate) struct PendingSnapshot(BTreeMap<String, Node>);

impl PendingSnapshot {
    /// Like `LayerTree::write_to`.
    pub fn write_to(&self, dir: &Path) -> io::Result<()> {
        write_children(&self.0, dir)
    }
}

fn list(map: &BTreeMap<String, Node>, prefix: &str, now: i64, out: &mut Vec<ListedEntry>) {
    for (name, node) in map {
        let path = format!("{prefix}{name}");
        let content = match &node.kind {
            Kind::Dir(_) => ListedContent::Dir,
            Kind::File { path, size } => ListedContent::File {
                path: path.clone(),
                size: *size,
            },
            Kind::Bytes(b) => ListedContent::Bytes(b.clone()),
            Kind::Symlink(t) => ListedContent::Symlink(t.as_os_str().as_encoded_bytes().to_vec()),
        };
        out.push(ListedEntry {
            name: path.clone().into_bytes(),
            mode: node.mode,
            uid: node.uid.into(),
            gid: node.gid.into(),
            mtime: match node.mtime {
                Mtime::At(t) => t.unix_seconds(),
                Mtime::Now => now,
            },
            content,
        });
        if let Kind::Dir(children) = &node.kind {
            list(children, &format!("{path}/"), now, out);
        }
    }
}

fn chown(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    match std::os::unix::fs::lchown(path, Some(uid), Some(gid)) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(()),
        other => other,
    }
}

/// Writes the tree under `dir` as the old staging copy did: every directory
/// first, then the files on several threads (creating thousands of files
/// one after another was twice as costly in the kernel, measured), then the
/// directories' metadata, deepest first, so their times stay as set.
fn write_children(map: &BTreeMap<String, Node>, dir: &Path) -> io::Result<()> {
    let mut dirs = Vec::new();
    let mut leaves = Vec::new();
    collect(map, dir, &mut dirs, &mut leaves);
    for (path, _) in &dirs {
        fs::create_dir(path)?;
    }
    let chunk = leaves.len().div_ceil(4).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = leaves
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().try_for_each(|(p, n)| write_leaf(p, n))))
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err(io::Error::other("a writing thread panicked")))
        })
    })?;
    dirs.iter()
        .rev()
        .try_for_each(|(path, node)| set_meta(path, node))
}

/// The tree's directories (parents first) and other entries, with their paths.
fn collect<'n>(
    map: &'n BTreeMap<String, Node>,
    dir: &Path,
    dirs: &mut Vec<(PathBuf, &'n Node)>,
    leaves: &mut Vec<(PathBuf, &'n Node)>,
) {
    for (name, node) in map {
        let path = dir.join(name);
        if let Kind::Dir(children) = &node.kind {
            dirs.push((path.clone(), node));
            collect(children, &path, dirs, leaves);
        } else {
            leaves.push((path, node));
        }
    }
}

fn write_leaf(dst: &Path, node: &Node) -> io::Result<()> {
    match &node.kind {
        Kind::Dir(_) => return Ok(()),
        Kind::File { path, size } => {
            // The layer holds what was packed: a source changed since
            // then is an error (the caller then unpacks the layer).
            if fs::copy(path, dst)? != *size {
                return Err(io::Error::other(format!(
                    "{}: changed since it was packed",
                    path.display()
                )));
            }
        }
        Kind::Bytes(b) => fs::write(dst, b)?,
        Kind::Symlink(t) => std::os::unix::fs::symlink(t, dst)?,
    }
    set_meta(dst, node)
}

fn set_meta(dst: &Path, node: &Node) -> io::Result<()> {
    // Owner first: chown clears set-id bits, the mode then sets them.
    chown(dst, node.uid, node.gid)?;
    if !matches!(node.kind, Kind::Symlink(_)) {
        fs::set_permissions(dst, fs::Permissions::from_mode(node.mode))?;
    }
    if let Mtime::At(t) = node.mtime {
        filetime::set_symlink_file_times(dst, t, t)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_store::layer::{pack_dir_to, pack_list_to, PackOptions};
    use std::os::unix::fs::symlink;

    fn packed(entries: &[ListedEntry]) -> String {
        let opts = PackOptions {
            source_date_epoch: Some(1_700_000_000),
            ..PackOptions::default()
        };
        pack_list_to(entries, &opts, Vec::new()).unwrap().diff_id
    }

    /// The in-memory tree packs to the same tar as the same tree written to
    /// disk and packed by walking it.
    #[test]
    fn packs_like_the_tree_written_out() {
        let src = tempfile::tempdir().unwrap();
        let image = tempfile::tempdir().unwrap();
        fs::create_dir_all(image.path().join("usr/share")).unwrap();
        fs::set_permissions(image.path().join("usr"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::create_dir_all(src.path().join("d/e")).unwrap();
        fs::write(src.path().join("d/a.txt"), "aaa").unwrap();
        fs::write(src.path().join("d/e/b.txt"), "bb").unwrap();
        fs::write(src.path().join("d/a.b"), "x").unwrap();
        symlink("a.txt", src.path().join("d/link")).unwrap();
        fs::set_permissions(src.path().join("d/a.b"), fs::Permissions::from_mode(0o4755)).unwrap();
        let mut tree = LayerTree::new(image.path(), Owner { uid: 0, gid: 0 }, None);
        let d = src.path().join("d");
        tree.put(&d, &fs::metadata(&d).unwrap(), "/usr/share/app")
            .unwrap();
        for e in walkdir::WalkDir::new(&d).min_depth(1).sort_by_file_name() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(&d)
                .unwrap()
                .to_string_lossy()
                .to_string();
            tree.put_in_place(
                e.path(),
                &e.metadata().unwrap(),
                &format!("/usr/share/app/{rel}"),
            )
            .unwrap();
        }
        tree.put_bytes(b"inline", "/etc/motd").unwrap();
        // A later source replaces an earlier file.
        let again = src.path().join("d/e/b.txt");
        tree.put(
            &again,
            &fs::metadata(&again).unwrap(),
            "/usr/share/app/a.txt",
        )
        .unwrap();
        assert!(tree
            .put(&d, &fs::metadata(&d).unwrap(), "/usr/share/app/a.txt")
            .unwrap_err()
            .to_string()
            .contains("not a directory"));

        let entries = tree.entries();
        let names: Vec<String> = entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.name).into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "etc",
                "etc/motd",
                "usr",
                "usr/share",
                "usr/share/app",
                "usr/share/app/a.b",
                "usr/share/app/a.txt",
                "usr/share/app/e",
                "usr/share/app/e/b.txt",
                "usr/share/app/link"
            ]
        );
        assert_eq!(entries[2].mode, 0o750, "an image directory keeps its mode");
        assert_eq!(entries[5].mode, 0o4755, "set-id bits are kept");
        let out = tempfile::tempdir().unwrap();
        tree.write_to(out.path()).unwrap();
        assert_eq!(
            fs::read(out.path().join("usr/share/app/a.txt")).unwrap(),
            b"bb"
        );
        let opts = PackOptions {
            source_date_epoch: Some(1_700_000_000),
            ..PackOptions::default()
        };
        let on_disk = pack_dir_to(out.path(), &opts, Vec::new()).unwrap().diff_id;
        assert_eq!(packed(&entries), on_disk);
    }
}
