//! `--userns=keep-id` for a rootless hoist (podman's flag): the user's own
//! uid and gid are themselves inside the container, container root is the
//! first subordinate id, and files the container makes in the user's
//! directories are the user's on the host.
//!
//! hoist already runs as root of a per-user namespace (the holder: its id 0
//! is the user, 1..N-1 the /etc/subuid range). The container gets a nested
//! namespace whose map is written by the monitor (root of the holder's
//! namespace may write any map within it): container 0..U-1 → holder 1..U,
//! container U → holder 0, container U+1..N-1 → holder U+1..N-1.
//!
//! The image's files must keep their owners inside, but the shared
//! snapshots store an image's id x as holder id x, which the nested map
//! shows as another id. An idmapped mount would fix that without a copy,
//! but overlayfs cannot be idmapped (EINVAL) and the layers' ext4 only by
//! real root; so, as podman does, each layer is copied once per mapping
//! with every owner x stored as the holder id the map gives container id x,
//! into `<snapshots>/idmapped/<mapping key>/<snapshot name>` (a temp dir
//! renamed into place when complete, shared by every container with that
//! mapping). `image prune`, `system prune` and `rmi` remove the copies no
//! named image and no container needs ([`remove_unused`]).

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::container::ContainerRecord;
use crate::error::{IoContext, Result, RuntimeError};
use crate::security::userns::{IdMap, UserNamespace, UsernsRequest};

/// The directory under `<root>/snapshots` holding the copies.
pub const COPIES: &str = "idmapped";

/// One of hoist's id maps seen from inside: the outside id of inside id 0
/// (the user's own) and how many ids it has from 0 without a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    outside: u32,
    size: u32,
}

fn parse_range(map: &str) -> Option<Range> {
    let mut lines: Vec<(u64, u64, u64)> = map
        .lines()
        .filter_map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            (f.len() == 3).then(|| (f[0], f[1], f[2]))
        })
        .collect();
    lines.sort();
    let outside = lines.iter().find(|l| l.0 == 0)?.1;
    let mut size = 0u64;
    for (inside, _, count) in lines {
        if inside == size {
            size += count;
        }
    }
    Some(Range {
        outside: u32::try_from(outside).ok()?,
        size: size.min(u64::from(u32::MAX)) as u32,
    })
}

/// The nested namespace's map for user id `user` in hoist's namespace of
/// `size` ids (inside ids 0..size, 0 being the user): container 0..U-1 →
/// 1..U, U → 0, U+1..size-1 → themselves. With fewer ids than U, the low
/// block is as large as the range allows.
fn maps_for(user: u32, size: u32) -> Vec<IdMap> {
    let low = user.min(size.saturating_sub(1));
    let mut maps = Vec::new();
    if low > 0 {
        maps.push(IdMap {
            container: 0,
            host: 1,
            size: low,
        });
    }
    maps.push(IdMap {
        container: user,
        host: 0,
        size: 1,
    });
    if u64::from(user) + 1 < u64::from(size) {
        maps.push(IdMap {
            container: user + 1,
            host: user + 1,
            size: size - user - 1,
        });
    }
    maps
}

/// The keep-id namespace for this process (root of hoist's namespace).
pub fn namespace() -> Result<UserNamespace> {
    let read = |file: &str| {
        let path = format!("/proc/self/{file}");
        std::fs::read_to_string(&path).ctx(|| format!("reading {path}"))
    };
    let (uid, gid) = (read("uid_map")?, read("gid_map")?);
    namespace_from(&uid, &gid)
}

fn namespace_from(uid_map: &str, gid_map: &str) -> Result<UserNamespace> {
    let bad = |what: &str| {
        RuntimeError::Invalid(format!(
            "--userns=keep-id: hoist's user namespace has no {what} map from 0"
        ))
    };
    let u = parse_range(uid_map).ok_or_else(|| bad("uid"))?;
    let g = parse_range(gid_map).ok_or_else(|| bad("gid"))?;
    if u.size < 2 || g.size < 2 {
        return Err(RuntimeError::Invalid(
            "--userns=keep-id: container root is your first subordinate id, and your user \
             has none (no line in /etc/subuid or /etc/subgid): add a range (usermod \
             --add-subuids 100000-165535 --add-subgids 100000-165535 USER) and stop \
             hoist's holder process, or run without --userns"
                .into(),
        ));
    }
    Ok(UserNamespace {
        uid_map: maps_for(u.outside, u.size),
        gid_map: maps_for(g.outside, g.size),
    })
}

