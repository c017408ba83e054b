//! The spec's `linux.sysctl` (docker's `--sysctl`): kernel parameters of
//! the container's own namespaces, written by the child once its /proc is
//! mounted and the root pivoted, before /proc/sys is made read-only and the
//! masked paths are covered. Planned in the parent (keys checked, paths
//! made); the child only opens and writes.
//!
//! Only parameters that belong to a namespace the container has of its
//! own are taken, as runc's validation: IPC (`kernel.msg*`, `kernel.sem`,
//! `kernel.shm*`, `fs.mqueue.*`), network (`net.*`) and UTS
//! (`kernel.hostname`, `kernel.domainname`). Anything else would change
//! the host's kernel.

use libc::c_int;
use std::collections::HashMap;
use std::ffi::CString;

use super::plan::cstring;
use super::sys;

/// One parameter: its key as given ("kernel.shmmax"), its path below
/// /proc/sys ("kernel/shmmax") and the value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlWrite {
    pub key: String,
    pub path: CString,
    pub value: CString,
}

/// The namespaces the container has of its own (made or joined), which
/// decide the parameters it may set.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnNamespaces {
    pub net: bool,
    pub ipc: bool,
    pub uts: bool,
}

/// The IPC namespace's parameters under `kernel.` (runc's list, docker's
/// whitelist; `--sysctl` checks against it at create too).
pub(crate) const IPC_KERNEL: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Namespace {
    Ipc,
    Net,
    Uts,
}

fn namespace_of(key: &str) -> Option<Namespace> {
    if IPC_KERNEL.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(Namespace::Ipc)
    } else if key.starts_with("net.") {
        Some(Namespace::Net)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(Namespace::Uts)
    } else {
        None
    }
}

/// The path below /proc/sys of a dotted key; a key that could name
/// anything but a file below /proc/sys (a `/`, an empty part, `..`) is
/// refused rather than normalized.
pub fn key_path(key: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("sysctl {key:?}: {why}"));
    if key.is_empty() {
        return bad("the key is empty");
    }
    if key.contains('/') || key.contains('\0') {
        return bad("a key is dotted (net.ipv4.ip_forward) and has no '/'");
    }
    if key.split('.').any(|p| p.is_empty()) {
        return bad("the key has an empty part");
    }
    Ok(key.replace('.', "/"))
}

/// The writes for a spec's `linux.sysctl`, in key order, each checked
/// against the namespaces the container has.
pub fn plan(
    sysctls: Option<&HashMap<String, String>>,
    own: OwnNamespaces,
) -> Result<Vec<SysctlWrite>, String> {
    let mut keys: Vec<(&String, &String)> = sysctls.into_iter().flatten().collect();
    keys.sort();
    let mut writes = Vec::new();
    for (key, value) in keys {
        let path = key_path(key)?;
        match namespace_of(key) {
            None => {
                return Err(format!(
                    "sysctl {key:?} is not in a separate kernel namespace (it would change the host's kernel)"
                ))
            }
            Some(Namespace::Net) if !own.net => {
                return Err(format!(
                    "sysctl '{key}' not allowed in host network namespace"
                ))
            }
            Some(Namespace::Ipc) if !own.ipc => {
                return Err(format!(
                    "sysctl '{key}' not allowed in host IPC namespace"
                ))
            }
            Some(Namespace::Uts) if !own.uts => {
                return Err(format!(
                    "sysctl '{key}' not allowed in host UTS namespace"
                ))
            }
            Some(_) => {}
        }
        writes.push(SysctlWrite {
            key: key.clone(),
            path: cstring(&path)?,
            value: cstring(value)?,
        });
    }
    Ok(writes)
}

/// The failure index that means "opening /proc/sys" (not one key).
pub const OPEN_PROC_SYS: u32 = u32::MAX;

/// Writes each parameter below the container's /proc/sys. Each path is
/// opened with openat2 beneath /proc/sys without following any link and
/// without crossing into another mount (a binfmt_misc or a masking tmpfs),
/// and /proc/sys itself must be on proc: nothing outside the container's
/// own kernel parameters is ever written. Returns (index, errno).
///
/// # Safety
/// Raw syscalls on prepared data only; safe in the cloned child.
pub unsafe fn write_in_child(writes: &[SysctlWrite]) -> Result<(), (u32, i32)> {
    if writes.is_empty() {
        return Ok(());
    }
    let dir = sys::check(libc::open(
        c"/proc/sys".as_ptr(),
        libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
    ) as _)
    .map_err(|e| (OPEN_PROC_SYS, e))? as c_int;
    let mut fs: libc::statfs = std::mem::zeroed();
    if libc::fstatfs(dir, &mut fs) < 0 || fs.f_type != libc::PROC_SUPER_MAGIC {
        libc::close(dir);
        return Err((OPEN_PROC_SYS, libc::EXDEV));
    }
    let resolve = libc::RESOLVE_BENEATH
        | libc::RESOLVE_NO_SYMLINKS
        | libc::RESOLVE_NO_MAGICLINKS
        | libc::RESOLVE_NO_XDEV;
    for (i, w) in writes.iter().enumerate() {
        let r = sys::openat2(
            dir,
            w.path.as_ptr(),
            libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0,
            resolve,
        )
        .and_then(|fd| {
            let r = sys::write_all(fd, w.value.as_bytes());
            libc::close(fd);
            r
        });
        if let Err(e) = r {
            libc::close(dir);
            return Err((i as u32, e));
        }
    }
    libc::close(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(key: &str, own: OwnNamespaces) -> Result<Vec<SysctlWrite>, String> {
        let map = HashMap::from([(key.to_string(), "1".to_string())]);
        plan(Some(&map), own)
    }

    #[test]
    fn keys_become_paths_below_proc_sys() {
        assert_eq!(
            key_path("net.ipv4.ip_forward").unwrap(),
            "net/ipv4/ip_forward"
        );
        for bad in ["", "net/ipv4", "net..x", ".net", "net.", "kernel.a\0b"] {
            assert!(key_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_the_containers_own_namespaces() {
        let all = OwnNamespaces {
            net: true,
            ipc: true,
            uts: true,
        };
        let w = one("kernel.shmmax", all).unwrap();
        assert_eq!(w[0].path.to_str().unwrap(), "kernel/shmmax");
        assert!(one("fs.mqueue.msg_max", all).is_ok());
        assert!(one("net.ipv4.ip_forward", all).is_ok());
        assert!(one("kernel.hostname", all).is_ok());
        let e = one("kernel.panic", all).unwrap_err();
        assert!(e.contains("not in a separate kernel namespace"), "{e}");
        assert!(one("vm.swappiness", all).is_err());
        let host_net = OwnNamespaces { net: false, ..all };
        assert_eq!(
            one("net.ipv4.ip_forward", host_net).unwrap_err(),
            "sysctl 'net.ipv4.ip_forward' not allowed in host network namespace"
        );
        assert!(one("kernel.sem", OwnNamespaces { ipc: false, ..all }).is_err());
        assert!(one("kernel.shmmax", host_net).is_ok());
    }
}
