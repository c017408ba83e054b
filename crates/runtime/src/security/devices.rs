//! `--privileged`'s devices: every character and block device node of the
//! host's /dev, as docker gives a privileged container (the devices cgroup
//! then allows everything).

use serde_json::{json, Value};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// Directories of /dev that are not device nodes of the host's to copy
/// (the container has its own pts, shm and mqueue).
const SKIP: [&str; 6] = ["pts", "shm", "mqueue", "fd", ".udev", ".lxc"];

/// The host's device nodes as OCI `linux.devices` entries.
pub fn host_devices() -> Vec<Value> {
    let mut out = Vec::new();
    walk(Path::new("/dev"), 0, &mut out);
    out
}

fn walk(dir: &Path, depth: u32, out: &mut Vec<Value>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if depth == 0 && SKIP.iter().any(|s| name == *s) {
            continue;
        }
        // symlink_metadata: links (/dev/fd, /dev/stdin...) are not followed.
        let Ok(m) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        let ft = m.file_type();
        if ft.is_dir() && depth < 4 {
            walk(&e.path(), depth + 1, out);
            continue;
        }
        let typ = if ft.is_char_device() {
            "c"
        } else if ft.is_block_device() {
            "b"
        } else {
            continue;
        };
        // /dev/console belongs to whoever attached the container.
        if e.path() == Path::new("/dev/console") {
            continue;
        }
        let rdev = m.rdev();
        out.push(json!({
            "path": e.path(),
            "type": typ,
            "major": libc::major(rdev),
            "minor": libc::minor(rdev),
            "fileMode": m.mode() & 0o7777,
            "uid": m.uid(),
            "gid": m.gid(),
        }));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hosts_null_device_is_listed_with_its_numbers() {
        let devs = super::host_devices();
        let null = devs
            .iter()
            .find(|d| d["path"] == "/dev/null")
            .expect("/dev/null");
        assert_eq!(null["type"], "c");
        assert_eq!(
            (null["major"].as_u64(), null["minor"].as_u64()),
            (Some(1), Some(3))
        );
        assert!(!devs
            .iter()
            .any(|d| d["path"].as_str().unwrap().starts_with("/dev/pts/")));
    }
}
