//! Pods: containers that share one network namespace (they talk over
//! 127.0.0.1; the pod's ports are published once), one IPC and one UTS
//! namespace (the host name is the pod's name), and may share volumes.
//!
//! The namespaces belong to the pod's holder process (`hoist __pod <id>`,
//! holder.rs): it binds the pod's published ports on the host first, then
//! unshares its own net/ipc/uts namespaces and runs the port proxies from
//! inside them. Containers of the pod join those namespaces when they start
//! (`join_spec`: the spec's namespace paths point at the holder's
//! `/proc/PID/ns/*`). When the holder and the pod's containers have ended,
//! the kernel frees the namespaces: nothing is mounted, nothing is left.
//!
//! On disk: `<root>/pods/<id>/{pod.json,state.json,pod.lock,holder.log}`,
//! names in `<root>/pods/.names/<name>`. Membership is the `pod` field of
//! each container's record (no list to keep in step).
//!
//! A holder that dies (killed with -9) is replaced by its running members'
//! monitors (recover.rs): the new holder adopts the namespaces the members
//! are still in, so the pod's network, IPC and host name carry on.

pub mod holder;
pub mod recover;

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::container::config::{parse_publish, parse_volume, random_hex, PortMapping};
use crate::container::{self, state::process_start_time, ContainerRecord};
use crate::error::{IoContext, Result, RuntimeError};

/// What `pod create` decided (pod.json).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct PodRecord {
    pub id: String,
    pub name: String,
    pub created: String,
    pub ports: Vec<PortMapping>,
    /// `NAME:/path[:ro]` (or `/host:/path`), mounted into every container.
    pub volumes: Vec<String>,
}

impl PodRecord {
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }
    /// The container ports the pod publishes.
    pub fn container_ports(&self) -> Vec<u16> {
        self.ports.iter().map(|p| p.container_port).collect()
    }
}

/// The holder process while it runs (state.json).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct PodState {
    pub pid: i32,
    /// /proc/PID/stat start time, against PID reuse.
    pub start: u64,
    pub started_at: Option<String>,
    /// Ports as bound (host port filled in when it was 0).
    pub ports: Vec<PortMapping>,
}

pub fn pods_dir(root: &Path) -> PathBuf {
    root.join("pods")
}

pub fn pod_dir(root: &Path, id: &str) -> PathBuf {
    pods_dir(root).join(id)
}

fn names_dir(root: &Path) -> PathBuf {
    pods_dir(root).join(".names")
}

/// Creates a pod (nothing runs until its first container or `pod start`).
/// Every flag is checked before anything is written.
pub fn create(
    root: &Path,
    name: &str,
    publish: &[String],
    volumes: &[String],
) -> Result<PodRecord> {
    check_name(name)?;
    let mut ports = Vec::new();
    for p in publish {
        ports.extend(parse_publish(p)?);
    }
    for v in volumes {
        parse_volume(v)?;
    }
    let id = random_hex(64);
    let dir = names_dir(root);
    std::fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
    let name_file = dir.join(name);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&name_file)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(RuntimeError::PodNameInUse(name.into()))
        }
        Err(e) => {
            return Err(RuntimeError::io(
                format!("creating {}", name_file.display()),
                e,
            ))
        }
    }
    let rec = PodRecord {
        id: id.clone(),
        name: name.into(),
        created: crate::time::now(),
        ports,
        volumes: volumes.to_vec(),
    };
    let written = (|| {
        let pd = pod_dir(root, &id);
        std::fs::create_dir_all(&pd).ctx(|| format!("creating {}", pd.display()))?;
        let data = serde_json::to_vec_pretty(&rec).unwrap_or_default();
        crate::fsutil::write_atomic(&pd.join("pod.json"), &data)?;
        crate::fsutil::write_atomic(&name_file, id.as_bytes())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(pod_dir(root, &id));
        let _ = std::fs::remove_file(&name_file);
        return Err(e);
    }
    crate::events::emit(root, &crate::events::Event::pod(&rec, "create"));
    Ok(rec)
}

fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && name.len() <= 63;
    if ok {
        Ok(())
    } else {
        Err(RuntimeError::Invalid(format!(
            "invalid pod name {name:?}: use up to 63 letters, digits, _ . - (starting with a letter or digit); it becomes the host name"
        )))
    }
}

pub fn load(root: &Path, id: &str) -> Result<PodRecord> {
    let path = pod_dir(root, id).join("pod.json");
    let data = std::fs::read(&path).map_err(|_| RuntimeError::NoSuchPod(id.into()))?;
    serde_json::from_slice(&data)
        .map_err(|e| RuntimeError::Invalid(format!("{}: {e}", path.display())))
}

fn ids(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(pods_dir(root)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 64 && n.chars().all(|c| c.is_ascii_hexdigit()))
        .collect()
}

/// Finds a pod by name, full ID or unique ID prefix.
pub fn find(root: &Path, what: &str) -> Result<PodRecord> {
    if let Ok(id) = std::fs::read_to_string(names_dir(root).join(what)) {
        if let Ok(rec) = load(root, id.trim()) {
            return Ok(rec);
        }
    }
    if what.len() >= 3 && what.chars().all(|c| c.is_ascii_hexdigit()) {
        let m: Vec<String> = ids(root)
            .into_iter()
            .filter(|i| i.starts_with(what))
            .collect();
        if m.len() == 1 {
            return load(root, &m[0]);
        }
    }
    Err(RuntimeError::NoSuchPod(what.into()))
}

/// Every pod with its holder's state when it runs, newest first.
pub fn list(root: &Path) -> Vec<(PodRecord, Option<PodState>)> {
    let mut v: Vec<_> = ids(root)
        .into_iter()
        .filter_map(|id| load(root, &id).ok())
        .map(|r| {
            let s = live(root, &r.id);
            (r, s)
        })
        .collect();
    v.sort_by(|a, b| b.0.created.cmp(&a.0.created));
    v
}

/// The holder's state if it is alive (same PID, same start time).
pub fn live(root: &Path, id: &str) -> Option<PodState> {
    let s = recorded(&pod_dir(root, id))?;
    (s.pid > 0 && process_start_time(s.pid) == Some(s.start)).then_some(s)
}

