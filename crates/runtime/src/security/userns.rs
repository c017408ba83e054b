//! User namespaces: `--userns=host|auto[:size=N]` and `--uidmap`/`--gidmap
//! CONTAINER:HOST:SIZE` (podman's flags; docker's per-container equivalent is
//! `--userns=host` against a daemon-wide `--userns-remap`). Container root
//! becomes an unprivileged host uid; the image's layers are shown to it as
//! its own through idmapped mounts (core/idmap.rs), never copied.
//!
//! `auto` takes a free block of 65536 ids from hoist's own range and records
//! it as `<root>/userns/<block>` holding the container's id, created with
//! O_EXCL so two creates never get the same block. A block whose container
//! record is gone is free again (rm needs no extra step).
//!
//! `keep-id` is a rootless hoist's only (crate::keepid): the user's own
//! ids as themselves inside, over chowned copies of the image's layers.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, RuntimeError};

/// One line of a uid or gid map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// A container's mappings, as kept in its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserNamespace {
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
}

/// The ids `auto` hands out: blocks of `AUTO_SIZE` from `AUTO_BASE` up.
/// Far above any login user's id and the usual /etc/subuid ranges
/// (100000 + 65536·n for the first few hundred users).
pub const AUTO_BASE: u32 = 1_000_000_000;
pub const AUTO_SIZE: u32 = 65_536;
const AUTO_BLOCKS: u32 = 16_384;
/// The largest id the kernel maps (u32::MAX is the invalid id).
const MAX_ID: u64 = u32::MAX as u64 - 1;

/// What the flags asked for, before `auto` is given its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsernsRequest {
    Host,
    Auto {
        size: u32,
    },
    Maps(UserNamespace),
    /// `keep-id` (rootless only): the user's own ids as themselves inside
    /// (keepid.rs builds the maps from hoist's namespace).
    KeepId,
}

fn invalid(msg: String) -> RuntimeError {
    RuntimeError::Invalid(msg)
}

impl IdMap {
    /// `CONTAINER:HOST:SIZE`.
    pub fn parse(flag: &str, text: &str) -> Result<IdMap> {
        let usage = || {
            invalid(format!(
                "{flag} {text:?}: expected CONTAINER:HOST:SIZE (e.g. 0:100000:65536)"
            ))
        };
        let parts: Vec<&str> = text.split(':').collect();
        let [c, h, s] = parts.as_slice() else {
            return Err(usage());
        };
        let num = |p: &str| p.trim().parse::<u32>().map_err(|_| usage());
        let map = IdMap {
            container: num(c)?,
            host: num(h)?,
            size: num(s)?,
        };
        if map.size == 0 {
            return Err(invalid(format!(
                "{flag} {text:?}: the size must be at least 1"
            )));
        }
        for (what, start) in [("container", map.container), ("host", map.host)] {
            if start as u64 + map.size as u64 - 1 > MAX_ID {
                return Err(invalid(format!(
                    "{flag} {text:?}: the {what} range {start}..{} goes past the largest id {MAX_ID}",
                    start as u64 + map.size as u64
                )));
            }
        }
        Ok(map)
    }

    fn end(start: u32, size: u32) -> u64 {
        start as u64 + size as u64
    }
}

/// Refuses maps whose container or host ranges overlap (the kernel would
/// refuse them too, but only at start and with a bare EINVAL).
fn check_disjoint(flag: &str, maps: &[IdMap]) -> Result<()> {
    if maps.len() > 340 {
        return Err(invalid(format!("{flag}: at most 340 ranges")));
    }
    for (i, a) in maps.iter().enumerate() {
        for b in &maps[i + 1..] {
            for (what, x, y) in [
                ("container", a.container, b.container),
                ("host", a.host, b.host),
            ] {
                if (x as u64) < IdMap::end(y, b.size) && (y as u64) < IdMap::end(x, a.size) {
                    return Err(invalid(format!(
                        "{flag}: the {what} ranges {x}:{} and {y}:{} overlap",
                        a.size, b.size
                    )));
                }
            }
        }
    }
    Ok(())
}

