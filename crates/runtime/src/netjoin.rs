//! `--network container:NAME`: the container joins another running
//! container's network namespace (docker's mode): the spec's network
//! namespace points at `/proc/<its PID 1>/ns/net` at each start, and the
//! container sees the other's /etc/hosts and resolv.conf.

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::path::{Path, PathBuf};

use crate::container::{self, state, ContainerRecord, Status};
use crate::error::{IoContext, Result, RuntimeError};
use crate::spec::NetworkMode;

/// The running container whose network namespace `rec` joins, if any.
fn target(root: &Path, rec: &ContainerRecord) -> Result<Option<(ContainerRecord, i32)>> {
    if rec.network != NetworkMode::Container {
        return Ok(None);
    }
    let id = rec.network_container.as_deref().unwrap_or_default();
    let other =
        container::load(root, id).map_err(|_| RuntimeError::NoSuchContainer(id.to_string()))?;
    let st = state::read_live(&container::container_dir(root, id));
    if st.status != Status::Running || st.pid <= 0 {
        return Err(RuntimeError::Invalid(format!(
            "container {} whose network this one joins (--network container:{}) is not running; start it first",
            other.name, other.name
        )));
    }
    Ok(Some((other, st.pid)))
}

/// Points the spec's network namespace at the target's and copies its
/// /etc/hosts and resolv.conf beside this container (bind-mounted).
pub fn join_spec(root: &Path, dir: &Path, rec: &ContainerRecord, mut spec: Spec) -> Result<Spec> {
    let Some((other, pid)) = target(root, rec)? else {
        return Ok(spec);
    };
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut nss = linux.namespaces().clone().unwrap_or_default();
    for ns in nss.iter_mut() {
        if ns.typ() == LinuxNamespaceType::Network {
            ns.set_path(Some(PathBuf::from(format!("/proc/{pid}/ns/net"))));
        }
    }
    linux.set_namespaces(Some(nss));
    spec.set_linux(Some(linux));
    let from = container::container_dir(root, &other.id);
    for name in ["hosts", "resolv.conf"] {
        let text = std::fs::read(from.join(name)).unwrap_or_default();
        let to = dir.join(name);
        std::fs::write(&to, text).ctx(|| format!("writing {}", to.display()))?;
    }
    Ok(spec)
}

/// At create: the container named in `container:NAME` exists; its ID.
pub fn resolve(root: &Path, what: &str) -> Result<String> {
    Ok(container::find(root, what)?.id)
}
