//! The CronJob scheduler: one small process per store, `hoist __kube-cron`, started on demand
//! by `kube play` of a CronJob and gone by itself once no CronJob is left — no resident
//! daemon (the DNS responder's model, crates/network/src/dns/lifecycle.rs). One runs at a
//! time: it holds an exclusive flock on `scheduler.lock` for its whole life (a second one
//! exits at once), and its pid and start time are in `scheduler.pid` (against pid reuse).
//! It is started in its own session by a double fork, so no caller keeps a zombie.
//!
//! Each second (or sooner, at the next run) it reads the records; for every CronJob due it
//! writes the Job (the template, named `<cronjob>-<scheduled minute>` as Kubernetes names
//! them) to `runs/` and starts `hoist kube play` of it, which runs it with the Job code of
//! `kube play`. concurrencyPolicy: Allow runs regardless; Forbid skips a run while the last
//! Job still runs; Replace takes the last one down first. Runs beyond the history limits
//! are taken down (`hoist kube down`) oldest first. Missed runs (the machine was off) are
//! run once, as Kubernetes does without startingDeadlineSeconds.
//!
//! Test-only: `HOIST_KUBE_CRON_MINUTE=SECS` makes a schedule minute last SECS seconds
//! (`*/1 * * * *` then runs every SECS seconds), so a test sees several runs quickly.

use super::record::{self, CronRecord, RecordsLock, Run};
use super::schedule::Schedule;
use hoist_runtime::container::state::process_start_time;
use hoist_runtime::lifecycle::{ContainerFilter, Lifecycle};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The test-only clock setting (see the module's doc).
pub const MINUTE_ENV: &str = "HOIST_KUBE_CRON_MINUTE";

/// The label on every container of a Job the scheduler made: its CronJob.
pub const CRONJOB_LABEL: &str = "io.hoist.kube.cronjob";

/// Seconds per schedule minute: 60 unless the test-only variable says otherwise.
pub fn minute_secs() -> i64 {
    std::env::var(MINUTE_ENV)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|n| (1..=60).contains(n))
        .unwrap_or(60)
}

/// The next run of `rec` (UTC seconds) on a clock of `unit`-second minutes, and its name
/// minute; None if suspended or never.
pub fn next_run(rec: &CronRecord, unit: i64) -> Option<(i64, i64)> {
    if rec.suspend {
        return None;
    }
    let sched = Schedule::parse(&rec.schedule).ok()?;
    let from = rec.last.unwrap_or(rec.since);
    let virtual_next = sched.next_after(from * 60 / unit)?;
    Some(((virtual_next * unit + 59) / 60, virtual_next / 60))
}

fn pid_path(root: &Path) -> PathBuf {
    record::dir(root).join("scheduler.pid")
}

/// The scheduler's pid, if it runs.
pub fn running(root: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(pid_path(root)).ok()?;
    let (pid, start) = text.trim().split_once(' ')?;
    let (pid, start): (i32, u64) = (pid.parse().ok()?, start.parse().ok()?);
    (process_start_time(pid) == Some(start)).then_some(pid)
}

