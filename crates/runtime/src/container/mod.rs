//! Containers on disk: hoist.json (what to run, resolved at create time),
//! config.json (the OCI runtime spec), state.json, the json log, the
//! overlay's upper/ and work/ dirs, rootfs/ (the mount point, used only
//! inside the container's own mount namespace) and the monitor's socket,
//! split between a record dir in the store and a run dir on a tmpfs
//! (paths.rs decides which file goes where). Names are reserved atomically
//! in `<root>/containers/.names/`.

pub mod config;
pub mod create;
pub mod extras;
pub mod labels;
mod listing;
pub mod paths;
pub mod state;
pub mod unsupervised;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, RuntimeError};
use crate::health::Healthcheck;
use crate::spec::NetworkMode;
use config::{MountRequest, PortMapping};

pub use create::create;
pub use listing::list;
pub use paths::{container_dir, containers_dir, record_dir};
pub use state::{State, Status};

/// Everything decided at create time (hoist.json).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub created: String,
    /// The image as the user named it, its full reference, manifest digest.
    pub image: String,
    pub image_ref: String,
    pub image_digest: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub user: String,
    pub hostname: String,
    pub network: NetworkMode,
    pub mounts: Vec<MountRequest>,
    pub ports: Vec<PortMapping>,
    pub memory: Option<i64>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    pub read_only: bool,
    pub interactive: bool,
    pub tty: bool,
    pub auto_remove: bool,
    pub restart: Option<String>,
    pub healthcheck: Option<Healthcheck>,
    pub stop_signal: Option<String>,
    /// `--log-opt` rotation of the json log (logs.rs); older records: none.
    #[serde(default, skip_serializing_if = "crate::logs::LogOptions::is_default")]
    pub log: crate::logs::LogOptions,
    /// Snapshot dirs, bottom first.
    pub lowerdirs: Vec<PathBuf>,
    /// The ID of the pod the container belongs to (pod/).
    #[serde(default)]
    pub pod: Option<String>,
    /// The networks of a `bridge`-mode container (netattach.rs).
    #[serde(default)]
    pub networks: Vec<hoist_network::Request>,
    /// `--add-host HOST:IP` entries for /etc/hosts.
    #[serde(default)]
    pub add_hosts: Vec<String>,
    /// `--dns` servers and `--dns-search` domains for /etc/resolv.conf.
    #[serde(default)]
    pub dns: Vec<String>,
    #[serde(default)]
    pub dns_search: Vec<String>,
    /// `--network container:NAME`: the ID of the container whose network
    /// namespace this one joins (netjoin.rs).
    #[serde(default)]
    pub network_container: Option<String>,
    /// Capabilities, seccomp profile, no_new_privs, privileged
    /// (security/); older records have docker's defaults.
    #[serde(default)]
    pub security: crate::security::SecurityOptions,
    /// The image's labels with `--label`/`--label-file` over them
    /// (labels.rs); older records have none.
    #[serde(default)]
    pub labels: labels::Labels,
    /// `--ulimit`, `--group-add`, `--shm-size`, `--device` (extras.rs).
    #[serde(default, skip_serializing_if = "extras::SpecExtras::is_empty")]
    pub extras: extras::SpecExtras,
}

impl ContainerRecord {
    pub fn args(&self) -> Vec<String> {
        let mut a = self.entrypoint.clone();
        a.extend(self.cmd.iter().cloned());
        a
    }
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }
}

/// The json log of the container whose run dir is `dir` (in its record dir).
pub fn log_path(dir: &Path, id: &str) -> PathBuf {
    paths::record_of(dir).join(format!("{id}-json.log"))
}

/// Reserves `name` for `id` (fails if taken). A throwaway (`--rm`)
/// container's name is kept in the run dir, the others' in the store
/// (paths::names_dir); a name is taken if either holds it.
pub fn reserve_name(root: &Path, name: &str, id: &str, throwaway: bool) -> Result<()> {
    check_name(name)?;
    let dir = paths::names_dir(root, throwaway);
    if throwaway {
        crate::rundir::ensure()?;
    }
    paths::create_dir(&dir)?;
    let path = dir.join(name);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(id.as_bytes())
                .ctx(|| format!("writing {}", path.display()))?;
            // Reserved here; the other place may hold it already.
            if held_by_other(root, &paths::names_dir(root, !throwaway).join(name), id) {
                let _ = std::fs::remove_file(&path);
                return Err(RuntimeError::NameInUse(name.into()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if held_by_other(root, &path, id) {
                return Err(RuntimeError::NameInUse(name.into()));
            }
            // A reservation whose container is gone (crash mid-create) is stale.
            let _ = std::fs::remove_file(&path);
            reserve_name(root, name, id, throwaway)
        }
        // The run dir's names/ went with the root's last container just now.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && throwaway => {
            reserve_name(root, name, id, throwaway)
        }
        Err(e) => Err(RuntimeError::io(format!("creating {}", path.display()), e)),
    }
}

/// Whether the reservation at `path` is another container's (a live one:
/// its record exists, or it cannot be read).
fn held_by_other(root: &Path, path: &Path, id: &str) -> bool {
    match std::fs::read_to_string(path) {
        Ok(owner) => {
            owner != id
                && (owner.is_empty() || record_dir(root, &owner).join("hoist.json").exists())
        }
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

/// Frees `name`: the last step of a container's removal, so the root's run
/// dir goes here when nothing is left in it.
pub fn release_name(root: &Path, name: &str) {
    for throwaway in [true, false] {
        let _ = std::fs::remove_file(paths::names_dir(root, throwaway).join(name));
    }
    paths::tidy_run_dir(root);
}

fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(RuntimeError::Invalid(format!(
            "invalid container name {name:?}: use letters, digits, _ . - (starting with a letter or digit)"
        )))
    }
}