/// The user a keep-id container runs as (and gets a passwd entry for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptUser {
    pub uid: u32,
    pub gid: u32,
    pub name: String,
    pub home: String,
}

impl KeptUser {
    /// For a record's namespace: Some when it is a rootless keep-id one
    /// (hoist's id 0, the user, is mapped into it).
    pub fn of(ns: Option<&UserNamespace>) -> Option<KeptUser> {
        let ns = ns.filter(|_| crate::rootless::active())?;
        let uid = UserNamespace::container_id(&ns.uid_map, 0)?;
        let gid = UserNamespace::container_id(&ns.gid_map, 0)?;
        let (name, home) = host_account(uid);
        Some(KeptUser {
            uid,
            gid,
            name,
            home,
        })
    }

    /// For `create`'s request, before the namespace is in a record.
    pub fn for_request(req: &UsernsRequest) -> Result<Option<KeptUser>> {
        match req {
            UsernsRequest::KeepId => Ok(Self::of(Some(&namespace()?))),
            _ => Ok(None),
        }
    }

    /// `UID:GID`, the process's user unless `--user` is given (podman's).
    pub fn user_spec(&self) -> String {
        format!("{}:{}", self.uid, self.gid)
    }

    /// The image's /etc/passwd or /etc/group (`text`) with an entry for
    /// the user added when it has none for the id; None: unchanged.
    pub fn with_entry(&self, path: &str, text: Option<&str>) -> Option<String> {
        let (id, line) = match path {
            "/etc/passwd" => (
                self.uid,
                format!(
                    "{n}:*:{}:{}:{n}:{}:/bin/sh\n",
                    self.uid,
                    self.gid,
                    self.home,
                    n = self.name
                ),
            ),
            "/etc/group" => (self.gid, format!("{}:x:{}:\n", self.name, self.gid)),
            _ => return None,
        };
        let text = text.unwrap_or_default();
        let has = text
            .lines()
            .any(|l| l.split(':').nth(2).and_then(|f| f.parse::<u32>().ok()) == Some(id));
        if has {
            return None;
        }
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&line);
        Some(out)
    }
}

/// The name and home of host uid `uid` (/etc/passwd of the host, which
/// hoist's namespace sees), else `$USER` and `$HOME` as podman falls back.
fn host_account(uid: u32) -> (String, String) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for l in passwd.lines() {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid) {
            return (f[0].to_string(), f[5].to_string());
        }
    }
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    (env("USER", "user"), env("HOME", "/"))
}

/// The /etc/passwd and /etc/group of a keep-id container whose image has
/// no entry for the user: written beside the container and bind-mounted.
pub fn etc_files(dir: &Path, rec: &ContainerRecord) -> Result<Vec<(&'static str, PathBuf)>> {
    let Some(kept) = KeptUser::of(rec.security.userns.as_ref()) else {
        return Ok(Vec::new());
    };
    let view = crate::rootview::RootView {
        dirs_top_first: rec.lowerdirs.iter().rev().cloned().collect(),
    };
    let mut out = Vec::new();
    for (path, name) in [("/etc/passwd", "passwd"), ("/etc/group", "group")] {
        if let Some(text) = kept.with_entry(path, view.read(path).as_deref()) {
            let file = dir.join(name);
            std::fs::write(&file, text).ctx(|| format!("writing {}", file.display()))?;
            // Root's inside, as the image's own file is.
            if let Some((uid, gid)) = rec.security.userns.as_ref().and_then(|ns| ns.root_ids()) {
                std::os::unix::fs::chown(&file, Some(uid), Some(gid))
                    .ctx(|| format!("giving {} to the container's root", file.display()))?;
            }
            out.push((path, file));
        }
    }
    Ok(out)
}