impl UserNamespace {
    /// The host id container id `id` maps to.
    pub fn host_id(maps: &[IdMap], id: u32) -> Option<u32> {
        maps.iter()
            .find(|m| id >= m.container && (id as u64) < IdMap::end(m.container, m.size))
            .map(|m| m.host + (id - m.container))
    }
    /// The container id host id `id` appears as (the inverse of [`Self::host_id`]).
    pub fn container_id(maps: &[IdMap], id: u32) -> Option<u32> {
        maps.iter()
            .find(|m| id >= m.host && (id as u64) < IdMap::end(m.host, m.size))
            .map(|m| m.container + (id - m.host))
    }
    /// The host uid and gid container root runs as.
    pub fn root_ids(&self) -> Option<(u32, u32)> {
        Some((
            Self::host_id(&self.uid_map, 0)?,
            Self::host_id(&self.gid_map, 0)?,
        ))
    }
    /// The text written to /proc/PID/uid_map (or gid_map).
    pub fn map_text(maps: &[IdMap]) -> String {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
            .collect()
    }
}

impl UsernsRequest {
    /// From `--userns`, `--uidmap` and `--gidmap`. A `--uidmap` alone maps
    /// gids the same way (podman does too).
    pub fn from_flags(
        userns: Option<&str>,
        uidmap: &[String],
        gidmap: &[String],
    ) -> Result<UsernsRequest> {
        let maps = !uidmap.is_empty() || !gidmap.is_empty();
        let mode = userns.map(str::trim).filter(|s| !s.is_empty());
        match mode {
            None | Some("host") if !maps => return Ok(UsernsRequest::Host),
            None => {}
            Some(m) if maps => {
                return Err(invalid(format!(
                    "--userns={m} and --uidmap/--gidmap exclude each other: give one of them"
                )))
            }
            Some("auto") => return Ok(UsernsRequest::Auto { size: AUTO_SIZE }),
            Some(m) if m.starts_with("auto:") => {
                let size = m
                    .strip_prefix("auto:size=")
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| (1..=AUTO_SIZE).contains(n))
                    .ok_or_else(|| {
                        invalid(format!(
                            "--userns={m}: expected auto or auto:size=N with N from 1 to {AUTO_SIZE}"
                        ))
                    })?;
                return Ok(UsernsRequest::Auto { size });
            }
            Some("keep-id") if crate::rootless::active() => return Ok(UsernsRequest::KeepId),
            Some("keep-id") => {
                return Err(invalid(
                    "--userns=keep-id maps the calling user's own id, which only means something \
                     to a rootless hoist (as to rootless podman); hoist runs as root: use --userns=auto or --uidmap"
                        .into(),
                ))
            }
            Some(m) => {
                return Err(invalid(format!(
                    "--userns={m}: expected host, auto, auto:size=N or keep-id (or --uidmap/--gidmap)"
                )))
            }
        }
        let parse = |flag: &str, list: &[String]| -> Result<Vec<IdMap>> {
            let maps = list
                .iter()
                .map(|m| IdMap::parse(flag, m))
                .collect::<Result<Vec<_>>>()?;
            check_disjoint(flag, &maps)?;
            Ok(maps)
        };
        let uid_map = parse("--uidmap", uidmap)?;
        let gid_map = parse("--gidmap", gidmap)?;
        let (uid_map, gid_map) = match (uid_map.is_empty(), gid_map.is_empty()) {
            (false, true) => (uid_map.clone(), uid_map),
            (true, false) => (gid_map.clone(), gid_map),
            _ => (uid_map, gid_map),
        };
        let ns = UserNamespace { uid_map, gid_map };
        if ns.root_ids().is_none() {
            return Err(invalid(
                "--uidmap/--gidmap must map container id 0 (root owns the image's files)".into(),
            ));
        }
        Ok(UsernsRequest::Maps(ns))
    }

    /// The mappings for container `id`: `auto` takes a block here.
    pub fn resolve(&self, root: &Path, id: &str) -> Result<Option<UserNamespace>> {
        match self {
            UsernsRequest::Host => Ok(None),
            UsernsRequest::Maps(ns) => Ok(Some(ns.clone())),
            UsernsRequest::KeepId => crate::keepid::namespace().map(Some),
            UsernsRequest::Auto { size } => {
                let host = allocate(root, id)?;
                let map = vec![IdMap {
                    container: 0,
                    host,
                    size: *size,
                }];
                Ok(Some(UserNamespace {
                    uid_map: map.clone(),
                    gid_map: map,
                }))
            }
        }
    }
}

fn blocks_dir(root: &Path) -> PathBuf {
    root.join("userns")
}

