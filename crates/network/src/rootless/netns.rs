//! The rootless network namespace (podman's "rootless netns"): one extra
//! network namespace per user, in which root's bridge code runs unchanged
//! for a rootless hoist's user networks — each network's bridge, the veth
//! pairs to containers' namespaces, nftables NAT and the DNS responder.
//! The user's namespace holder (the binary's src/rootless/holder.rs) makes
//! it with its user namespace, so the holder's user namespace owns it and
//! CAP_NET_ADMIN there is real; it lives exactly as long as the holder and
//! is found without a file of its own: `/proc/HOLDER/ns/net`, the holder's
//! PID exported by the binary as [`HOLDER_ENV`]. Made once, with the
//! holder, under the holder's lock: two first commands cannot make two.
//!
//! Outbound: one slirp4netns attached to it (its tap [`TAP`] is the
//! namespace's default route; each network's masquerade rule NATs the
//! bridge's subnet out through it), started by the first command that
//! needs it under [`LOCK_FILE`] and shared by every network. Its exit
//! descriptor is a pipe whose only writer is the holder ([`LIFELINE_FD`]):
//! the helper ends with the holder. Where /dev/net/tun cannot be opened,
//! user networks still work between containers, without a way out.
//!
//! Entering: [`enter`] moves the calling thread (the runtime's netns
//! helper thread, a pod's holder); [`run_in`] runs a closure on a short
//! thread that entered (the network crate's own entry points that touch
//! bridges). Both do nothing outside rootless mode.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use super::slirp::{self, Options, Target};
use crate::error::{NetworkError, Result};
use crate::lock::Lock;

/// The environment variable the binary exports in rootless mode: the PID of
/// the user's namespace holder.
pub const HOLDER_ENV: &str = "HOIST_ROOTLESS_HOLDER";
/// The holder's descriptor of the read end of its lifeline pipe (it keeps
/// the write end at the next number): the shared helper's exit descriptor.
pub const LIFELINE_FD: i32 = 3;
/// The shared helper's tap device in the rootless network namespace.
pub const TAP: &str = "tap0";
/// Serializes starting the shared helper (in `$XDG_RUNTIME_DIR/hoist`).
pub const LOCK_FILE: &str = "rootless-netns.lock";

/// The holder's PID, in rootless mode (None as root).
pub fn holder() -> Option<i32> {
    static ROOTLESS: OnceLock<bool> = OnceLock::new();
    // A root hoist that inherited the variable is not rootless: the fact is
    // a user namespace other than the initial one.
    let in_userns = *ROOTLESS.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
    });
    if !in_userns {
        return None;
    }
    std::env::var(HOLDER_ENV).ok()?.parse().ok()
}

/// Whether user networks live in the rootless network namespace here.
pub fn active() -> bool {
    holder().is_some()
}

fn open(pid: i32) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/ns/net");
    let ns: OwnedFd = File::open(&path)
        .map_err(|e| {
            NetworkError::io(
                format!("opening the rootless network namespace ({path})"),
                e,
            )
        })?
        .into();
    // A holder made by a hoist before the rootless network namespace
    // shares the host's, which the initial user namespace owns (not ours:
    // NS_GET_USERNS answers EPERM): bridges could not be made there.
    if !owned_by_our_userns(&ns) {
        return Err(NetworkError::Invalid(format!(
            "hoist's namespace holder (PID {pid}) was made by an older hoist and has no \
             network namespace for user networks: stop your containers, kill {pid}, and \
             the next hoist command makes a new holder"
        )));
    }
    Ok(ns)
}

/// Whether the user namespace owning `ns` is this thread's.
fn owned_by_our_userns(ns: &OwnedFd) -> bool {
    const NS_GET_USERNS: libc::c_ulong = 0xb701;
    // SAFETY: an ioctl on a namespace descriptor; a new descriptor or -1.
    let fd = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_USERNS) };
    if fd < 0 {
        return false;
    }
    // SAFETY: the fresh descriptor is ours.
    let owner = unsafe { OwnedFd::from_raw_fd(fd) };
    same_as(&owner, "/proc/thread-self/ns/user")
}

fn same_as(ns: &OwnedFd, path: &str) -> bool {
    let Ok(other) = std::fs::metadata(path) else {
        return false;
    };
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into a local struct on a valid descriptor.
    if unsafe { libc::fstat(ns.as_raw_fd(), &mut st) } < 0 {
        return false;
    }
    st.st_ino == other.ino() && st.st_dev == other.dev()
}

