//! Kubernetes-style probes run by the monitor: startup, liveness,
//! readiness (parse.rs: the syntax; check.rs: one check). Semantics:
//! liveness and readiness start once the startup probe has passed; a startup
//! or liveness probe that fails `failure` times in a row kills the container
//! (SIGKILL), and the restart policy decides what happens next; readiness
//! flips the container between ready (after `success` passes) and not ready
//! (after `failure` fails), which opens or closes its published ports to new
//! connections (gate.rs). Probes live in `<container dir>/probes.json`,
//! written by `create`/`run`.

pub mod check;
pub mod parse;

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Result, RuntimeError};
use crate::events::{self, Event};
use crate::gate::Gate;
use crate::monitor::Shared;
pub use parse::{Check, Probe};

pub const FILE: &str = "probes.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probes {
    pub startup: Option<Probe>,
    pub liveness: Option<Probe>,
    pub readiness: Option<Probe>,
}

impl Probes {
    /// Parses the three flags and checks them against the published
    /// container ports: an http/tcp readiness probe of a container that
    /// publishes ports must check one of them, since readiness opens and
    /// closes exactly those ports (a probe on another port is a mistake).
    pub fn parse(
        startup: Option<&str>,
        liveness: Option<&str>,
        readiness: Option<&str>,
        published: &[u16],
    ) -> Result<Probes> {
        let p = |flag: &str, s: Option<&str>| s.map(|s| Probe::parse(flag, s)).transpose();
        let probes = Probes {
            startup: p("--startup-probe", startup)?,
            liveness: p("--liveness-probe", liveness)?,
            readiness: p("--readiness-probe", readiness)?,
        };
        probes.check_published(published)?;
        Ok(probes)
    }

    /// The port check of `parse` alone, for probes parsed before the
    /// published ports are known (lifecycle::create checks them there).
    pub fn check_published(&self, published: &[u16]) -> Result<()> {
        if let Some(port) = self.readiness.as_ref().and_then(Probe::port) {
            if !published.is_empty() && !published.contains(&port) {
                return Err(RuntimeError::Invalid(format!(
                    "--readiness-probe checks container port {port}, which is not published (published: {}); readiness gates the published ports, so probe one of them or publish {port} (with -p, or the pod's -p for a container of a pod)",
                    published.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.startup.is_none() && self.liveness.is_none() && self.readiness.is_none()
    }

    /// `dir` is the container's run dir; the probes are kept in its record
    /// dir (container/paths.rs), like the rest of its configuration.
    pub fn load(dir: &Path) -> Probes {
        std::fs::read(crate::container::paths::record_of(dir).join(FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let data = serde_json::to_vec_pretty(self).unwrap_or_default();
        crate::fsutil::write_atomic(&crate::container::paths::record_of(dir).join(FILE), &data)
    }
}

/// Before a run starts: a container with a readiness probe starts not ready.
pub fn prepare(dir: &Path, gate: &Gate) {
    gate.set_ready(Probes::load(dir).readiness.is_none());
}

/// Starts the probe threads for the run of the container whose PID 1 is
/// `pid`; they end when it exits.
pub fn start(shared: &Arc<Shared>, gate: &Arc<Gate>, pid: i32) {
    let probes = Probes::load(&shared.dir);
    if probes.is_empty() {
        return;
    }
    shared.update(|s| {
        s.ready = probes.readiness.as_ref().map(|_| false);
        s.started = probes.startup.as_ref().map(|_| false);
    });
    let (shared, gate) = (shared.clone(), gate.clone());
    std::thread::spawn(move || {
        if let Some(p) = &probes.startup {
            if !run_probe(&shared, pid, p, "startup", |_| {}) {
                return;
            }
            shared.update(|s| s.started = Some(true));
        }
        if let Some(p) = probes.readiness.clone() {
            let (shared, gate) = (shared.clone(), gate.clone());
            std::thread::spawn(move || {
                run_probe(&shared, pid, &p, "readiness", |ready| {
                    set_ready(&shared, &gate, ready)
                });
            });
        }
        if let Some(p) = &probes.liveness {
            run_probe(&shared, pid, p, "liveness", |_| {});
        }
    });
}

fn set_ready(shared: &Shared, gate: &Gate, ready: bool) {
    gate.set_ready(ready);
    shared.update(|s| s.ready = Some(ready));
    let action = if ready { "ready" } else { "not_ready" };
    events::emit(&shared.root, &Event::container(&shared.rec, action));
}

/// Runs one probe until the container exits. For startup: returns true once
/// it passed (then stops). For liveness/startup: `failure` fails in a row
/// kill the container (returns false). Readiness reports each change of
/// state through `changed`.
fn run_probe(
    shared: &Shared,
    pid: i32,
    p: &Probe,
    which: &str,
    mut changed: impl FnMut(bool),
) -> bool {
    if p.port().is_some() {
        if let Err(e) = crate::ports::enter_netns(pid) {
            tracing::warn!("{which} probe: entering the container's network: {e}");
            return false;
        }
    }
    if shared.wait_exit(Some(p.initial_delay)).is_some() {
        return false;
    }
    let (mut passes, mut fails) = (0u32, 0u32);
    let mut ready: Option<bool> = None;
    loop {
        let began = Instant::now();
        let result = check::run(&shared.root, &shared.rec, p);
        if shared.wait_exit(Some(Duration::ZERO)).is_some() {
            return false;
        }
        match result {
            Ok(()) => {
                passes += 1;
                fails = 0;
            }
            Err(why) => {
                fails += 1;
                passes = 0;
                tracing::debug!("{which} probe failed: {why}");
                if fails >= p.failure && which != "readiness" {
                    events::emit(
                        &shared.root,
                        &Event::container(&shared.rec, "probe_failed")
                            .with("probe", which)
                            .with("message", &why),
                    );
                    let _ = shared.signal(libc::SIGKILL);
                    return false;
                }
                if fails >= p.failure && ready != Some(false) {
                    events::emit(
                        &shared.root,
                        &Event::container(&shared.rec, "probe_failed")
                            .with("probe", which)
                            .with("message", &why),
                    );
                    ready = Some(false);
                    changed(false);
                }
            }
        }
        if passes >= 1 && which == "startup" {
            return true;
        }
        if passes >= p.success && which == "readiness" && ready != Some(true) {
            ready = Some(true);
            changed(true);
        }
        let pause = p.period.saturating_sub(began.elapsed());
        if shared.wait_exit(Some(pause)).is_some() {
            return false;
        }
    }
}