/// Claims the first free block for container `id`; returns its first host id.
fn allocate(root: &Path, id: &str) -> Result<u32> {
    let dir = blocks_dir(root);
    std::fs::create_dir_all(&dir)
        .map_err(|e| RuntimeError::io(format!("creating {}", dir.display()), e))?;
    for block in 0..AUTO_BLOCKS {
        let path = dir.join(block.to_string());
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(id.as_bytes())
                        .map_err(|e| RuntimeError::io(format!("writing {}", path.display()), e))?;
                    return Ok(AUTO_BASE + block * AUTO_SIZE);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !is_stale(root, &path) {
                        break;
                    }
                    // Its container is gone: free the block and try again
                    // (another create may win it; then the next one is tried).
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(RuntimeError::io(format!("creating {}", path.display()), e)),
            }
        }
    }
    Err(invalid(format!(
        "--userns=auto: all {AUTO_BLOCKS} blocks of {AUTO_SIZE} ids are taken (remove containers)"
    )))
}

/// A block is stale when the container it names has no record, and it is
/// older than a create takes (a create claims its block before it saves
/// its record).
fn is_stale(root: &Path, block: &Path) -> bool {
    let old = std::fs::metadata(block)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > std::time::Duration::from_secs(STALE_AFTER_SECS));
    old && std::fs::read_to_string(block)
        .is_ok_and(|owner| crate::container::load(root, &owner).is_err())
}

/// How old an unowned block must be before it is taken back.
const STALE_AFTER_SECS: u64 = 60;

/// Frees container `id`'s block now (rm frees it lazily otherwise).
pub fn release(root: &Path, ns: &UserNamespace, id: &str) {
    let Some(first) = ns.uid_map.first() else {
        return;
    };
    if first.host < AUTO_BASE || !(first.host - AUTO_BASE).is_multiple_of(AUTO_SIZE) {
        return;
    }
    let path = blocks_dir(root).join(((first.host - AUTO_BASE) / AUTO_SIZE).to_string());
    if std::fs::read_to_string(&path).is_ok_and(|owner| owner == id) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn maps_parse_and_gids_follow_uids() {
        let r = UsernsRequest::from_flags(None, &s(&["0:100000:65536"]), &[]).unwrap();
        let UsernsRequest::Maps(ns) = r else { panic!() };
        assert_eq!(ns.uid_map, ns.gid_map);
        assert_eq!(ns.root_ids(), Some((100000, 100000)));
        assert_eq!(UserNamespace::host_id(&ns.uid_map, 1000), Some(101000));
        assert_eq!(UserNamespace::host_id(&ns.uid_map, 65536), None);
        assert_eq!(UserNamespace::map_text(&ns.uid_map), "0 100000 65536\n");
    }

    #[test]
    fn bad_maps_are_refused_with_the_reason() {
        let err = |u: &[&str]| {
            UsernsRequest::from_flags(None, &s(u), &[])
                .unwrap_err()
                .to_string()
        };
        assert!(err(&["0:100000:0"]).contains("at least 1"));
        assert!(err(&["0:4294967000:65536"]).contains("goes past"));
        assert!(err(&["0:100000:10", "5:200000:10"]).contains("container ranges"));
        assert!(err(&["0:100000:10", "10:100005:10"]).contains("host ranges"));
        assert!(err(&["0:100000"]).contains("CONTAINER:HOST:SIZE"));
        assert!(err(&["1:100000:10"]).contains("map container id 0"));
        let e = UsernsRequest::from_flags(Some("keep-id"), &[], &[]).unwrap_err();
        assert!(e.to_string().contains("--userns=auto"), "{e}");
        let e = UsernsRequest::from_flags(Some("auto"), &s(&["0:1:1"]), &[]).unwrap_err();
        assert!(e.to_string().contains("exclude"), "{e}");
        assert_eq!(
            UsernsRequest::from_flags(Some("host"), &[], &[]).unwrap(),
            UsernsRequest::Host
        );
        assert_eq!(
            UsernsRequest::from_flags(Some("auto:size=1024"), &[], &[]).unwrap(),
            UsernsRequest::Auto { size: 1024 }
        );
    }

    #[test]
    fn auto_blocks_are_disjoint_and_reclaimed() {
        let root = tempfile::tempdir().unwrap();
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let x = allocate(root.path(), &a).unwrap();
        let y = allocate(root.path(), &b).unwrap();
        assert_ne!(x, y);
        assert!(x >= AUTO_BASE && y >= AUTO_BASE);
        // A block claimed a moment ago is not taken back (its create may
        // not have saved its record yet); one whose container is long gone is.
        let z = allocate(root.path(), &"c".repeat(64)).unwrap();
        assert!(z != x && z != y);
        let first = root.path().join("userns/0");
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&first)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(allocate(root.path(), &"d".repeat(64)).unwrap(), x);
    }
}
