//! `pause`/`unpause`: the container's processes frozen and thawed with the
//! cgroup freezer (cgroup/freezer.rs). A paused container still runs as far
//! as its monitor is concerned; `State::paused` says it is frozen. `stop`,
//! `kill` and `rm -f` thaw it first, so a signal can be delivered.

use super::Lifecycle;
use crate::container::{state, ContainerRecord, Status};
use crate::error::{Result, RuntimeError};

impl Lifecycle {
    /// Freezes a running container; `AlreadyPaused` if it is frozen.
    pub fn pause(&self, rec: &ContainerRecord) -> Result<()> {
        let st = state::read_live(&self.dir(rec));
        if st.status != Status::Running || st.unsupervised {
            return Err(RuntimeError::NotRunning(rec.name.clone()));
        }
        if st.paused {
            return Err(RuntimeError::AlreadyPaused(rec.name.clone()));
        }
        crate::cgroup::freezer::freeze(&rec.id)
    }

    /// Thaws a paused container; `NotPaused` if it is not frozen.
    pub fn unpause(&self, rec: &ContainerRecord) -> Result<()> {
        let st = state::read_live(&self.dir(rec));
        if !st.paused {
            return Err(RuntimeError::NotPaused(rec.name.clone()));
        }
        crate::cgroup::freezer::thaw(&rec.id)
    }

    /// Before a signal: a frozen process would not act on it (and a v1
    /// frozen task does not even die of SIGKILL until thawed).
    pub(super) fn thaw_if_paused(&self, rec: &ContainerRecord) -> Result<()> {
        if crate::cgroup::freezer::is_frozen(&rec.id) {
            crate::cgroup::freezer::thaw(&rec.id)?;
        }
        Ok(())
    }
}
