//! Where a rootless hoist keeps transient state: `$XDG_RUNTIME_DIR/hoist`
//! (the session's private tmpfs, /run/user/UID). When XDG_RUNTIME_DIR is
//! unset or is not the user's own private directory (a `su` or cron
//! session), `/tmp/hoist-run-UID`, as podman falls back: made 0700 and
//! checked to be a directory the user owns that nobody else may use, since
//! in a world-writable /tmp someone else may have made it first. The
//! choice is exported as XDG_RUNTIME_DIR, so every hoist process started
//! from this one (monitors, `hoist unshare`) decides the same.

use anyhow::{bail, Context};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The user's runtime directory, checked or made, and exported.
pub fn runtime_dir(uid: u32) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if private_to(&dir, uid).is_ok() {
            return Ok(dir);
        }
    }
    let dir = std::env::temp_dir().join(format!("hoist-run-{uid}"));
    make_private(&dir, uid)?;
    std::env::set_var("XDG_RUNTIME_DIR", &dir);
    Ok(dir)
}

/// `dir` made (mode 0700) if missing, then checked.
pub fn make_private(dir: &Path, uid: u32) -> anyhow::Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
    }
    private_to(dir, uid)
}

/// A directory (not a symlink) owned by `uid` that others cannot use.
fn private_to(dir: &Path, uid: u32) -> anyhow::Result<()> {
    let meta = dir
        .symlink_metadata()
        .with_context(|| format!("reading {}", dir.display()))?;
    let mode = meta.permissions().mode() & 0o7777;
    if !meta.file_type().is_dir() {
        bail!(
            "refusing {}: it is not a directory (a symlink?); remove it",
            dir.display()
        );
    }
    if meta.uid() != uid {
        bail!(
            "refusing {}: it belongs to uid {}, not to you (uid {uid}); remove it or set XDG_RUNTIME_DIR",
            dir.display(),
            meta.uid()
        );
    }
    if mode & 0o077 != 0 {
        bail!(
            "refusing {}: others may use it (mode {mode:o}); make it 0700",
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_private_directory_of_ours_is_taken() {
        let t = tempfile::tempdir().unwrap();
        let me = nix::unistd::geteuid().as_raw();
        let ok = t.path().join("ok");
        make_private(&ok, me).unwrap();
        assert_eq!(ok.metadata().unwrap().permissions().mode() & 0o777, 0o700);
        make_private(&ok, me).unwrap();

        let open = t.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = make_private(&open, me).unwrap_err().to_string();
        assert!(err.contains("others may use it"), "{err}");

        let err = make_private(&ok, me + 1).unwrap_err().to_string();
        assert!(err.contains("not to you"), "{err}");

        let link = t.path().join("link");
        std::os::unix::fs::symlink(&ok, &link).unwrap();
        let err = make_private(&link, me).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
    }
}
