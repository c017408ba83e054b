//! Reading COPY/ADD sources from a directory tree: the build context (with
//! `.dockerignore` applied and nothing outside it reachable, not even through
//! a symlink) or another stage's root filesystem (where absolute symlinks
//! resolve inside that root, like a chroot).

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::glob::Pattern;
use crate::ignore::IgnoreRules;

/// A tree COPY reads from.
#[derive(Debug, Clone)]
pub struct SourceTree {
    root: PathBuf,
    ignore: IgnoreRules,
    /// The build context refuses symlinks that leave it; an image root
    /// resolves them inside itself instead.
    is_context: bool,
}

/// One matched source: a file, symlink or directory.
#[derive(Debug, Clone)]
pub struct Source {
    /// Where it is on disk (symlinks on the way resolved).
    pub path: PathBuf,
    /// Its path relative to the tree, as matched.
    pub rel: String,
    pub is_dir: bool,
}

/// One entry under a copied directory.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Relative to the copied directory, `/`-separated.
    pub rel: String,
    pub path: PathBuf,
    pub meta: fs::Metadata,
}

impl SourceTree {
    /// The build context at `root`, reading its `.dockerignore`.
    pub fn context(root: &Path) -> Result<SourceTree, String> {
        let root =
            fs::canonicalize(root).map_err(|e| format!("build context {}: {e}", root.display()))?;
        if !root.is_dir() {
            return Err(format!(
                "build context {} is not a directory",
                root.display()
            ));
        }
        let ignore = match fs::read_to_string(root.join(".dockerignore")) {
            Ok(text) => IgnoreRules::parse(&text).map_err(|e| format!(".dockerignore: {}", e.0))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => IgnoreRules::default(),
            Err(e) => return Err(format!(".dockerignore: {e}")),
        };
        Ok(SourceTree {
            root,
            ignore,
            is_context: true,
        })
    }

    /// An image's root filesystem (another stage, or an image for COPY --from).
    pub fn image_root(root: &Path) -> SourceTree {
        SourceTree {
            root: root.to_path_buf(),
            ignore: IgnoreRules::default(),
            is_context: false,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `.dockerignore` hides anything (then a bind mount of the
    /// context must be a filtered copy, not the directory itself).
    pub fn has_ignore_rules(&self) -> bool {
        !self.ignore.is_empty()
    }

    fn describe(&self) -> &'static str {
        if self.is_context {
            "the build context"
        } else {
            "the source image"
        }
    }

    /// The sources a COPY argument names (a path or a pattern).
    pub fn select(&self, src: &str) -> Result<Vec<Source>, String> {
        let rel = clean_relative(src).ok_or_else(|| {
            format!(
                "{src}: is outside {}; COPY can only read files inside it",
                self.describe()
            )
        })?;
        let pattern = Pattern::new(&rel).map_err(|e| e.0)?;
        if pattern.is_literal() || rel.is_empty() {
            return Ok(vec![self.literal(src, &rel)?]);
        }
        let mut found = Vec::new();
        for entry in walkdir::WalkDir::new(&self.root)
            .min_depth(1)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| format!("{src}: {e}"))?;
            let path_rel = self.rel_of(entry.path());
            if pattern.matches(&path_rel) && !self.ignore.excluded(&path_rel) {
                found.push(self.literal(src, &path_rel)?);
            }
        }
        if found.is_empty() {
            return Err(format!("{src}: no files in {} match", self.describe()));
        }
        Ok(found)
    }

    fn rel_of(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.to_string_lossy().replace('\\', "/")
    }