/// The holder's state.json as written, alive or not.
fn recorded(dir: &Path) -> Option<PodState> {
    std::fs::read(dir.join("state.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// Takes the pod's lock (pod.lock, held by its holder for the whole of its
/// life) without waiting: None while a holder runs or starts.
pub(crate) fn try_lock(dir: &Path) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("pod.lock"))
        .ok()?;
    // SAFETY: flock on our own descriptor.
    (unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0).then_some(f)
}

/// Records a holder that died without being asked to (killed: it left its
/// state.json behind): a `died` pod event, once, and the stale state goes.
/// Only while holding the pod's lock, which no live holder then has, so
/// whoever first takes it after the death (a replacement holder, `pod ps`,
/// `pod start`...) reports it and the others find nothing left to report.
pub fn reap(root: &Path, id: &str) {
    let dir = pod_dir(root, id);
    if let Some(_lock) = try_lock(&dir) {
        reap_locked(root, id, &dir);
    }
}

/// `reap`'s work, by a caller that holds the pod's lock.
pub(crate) fn reap_locked(root: &Path, id: &str, dir: &Path) {
    let Some(stale) = recorded(dir) else { return };
    if std::fs::remove_file(dir.join("state.json")).is_err() {
        return;
    }
    if let Ok(rec) = load(root, id) {
        crate::events::emit(
            root,
            &crate::events::Event::pod(&rec, "died").with("pid", stale.pid),
        );
    }
}

/// The pod's containers, oldest first (the order they start in).
pub fn members(root: &Path, id: &str) -> Vec<ContainerRecord> {
    let mut v: Vec<ContainerRecord> = container::list(root)
        .into_iter()
        .map(|(r, _)| r)
        .filter(|r| r.pod.as_deref() == Some(id))
        .collect();
    v.reverse();
    v
}

/// Removes a pod whose holder has ended and whose containers are gone.
pub fn remove(root: &Path, rec: &PodRecord) -> Result<()> {
    if live(root, &rec.id).is_some() {
        return Err(RuntimeError::PodRunning(rec.name.clone()));
    }
    if let Some(c) = members(root, &rec.id).first() {
        return Err(RuntimeError::Invalid(format!(
            "pod {} still has container {}: remove it first (or use hoist pod rm -f)",
            rec.name, c.name
        )));
    }
    reap(root, &rec.id);
    let dir = pod_dir(root, &rec.id);
    std::fs::remove_dir_all(&dir).ctx(|| format!("removing {}", dir.display()))?;
    let _ = std::fs::remove_file(names_dir(root).join(&rec.name));
    crate::events::emit(root, &crate::events::Event::pod(rec, "remove"));
    Ok(())
}

/// For a container of a pod: points the spec's network, IPC and UTS
/// namespaces at the running holder's, and returns the holder's state for
/// `confirm`. Other containers pass through.
pub fn join_spec(
    root: &Path,
    rec: &ContainerRecord,
    mut spec: Spec,
) -> Result<(Spec, Option<PodState>)> {
    let Some(pod_id) = rec.pod.as_deref() else {
        return Ok((spec, None));
    };
    let pod = load(root, pod_id)?;
    let st = live(root, pod_id).ok_or(RuntimeError::PodNotRunning(pod.name))?;
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut nss = linux.namespaces().clone().unwrap_or_default();
    for ns in nss.iter_mut() {
        let file = match ns.typ() {
            LinuxNamespaceType::Network => "net",
            LinuxNamespaceType::Ipc => "ipc",
            LinuxNamespaceType::Uts => "uts",
            _ => continue,
        };
        ns.set_path(Some(PathBuf::from(format!("/proc/{}/ns/{file}", st.pid))));
    }
    linux.set_namespaces(Some(nss));
    spec.set_linux(Some(linux));
    Ok((spec, Some(st)))
}

/// Called once the namespace files are open: the holder must still be the
/// same process, or the paths could have named a stranger's namespaces.
pub fn confirm(rec: &ContainerRecord, holder: &Option<PodState>) -> Result<()> {
    match holder {
        Some(st) if process_start_time(st.pid) != Some(st.start) => Err(
            RuntimeError::PodNotRunning(rec.pod.clone().unwrap_or_default()),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{read, Filter};

    #[test]
    fn a_dead_holders_state_is_reported_once_and_a_live_lock_holder_blocks_reaping() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let pod = create(root, "ghost", &[], &[]).unwrap();
        let dir = pod_dir(root, &pod.id);
        // A holder that was killed: its state names a process that is gone
        // (no PID reaches i32::MAX: pid_max is at most 2^22).
        let stale = PodState {
            pid: i32::MAX,
            start: 1,
            ..Default::default()
        };
        let data = serde_json::to_vec(&stale).unwrap();
        std::fs::write(dir.join("state.json"), &data).unwrap();
        assert!(live(root, &pod.id).is_none());
        // While someone holds the lock (a holder starting), nothing is reaped.
        let held = try_lock(&dir).unwrap();
        reap(root, &pod.id);
        assert!(dir.join("state.json").exists());
        drop(held);
        reap(root, &pod.id);
        reap(root, &pod.id);
        assert!(!dir.join("state.json").exists());
        let evs = read(
            root,
            &Filter {
                pods: vec!["ghost".into()],
                ..Default::default()
            },
        );
        let actions: Vec<&str> = evs.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["create", "died"]);
        assert_eq!(evs[1].attributes["pid"], i32::MAX.to_string());
    }

    #[test]
    fn adopt_round_trips_and_refuses_garbage() {
        let a = holder::Adopt {
            pid: 42,
            start: 123456,
        };
        assert_eq!(holder::Adopt::parse(&a.arg()), Some(a));
        for bad in ["", "42", "42:", ":7", "x:1", "1:y", "1:2:3"] {
            assert_eq!(holder::Adopt::parse(bad), None, "{bad:?}");
        }
    }
}
