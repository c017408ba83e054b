//! Writing COPY/ADD results into a staging tree that becomes a layer: files
//! keep their mode and mtime, get the requested owner, and parent directories
//! copy the metadata the image already has for them (so COPY into /tmp does
//! not turn a 1777 /tmp into 0755).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use filetime::FileTime;

/// Who owns what COPY writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    pub const ROOT: Owner = Owner { uid: 0, gid: 0 };
}

/// Parses `--chown=USER[:GROUP]`, looking names up in the image's
/// /etc/passwd and /etc/group (at `rootfs`). A lone user sets the group to
/// the same number, as docker does.
pub(crate) fn parse_chown(spec: &str, rootfs: &Path) -> Result<Owner, String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let uid = id_of(user, &rootfs.join("etc/passwd"), "user")?;
    let gid = match group {
        Some(g) => id_of(g, &rootfs.join("etc/group"), "group")?,
        None => uid,
    };
    Ok(Owner { uid, gid })
}

fn id_of(name: &str, table: &Path, what: &str) -> Result<u32, String> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    let text = fs::read_to_string(table).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let n = f.next()?;
            f.next();
            let id = f.next()?.parse::<u32>().ok()?;
            Some((n, id))
        })
        .find(|(n, _)| *n == name)
        .map(|(_, id)| id)
        .ok_or_else(|| {
            format!(
                "--chown: no {what} named {name:?} in the image's /{}",
                table
                    .file_name()
                    .map_or(String::new(), |f| format!("etc/{}", f.to_string_lossy()))
            )
        })
}

/// Staging tree under construction.
pub(crate) struct Staging<'a> {
    pub root: PathBuf,
    /// The image's root filesystem, for the metadata of existing directories.
    pub image: &'a Path,
    pub owner: Owner,
    pub chmod: Option<u32>,
}

fn chown(path: &Path, owner: Owner) -> std::io::Result<()> {
    match std::os::unix::fs::lchown(path, Some(owner.uid), Some(owner.gid)) {
        // Without root the owner cannot change; the layer records ours.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(()),
        other => other,
    }
}

impl Staging<'_> {
    fn staged(&self, image_path: &str) -> PathBuf {
        self.root.join(image_path.trim_start_matches('/'))
    }

    /// Creates the directories above `image_path` (and it, when `itself`).
    pub fn parents(&self, image_path: &str, itself: bool) -> std::io::Result<()> {
        let parts: Vec<&str> = image_path.split('/').filter(|p| !p.is_empty()).collect();
        let upto = if itself {
            parts.len()
        } else {
            parts.len().saturating_sub(1)
        };
        let mut current = String::new();
        for part in &parts[..upto] {
            current.push('/');
            current.push_str(part);
            let staged = self.staged(&current);
            if staged.symlink_metadata().is_ok() {
                continue;
            }
            fs::create_dir(&staged)?;
            match self
                .image
                .join(current.trim_start_matches('/'))
                .symlink_metadata()
            {
                Ok(m) if m.is_dir() => {
                    fs::set_permissions(&staged, fs::Permissions::from_mode(m.mode() & 0o7777))?;
                    chown(
                        &staged,
                        Owner {
                            uid: m.uid(),
                            gid: m.gid(),
                        },
                    )?;
                    let mtime = FileTime::from_last_modification_time(&m);
                    filetime::set_file_mtime(&staged, mtime)?;
                }
                _ => {
                    fs::set_permissions(&staged, fs::Permissions::from_mode(0o755))?;
                    chown(&staged, self.owner)?;
                }
            }
        }
        Ok(())
    }

    /// Copies one file, symlink or directory (not its contents) to `image_path`.
    pub fn put(&self, source: &Path, meta: &fs::Metadata, image_path: &str) -> std::io::Result<()> {
        self.parents(image_path, false)?;
        self.put_in_place(source, meta, image_path)
    }

    /// Like `put`, when the parent directory is known to be staged already.
    pub fn put_in_place(
        &self,
        source: &Path,
        meta: &fs::Metadata,
        image_path: &str,
    ) -> std::io::Result<()> {
        let dst = self.staged(image_path);
        let ft = meta.file_type();
        if ft.is_dir() {
            if dst.symlink_metadata().is_err() {
                fs::create_dir(&dst)?;
            }
            let mode = self.chmod.unwrap_or(meta.mode() & 0o7777);
            fs::set_permissions(&dst, fs::Permissions::from_mode(mode))?;
        } else if ft.is_symlink() {
            let _ = fs::remove_file(&dst);
            std::os::unix::fs::symlink(fs::read_link(source)?, &dst)?;
        } else if ft.is_file() {
            let _ = fs::remove_file(&dst);
            fs::copy(source, &dst)?;
            let mode = self.chmod.unwrap_or(meta.mode() & 0o7777);
            fs::set_permissions(&dst, fs::Permissions::from_mode(mode))?;
        } else {
            return Ok(()); // sockets, fifos and devices are not copied
        }
        chown(&dst, self.owner)?;
        let mtime = FileTime::from_last_modification_time(meta);
        filetime::set_symlink_file_times(&dst, mtime, mtime)?;
        Ok(())
    }

    pub fn staged_path(&self, image_path: &str) -> PathBuf {
        self.staged(image_path)
    }
}
