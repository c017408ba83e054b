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
    apply_down, apply_up, plan_down, plan_up, Action, Desired, DownOptions, Event, EventKind,
    Failure, Plan, PlanError, Recreate, UpOptions,
};
use hoist_runtime::lifecycle::Lifecycle;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct PlayOptions {
    /// `--replicas`: over the files' replicas of Deployments and StatefulSets.
    pub replicas: Option<u32>,
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
        let (desired, files) = desired_state(lc, m, w);
        write_files(&files)?;
        let observed = observe(lc, &KEYS, &desired.project, &[], &[]);
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
        let mut driver = KubeDriver::new(lc);
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
