//! Removing a container: stopped first (killed) with `force`.

use std::time::Duration;

use super::{Lifecycle, StopOptions};
use crate::container::{self, state, ContainerRecord, Status};
use crate::error::{Result, RuntimeError};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoveOptions {
    /// Kill a running container first instead of refusing.
    pub force: bool,
    /// Remove its anonymous volumes too.
    pub volumes: bool,
}

impl Lifecycle {
    /// Removes the container (its record, files and name; named volumes and
    /// image snapshots stay).
    pub fn remove(&self, rec: &ContainerRecord, opts: RemoveOptions) -> Result<()> {
        let status = state::read_live(&self.dir(rec)).status;
        if matches!(status, Status::Running | Status::Restarting) {
            if !opts.force {
                return Err(RuntimeError::Running(rec.name.clone()));
            }
            let kill = StopOptions {
                timeout: Duration::ZERO,
                signal: Some(libc::SIGKILL),
            };
            self.stop(rec, kill)?;
        }
        container::remove(self.root(), rec, opts.volumes)
    }
}
