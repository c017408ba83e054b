//! `hoist compose logs`, and the foreground `up`: every container's output on stdout, each
//! line prefixed with its container's name (padded to one width, coloured per container on a
//! terminal, as docker compose does).

use super::Session;
use crate::cli::compose::LogsArgs;
use anyhow::anyhow;
use hoist_compose::desired::{LABEL_NUMBER, LABEL_PROJECT, LABEL_SERVICE};
use hoist_reconcile::runtime::ContainerSpec;
use hoist_reconcile::{apply_stop, plan_stop, Desired};
use hoist_runtime::container::{self, ContainerRecord, State, Status};
use hoist_runtime::lifecycle::ContainerFilter;
use hoist_runtime::logs::{filter, read_from, LogRecord};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// docker compose's prefix colours, in its order.
const COLOURS: [u8; 6] = [36, 33, 32, 35, 34, 31];

struct Source {
    prefix: String,
    dir: PathBuf,
    log: PathBuf,
    offset: u64,
}

struct Printer {
    timestamps: bool,
    prefix: bool,
}

impl Printer {
    fn print(&self, src: &Source, records: &[LogRecord]) {
        let mut out = std::io::stdout().lock();
        for r in records {
            if self.prefix {
                let _ = out.write_all(src.prefix.as_bytes());
            }
            if self.timestamps {
                let _ = write!(out, "{} ", r.time);
            }
            let _ = out.write_all(r.log.as_bytes());
            if !r.log.ends_with('\n') {
                let _ = out.write_all(b"\n");
            }
        }
        let _ = out.flush();
    }
}

/// The project's containers, by service then number.
fn containers(session: &Session, services: &[String]) -> Vec<(ContainerRecord, State)> {
    let project = &session.project().name;
    let mut list = session
        .lifecycle
        .list(&ContainerFilter::labels(&[(LABEL_PROJECT, project)]));
    list.retain(|(r, _)| {
        services.is_empty()
            || r.labels
                .get(LABEL_SERVICE)
                .is_some_and(|s| services.contains(s))
    });
    list.sort_by_key(|(r, _)| {
        (
            r.labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
            r.labels
                .get(LABEL_NUMBER)
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    list
}

fn sources(session: &Session, recs: &[ContainerRecord], colour: bool) -> Vec<Source> {
    let width = recs.iter().map(|r| r.name.len()).max().unwrap_or(0);
    recs.iter()
        .enumerate()
        .map(|(i, r)| {
            let dir = container::container_dir(session.lifecycle.root(), &r.id);
            let plain = format!("{:width$}  | ", r.name);
            let prefix = if colour {
                format!("\x1b[{}m{plain}\x1b[0m", COLOURS[i % COLOURS.len()])
            } else {
                plain
            };
            Source {
                prefix,
                log: container::log_path(&dir, &r.id),
                dir,
                offset: 0,
            }
        })
        .collect()
}

pub fn logs(session: &Session, a: &LogsArgs) -> anyhow::Result<i32> {
    for s in &a.services {
        if !session.project().services.contains_key(s) {
            return Err(anyhow!("no such service: {s}"));
        }
    }
    let tail = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse::<usize>()
                .map_err(|_| anyhow!("--tail {n:?} is not a number"))?,
        ),
    };
    let recs: Vec<ContainerRecord> = containers(session, &a.services)
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    let colour = !a.no_color && std::io::stdout().is_terminal();
    let mut srcs = sources(session, &recs, colour);
    let printer = Printer {
        timestamps: a.timestamps,
        prefix: !a.no_log_prefix,
    };
    for src in &mut srcs {
        let (records, offset) = read_from(&src.log, 0)?;
        src.offset = offset;
        printer.print(src, &filter(records, None, tail));
    }
    if a.follow {
        follow(&mut srcs, &printer, || false)?;
    }
    Ok(0)
}

/// Prints new lines of every source until none runs any more or `stop()` says so.
fn follow(srcs: &mut [Source], printer: &Printer, stop: impl Fn() -> bool) -> anyhow::Result<()> {
    loop {
        let running = srcs.iter().any(|s| {
            matches!(
                container::state::read_live(&s.dir).status,
                Status::Running | Status::Restarting
            )
        });
        for src in srcs.iter_mut() {
            let (more, next) = read_from(&src.log, src.offset)?;
            src.offset = next;
            printer.print(src, &more);
        }
        if !running || stop() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// The foreground `up`: follows the containers `names` until they all end, or until
/// SIGINT/SIGTERM, which stops the project's containers (dependents first).
pub fn attach(
    session: &Session,
    desired: &Desired<ContainerSpec>,
    names: &[String],
) -> anyhow::Result<i32> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(
        SigHandler::Handler(on_interrupt),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { sigaction(sig, &action) }?;
    }
    let recs: Vec<ContainerRecord> = containers(session, &[])
        .into_iter()
        .map(|(r, _)| r)
        .filter(|r| names.contains(&r.name))
        .collect();
    let colour = std::io::stdout().is_terminal();
    let mut srcs = sources(session, &recs, colour);
    let printer = Printer {
        timestamps: false,
        prefix: true,
    };
    follow(&mut srcs, &printer, || INTERRUPTED.load(Ordering::SeqCst))?;
    if !INTERRUPTED.load(Ordering::SeqCst) {
        return Ok(0);
    }
    eprintln!("Gracefully stopping...");
    let observed = session.observe(desired);
    let stop = plan_stop(desired, &observed, &[])?;
    let mut driver = session.driver();
    apply_stop(desired, &stop, &mut driver, &mut super::progress::print)
        .map_err(super::progress::failed)?;
    Ok(130)
}