fn setns(ns: &OwnedFd) -> Result<()> {
    // SAFETY: setns of the calling thread into a namespace descriptor.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
        return Err(NetworkError::io(
            "entering the rootless network namespace",
            std::io::Error::last_os_error(),
        ));
    }
    lo_up()
}

/// `lo` up in the namespace the thread is in (the holder made it down).
fn lo_up() -> Result<()> {
    let step = |source| NetworkError::Netlink {
        step: "bringing up lo in the rootless network namespace".into(),
        source,
    };
    let index = crate::netlink::index_of("lo")
        .ok_or_else(|| step(std::io::Error::from_raw_os_error(libc::ENODEV)))?;
    let mut nl = crate::netlink::Netlink::open().map_err(step)?;
    nl.set_up(index).map_err(step)
}

/// Moves the calling thread into the rootless network namespace (when
/// rootless), first starting the shared outbound helper if `outbound` and
/// it can work (this thread is still in the host's namespace then, where
/// the helper must run). The thread should end afterwards.
pub fn enter(outbound: bool) -> Result<()> {
    let Some(pid) = holder() else {
        return Ok(());
    };
    let ns = open(pid)?;
    if same_as(&ns, "/proc/thread-self/ns/net") {
        return Ok(());
    }
    if outbound {
        start_outbound(pid);
    }
    setns(&ns)
}

/// Runs `f` in the rootless network namespace (on a short thread that
/// entered it) when rootless and not there yet; else on this thread.
pub fn run_in<T: Send>(outbound: bool, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let Some(pid) = holder() else {
        return f();
    };
    let ns = open(pid)?;
    if same_as(&ns, "/proc/thread-self/ns/net") {
        return f();
    }
    if outbound {
        start_outbound(pid);
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                block_all_signals();
                setns(&ns)?;
                f()
            })
            .join()
            .unwrap_or_else(|_| {
                Err(NetworkError::io(
                    "working in the rootless network namespace",
                    std::io::Error::other("the thread panicked"),
                ))
            })
    })
}

/// The shared helper, when it can work; user networks without it still
/// reach each other, so its absence is not an error here.
fn start_outbound(pid: i32) {
    match ensure_outbound(pid) {
        Ok(()) => {}
        Err(e @ (NetworkError::TunUnavailable { .. } | NetworkError::HelperMissing { .. })) => {
            tracing::debug!("user networks without outbound access: {e}")
        }
        Err(e) => tracing::warn!("user networks without outbound access: {e}"),
    }
}

/// Whether the shared helper's tap is in the holder's network namespace
/// (it exists exactly while the helper runs: the tap is not persistent).
fn has_tap(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/net/dev")).is_ok_and(|dev| {
        dev.lines().any(|l| {
            l.trim_start()
                .strip_prefix(TAP)
                .is_some_and(|r| r.starts_with(':'))
        })
    })
}

fn lock_path() -> PathBuf {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join("hoist").join(LOCK_FILE)
}

/// Starts the shared helper unless it runs (under [`LOCK_FILE`], so two
/// commands at once start one). Runs in the host's network namespace.
pub fn ensure_outbound(pid: i32) -> Result<()> {
    if has_tap(pid) {
        return Ok(());
    }
    let opts = Options {
        interface: TAP,
        ..Options::default()
    };
    super::check(&opts)?;
    let _lock = Lock::exclusive(&lock_path())?;
    if has_tap(pid) {
        return Ok(());
    }
    let ns = open(pid)?;
    let lifeline_path = format!("/proc/{pid}/fd/{LIFELINE_FD}");
    let lifeline = File::open(&lifeline_path).map_err(|e| {
        NetworkError::io(format!("opening the holder's lifeline {lifeline_path}"), e)
    })?;
    let target = Target::Netns {
        netns: ns.as_fd(),
        userns: None,
    };
    slirp::start_shared(target, &opts, lifeline.as_fd())
}

/// Whether the rootless network namespace has a way out, for `hoist info`.
pub fn outbound() -> Result<()> {
    super::check(&Options::default())
}

/// Blocks every signal on the calling thread (a short helper thread: a
/// signal meant for the command must never land on it).
fn block_all_signals() {
    // SAFETY: sigset operations on a local set.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
}