    fn literal(&self, src: &str, rel: &str) -> Result<Source, String> {
        if !rel.is_empty() && self.ignore.excluded(rel) {
            return Err(format!("{src}: excluded by .dockerignore"));
        }
        let path = self.resolve(src, rel)?;
        let meta = fs::metadata(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("{src}: not found in {}", self.describe())
            } else {
                format!("{src}: {e}")
            }
        })?;
        Ok(Source {
            path,
            rel: rel.to_string(),
            is_dir: meta.is_dir(),
        })
    }

    /// Follows `rel` component by component, symlinks included, never leaving the root.
    fn resolve(&self, src: &str, rel: &str) -> Result<PathBuf, String> {
        Ok(self.root.join(self.resolve_rel(src, rel)?))
    }

    /// Like `resolve`, giving the path relative to the root (`a/b`, or "" for the root).
    pub fn resolve_rel(&self, src: &str, rel: &str) -> Result<String, String> {
        let mut parts: Vec<String> = Vec::new();
        let mut todo: Vec<String> = rel
            .split('/')
            .filter(|p| !p.is_empty())
            .rev()
            .map(String::from)
            .collect();
        let mut hops = 0;
        while let Some(part) = todo.pop() {
            if part == ".." {
                if parts.pop().is_none() {
                    return Err(self.outside(src));
                }
                continue;
            }
            if part == "." {
                continue;
            }
            let candidate = self.root.join(parts.join("/")).join(&part);
            match fs::symlink_metadata(&candidate) {
                Ok(m) if m.file_type().is_symlink() => {
                    hops += 1;
                    if hops > 40 {
                        return Err(format!("{src}: too many levels of symbolic links"));
                    }
                    let target = fs::read_link(&candidate).map_err(|e| format!("{src}: {e}"))?;
                    let target = target.to_string_lossy().to_string();
                    if target.starts_with('/') {
                        if self.is_context {
                            return Err(self.outside(src));
                        }
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
        Ok(parts.join("/"))
    }

    fn outside(&self, src: &str) -> String {
        format!(
            "{src}: resolves outside {} (through '..' or a symlink); COPY can only read files inside it",
            self.describe()
        )
    }

    /// Everything under a directory source, sorted, minus ignored paths.
    pub fn walk(&self, dir: &Source) -> Result<Vec<Entry>, String> {
        let mut out = Vec::new();
        let mut it = walkdir::WalkDir::new(&dir.path)
            .min_depth(1)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = it.next() {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.rel))?;
            let rel = entry
                .path()
                .strip_prefix(&dir.path)
                .expect("under the walked dir")
                .to_string_lossy()
                .to_string();
            let tree_rel = if dir.rel.is_empty() {
                rel.clone()
            } else {
                format!("{}/{rel}", dir.rel)
            };
            let is_dir = entry.file_type().is_dir();
            if self.ignore.excluded(&tree_rel) {
                if is_dir && !self.ignore.has_exceptions() {
                    it.skip_current_dir();
                }
                continue;
            }
            let meta = entry.metadata().map_err(|e| format!("{rel}: {e}"))?;
            out.push(Entry {
                rel,
                path: entry.path().to_path_buf(),
                meta,
            });
        }
        Ok(out)
    }
}

/// `a/./b/../c` -> `a/c`; a leading `/` is dropped; None if it climbs out.
pub fn clean_relative(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?),
            Component::ParentDir => {
                parts.pop()?;
            }
            _ => {}
        }
    }
    Some(parts.join("/"))
}

/// A cleaned absolute path in the image: `/a/b`, or `/`.
pub fn clean_absolute(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str().unwrap_or("")),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, SourceTree) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ctx");
        fs::create_dir_all(root.join("src/sub")).unwrap();
        fs::write(root.join("a.txt"), "a").unwrap();
        fs::write(root.join("b.txt"), "b").unwrap();
        fs::write(root.join("src/main.rs"), "m").unwrap();
        fs::write(root.join("src/sub/x.log"), "x").unwrap();
        fs::write(root.join("secret"), "s").unwrap();
        fs::write(dir.path().join("outside"), "o").unwrap();
        symlink("../outside", root.join("escape")).unwrap();
        symlink("/etc/passwd", root.join("absolute")).unwrap();
        symlink("src", root.join("inner")).unwrap();
        fs::write(root.join(".dockerignore"), "secret\n**/*.log\n").unwrap();
        let t = SourceTree::context(&root).unwrap();
        (dir, t)
    }

    fn rels(v: &[Source]) -> Vec<&str> {
        v.iter().map(|s| s.rel.as_str()).collect()
    }

    #[test]
    fn literal_and_glob_sources() {
        let (_d, t) = tree();
        assert_eq!(rels(&t.select("a.txt").unwrap()), vec!["a.txt"]);
        assert_eq!(rels(&t.select("/a.txt").unwrap()), vec!["a.txt"]);
        assert_eq!(rels(&t.select("*.txt").unwrap()), vec!["a.txt", "b.txt"]);
        assert!(t.select("src").unwrap()[0].is_dir);
        assert_eq!(rels(&t.select(".").unwrap()), vec![""]);
        assert!(t.select("*.nothing").unwrap_err().contains("no files"));
        assert!(t.select("missing").unwrap_err().contains("not found"));
    }

    #[test]
    fn escapes_are_refused() {
        let (_d, t) = tree();
        assert!(t
            .select("../outside")
            .unwrap_err()
            .contains("outside the build context"));
        assert!(t
            .select("escape")
            .unwrap_err()
            .contains("outside the build context"));
        assert!(t
            .select("absolute")
            .unwrap_err()
            .contains("outside the build context"));
        assert!(t
            .select("src/../../outside")
            .unwrap_err()
            .contains("outside"));
        // A symlink that stays inside is followed.
        assert!(t.select("inner/main.rs").unwrap()[0]
            .path
            .ends_with("src/main.rs"));
    }

    #[test]
    fn dockerignore_applies() {
        let (_d, t) = tree();
        assert!(t.select("secret").unwrap_err().contains(".dockerignore"));
        let src = &t.select("src").unwrap()[0];
        let names: Vec<String> = t.walk(src).unwrap().into_iter().map(|e| e.rel).collect();
        assert_eq!(names, vec!["main.rs", "sub"]);
    }

    #[test]
    fn image_roots_resolve_absolute_links_inside() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("usr/bin")).unwrap();
        fs::write(dir.path().join("usr/bin/tool"), "t").unwrap();
        symlink("/usr/bin", dir.path().join("bin")).unwrap();
        let t = SourceTree::image_root(dir.path());
        let s = t.select("/bin/tool").unwrap();
        assert_eq!(s[0].path, dir.path().join("usr/bin/tool"));
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean_relative("/a/./b/../c").as_deref(), Some("a/c"));
        assert_eq!(clean_relative("../x"), None);
        assert_eq!(clean_absolute("a/../../b/"), "/b");
        assert_eq!(clean_absolute("/"), "/");
    }
}
