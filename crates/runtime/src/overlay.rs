//! The overlay mount options of a container's rootfs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::oneshot::overlay_options;

/// `lowerdir=...,upperdir=...,workdir=...` for a container, `volatile` when
/// its upper dir is thrown away at exit (`--rm`), as podman mounts `--rm`
/// containers. A volatile overlay skips every sync of the upper filesystem,
/// above all the syncfs of the whole upper filesystem when the container's
/// mount namespace goes: that sync was ~2 ms of each `run --rm` on ext4 here.
/// The crash safety it gives up is worth nothing for a directory deleted at
/// exit. A volatile mount leaves `work/work/incompat/volatile` behind, and
/// overlayfs refuses the next mount while it exists (after a crash the upper
/// dir may be incomplete); a `--rm` container is never mounted twice except
/// when `start` runs it again, and then its upper dir is its own to keep, so
/// the marker is cleared first.
/// `dir` is the container's run dir; upper/ and work/ are in its record dir.
pub fn container_overlay(lowers: &[PathBuf], dir: &Path, throwaway: bool) -> String {
    let record = crate::container::paths::record_of(dir);
    let (upper, work) = (record.join("upper"), record.join("work"));
    let mut options = overlay_options(lowers, &upper, &work);
    if throwaway && volatile_supported() {
        let _ = std::fs::remove_dir_all(work.join("work/incompat"));
        options.push_str(",volatile");
    }
    options
}

/// overlayfs has `volatile` since Linux 5.10.
fn volatile_supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let Ok(uts) = nix::sys::utsname::uname() else {
            return false;
        };
        release_at_least(&uts.release().to_string_lossy(), (5, 10))
    })
}

/// Whether a kernel release string (`uname -r`) is at least `major.minor`.
pub(crate) fn release_at_least(release: &str, want: (u32, u32)) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= want,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_releases_compare_by_major_then_minor() {
        assert!(release_at_least("6.18.44-fc-v782", (5, 10)));
        assert!(release_at_least("5.10.0-28-amd64", (5, 10)));
        assert!(!release_at_least("5.4.0-150-generic", (5, 10)));
        assert!(!release_at_least("4.19.0", (5, 10)));
        assert!(!release_at_least("garbage", (5, 10)));
    }

    #[test]
    fn only_throwaway_containers_are_volatile_and_their_marker_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("work/work/incompat/volatile");
        std::fs::create_dir_all(&marker).unwrap();
        let lowers = [PathBuf::from("/l1"), PathBuf::from("/l2")];
        let kept = container_overlay(&lowers, dir.path(), false);
        assert!(!kept.contains("volatile"), "{kept}");
        assert!(marker.exists());
        let thrown = container_overlay(&lowers, dir.path(), true);
        assert!(thrown.starts_with("lowerdir=/l2:/l1,upperdir="), "{thrown}");
        if volatile_supported() {
            assert!(thrown.ends_with(",volatile"), "{thrown}");
            assert!(!dir.path().join("work/work/incompat").exists());
        }
    }
}
