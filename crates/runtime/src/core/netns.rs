//! A container's new network namespace, made on a helper thread while the
//! parent still prepares the rest. Why: creating a network namespace is the
//! largest part of clone() here (0.7-1.3 ms of a ~1.5 ms clone, measured with
//! `unshare -n`), and on a thread it overlaps opening the log, building the
//! plan and creating the cgroup on the other CPU (starting it earlier, in
//! the CLI before the record is written, measured no better). The child then setns()es
//! into it first thing, as it does into a pod's network namespace, and finds
//! `lo` already up.

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::os::fd::OwnedFd;
use std::thread::JoinHandle;

use super::helper_thread::{join, spawn_with_signals_blocked};
use super::plan::ContainerPlan;
use crate::error::{Result, RuntimeError};

/// Whether the spec asks for a new network namespace (not a path to join).
pub fn wanted(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none())
        })
}

/// A network namespace being made; `hand_over` puts it into the plan.
pub struct PendingNetns(JoinHandle<std::io::Result<OwnedFd>>);

/// Starts making a network namespace with `lo` up.
pub fn begin() -> PendingNetns {
    PendingNetns(spawn_with_signals_blocked(|| {
        // SAFETY: unshare moves only this thread, which ends right after; the
        // namespace lives on through the descriptor.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let ns = std::fs::File::open("/proc/thread-self/ns/net")?;
        // SAFETY: a socket and an ioctl on a local struct.
        unsafe { super::child::loopback_up() }.map_err(std::io::Error::from_raw_os_error)?;
        Ok(ns.into())
    }))
}

impl PendingNetns {
    /// Waits for the namespace and makes the child join it instead of
    /// cloning a new one.
    pub fn hand_over(self, plan: &mut ContainerPlan) -> Result<()> {
        let ns = join(self.0)
            .map_err(|e| RuntimeError::io("making the container's network namespace", e))?;
        plan.clone_flags &= !libc::CLONE_NEWNET;
        plan.loopback_up = false;
        plan.join_namespaces.push((ns, libc::CLONE_NEWNET));
        Ok(())
    }
}