/// A keep-id container's way out on the default network: its child makes
/// its network namespace inside its own user namespace (one hoist's
/// namespace owns, it could not enter), so the helper (netrootless.rs) is
/// started on it once the maps are written, entering both, before the
/// child gets its rootfs. None when the container does not get the helper.
pub fn outbound(
    dir: &Path,
    rec: &ContainerRecord,
    pid: i32,
) -> Result<Option<hoist_network::rootless::Outbound>> {
    use hoist_network::rootless::{start, Options, Target};
    use std::os::fd::AsFd;
    if rec.security.userns.is_none() || !crate::netrootless::wanted(rec) {
        return Ok(None);
    }
    let open = |ns: &str| {
        let path = format!("/proc/{pid}/ns/{ns}");
        std::fs::File::open(&path).ctx(|| format!("opening {path}"))
    };
    let (netns, userns) = (open("net")?, open("user")?);
    let target = Target::Netns {
        netns: netns.as_fd(),
        userns: Some(userns.as_fd()),
    };
    let out = start(target, &Options::default())?;
    crate::netattach::write_etc(dir, rec, &[crate::netrootless::attachment()])?;
    Ok(Some(out))
}

/// The layers a container with namespace `ns` stacks: rootless, a
/// namespace of its own needs the copies owned for its map; otherwise the
/// shared snapshots (root's `--userns` idmaps them instead, core/idmap.rs).
pub fn layers_for(lowerdirs: Vec<PathBuf>, ns: Option<&UserNamespace>) -> Result<Vec<PathBuf>> {
    match ns {
        Some(ns) if crate::rootless::active() => copies(&lowerdirs, ns),
        _ => Ok(lowerdirs),
    }
}

/// The name of a mapping's directory: the same maps, the same copies.
fn mapping_key(ns: &UserNamespace) -> String {
    let text = format!(
        "uid\n{}gid\n{}",
        UserNamespace::map_text(&ns.uid_map),
        UserNamespace::map_text(&ns.gid_map)
    );
    hoist_oci::Digest::sha256_of(text.as_bytes()).hex()[..16].to_string()
}

/// The copy of each snapshot for `ns`, made where missing.
pub fn copies(lowerdirs: &[PathBuf], ns: &UserNamespace) -> Result<Vec<PathBuf>> {
    let key = mapping_key(ns);
    lowerdirs
        .iter()
        .map(|snapshot| {
            let (Some(name), Some(snapshots)) = (snapshot.file_name(), snapshot.parent()) else {
                return Err(RuntimeError::Invalid(format!(
                    "{} is not a snapshot directory",
                    snapshot.display()
                )));
            };
            let target = snapshots.join(COPIES).join(&key).join(name);
            if !target.exists() {
                copy_into_place(snapshot, &target, ns)?;
            }
            Ok(target)
        })
        .collect()
}

/// Copies `snapshot` to a temp dir beside `target`, synced, renamed into
/// place: a copy under its final name is always whole.
fn copy_into_place(snapshot: &Path, target: &Path, ns: &UserNamespace) -> Result<()> {
    let parent = target.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(".tmp-{:016x}", rand::random::<u64>()));
    std::fs::create_dir(&tmp).ctx(|| format!("creating {}", tmp.display()))?;
    let result = (|| {
        let mut copier = Copier {
            ns,
            links: HashMap::new(),
        };
        copier.dir_contents(snapshot, &tmp)?;
        let meta = std::fs::symlink_metadata(snapshot)
            .ctx(|| format!("reading {}", snapshot.display()))?;
        copier.finish(snapshot, &tmp, &meta)?;
        sync_filesystem(&tmp).ctx(|| format!("syncing the copy of {} to disk", snapshot.display()))
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(RuntimeError::Invalid(format!(
            "--userns: copying the layer {} for the container's id map: {e}",
            snapshot.display()
        )));
    }
    // Another create may have won the race: then theirs is kept.
    if std::fs::rename(&tmp, target).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        if !target.exists() {
            return Err(RuntimeError::Invalid(format!(
                "could not move the copied layer to {}",
                target.display()
            )));
        }
    }
    Ok(())
}

/// Writes everything cached for the filesystem holding `dir` to disk (one
/// syncfs for the whole copy, as snapshots are made durable).
fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let d = std::fs::File::open(dir)?;
    // SAFETY: syncfs only reads the descriptor, open for the call.
    if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A tree copy with every owner mapped; hardlinks stay hardlinks.
struct Copier<'a> {
    ns: &'a UserNamespace,
    /// (dev, inode) of a multiply linked file → its copy.
    links: HashMap<(u64, u64), PathBuf>,
}

