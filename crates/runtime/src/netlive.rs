//! `network connect` / `disconnect` of a running container, as docker does
//! them: a veth pair added to (or removed from) the container's live network
//! namespace, the lease taken (or given back), and hoist.json, network.json
//! and /etc/hosts updated. A stopped container only has its record changed
//! (the CLI does that).

use hoist_network::{Attachment, Endpoint, Owner, Request};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use crate::container::{self, state, ContainerRecord, Status};
use crate::error::{IoContext, Result, RuntimeError};
use crate::netattach::{attachments, write_etc, STATE_FILE};

/// The PID of a running container, or None.
pub fn running_pid(root: &Path, rec: &ContainerRecord) -> Option<i32> {
    let st = state::read_live(&container::container_dir(root, &rec.id));
    (st.status == Status::Running && st.pid > 0).then_some(st.pid)
}

fn save_attachments(dir: &Path, atts: &[Attachment]) -> Result<()> {
    let path = dir.join(STATE_FILE);
    let data = serde_json::to_vec(atts).expect("attachments serialize");
    std::fs::write(&path, data).ctx(|| format!("writing {}", path.display()))
}

/// Puts the running container `rec` (PID 1 `pid`) on one more network now.
pub fn connect(
    root: &Path,
    rec: &mut ContainerRecord,
    pid: i32,
    req: Request,
) -> Result<Attachment> {
    let dir = container::container_dir(root, &rec.id);
    let mut current = attachments(&dir);
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
        .ctx(|| format!("opening container {}'s network namespace", rec.name))?;
    let owner = Owner::of(pid).ok_or_else(|| RuntimeError::NotRunning(rec.name.clone()))?;
    let exe = std::env::current_exe().ok();
    let who = Endpoint {
        container_id: &rec.id,
        name: &rec.name,
        owner,
        hoist_exe: exe.as_deref(),
    };
    let mut atts = hoist_network::reserve(root, &who, std::slice::from_ref(&req))?;
    // The first free ethN inside.
    let taken: Vec<&str> = current.iter().map(|a| a.interface.as_str()).collect();
    let n = (0..)
        .find(|n| !taken.contains(&format!("eth{n}").as_str()))
        .unwrap_or(0);
    atts[0].interface = format!("eth{n}");
    let plumbed = (|| {
        // Where the bridges are: the host's namespace, or a rootless
        // hoist's rootless network namespace (the socket stays bound there).
        let mut host = hoist_network::rootless::netns::run_in(false, || {
            hoist_network::netlink::Netlink::open()
                .map_err(|e| hoist_network::NetworkError::io("opening a netlink socket", e))
        })?;
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: setns of this short-lived thread only.
                if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
                    return Err(RuntimeError::io(
                        "entering the container's network namespace",
                        std::io::Error::last_os_error(),
                    ));
                }
                let mut ctr = hoist_network::netlink::Netlink::open()
                    .map_err(|e| RuntimeError::io("opening a netlink socket", e))?;
                hoist_network::plumb(&atts, &mut host, &mut ctr, ns.as_fd())?;
                Ok(())
            })
            .join()
            .unwrap_or_else(|_| {
                Err(RuntimeError::Invalid(
                    "the attaching thread panicked".into(),
                ))
            })
        })
    })();
    if let Err(e) = plumbed {
        hoist_network::release(root, &rec.id, &atts);
        return Err(e);
    }
    let att = atts.remove(0);
    current.push(att.clone());
    save_attachments(&dir, &current)?;
    rec.networks.push(req);
    container::save(root, rec)?;
    write_etc(&dir, rec, &current)?;
    Ok(att)
}

/// Takes the running container `rec` off `network` now.
pub fn disconnect(root: &Path, rec: &mut ContainerRecord, network: &str) -> Result<()> {
    let dir = container::container_dir(root, &rec.id);
    let mut current = attachments(&dir);
    let Some(at) = current.iter().position(|a| a.network == network) else {
        return Ok(());
    };
    let att = current.remove(at);
    // The host end goes, and its peer inside with it (in the rootless
    // network namespace for a rootless hoist).
    hoist_network::rootless::netns::run_in(false, || {
        if let Some(i) = hoist_network::netlink::index_of(&att.host_interface) {
            let mut nl = hoist_network::netlink::Netlink::open()
                .map_err(|e| hoist_network::NetworkError::io("opening a netlink socket", e))?;
            nl.delete_link(i).map_err(|e| {
                hoist_network::NetworkError::io(format!("deleting {}", att.host_interface), e)
            })?;
        }
        Ok(())
    })?;
    hoist_network::release(root, &rec.id, std::slice::from_ref(&att));
    save_attachments(&dir, &current)?;
    rec.networks.retain(|r| r.network != network);
    container::save(root, rec)?;
    write_etc(&dir, rec, &current)
}
