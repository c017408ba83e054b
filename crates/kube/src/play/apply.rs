//! Play and down: each workload's desired state against what its labels say exists, planned
//! and applied through [`KubeDriver`]; ConfigMap/Secret volume files written first; each
//! Service's keeper started (or kept) last, stopped by `down`.

use super::desired::{desired, FileSet, KubeSpec};
use super::driver::KubeDriver;
use super::keeper;
use super::labels::KEYS;
use super::manifest::{Kind, Manifest, Workload};
use super::service::definitions;
use hoist_reconcile::runtime::{observe, DriverError};
use hoist_reconcile::{
    apply_down, apply_up, plan_down, plan_up, Action, ApplyError, Desired, DownOptions, Driver,
    Event, EventKind, Failure, Observed, Plan, PlanError, Recreate, UpOptions,
};
use hoist_runtime::lifecycle::Lifecycle;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct PlayOptions {
    /// `--replicas`: over the files' replicas of Deployments and StatefulSets.
    pub replicas: Option<u32>,
    /// Image (as the files name it) → its digest in the store now: in the config hash.
    pub image_digests: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    #[error(transparent)]
    Kube(#[from] super::KubeError),
    #[error("{workload}: {source}")]
    Plan {
        workload: String,
        #[source]
        source: PlanError,
    },
    #[error("{workload}: {failure}")]
    Apply {
        workload: String,
        failure: Box<Failure<DriverError>>,
    },
    #[error("writing {}: {source}", path.display())]
    Files {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Keeper(std::io::Error),
    #[error(transparent)]
    Cron(#[from] crate::cron::CronError),
}

/// Where ConfigMap and Secret volumes' files live.
pub fn files_root(root: &Path) -> PathBuf {
    root.join("kube").join("files")
}

fn write_files(sets: &[FileSet]) -> Result<(), PlayError> {
    use std::os::unix::fs::PermissionsExt;
    for set in sets {
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PlayError::Files { path, source }
        };
        // Written anew each play: a key removed from a ConfigMap disappears.
        let _ = std::fs::remove_dir_all(&set.dir);
        std::fs::create_dir_all(&set.dir).map_err(err(&set.dir))?;
        for (rel, data, mode) in &set.files {
            let path = set.dir.join(rel);
            if rel.split('/').any(|p| p == "..") {
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(err(parent))?;
            }
            std::fs::write(&path, data).map_err(err(&path))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
                .map_err(err(&path))?;
        }
    }
    Ok(())
}

fn desired_state(lc: &Lifecycle, m: &Manifest, w: &Workload) -> (Desired<KubeSpec>, Vec<FileSet>) {
    desired(m, w, &files_root(lc.root()))
}

/// A completed one-shot (an init container, a Job's container) is not run again by a
/// second play of the same files: its "start" steps are dropped.
fn keep_completed(desired: &Desired<KubeSpec>, plan: &mut Plan) {
    for sp in &mut plan.services {
        let one_shot = desired
            .service(&sp.service)
            .is_some_and(|s| s.spec.one_shot);
        if one_shot {
            sp.actions.retain(|a| !matches!(a, Action::Start { .. }));
        }
    }
}

/// A pod is immutable, as in Kubernetes: when any of its containers no longer matches the
/// template (another config hash, or a container the template lost), the whole pod goes
/// before the plan, which then makes it anew. Recreating members one by one would leave the
/// new ones in the old pod, with the old pod's published ports. True if anything went.
fn retire_changed_pods(
    lc: &Lifecycle,
    desired: &Desired<KubeSpec>,
    observed: &Observed,
    driver: &mut KubeDriver,
    events: &mut Vec<Event>,
    notify: &mut dyn FnMut(&Event),
) -> Result<bool, Box<Failure<DriverError>>> {
    let pod_of = |id: &str| {
        lc.find(id)
            .ok()
            .and_then(|r| r.labels.get(super::labels::POD).cloned())
    };
    let stale: BTreeSet<String> = observed
        .containers
        .iter()
        .filter(|c| {
            desired
                .service(&c.service)
                .is_none_or(|s| s.config_hash != c.config_hash)
        })
        .filter_map(|c| pod_of(&c.id))
        .collect();
    if stale.is_empty() {
        return Ok(false);
    }
    // Newest first: the containers before the init containers they waited for.
    for c in observed.containers.iter() {
        if !pod_of(&c.id).is_some_and(|p| stale.contains(&p)) {
            continue;
        }
        let timeout = desired.service(&c.service).map_or(30, |s| s.stop_timeout);
        let fail = |source| {
            Box::new(Failure {
                error: ApplyError::Driver {
                    what: format!("removing {} (its pod changed)", c.name),
                    source,
                },
                done: events.clone(),
            })
        };
        driver.stop(&c.id, timeout).map_err(fail)?;
        driver.remove(&c.id).map_err(fail)?;
        let e = Event {
            kind: EventKind::Removed,
            name: c.name.clone(),
            id: None,
        };
        notify(&e);
        events.push(e);
    }
    Ok(true)
}

/// Brings every workload of `m` to its desired state, then the Services' keepers.
pub fn play(
    lc: &Lifecycle,
    m: &Manifest,
    opts: &PlayOptions,
    notify: &mut dyn FnMut(&Event),
) -> Result<Vec<Event>, PlayError> {
    super::check::check(m)?;
    let mut events = Vec::new();
    for w in &m.workloads {
        let (mut desired, files) = desired_state(lc, m, w);
        super::desired::with_image_digests(&mut desired, &opts.image_digests);
        write_files(&files)?;
        let mut observed = observe(lc, &KEYS, &desired.project, &[], &[]);
        let mut driver = KubeDriver::new(lc);
        let retired =
            retire_changed_pods(lc, &desired, &observed, &mut driver, &mut events, notify)
                .map_err(|failure| PlayError::Apply {
                    workload: w.id(),
                    failure,
                })?;
        if retired {
            observed = observe(lc, &KEYS, &desired.project, &[], &[]);
        }
        let mut scale = BTreeMap::new();
        if let (Some(n), Kind::Deployment | Kind::StatefulSet) = (opts.replicas, w.kind) {
            for s in &desired.services {
                scale.insert(s.name.clone(), n);
            }
        }
        let up = UpOptions {
            services: Vec::new(),
            recreate: Recreate::Diverged,
            recreate_dependencies: Recreate::Diverged,
            // The template is the whole truth: a container no longer in it goes.
            remove_orphans: true,
            scale,
        };
        let mut plan = plan_up(&desired, &observed, &up).map_err(|source| PlayError::Plan {
            workload: w.id(),
            source,
        })?;
        keep_completed(&desired, &mut plan);
        let done = apply_up(&desired, &plan, &mut driver, false, notify).map_err(|failure| {
            PlayError::Apply {
                workload: w.id(),
                failure: Box::new(failure),
            }
        })?;
        let created = done
            .iter()
            .any(|e| matches!(e.kind, EventKind::Created | EventKind::Recreated));
        if let (Some(secs), true) = (w.job.and_then(|j| j.active_deadline), created) {
            let grace = desired.services.first().map_or(30, |s| s.stop_timeout);
            super::deadline::ensure(lc.root(), lc.exe(), &w.namespace, &w.name, secs, grace)
                .map_err(PlayError::Keeper)?;
        }
        events.extend(done);
    }
    for def in definitions(m) {
        keeper::ensure(lc.root(), lc.exe(), &def).map_err(PlayError::Keeper)?;
    }
    for c in &m.cron_jobs {
        crate::cron::play(lc.root(), lc.exe(), c)?;
    }
    Ok(events)
}

/// Removes what `play` made of `m`: the Services' keepers, every workload's containers and
/// pods (and emptyDir volumes), the ConfigMap/Secret files. Named volumes of PVCs and
/// StatefulSet claims are kept, as Kubernetes keeps PersistentVolumeClaims.
pub fn down(
    lc: &Lifecycle,
    m: &Manifest,
    notify: &mut dyn FnMut(&Event),
) -> Result<Vec<Event>, PlayError> {
    for def in definitions(m) {
        keeper::stop(lc.root(), &def.namespace, &def.name);
    }
    for c in &m.cron_jobs {
        let namespace = c.metadata.namespace.as_deref().unwrap_or("default");
        let name = c.metadata.name.as_deref().unwrap_or_default();
        crate::cron::down(lc.root(), lc.exe(), namespace, name);
    }
    let mut events = Vec::new();
    for w in &m.workloads {
        if w.kind == Kind::Job {
            super::deadline::stop(lc.root(), &w.namespace, &w.name);
        }
        let (desired, _) = desired_state(lc, m, w);
        let observed = observe(lc, &KEYS, &desired.project, &[], &[]);
        let opts = DownOptions {
            remove_orphans: true,
            volumes: false,
        };
        let plan = plan_down(&desired, &observed, opts).map_err(|source| PlayError::Plan {
            workload: w.id(),
            source,
        })?;
        let mut driver = KubeDriver::new(lc);
        let done = apply_down(&desired, &plan, &mut driver, notify).map_err(|failure| {
            PlayError::Apply {
                workload: w.id(),
                failure: Box::new(failure),
            }
        })?;
        events.extend(done);
        let _ = std::fs::remove_dir_all(files_root(lc.root()).join(w.id().replace('/', "_")));
    }
    Ok(events)
}