pub fn load(root: &Path, id: &str) -> Result<ContainerRecord> {
    let path = record_dir(root, id).join("hoist.json");
    let data = std::fs::read(&path).map_err(|_| RuntimeError::NoSuchContainer(id.into()))?;
    serde_json::from_slice(&data)
        .map_err(|e| RuntimeError::Invalid(format!("{}: {e}", path.display())))
}

pub fn save(root: &Path, rec: &ContainerRecord) -> Result<()> {
    let data = serde_json::to_vec_pretty(rec).unwrap_or_default();
    crate::fsutil::write_atomic(&record_dir(root, &rec.id).join("hoist.json"), &data)
}

/// All container IDs: those with a record in the store and the `--rm`
/// ones, which live only in the run dir.
pub fn ids(root: &Path) -> Vec<String> {
    let mut ids = listing::ids_in(&containers_dir(root));
    ids.extend(listing::ids_in(&paths::run_containers_dir(root)));
    ids.sort();
    ids.dedup();
    ids
}

/// Finds a container by name, full ID or unique ID prefix.
pub fn find(root: &Path, what: &str) -> Result<ContainerRecord> {
    let what = what.trim_start_matches('/');
    for throwaway in [false, true] {
        let Ok(id) = std::fs::read_to_string(paths::names_dir(root, throwaway).join(what)) else {
            continue;
        };
        if let Ok(rec) = load(root, id.trim()) {
            return Ok(rec);
        }
    }
    if what.len() >= 3 && what.chars().all(|c| c.is_ascii_hexdigit()) {
        let matches: Vec<String> = ids(root)
            .into_iter()
            .filter(|i| i.starts_with(what))
            .collect();
        if matches.len() == 1 {
            return load(root, &matches[0]);
        }
        if matches.len() > 1 {
            return Err(RuntimeError::Invalid(format!(
                "{what:?} matches more than one container; use more of the ID"
            )));
        }
    }
    Err(RuntimeError::NoSuchContainer(what.into()))
}

/// Manifest digests of every existing container's image (GC roots).
pub fn live_image_digests(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = ids(root)
        .into_iter()
        .filter_map(|id| load(root, &id).ok())
        .map(|r| r.image_digest)
        .filter(|d| !d.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Removes a stopped container's directory and name (and its anonymous
/// volumes with `volumes`). Snapshots and named volumes stay.
pub fn remove(root: &Path, rec: &ContainerRecord, volumes: bool) -> Result<()> {
    let dir = container_dir(root, &rec.id);
    if matches!(
        state::read_live(&dir).status,
        Status::Running | Status::Restarting
    ) {
        return Err(RuntimeError::Running(rec.name.clone()));
    }
    remove_stopped(root, rec, volumes)
}

/// `remove` for a container known to have stopped: no state check.
pub fn remove_stopped(root: &Path, rec: &ContainerRecord, volumes: bool) -> Result<()> {
    // Processes left by a monitor that died (killed -9) go with the container.
    let cgroup = crate::cgroup::Cgroup::existing(&rec.id);
    cgroup.kill_all();
    cgroup.remove();
    remove_files(root, rec, volumes)
}

/// Removes the directory, name and (with `volumes`) anonymous volumes of a
/// container whose cgroup its monitor removes.
pub fn remove_files(root: &Path, rec: &ContainerRecord, volumes: bool) -> Result<()> {
    let dir = container_dir(root, &rec.id);
    // The overlay's directories (upper: whatever the container wrote; work:
    // overlayfs' own, several levels deep) go on a second thread while this
    // one removes the files: ext4 spends ~0.1 ms on each directory here.
    const OVERLAY_DIRS: [&str; 2] = ["upper", "work"];
    let overlay_dir = paths::record_of(&dir);
    let overlay_done = std::thread::spawn(move || {
        for sub in OVERLAY_DIRS {
            let path = overlay_dir.join(sub);
            match std::fs::remove_dir_all(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err((path, e)),
                _ => {}
            }
        }
        Ok(())
    });
    // Addresses still recorded (a monitor killed before it gave them back) are released
    // while the record of them (network.json in the run dir) still exists.
    crate::netattach::release_recorded(root, &dir, &rec.id);
    // The link to the record dir goes last, with the directories (paths.rs).
    let rest = remove_all_but(&dir, &["upper", "work", paths::RECORD_LINK]);
    if let Ok(Err((path, e))) = overlay_done.join() {
        return Err(RuntimeError::io(format!("removing {}", path.display()), e));
    }
    rest.ctx(|| format!("removing {}", dir.display()))?;
    paths::remove_dirs(&dir).ctx(|| format!("removing {}", dir.display()))?;
    release_name(root, &rec.name);
    if let Some(ns) = &rec.security.userns {
        crate::security::userns::release(root, ns, &rec.id);
    }
    if volumes {
        for m in &rec.mounts {
            if let MountRequest::Volume {
                name,
                anonymous: true,
                ..
            } = m
            {
                let _ = crate::volumes::remove(root, name, false);
            }
        }
    }
    Ok(())
}

/// Removes everything in `dir` except the entries named in `keep`.
fn remove_all_but(dir: &Path, keep: &[&str]) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if keep.iter().any(|k| entry.file_name() == *k) {
            continue;
        }
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Names of volumes used by any container.
pub fn volumes_in_use(root: &Path) -> Vec<String> {
    ids(root)
        .into_iter()
        .filter_map(|id| load(root, &id).ok())
        .flat_map(|r| r.mounts)
        .filter_map(|m| match m {
            MountRequest::Volume { name, .. } => Some(name),
            _ => None,
        })
        .collect()
}
