//! A container's new network namespace, made on a helper thread while the
//! parent still prepares the rest. Why: creating a network namespace is the
//! largest part of clone() here (0.7-1.3 ms of a ~1.5 ms clone, measured with
//! `unshare -n`), and on a thread it overlaps opening the log, building the
//! plan and creating the cgroup on the other CPU (starting it earlier, in
//! the CLI before the record is written, measured no better). The child then setns()es
//! into it first thing, as it does into a pod's network namespace, and finds
//! `lo` already up.
//!
//! A container on networks (bridge, user networks) is attached on the same
//! thread: addresses reserved and bridges made while still in the host's
//! namespace, a netlink socket opened there, then the unshare, a second
//! socket inside, and the veth pairs (`hoist_network::plumb`).

use hoist_network::{Attachment, Endpoint, Owner, Request};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::thread::JoinHandle;

use super::helper_thread::spawn_with_signals_blocked;
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

/// The networks to attach the new namespace to.
pub struct NetSetup {
    pub root: PathBuf,
    pub container_id: String,
    pub name: String,
    pub requests: Vec<Request>,
    /// The hoist binary, to start a network's DNS responder (`hoist __dns`).
    pub hoist_exe: Option<PathBuf>,
}

/// How the helper thread ended: the namespace and its attachments, or an
/// error with the addresses already reserved (released by the caller, which
/// is in the host's namespace).
type Outcome = std::result::Result<(OwnedFd, Vec<Attachment>), (RuntimeError, Vec<Attachment>)>;

/// A network namespace being made; `hand_over` puts it into the plan.
pub struct PendingNetns {
    thread: JoinHandle<Outcome>,
    root: PathBuf,
    container_id: String,
}

/// Starts making a network namespace with `lo` up, attached to `setup`'s
/// networks if any.
pub fn begin(setup: Option<NetSetup>) -> PendingNetns {
    let (root, container_id) = setup
        .as_ref()
        .map(|s| (s.root.clone(), s.container_id.clone()))
        .unwrap_or_default();
    PendingNetns {
        thread: spawn_with_signals_blocked(move || make(setup)),
        root,
        container_id,
    }
}

fn make(setup: Option<NetSetup>) -> Outcome {
    let io = |what: &str, e: std::io::Error| RuntimeError::io(what.to_string(), e);
    // In the host's namespace: addresses, bridges, a socket that stays here
    // (rootless: the rootless network namespace, which this thread enters).
    let (atts, host) = match &setup {
        Some(s) if !s.requests.is_empty() => {
            hoist_network::rootless::netns::enter(true)
                .map_err(|e| (RuntimeError::from(e), Vec::new()))?;
            let who = Endpoint {
                container_id: &s.container_id,
                name: &s.name,
                owner: Owner::me(),
                hoist_exe: s.hoist_exe.as_deref(),
            };
            let atts = hoist_network::reserve(&s.root, &who, &s.requests)
                .map_err(|e| (RuntimeError::from(e), Vec::new()))?;
            match hoist_network::netlink::Netlink::open() {
                Ok(nl) => (atts, Some(nl)),
                Err(e) => return Err((io("opening a netlink socket", e), atts)),
            }
        }
        _ => (Vec::new(), None),
    };
    // SAFETY: unshare moves only this thread, which ends right after; the
    // namespace lives on through the descriptor.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
        let e = std::io::Error::last_os_error();
        return Err((io("making the container's network namespace", e), atts));
    }
    let ns: OwnedFd = match std::fs::File::open("/proc/thread-self/ns/net") {
        Ok(f) => f.into(),
        Err(e) => return Err((io("opening the new network namespace", e), atts)),
    };
    // SAFETY: a socket and an ioctl on a local struct.
    if let Err(errno) = unsafe { super::child::loopback_up() } {
        let e = std::io::Error::from_raw_os_error(errno);
        return Err((io("bringing up lo", e), atts));
    }
    if let Some(mut host) = host {
        let plumbed = hoist_network::netlink::Netlink::open()
            .map_err(|e| io("opening a netlink socket in the container", e))
            .and_then(|mut ctr| {
                hoist_network::plumb(&atts, &mut host, &mut ctr, ns.as_fd())
                    .map_err(RuntimeError::from)
            });
        if let Err(e) = plumbed {
            return Err((e, atts));
        }
    }
    Ok((ns, atts))
}

