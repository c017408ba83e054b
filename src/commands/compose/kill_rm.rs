//! `hoist compose kill` (a signal to the running containers, one-offs included) and `rm`
//! (the stopped containers removed, one-offs not; `-s` stops running ones first), over the
//! project's containers found by their labels, as docker compose v2 does.

use super::{is_oneoff, Session};
use crate::commands::container::run_error;
use hoist_compose::desired::LABEL_SERVICE;
use hoist_runtime::container::Status;
use hoist_runtime::lifecycle::{parse_signal, RemoveOptions, StopOptions};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

pub fn kill(session: &Session, signal: &str, services: &[String]) -> anyhow::Result<i32> {
    session.check_services(services)?;
    let sig = parse_signal(signal).map_err(run_error)?;
    // Containers of services no longer in the files (orphans) are left alone, as docker
    // compose does without --remove-orphans; one-offs are killed too.
    let project = session.project();
    let mut running = session.containers(services, true);
    running.retain(|(r, _)| {
        r.labels
            .get(LABEL_SERVICE)
            .is_some_and(|s| project.services.contains_key(s))
    });
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
    // One-off containers are not removed (docker compose v2: `--rm` or `down` removes them).
    let stopped: Vec<_> = session
        .containers(services, false)
        .into_iter()
        .filter(|(r, _)| !is_oneoff(r))
        .filter(|(_, st)| matches!(st.status, Status::Exited | Status::Created))
        .map(|(r, _)| r)
        .collect();
    if stopped.is_empty() {
        eprintln!("No stopped containers");
        return Ok(0);
    }
    let names: Vec<&str> = stopped.iter().map(|r| r.name.as_str()).collect();
    let message = format!("Going to remove {}", names.join(", "));
    if force {
        println!("{message}");
    } else {
        eprintln!("{message}");
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
        .get(LABEL_SERVICE)
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
