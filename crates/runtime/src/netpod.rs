//! A pod on networks: the holder (pod/holder.rs) attaches its new network
//! namespace as a container's is attached (`hoist_network::reserve`, then
//! `plumb`), so the pod has one address per network that its members share;
//! members' /etc/hosts and resolv.conf name it. What the pod asked for is
//! `pods/<id>/networks.json` (written at `pod create`), what it got while
//! the holder runs is `pods/<id>/network.json`.

use hoist_network::{Attachment, Endpoint, Owner, Request};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::container::ContainerRecord;
use crate::error::{IoContext, Result, RuntimeError};
use crate::pod::PodRecord;

const REQUESTS: &str = "networks.json";

fn pod_dir(root: &Path, id: &str) -> PathBuf {
    crate::pod::pod_dir(root, id)
}

/// Checks `pod create --network` values (network names, or `private` for a
/// loopback-only pod) before the pod exists.
pub fn check(root: &Path, networks: &[String]) -> Result<Vec<Request>> {
    if networks.iter().any(|n| n == "private") {
        if networks.len() > 1 {
            return Err(RuntimeError::Invalid(
                "--network private cannot be combined with networks".into(),
            ));
        }
        return Ok(Vec::new());
    }
    let mut reqs = Vec::new();
    for n in networks {
        let net = hoist_network::record::find(root, if n == "default" { "bridge" } else { n })?;
        if reqs.iter().any(|r: &Request| r.network == net.name) {
            return Err(RuntimeError::Invalid(format!(
                "network {} is given twice",
                net.name
            )));
        }
        reqs.push(Request {
            network: net.name,
            ..Default::default()
        });
    }
    Ok(reqs)
}

/// Records the pod's networks (right after `pod::create`).
pub fn save(root: &Path, pod_id: &str, reqs: &[Request]) -> Result<()> {
    if reqs.is_empty() {
        return Ok(());
    }
    let path = pod_dir(root, pod_id).join(REQUESTS);
    let data = serde_json::to_vec(reqs).expect("requests serialize");
    std::fs::write(&path, data).ctx(|| format!("writing {}", path.display()))
}

/// The networks a pod asked for (none: loopback only).
pub fn requests(root: &Path, pod_id: &str) -> Vec<Request> {
    std::fs::read(pod_dir(root, pod_id).join(REQUESTS))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default()
}

/// The holder's new network namespace, on the calling thread: addresses
/// reserved and a netlink socket opened in the host's namespace, then
/// `unshare(CLONE_NEWNET)`, `lo` up and the veths plumbed. The caller
/// unshares its other namespaces afterwards.
pub fn enter_new_netns(root: &Path, pod: &PodRecord) -> Result<()> {
    let reqs = requests(root, &pod.id);
    let io = |what: &str, e: std::io::Error| RuntimeError::io(what.to_string(), e);
    let exe = std::env::current_exe().ok();
    let who = Endpoint {
        container_id: &pod.id,
        name: &pod.name,
        owner: Owner::me(),
        hoist_exe: exe.as_deref(),
    };
    let atts = if reqs.is_empty() {
        Vec::new()
    } else {
        // Rootless: the pod's bridges are in the rootless network
        // namespace; this thread enters it (and then the pod's own).
        hoist_network::rootless::netns::enter(true)?;
        hoist_network::reserve(root, &who, &reqs)?
    };
    let plumbed = (|| {
        let mut host = hoist_network::netlink::Netlink::open()
            .map_err(|e| io("opening a netlink socket", e))?;
        // SAFETY: unshare of the calling thread (the holder's only one).
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
            return Err(io(
                "creating the pod's network namespace",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: a socket and an ioctl on a local struct.
        unsafe { crate::core::child::loopback_up() }
            .map_err(|errno| io("bringing up lo", std::io::Error::from_raw_os_error(errno)))?;
        if atts.is_empty() {
            return Ok(());
        }
        let ns = std::fs::File::open("/proc/thread-self/ns/net")
            .map_err(|e| io("opening the pod's network namespace", e))?;
        let mut ctr = hoist_network::netlink::Netlink::open()
            .map_err(|e| io("opening a netlink socket in the pod", e))?;
        hoist_network::plumb(&atts, &mut host, &mut ctr, ns.as_fd())?;
        let path = pod_dir(root, &pod.id).join(crate::netattach::STATE_FILE);
        let data = serde_json::to_vec(&atts).expect("attachments serialize");
        std::fs::write(&path, data).ctx(|| format!("writing {}", path.display()))
    })();
    if plumbed.is_err() {
        hoist_network::release(root, &pod.id, &atts);
    }
    plumbed
}

/// A replacement holder took over the pod's namespaces: the leases follow it.
pub fn adopted(root: &Path, pod_id: &str) {
    let atts = attachments(root, pod_id);
    if let Err(e) = hoist_network::attach::hand_over(root, pod_id, &atts, Owner::me()) {
        tracing::warn!("handing the pod's leases to the new holder: {e}");
    }
}

/// The holder ends: the pod's addresses go back.
pub fn stopped(root: &Path, pod_id: &str) {
    let atts = attachments(root, pod_id);
    hoist_network::release(root, pod_id, &atts);
    let _ = std::fs::remove_file(pod_dir(root, pod_id).join(crate::netattach::STATE_FILE));
}

/// The pod's attachments while its holder runs.
pub fn attachments(root: &Path, pod_id: &str) -> Vec<Attachment> {
    crate::netattach::attachments(&pod_dir(root, pod_id))
}

/// A member starts: its /etc/hosts and resolv.conf name the pod's address
/// and DNS, and its name resolves to the pod's address on the pod's networks.
pub fn member_files(root: &Path, dir: &Path, rec: &ContainerRecord) {
    let Some(pod) = rec.pod.as_deref() else {
        return;
    };
    let atts = attachments(root, pod);
    if !atts.is_empty() {
        if let Err(e) = crate::netattach::write_etc(dir, rec, &atts) {
            tracing::warn!("writing the pod member's /etc files: {e}");
        }
        hoist_network::attach::alias(root, pod, &atts, &rec.name, true);
    }
}

/// A member's run ended: its name no longer resolves.
pub fn member_stopped(root: &Path, rec: &ContainerRecord) {
    if let Some(pod) = rec.pod.as_deref() {
        let atts = attachments(root, pod);
        hoist_network::attach::alias(root, pod, &atts, &rec.name, false);
    }
}
