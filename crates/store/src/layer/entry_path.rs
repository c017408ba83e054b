//! Entry names from a tar: normalized to a relative path of plain components,
//! or refused. Policy (documented in ARCHITECTURE.md): absolute names and any
//! `..` component are refused (not stripped), `.` components and repeated
//! slashes are dropped, and an empty result is the root entry itself.

use super::limits::{MAX_DEPTH, NAME_MAX, PATH_MAX};
use super::LayerError;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// A normalized relative entry path: non-empty plain components.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct EntryPath {
    pub(crate) components: Vec<OsString>,
}

impl EntryPath {
    pub(crate) fn is_root(&self) -> bool {
        self.components.is_empty()
    }
    pub(crate) fn parent(&self) -> &[OsString] {
        &self.components[..self.components.len().saturating_sub(1)]
    }
    pub(crate) fn file_name(&self) -> &OsStr {
        self.components
            .last()
            .map(|c| c.as_os_str())
            .unwrap_or(OsStr::new(""))
    }
    /// The path as `a/b/c` bytes (a key for sets of paths).
    pub(crate) fn key(&self) -> Vec<u8> {
        join(&self.components)
    }
}

pub(crate) fn join(components: &[OsString]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, c) in components.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(c.as_bytes());
    }
    out
}

/// Displayable form of raw entry name bytes (for error messages).
pub(crate) fn display(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// Normalizes a raw tar name (`entry` is what errors call it). Names that
/// no Linux filesystem can hold (a component over NAME_MAX, a path over
/// PATH_MAX) are refused here, so validation refuses what unpack could not
/// create.
pub(crate) fn normalize(raw: &[u8], entry: &str) -> Result<EntryPath, LayerError> {
    if raw.first() == Some(&b'/') {
        return Err(LayerError::unsafe_entry(entry, "absolute path"));
    }
    let mut components = Vec::new();
    let mut length = 0usize;
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => continue,
            b".." => {
                return Err(LayerError::unsafe_entry(
                    entry,
                    "path contains a `..` component",
                ))
            }
            _ if part.len() > NAME_MAX => {
                return Err(too_long(
                    entry,
                    format!(
                        "a path component of {} bytes is longer than the {NAME_MAX} bytes a file name may have",
                        part.len()
                    ),
                ))
            }
            _ => {
                length += part.len() + usize::from(!components.is_empty());
                components.push(OsStr::from_bytes(part).to_os_string());
            }
        }
    }
    if components.len() > MAX_DEPTH {
        return Err(LayerError::unsafe_entry(
            entry,
            format!("path deeper than {MAX_DEPTH} components"),
        ));
    }
    if length > PATH_MAX {
        return Err(too_long(
            entry,
            format!(
                "the path of {length} bytes is longer than the {PATH_MAX} bytes a path may have"
            ),
        ));
    }
    Ok(EntryPath { components })
}

fn too_long(entry: &str, reason: String) -> LayerError {
    LayerError::Limit {
        entry: entry.to_string(),
        reason,
    }
}

/// What an entry's final name means under the OCI whiteout convention.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout {
    /// Not a whiteout.
    None,
    /// `.wh..wh..opq`: the parent directory is opaque.
    Opaque,
    /// `.wh.NAME`: NAME is deleted.
    Remove(OsString),
    /// Other `.wh..wh.` names (aufs bookkeeping): ignored, like docker does.
    Ignore,
}

pub(crate) const WHITEOUT_PREFIX: &str = ".wh.";
pub(crate) const OPAQUE_NAME: &str = ".wh..wh..opq";

pub(crate) fn classify(name: &OsStr, entry: &str) -> Result<Whiteout, LayerError> {
    let bytes = name.as_bytes();
    if bytes == OPAQUE_NAME.as_bytes() {
        return Ok(Whiteout::Opaque);
    }
    if bytes.starts_with(b".wh..wh.") {
        return Ok(Whiteout::Ignore);
    }
    match bytes.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
        None => Ok(Whiteout::None),
        Some(b"") | Some(b".") | Some(b"..") => Err(LayerError::unsafe_entry(
            entry,
            "whiteout names no valid file",
        )),
        Some(target) => Ok(Whiteout::Remove(OsStr::from_bytes(target).to_os_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(raw: &str) -> Vec<String> {
        normalize(raw.as_bytes(), raw)
            .unwrap()
            .components
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn normalizes_harmless_forms() {
        assert_eq!(comps("./a//b/./c/"), ["a", "b", "c"]);
        assert!(comps("./").is_empty());
        assert_eq!(comps("a..b/..c"), ["a..b", "..c"]);
    }

    #[test]
    fn refuses_escapes() {
        for bad in ["/etc/x", "../x", "a/../../x", "a/..", "//x"] {
            let err = normalize(bad.as_bytes(), bad).unwrap_err();
            assert!(
                matches!(err, LayerError::Unsafe { ref entry, .. } if entry == bad),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn refuses_names_no_filesystem_holds() {
        let long = "n".repeat(NAME_MAX + 1);
        let err = normalize(long.as_bytes(), &long).unwrap_err();
        assert!(err.to_string().contains("256 bytes"), "{err}");
        assert_eq!(comps(&"n".repeat(NAME_MAX)).len(), 1);
        // 20 components of 250 bytes: each fits, the whole does not.
        let deep = vec!["d".repeat(250); 20].join("/");
        let err = normalize(deep.as_bytes(), &deep).unwrap_err();
        assert!(err.to_string().contains("5019 bytes"), "{err}");
        let fits = vec!["d".repeat(250); 16].join("/");
        assert_eq!(comps(&fits).len(), 16);
    }

    #[test]
    fn classifies_whiteouts() {
        let c = |n: &str| classify(OsStr::new(n), n);
        assert_eq!(c("x").unwrap(), Whiteout::None);
        assert_eq!(c(".wh..wh..opq").unwrap(), Whiteout::Opaque);
        assert_eq!(c(".wh.foo").unwrap(), Whiteout::Remove("foo".into()));
        assert_eq!(c(".wh..wh.plnk").unwrap(), Whiteout::Ignore);
        assert!(c(".wh...").is_err());
        assert!(c(".wh.").is_err());
    }
}
