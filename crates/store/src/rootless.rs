//! Whether this process runs rootless: as root of a user namespace other
//! than the machine's initial one (hoist's per-user namespace, or any
//! container it runs inside). It is a fact about the process, not a
//! setting, and it changes what the kernel allows: `trusted.*` xattrs cannot
//! be written or read (overlay's opaque marker is `user.overlay.opaque`, and
//! overlays are mounted with `userxattr`), device nodes cannot be made, and
//! ids outside the namespace's map cannot own files.

use std::sync::OnceLock;

/// The initial user namespace's map: every id to itself.
const INITIAL_MAP: &str = "0 0 4294967295";

/// True when this process is in a user namespace other than the initial one.
pub fn active() -> bool {
    static ACTIVE: OnceLock<bool> = OnceLock::new();
    *ACTIVE.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map")
            .map(|m| !is_initial_map(&m))
            .unwrap_or(false)
    })
}

fn is_initial_map(map: &str) -> bool {
    let lines: Vec<String> = map
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    lines.len() == 1 && lines[0] == INITIAL_MAP
}

/// The overlayfs xattr that marks a directory opaque: `trusted.` needs
/// CAP_SYS_ADMIN in the initial user namespace, so a rootless store uses
/// the `user.` one an overlay mounted with `userxattr` reads.
pub fn opaque_xattr() -> &'static [u8] {
    if active() {
        b"user.overlay.opaque"
    } else {
        b"trusted.overlay.opaque"
    }
}

/// Whether `result` failed the way a user namespace refuses device nodes
/// (EPERM from mknod), rootless only.
pub(crate) fn refused_here<T>(result: &Result<T, crate::layer::LayerError>) -> bool {
    match result {
        Err(crate::layer::LayerError::Entry { source, .. }) => {
            source.raw_os_error() == Some(libc::EPERM) && active()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_identity_map_of_every_id_is_the_initial_namespace() {
        assert!(is_initial_map("         0          0 4294967295\n"));
        assert!(!is_initial_map("         0       1000          1\n"));
        assert!(!is_initial_map("0 1000 1\n1 100000 65536\n"));
        assert!(!is_initial_map(""));
    }
}
