//! RUN: the command runs in a container from the runtime over the stage's
//! layers (its snapshots as overlay lower dirs), with the stage's env,
//! working directory, user and shell; the overlay's upper directory — new
//! files, and whiteouts for deletions — becomes the step's layer.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use hoist_runtime::spec::NetworkMode;
use hoist_runtime::{run_oneshot, OneShot, Stdio};

use crate::dockerfile::{CommandForm, Heredoc, Instruction, RunMount};
use crate::error::{BuildError, Result};
use crate::exec::{Event, Network};

use super::copy::{lookup, store_entry};
use super::layers::{adopt_snapshot, pack_into_store, snapshots};
use super::stage::{cached, StageState};

/// How many of a failed command's last output lines the error shows.
const TAIL_LINES: usize = 10;

/// A RUN instruction's parts.
pub(crate) struct RunStep<'i> {
    pub command: &'i CommandForm,
    pub network: Option<&'i str>,
    pub mounts: &'i [RunMount],
    pub script: Option<&'i Heredoc>,
}

pub(crate) fn run(
    state: &mut StageState,
    ins: &Instruction,
    step: RunStep,
    number: usize,
) -> Result<()> {
    let RunStep {
        command,
        network,
        mounts,
        script,
    } = step;
    let argv = super::metadata::argv_of(state, command);
    // The step's flag wins over the build's. Unlike BuildKit, where
    // `default` means the build's mode, hoist's builds default to none, so
    // `default` names the network docker's builds use by default: the bridge.
    let network = match network {
        None => state.shared.opts.network,
        Some(name) => Network::from_docker(name).ok_or_else(|| {
            state.error_at(
                ins.pos,
                format!(
                    "invalid network mode {name:?} for RUN --network (use default, none or host)"
                ),
            )
        })?,
    };
    // ENV, ARG, WORKDIR and USER are already part of the chained key. The
    // network mode is too, as in BuildKit (it is part of the ExecOp its
    // cache key digests): a step run offline is not reused online, or back.
    // Mounts add what they are (never a secret's value or a cache's
    // content) and, for binds, the digest of what they show.
    let (resolved, mounts_key) = super::mounts::resolve(state, mounts, script)?;
    let description = if mounts_key.is_empty() {
        format!("RUN {argv:?} network={network:?}")
    } else {
        format!("RUN {argv:?} network={network:?} mounts={mounts_key}")
    };
    let key = state.key.child(&description, "");
    let created_by = match command {
        CommandForm::Shell(_) => format!("RUN {}", argv.join(" ")),
        CommandForm::Exec(_) => ins.text.clone(),
    };
    if let Some(entry) = lookup(state, &key) {
        cached(state, number);
        state.key = key;
        state.record(&created_by, entry.layer);
        return Ok(());
    }

    // A foreign platform's step runs under its qemu-user interpreter, found
    // before the build for the Dockerfile's RUN steps, here for a base's
    // ONBUILD ones.
    let emulator = match state.shared.emulators.get(&state.platform().to_string()) {
        Some(e) => Some(e.clone()),
        None => super::emulator_for(state.platform())
            .map_err(|e| state.error_at(ins.pos, e.to_string()))?,
    };
    let lowerdirs = snapshots(state.shared, &state.layers)?;
    let scratch = state
        .shared
        .cache
        .scratch_dir("run-")
        .map_err(BuildError::io("cannot make a scratch directory"))?;
    let upper = scratch.path().join("upper");
    let work = scratch.path().join("work");
    for d in [&upper, &work] {
        std::fs::create_dir(d).map_err(BuildError::io(format!("cannot create {}", d.display())))?;
    }
    let prepared = super::mounts::prepare(state, &resolved, scratch.path())?;
    let (reader, writer) = std::io::pipe().map_err(BuildError::io("cannot make a pipe"))?;
    let writer: OwnedFd = writer.into();
    let writer2 = writer
        .try_clone()
        .map_err(BuildError::io("cannot duplicate a pipe"))?;
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let output = {
        let tail = Arc::clone(&tail);
        let events = state.shared.events;
        let label = state.label.clone();
        move || {
            for line in BufReader::new(reader).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_string();
                let mut t = tail.lock().expect("tail lock");
                if t.len() == TAIL_LINES {
                    t.pop_front();
                }
                t.push_back(line.clone());
                drop(t);
                events(Event::Output {
                    stage: label.clone(),
                    line,
                });
            }
        }
    };
    let shot = OneShot {
        lowerdirs: lowerdirs.clone(),
        upperdir: upper.clone(),
        workdir: work,
        argv: argv.clone(),
        env: state
            .run_env()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(prepared.env.iter().cloned())
            .collect(),
        cwd: state.config.string("WorkingDir").unwrap_or_default(),
        user: state.config.string("User").unwrap_or_default(),
        network: match network {
            Network::None => NetworkMode::None,
            Network::Host => NetworkMode::Host,
            Network::Bridge => NetworkMode::Bridge,
        },
        root: Some(state.shared.store.root().to_path_buf()),
        scratch: Some(scratch.path().to_path_buf()),
        stdout: Stdio::Fd(writer),
        stderr: Stdio::Fd(writer2),
        mounts: prepared.mounts.clone(),
        // A foreign platform's step runs under its qemu-user interpreter.
        emulator,
        ..Default::default()
    };
    let status = std::thread::scope(|scope| {
        let reader = scope.spawn(output);
        let status = run_oneshot(&shot);
        drop(shot); // closes our ends of the pipe so the reader sees the end
        let _ = reader.join();
        status
    });
    super::stubs::remove_stubs(&upper, &lowerdirs, &prepared.targets);
    drop(prepared); // secrets deleted, caches unlocked, views unmounted
    let status = status.map_err(|e| state.error_at(ins.pos, format!("RUN could not run: {e}")))?;
    if status.exit_code != 0 {
        let lines: Vec<String> = tail.lock().expect("tail lock").iter().cloned().collect();
        let tail = if lines.is_empty() {
            String::new()
        } else {
            format!("\n  last output:\n    {}", lines.join("\n    "))
        };
        let how = match (status.oom_killed, status.signal) {
            (true, _) => " (killed: out of memory)".to_string(),
            (false, Some(sig)) => format!(" (killed by signal {sig})"),
            _ => String::new(),
        };
        return Err(BuildError::RunFailed {
            headline: state
                .df
                .error_at(
                    ins.pos,
                    format!("RUN failed with exit code {}{how}", status.exit_code),
                )
                .headline(),
            code: status.exit_code,
            command: argv.join(" "),
            tail,
        });
    }
    let layer = pack_into_store(state.shared, &upper, true)?;
    if let Some(l) = &layer {
        let mut stack = state.layers.clone();
        stack.push(l.clone());
        adopt_snapshot(state.shared, &stack, &upper);
    }
    store_entry(state, &key, &layer)?;
    state.key = key;
    state.record(&created_by, layer);
    Ok(())
}
