//! The one lifecycle API for containers and pods: create, start (detached,
//! or attached in this process), stop, kill, restart, remove, waiting for a
//! container to become healthy or to exit, pods with their holder, and
//! listing by label. The CLI, compose and kube all call these; the CLI only
//! parses flags and renders.
//!
//! A detached container runs under its own monitor process and a running
//! pod under its holder process, each started by re-executing the hoist
//! binary (`EXE --root ROOT __monitor ID --ready-fd 3`, `__pod`): the binary
//! is given to [`Lifecycle::new`] (the CLI passes `std::env::current_exe()`),
//! so a library caller decides which binary serves as monitor. A start
//! returns once the monitor reports "ok" (the container's process was
//! executed) or with the error it reported (monitor/detached.rs).

mod create;
mod list;
mod pause;
mod pod;
mod remove;
mod rename;
mod start;
mod stats;
mod stop;
mod update;
mod wait;

use std::path::{Path, PathBuf};

use crate::container::{self, ContainerRecord};
use crate::error::Result;

pub use crate::container::labels::Labels;
pub use list::{ContainerFilter, LabelFilter};
pub use remove::RemoveOptions;
pub use start::{RunMode, RunOutcome, Started};
pub use stats::{Stats, CPU_SAMPLE};
pub use stop::{parse_signal, StopOptions};
pub use update::UpdateOptions;

/// Where containers live (`root`, the store) and which binary runs their
/// monitors and pods' holders (`exe`).
#[derive(Debug, Clone)]
pub struct Lifecycle {
    root: PathBuf,
    exe: PathBuf,
}

impl Lifecycle {
    pub fn new(root: impl Into<PathBuf>, exe: impl Into<PathBuf>) -> Lifecycle {
        Lifecycle {
            root: root.into(),
            exe: exe.into(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// A container by name, full ID or unique ID prefix.
    pub fn find(&self, what: &str) -> Result<ContainerRecord> {
        container::find(&self.root, what)
    }

    /// The container's run dir (state.json, the monitor's socket).
    fn dir(&self, rec: &ContainerRecord) -> PathBuf {
        container::container_dir(&self.root, &rec.id)
    }
}
