//! Files only a step may read (a secret, a heredoc script): in a 0700
//! directory on /dev/shm, so a secret never touches the disk, named after
//! the build's PID so that a killed build's files are swept by the next.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::cachemount::Ownership;
use crate::error::{BuildError, Result};

/// A file only root can reach, holding `bytes` (a secret or a script), in
/// a tmpfs when there is one, so a secret never touches the disk.
pub(crate) fn private_file(
    bytes: &[u8],
    owner: Ownership,
    scratch: &Path,
) -> Result<tempfile::TempDir> {
    let shm = Path::new(SHM);
    // The build's PID in the name lets a later build remove what a killed
    // one left (`sweep_private_files`).
    let prefix = format!("{PRIVATE_PREFIX}{}-", std::process::id());
    let dir = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(if shm.is_dir() { shm } else { scratch })
        .or_else(|_| tempfile::Builder::new().prefix(&prefix).tempdir_in(scratch))
        .map_err(BuildError::io(
            "cannot make a private directory for a secret",
        ))?;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))
        .map_err(BuildError::io("cannot protect a secret's directory"))?;
    let file = dir.path().join("secret");
    fs::write(&file, bytes).map_err(BuildError::io("cannot write a secret"))?;
    fs::set_permissions(&file, fs::Permissions::from_mode(owner.mode))
        .map_err(BuildError::io("cannot set a secret's mode"))?;
    match std::os::unix::fs::chown(&file, Some(owner.uid), Some(owner.gid)) {
        Err(e) if e.raw_os_error() != Some(libc::EPERM) => {
            return Err(BuildError::Io {
                what: "cannot set a secret's owner".into(),
                source: e,
            })
        }
        _ => {}
    }
    Ok(dir)
}

const SHM: &str = "/dev/shm";
const PRIVATE_PREFIX: &str = "hoist-build-";

/// Removes the secret files of builds that were killed before they could
/// (their PID no longer runs); called when a build starts.
pub(crate) fn sweep_private_files() {
    let Ok(entries) = fs::read_dir(SHM) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix(PRIVATE_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_of_dead_builds_are_swept() {
        if !Path::new(SHM).is_dir() {
            return;
        }
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = Path::new(SHM).join(format!("{PRIVATE_PREFIX}{dead}-test"));
        fs::create_dir_all(&stale).unwrap();
        fs::write(stale.join("secret"), "x").unwrap();
        let owner = Ownership {
            mode: 0o400,
            uid: 0,
            gid: 0,
        };
        let scratch = tempfile::tempdir().unwrap();
        let live = private_file(b"y", owner, scratch.path()).unwrap();
        sweep_private_files();
        assert!(!stale.exists(), "a dead build's secret stays");
        assert!(
            live.path().join("secret").exists(),
            "a live build's secret went"
        );
    }
}
