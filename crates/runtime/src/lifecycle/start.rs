//! Starting containers: detached under a monitor process of their own, or
//! attached to this process's terminal; `run` = create + start; restart.

use super::{Lifecycle, StopOptions};
use crate::container::config::RunOptions;
use crate::container::{self, state, ContainerRecord, Status};
use crate::error::{Result, RuntimeError};
use crate::monitor::{self, Attach, Ready};
use crate::probe::Probes;

/// What `start` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    Started,
    /// It was running (or waiting to restart) already: nothing was done.
    AlreadyRunning,
}

/// How `run` runs the container it created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Under its own monitor process (`run -d`).
    Detached,
    /// In this process with the terminal attached (`stdin`: `-i`); signals
    /// sent to this process are forwarded to the container.
    Attached { stdin: bool },
}

#[derive(Debug)]
pub enum RunOutcome {
    /// Started detached: it runs on.
    Detached(Box<ContainerRecord>),
    /// Ran attached to its end, with this exit code.
    Exited(i32),
}

impl Lifecycle {
    /// Starts a created or exited container under its own monitor; returns
    /// once its process runs, or with the error that kept it from starting.
    /// A container of a pod starts the pod's holder first when none runs.
    pub fn start(&self, rec: &ContainerRecord) -> Result<Started> {
        let st = state::read_live(&self.dir(rec));
        if st.unsupervised {
            return Err(RuntimeError::Unsupervised(rec.name.clone()));
        }
        if matches!(st.status, Status::Running | Status::Restarting) {
            return Ok(Started::AlreadyRunning);
        }
        self.ensure_pod_holder(rec)?;
        self.spawn_monitor(rec)?;
        Ok(Started::Started)
    }

    /// Creates a container and starts it; a `--rm` container that cannot
    /// start is removed again.
    pub fn run(
        &self,
        image: &str,
        opts: &RunOptions,
        probes: &Probes,
        mode: RunMode,
    ) -> Result<RunOutcome> {
        let rec = self.create(image, opts, probes)?;
        match mode {
            RunMode::Attached { stdin } => self.attach(&rec, stdin).map(RunOutcome::Exited),
            RunMode::Detached => {
                let started = self
                    .ensure_pod_holder(&rec)
                    .and_then(|_| self.spawn_monitor(&rec));
                if let Err(e) = started {
                    self.discard(&rec);
                    return Err(e);
                }
                Ok(RunOutcome::Detached(Box::new(rec)))
            }
        }
    }

    /// Runs the container in this process with the terminal attached until
    /// it ends (through the restarts its policy asks for); returns its last
    /// exit code. A `--rm` container that cannot start is removed.
    pub fn attach(&self, rec: &ContainerRecord, stdin: bool) -> Result<i32> {
        self.attach_streams(
            rec,
            Attach {
                stdin,
                forward_signals: true,
                stdout: true,
                stderr: true,
            },
        )
    }

    /// `attach` with the streams chosen (`run -a STREAM`).
    pub fn attach_streams(&self, rec: &ContainerRecord, attach: Attach) -> Result<i32> {
        let ran = self
            .ensure_pod_holder(rec)
            .and_then(|_| monitor::run(self.root(), &rec.id, Some(attach), Ready::new(None)));
        if ran.is_err() {
            self.discard(rec);
        }
        ran
    }

    /// Stops the container (if it runs) and starts it again, detached.
    pub fn restart(&self, rec: &ContainerRecord, stop: StopOptions) -> Result<()> {
        self.stop(rec, stop)?;
        self.ensure_pod_holder(rec)?;
        self.spawn_monitor(rec)
    }

    /// `hoist __monitor ID` in its own session; waits for its report.
    fn spawn_monitor(&self, rec: &ContainerRecord) -> Result<()> {
        let log = self.dir(rec).join("monitor.log");
        let child = monitor::detached::spawn_reporting(
            self.exe(),
            self.root(),
            "__monitor",
            &rec.id,
            &[],
            &log,
            "container monitor",
        )?;
        // It lives on in its own session. A short-lived caller (the CLI)
        // exits and init reaps the monitor; a long-lived one must not keep
        // a zombie around.
        std::thread::spawn(move || {
            let mut child = child;
            child.wait()
        });
        Ok(())
    }

    /// Removes a `--rm` container that failed to start.
    fn discard(&self, rec: &ContainerRecord) {
        if rec.auto_remove {
            let _ = container::remove(self.root(), rec, true);
        }
    }
}
