//! `hoist compose kill` (a signal to the running containers) and `rm` (the stopped
//! containers removed; `-s` stops running ones first), over the project's containers found
//! by their labels, one-off containers included, as docker compose does.

use super::Session;
use crate::commands::container::run_error;
use hoist_runtime::container::Status;
use hoist_runtime::lifecycle::{parse_signal, RemoveOptions, StopOptions};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

pub fn kill(session: &Session, signal: &str, services: &[String]) -> anyhow::Result<i32> {
    session.check_services(services)?;
    let sig = parse_signal(signal).map_err(run_error)?;
    let running = session.containers(services, true);
    if running.is_empty() {
        eprintln!("no container to kill");
        return Ok(0);
    }
    for (rec, _) in running {
        session.lifecycle.kill(&rec, sig).map_err(run_error)?;
        eprintln!(" Container {}  Killed", rec.name);
    }
    Ok(0)
}

pub fn rm(
    session: &Session,
    force: bool,
    stop: bool,
    volumes: bool,
    services: &[String],
) -> anyhow::Result<i32> {
    session.check_services(services)?;
    let list = session.containers(services, false);
    if stop {
        for (rec, st) in &list {
            if matches!(st.status, Status::Running | Status::Restarting) {
                let timeout = Duration::from_secs(stop_timeout(session, rec));
                let opts = StopOptions {
                    timeout,
                    signal: None,
                };
                session.lifecycle.stop(rec, opts).map_err(run_error)?;
                eprintln!(" Container {}  Stopped", rec.name);
            }
        }
    }
    let stopped: Vec<_> = session
        .containers(services, false)
        .into_iter()
        .filter(|(_, st)| matches!(st.status, Status::Exited | Status::Created))
        .map(|(r, _)| r)
        .collect();
    if stopped.is_empty() {
        eprintln!("No stopped containers");
        return Ok(0);
    }
    if !force {
        let names: Vec<&str> = stopped.iter().map(|r| r.name.as_str()).collect();
        eprintln!("Going to remove {}", names.join(", "));
        if !confirm("Are you sure you want to remove them? [y/N] ")? {
            return Ok(0);
        }
    }
    let opts = RemoveOptions {
        force: false,
        volumes,
    };
    for rec in stopped {
        session.lifecycle.remove(&rec, opts).map_err(run_error)?;
        eprintln!(" Container {}  Removed", rec.name);
    }
    Ok(0)
}

/// The service's stop_grace_period, else docker's 10 s.
fn stop_timeout(session: &Session, rec: &hoist_runtime::container::ContainerRecord) -> u64 {
    rec.labels
        .get(hoist_compose::desired::LABEL_SERVICE)
        .and_then(|s| session.project().services.get(s))
        .and_then(|s| s.stop_grace_period)
        .map(|d| d.as_secs())
        .unwrap_or(10)
}

/// Asks on the terminal; without one, nothing is removed unless `-f` was given.
fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("not removing without confirmation: stdin is not a terminal (use -f)");
    }
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}