impl Copier<'_> {
    fn dir_contents(&mut self, src: &Path, dst: &Path) -> Result<()> {
        for entry in std::fs::read_dir(src).ctx(|| format!("reading {}", src.display()))? {
            let entry = entry.ctx(|| format!("reading {}", src.display()))?;
            let (s, d) = (entry.path(), dst.join(entry.file_name()));
            let meta = std::fs::symlink_metadata(&s).ctx(|| format!("reading {}", s.display()))?;
            self.entry(&s, &d, &meta)?;
        }
        Ok(())
    }

    fn entry(&mut self, s: &Path, d: &Path, meta: &Metadata) -> Result<()> {
        let ft = meta.file_type();
        let made = |r: std::io::Result<()>| r.ctx(|| format!("creating {}", d.display()));
        if ft.is_dir() {
            made(std::fs::create_dir(d))?;
            self.dir_contents(s, d)?;
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key) {
                    return made(std::fs::hard_link(first, d));
                }
                self.links.insert(key, d.to_path_buf());
            }
            let mut from = std::fs::File::open(s).ctx(|| format!("opening {}", s.display()))?;
            let mut to = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(d)
                .ctx(|| format!("creating {}", d.display()))?;
            // copy_file_range: in the kernel, a reflink where the
            // filesystem has them.
            std::io::copy(&mut from, &mut to).ctx(|| format!("copying {}", s.display()))?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(s).ctx(|| format!("reading {}", s.display()))?;
            made(std::os::unix::fs::symlink(target, d))?;
        } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
            // Whiteouts (0/0 character devices) and FIFOs.
            let path = cpath(d)?;
            // SAFETY: mknod on a NUL-terminated path.
            let r = unsafe { libc::mknod(path.as_ptr(), meta.mode(), meta.rdev()) };
            if r != 0 {
                return made(Err(std::io::Error::last_os_error()));
            }
        } else {
            // Sockets are never in layers.
            return Ok(());
        }
        self.finish(s, d, meta)
    }

    /// Owner, mode, xattrs and times of `d` from `s`, in that order: chown
    /// clears set-uid bits and file capabilities.
    fn finish(&self, s: &Path, d: &Path, meta: &Metadata) -> Result<()> {
        let (uid, gid) = match (
            UserNamespace::host_id(&self.ns.uid_map, meta.uid()),
            UserNamespace::host_id(&self.ns.gid_map, meta.gid()),
        ) {
            (Some(u), Some(g)) => (u, g),
            _ => {
                return Err(RuntimeError::Invalid(format!(
                    "{} is owned by {}:{}, which the container's id map does not have \
                     (give your user a larger range in /etc/subuid and /etc/subgid)",
                    s.display(),
                    meta.uid(),
                    meta.gid()
                )))
            }
        };
        let what = || format!("setting the owner and mode of {}", d.display());
        std::os::unix::fs::lchown(d, Some(uid), Some(gid)).ctx(what)?;
        let symlink = meta.file_type().is_symlink();
        if !symlink {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
                .ctx(what)?;
        }
        copy_xattrs(s, d)?;
        let times = [
            libc::timespec {
                tv_sec: meta.atime(),
                tv_nsec: meta.atime_nsec(),
            },
            libc::timespec {
                tv_sec: meta.mtime(),
                tv_nsec: meta.mtime_nsec(),
            },
        ];
        let path = cpath(d)?;
        // SAFETY: utimensat on a NUL-terminated path with two timespecs.
        let r = unsafe {
            libc::utimensat(
                libc::AT_FDCWD,
                path.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if r != 0 {
            return Err(RuntimeError::io(
                format!("setting the times of {}", d.display()),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }
}

fn cpath(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| RuntimeError::Invalid(format!("{} contains a NUL byte", p.display())))
}

/// Every extended attribute of `s` (overlay's `user.overlay.opaque`, file
/// capabilities, ACLs, the image's own `user.*`) set on `d`.
fn copy_xattrs(s: &Path, d: &Path) -> Result<()> {
    let (sp, dp) = (cpath(s)?, cpath(d)?);
    let err = |what: String| RuntimeError::io(what, std::io::Error::last_os_error());
    // SAFETY: a size query (null buffer).
    let len = unsafe { libc::llistxattr(sp.as_ptr(), std::ptr::null_mut(), 0) };
    if len <= 0 {
        return Ok(());
    }
    let mut names = vec![0u8; len as usize];
    // SAFETY: the buffer is `names.len()` bytes.
    let len = unsafe { libc::llistxattr(sp.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if len < 0 {
        return Err(err(format!("listing the xattrs of {}", s.display())));
    }
    for name in names[..len as usize]
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
    {
        let cname = CString::new(name).expect("split at NUL bytes");
        let shown = String::from_utf8_lossy(name);
        // SAFETY: a size query, then a read into a buffer of that size.
        let size = unsafe { libc::lgetxattr(sp.as_ptr(), cname.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            return Err(err(format!("reading xattr {shown} of {}", s.display())));
        }
        let mut value = vec![0u8; size as usize];
        // SAFETY: as above.
        let size = unsafe {
            libc::lgetxattr(
                sp.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if size < 0 {
            return Err(err(format!("reading xattr {shown} of {}", s.display())));
        }
        // SAFETY: the value buffer holds `size` bytes.
        let r = unsafe {
            libc::lsetxattr(
                dp.as_ptr(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                size as usize,
                0,
            )
        };
        if r != 0 {
            return Err(err(format!("setting xattr {shown} on {}", d.display())));
        }
    }
    Ok(())
}

/// Removes the copies of snapshots not in `keep` (chain IDs that a named
/// image or a container's image has), and mapping dirs left empty. Returns
/// how many copies went and their size. Temp dirs of copies in progress
/// (dot-names) are left alone.
pub fn remove_unused(snapshots: &Path, keep: &HashSet<String>) -> (usize, u64) {
    let base = snapshots.join(COPIES);
    let Ok(keys) = std::fs::read_dir(&base) else {
        return (0, 0);
    };
    let (mut removed, mut bytes) = (0, 0);
    for key in keys.flatten() {
        let Ok(copies) = std::fs::read_dir(key.path()) else {
            continue;
        };
        for copy in copies.flatten() {
            let name = copy.file_name().to_string_lossy().into_owned();
            let hex = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex || keep.contains(&name) {
                continue;
            }
            // Out of the looked-up name first: nothing starts from a
            // half-removed copy.
            let aside = key
                .path()
                .join(format!(".gone-{:016x}", rand::random::<u64>()));
            if std::fs::rename(copy.path(), &aside).is_err() {
                continue;
            }
            let size = crate::fsutil::tree_size(&aside);
            if std::fs::remove_dir_all(&aside).is_ok() {
                removed += 1;
                bytes += size;
            }
        }
        // Only when nothing is left in it (an `empty` copy keeps it).
        let _ = std::fs::remove_dir(key.path());
    }
    let _ = std::fs::remove_dir(&base);
    (removed, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(container: u32, host: u32, size: u32) -> IdMap {
        IdMap {
            container,
            host,
            size,
        }
    }

    #[test]
    fn the_user_is_itself_and_root_the_first_subordinate_id() {
        // holder: 0 is uid 1000, 1..65536 the subordinate range.
        let ns =
            namespace_from("0 1000 1\n1 100000 65536\n", "0 1000 1\n1 100000 65536\n").unwrap();
        assert_eq!(
            ns.uid_map,
            vec![m(0, 1, 1000), m(1000, 0, 1), m(1001, 1001, 64536)]
        );
        let host = |id| UserNamespace::host_id(&ns.uid_map, id);
        assert_eq!(host(0), Some(1));
        assert_eq!(host(999), Some(1000));
        assert_eq!(host(1000), Some(0));
        assert_eq!(host(1001), Some(1001));
        assert_eq!(host(65536), Some(65536));
        assert_eq!(host(65537), None);
        // Every holder id is used once.
        let total: u32 = ns.uid_map.iter().map(|m| m.size).sum();
        assert_eq!(total, 65537);
        // Two ranges without a gap inside count as one.
        let two = parse_range("0 1000 1\n1 100000 10\n11 300000 5\n").unwrap();
        assert_eq!(
            two,
            Range {
                outside: 1000,
                size: 16
            }
        );
    }

    #[test]
    fn a_user_id_past_the_range_keeps_what_fits() {
        assert_eq!(maps_for(70000, 65537), vec![m(0, 1, 65536), m(70000, 0, 1)]);
        let e = namespace_from("0 1000 1\n", "0 1000 1\n").unwrap_err();
        assert!(e.to_string().contains("/etc/subuid"), "{e}");
    }

    #[test]
    fn a_passwd_entry_is_added_only_when_missing() {
        let kept = KeptUser {
            uid: 1000,
            gid: 1000,
            name: "alice".into(),
            home: "/home/alice".into(),
        };
        let image = "root:x:0:0:root:/root:/bin/sh";
        assert_eq!(
            kept.with_entry("/etc/passwd", Some(image)).unwrap(),
            "root:x:0:0:root:/root:/bin/sh\nalice:*:1000:1000:alice:/home/alice:/bin/sh\n"
        );
        let has = "bob:x:1000:1000::/home/bob:/bin/sh\n";
        assert_eq!(kept.with_entry("/etc/passwd", Some(has)), None);
        assert_eq!(
            kept.with_entry("/etc/group", None).unwrap(),
            "alice:x:1000:\n"
        );
    }

    #[test]
    fn a_copy_keeps_content_links_and_modes_and_maps_owners() {
        let tmp = tempfile::tempdir().unwrap();
        let snap = tmp.path().join("snapshots").join("a".repeat(64));
        std::fs::create_dir_all(snap.join("etc")).unwrap();
        std::fs::write(snap.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
        std::fs::hard_link(snap.join("etc/passwd"), snap.join("etc/link")).unwrap();
        std::os::unix::fs::symlink("passwd", snap.join("etc/sym")).unwrap();
        std::fs::set_permissions(snap.join("etc"), std::fs::Permissions::from_mode(0o750)).unwrap();
        // The identity map: owners stay (as root, the test cannot make a
        // nested namespace's ids; the e2e test checks mapped owners).
        let ns = UserNamespace {
            uid_map: vec![m(0, 0, 65536)],
            gid_map: vec![m(0, 0, 65536)],
        };
        let copy = copies(std::slice::from_ref(&snap), &ns).unwrap().remove(0);
        assert!(copy.starts_with(tmp.path().join("snapshots").join(COPIES)));
        assert_eq!(
            std::fs::read_to_string(copy.join("etc/passwd")).unwrap(),
            "root:x:0:0::/:/bin/sh\n"
        );
        let ino = |p: &str| std::fs::metadata(copy.join(p)).unwrap().ino();
        assert_eq!(ino("etc/passwd"), ino("etc/link"));
        assert_eq!(
            std::fs::read_link(copy.join("etc/sym")).unwrap(),
            Path::new("passwd")
        );
        let mode = std::fs::metadata(copy.join("etc")).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o750);
        // Made once: a second call finds it.
        let again = copies(std::slice::from_ref(&snap), &ns).unwrap();
        assert_eq!(again, vec![copy.clone()]);
        // Unneeded copies go, needed ones stay.
        let snapshots = tmp.path().join("snapshots");
        let keep: HashSet<String> = ["a".repeat(64)].into();
        assert_eq!(remove_unused(&snapshots, &keep).0, 0);
        assert!(copy.exists());
        assert_eq!(remove_unused(&snapshots, &HashSet::new()).0, 1);
        assert!(!snapshots.join(COPIES).exists());
    }

    #[test]
    fn an_owner_outside_the_map_fails_the_copy_and_leaves_nothing() {
        // It chowns a file to an id of its own choosing.
        hoist_testkit::require_root!();
        let tmp = tempfile::tempdir().unwrap();
        let snap = tmp.path().join("snapshots").join("b".repeat(64));
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("f"), "x").unwrap();
        std::os::unix::fs::chown(snap.join("f"), Some(70000), Some(0)).unwrap();
        let ns = UserNamespace {
            uid_map: vec![m(0, 0, 65536)],
            gid_map: vec![m(0, 0, 65536)],
        };
        let e = copies(std::slice::from_ref(&snap), &ns).unwrap_err();
        assert!(e.to_string().contains("70000"), "{e}");
        let key_dir = std::fs::read_dir(tmp.path().join("snapshots").join(COPIES))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        assert_eq!(std::fs::read_dir(key_dir).unwrap().count(), 0);
    }
}