/// Starts the scheduler unless it runs; returns once it does (true: started here).
pub fn ensure(root: &Path, exe: &Path) -> io::Result<bool> {
    if running(root).is_some() {
        return Ok(false);
    }
    std::fs::create_dir_all(record::dir(root))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(record::dir(root).join("scheduler.log"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(root)
        .arg("__kube-cron")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            // A caller's blocked signals must not reach the scheduler (SIGTERM ends it).
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            match libc::fork() {
                -1 => return Err(io::Error::last_os_error()),
                0 => {}
                _ => libc::_exit(0),
            }
            libc::setsid();
            Ok(())
        });
    }
    let mut intermediate = cmd.spawn()?;
    let _ = intermediate.wait();
    for _ in 0..150 {
        if running(root).is_some() {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = std::fs::read_to_string(record::dir(root).join("scheduler.log")).unwrap_or_default();
    Err(io::Error::other(format!(
        "the CronJob scheduler did not start: {}",
        log.lines().last().unwrap_or("no message")
    )))
}

/// `hoist __kube-cron`: runs CronJobs until none is left.
pub fn serve(root: &Path, exe: &Path) -> i32 {
    let Ok(lock) = take_scheduler_lock(root) else {
        return 0; // another scheduler runs
    };
    let me = std::process::id() as i32;
    let start = process_start_time(me).unwrap_or(0);
    if std::fs::write(pid_path(root), format!("{me} {start}\n")).is_err() {
        return 1;
    }
    let unit = minute_secs();
    let lc = Lifecycle::new(root.to_path_buf(), exe.to_path_buf());
    let mut children: Vec<Child> = Vec::new();
    loop {
        children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
        let records = record::list(root);
        if records.is_empty() && children.is_empty() {
            break;
        }
        let now = record::now();
        let mut wake = now + 1;
        for rec in &records {
            let Some((at, minute)) = next_run(rec, unit) else {
                continue;
            };
            if at > now {
                wake = wake.min(at);
                continue;
            }
            match run_due(root, exe, &lc, rec, minute) {
                Ok(Some(child)) => children.push(child),
                Ok(None) => {}
                Err(e) => eprintln!("CronJob {}/{}: {e}", rec.namespace, rec.name),
            }
        }
        let secs = (wake - record::now()).clamp(0, 1) as u64;
        std::thread::sleep(Duration::from_millis(if secs == 0 { 50 } else { 1000 }));
    }
    let _ = std::fs::remove_file(pid_path(root));
    drop(lock);
    0
}

fn take_scheduler_lock(root: &Path) -> io::Result<std::fs::File> {
    std::fs::create_dir_all(record::dir(root))?;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(record::dir(root).join("scheduler.lock"))?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(f)
}

/// Whether the Job `job` has a container still running.
pub fn job_active(lc: &Lifecycle, job: &str) -> bool {
    let workload = format!("job/{job}");
    let mut filter = ContainerFilter::labels(&[(crate::play::labels::WORKLOAD, &workload)]);
    filter.running = true;
    !lc.list(&filter).is_empty()
}

/// Runs `rec`'s Job for schedule minute `minute` (records it under the records lock).
fn run_due(
    root: &Path,
    exe: &Path,
    lc: &Lifecycle,
    due: &CronRecord,
    minute: i64,
) -> io::Result<Option<Child>> {
    let _guard = RecordsLock::take(root)?;
    // Re-read: a re-play or down may have changed it since the listing.
    let Some(mut rec) = record::load(root, &due.namespace, &due.name) else {
        return Ok(None);
    };
    let scheduled = record::now();
    rec.last = Some(scheduled);
    let busy = rec.runs.last().is_some_and(|r| job_active(lc, &r.job));
    if busy && rec.concurrency == "Forbid" {
        record::save(root, &rec)?;
        return Ok(None);
    }
    if busy && rec.concurrency == "Replace" {
        if let Some(last) = rec.runs.last() {
            let _ = hoist(exe, root, "down", &last.file).status();
        }
    }
    let job = format!("{}-{minute}", rec.name);
    let file = record::runs_dir(root).join(format!("{}_{job}.yaml", rec.namespace));
    std::fs::create_dir_all(record::runs_dir(root))?;
    let doc = super::job_document(&rec, &job);
    std::fs::write(&file, crate::generate::yaml::document(&doc))?;
    let log = std::fs::File::create(file.with_extension("log"))?;
    let child = hoist(exe, root, "play", &file)
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    rec.runs.push(Run {
        job,
        file,
        scheduled,
    });
    // The history: finished runs beyond the limit go, oldest first.
    while rec.runs.len() > rec.keep as usize + 1 {
        let old = rec.runs.remove(0);
        let _ = hoist(exe, root, "down", &old.file).status();
        let _ = std::fs::remove_file(&old.file);
        let _ = std::fs::remove_file(old.file.with_extension("log"));
    }
    record::save(root, &rec)?;
    Ok(Some(child))
}

fn hoist(exe: &Path, root: &Path, verb: &str, file: &Path) -> Command {
    let mut c = Command::new(exe);
    c.arg("--root")
        .arg(root)
        .args(["kube", verb])
        .arg(file)
        .stdin(Stdio::null());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_faster_minute_scales_the_schedule() {
        let rec = CronRecord {
            schedule: "*/1 * * * *".into(),
            since: 1_000_000,
            ..Default::default()
        };
        // Real minutes: the next whole minute after `since`.
        let (at, minute) = next_run(&rec, 60).unwrap();
        assert_eq!(at, 1_000_020);
        assert_eq!(minute, 16_667);
        // Two-second minutes: runs two seconds apart.
        let (a, _) = next_run(&rec, 2).unwrap();
        let next = CronRecord {
            last: Some(a),
            ..rec.clone()
        };
        let (b, _) = next_run(&next, 2).unwrap();
        assert!(a > rec.since && a <= rec.since + 2, "{a}");
        assert_eq!(b - a, 2);
        let suspended = CronRecord {
            suspend: true,
            ..rec
        };
        assert!(next_run(&suspended, 60).is_none());
    }
}