impl PendingNetns {
    /// Waits for the namespace and makes the child join it instead of
    /// cloning a new one; returns the networks it is attached to.
    pub fn hand_over(self, plan: &mut ContainerPlan) -> Result<Vec<Attachment>> {
        let outcome = self.thread.join().unwrap_or_else(|_| {
            Err((
                RuntimeError::io(
                    "making the container's network namespace",
                    std::io::Error::other("the helper thread panicked"),
                ),
                Vec::new(),
            ))
        });
        match outcome {
            Ok((ns, atts)) => {
                plan.clone_flags &= !libc::CLONE_NEWNET;
                plan.loopback_up = false;
                plan.join_namespaces.push((ns, libc::CLONE_NEWNET));
                Ok(atts)
            }
            Err((e, atts)) => {
                hoist_network::release(&self.root, &self.container_id, &atts);
                Err(e)
            }
        }
    }
}

/// A container in a user namespace of its own makes its network namespace
/// itself (clone), owned by that user namespace: one made here, owned by
/// the host's, its root could not enter. Its networks are then attached
/// after the clone, by the parent, while the child waits for its rootfs
/// (`spawn_begin_with`): the addresses are reserved first, here.
pub struct LateAttach {
    atts: Vec<Attachment>,
    host: hoist_network::netlink::Netlink,
}

impl LateAttach {
    /// Reserves `setup`'s addresses and opens a netlink socket in the
    /// host's namespace. None when there is nothing to attach.
    pub fn reserve(setup: Option<NetSetup>) -> Result<Option<LateAttach>> {
        let Some(s) = setup.filter(|s| !s.requests.is_empty()) else {
            return Ok(None);
        };
        let who = Endpoint {
            container_id: &s.container_id,
            name: &s.name,
            owner: Owner::me(),
            hoist_exe: s.hoist_exe.as_deref(),
        };
        let atts = hoist_network::reserve(&s.root, &who, &s.requests)?;
        match hoist_network::netlink::Netlink::open() {
            Ok(host) => Ok(Some(LateAttach { atts, host })),
            Err(e) => {
                hoist_network::release(&s.root, &s.container_id, &atts);
                Err(RuntimeError::io("opening a netlink socket", e))
            }
        }
    }

    pub fn attachments(&self) -> &[Attachment] {
        &self.atts
    }

    /// Plumbs the veth pairs into the network namespace of `pid` (from a
    /// helper thread that enters it: the container's end is configured from
    /// inside). The caller releases the addresses if this fails.
    pub fn plumb_into(&mut self, pid: i32) -> Result<()> {
        let path = format!("/proc/{pid}/ns/net");
        let ns: OwnedFd = std::fs::File::open(&path)
            .map_err(|e| RuntimeError::io(format!("opening {path}"), e))?
            .into();
        let atts = &self.atts;
        let host = &mut self.host;
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    block_all_signals();
                    // SAFETY: setns moves only this thread, which ends here.
                    if unsafe {
                        libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET)
                    } < 0
                    {
                        let e = std::io::Error::last_os_error();
                        return Err(RuntimeError::io(
                            "entering the container's network namespace",
                            e,
                        ));
                    }
                    let mut ctr = hoist_network::netlink::Netlink::open().map_err(|e| {
                        RuntimeError::io("opening a netlink socket in the container", e)
                    })?;
                    hoist_network::plumb(atts, host, &mut ctr, ns.as_fd())
                        .map_err(RuntimeError::from)
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(RuntimeError::io(
                        "attaching the container's networks",
                        std::io::Error::other("the helper thread panicked"),
                    ))
                })
        })
    }

    pub fn into_attachments(self) -> Vec<Attachment> {
        self.atts
    }
}

/// Blocks every signal on the calling thread (a helper thread: a signal
/// meant for the container or the CLI must never land on it).
fn block_all_signals() {
    // SAFETY: sigset operations on a local set.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
}
