//! Pods: created with their networks, started holder first then members
//! (oldest first), stopped members first (newest first, so none outlives
//! the pod's ports) then the holder; removed with their members.

use std::time::Duration;

use super::{Lifecycle, StopOptions};
use crate::container::{self, state, ContainerRecord, Status};
use crate::error::{Result, RuntimeError};
use crate::events;
use crate::pod::{self, holder, PodRecord};

/// How long the holder has to end after SIGTERM.
const HOLDER_STOP: Duration = Duration::from_secs(10);

fn running(root: &std::path::Path, c: &ContainerRecord) -> bool {
    let st = state::read_live(&container::container_dir(root, &c.id));
    matches!(st.status, Status::Running | Status::Restarting)
}

impl Lifecycle {
    /// Creates a pod publishing `publish` (`-p` specs), giving its members
    /// `volumes` (`-v` specs), on `networks` (names, or `private`).
    pub fn pod_create(
        &self,
        name: &str,
        publish: &[String],
        volumes: &[String],
        networks: &[String],
    ) -> Result<PodRecord> {
        // The store's root and state dirs are made (or tightened) 0700 first.
        hoist_store::Store::open(self.root()).map_err(|e| RuntimeError::Store {
            path: self.root().display().to_string(),
            message: e.to_string(),
        })?;
        crate::rootless::check_pod(networks, publish)?;
        let nets = crate::netpod::check(self.root(), networks)?;
        let rec = pod::create(self.root(), name, publish, volumes)?;
        if let Err(e) = crate::netpod::save(self.root(), &rec.id, &nets) {
            let _ = pod::remove(self.root(), &rec);
            return Err(e);
        }
        Ok(rec)
    }

    /// A pod by name, full ID or unique ID prefix.
    pub fn pod_find(&self, what: &str) -> Result<PodRecord> {
        pod::find(self.root(), what)
    }

    /// Starts the holder of the container's pod unless it runs (in the
    /// namespaces of a running member if its last holder died: pod/recover.rs).
    pub fn ensure_pod_holder(&self, rec: &ContainerRecord) -> Result<()> {
        let Some(id) = rec.pod.as_deref() else {
            return Ok(());
        };
        pod::recover::ensure_holder(self.exe(), self.root(), id).map(|_| ())
    }

    /// Starts the pod's holder, then each member not running, oldest first.
    pub fn pod_start(&self, p: &PodRecord) -> Result<()> {
        pod::recover::ensure_holder(self.exe(), self.root(), &p.id)?;
        for c in pod::members(self.root(), &p.id) {
            // A member whose monitor died but whose processes run counts
            // as running: it is left alone.
            if !running(self.root(), &c) {
                self.start(&c)?;
            }
        }
        Ok(())
    }

    /// Stops the members (newest first, `timeout` each), then the holder.
    pub fn pod_stop(&self, p: &PodRecord, timeout: Duration) -> Result<()> {
        let root = self.root();
        // A holder that had died is reported before the stop.
        pod::reap(root, &p.id);
        let members = pod::members(root, &p.id);
        let was_running =
            pod::live(root, &p.id).is_some() || members.iter().any(|c| running(root, c));
        let stop = StopOptions {
            timeout,
            signal: None,
        };
        for c in members.iter().rev() {
            self.stop(c, stop)?;
        }
        holder::stop(root, &p.id, HOLDER_STOP)?;
        if was_running {
            events::emit(root, &events::Event::pod(p, "stop"));
        }
        Ok(())
    }

    /// Removes the pod and its members; with `force` running members are
    /// killed first, without it they make this fail.
    pub fn pod_remove(&self, p: &PodRecord, force: bool) -> Result<()> {
        let root = self.root();
        if !force {
            if let Some(c) = pod::members(root, &p.id)
                .into_iter()
                .find(|c| running(root, c))
            {
                return Err(RuntimeError::PodHasRunning {
                    pod: p.name.clone(),
                    container: c.name,
                });
            }
        }
        let timeout = Duration::from_secs(if force { 0 } else { 10 });
        self.pod_stop(p, timeout)?;
        for c in pod::members(root, &p.id) {
            container::remove(root, &c, true)?;
        }
        pod::remove(root, p)
    }
}
