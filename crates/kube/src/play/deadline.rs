//! A Job's `activeDeadlineSeconds`: a small process per Job, started by `kube play` when the
//! Job's containers are created (like a Service's keeper, never a resident daemon). It
//! sleeps until the deadline, then stops every container of the Job still running or
//! waiting to restart (a stop sets stop-requested, so the restart policy, i.e. the
//! backoffLimit retries, does not undo it), writes the Job's verdict
//! (`DeadlineExceeded`) beside its record and ends. `kube down` ends it early.
//! Record: `<root>/kube/deadlines/<namespace>_<job>.json` (PID and start time).

use super::labels;
use hoist_runtime::container::state::process_start_time;
use hoist_runtime::container::Status;
use hoist_runtime::lifecycle::{ContainerFilter, Lifecycle, StopOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn record_path(root: &Path, namespace: &str, job: &str) -> PathBuf {
    root.join("kube")
        .join("deadlines")
        .join(format!("{namespace}_{job}.json"))
}

/// Where the verdict is written when the deadline passed with the Job still running.
pub fn exceeded_path(root: &Path, namespace: &str, job: &str) -> PathBuf {
    record_path(root, namespace, job).with_extension("exceeded")
}

fn live(path: &Path) -> Option<(i32, u64)> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let pid = v["pid"].as_i64()? as i32;
    let start = v["start"].as_u64()?;
    (process_start_time(pid) == Some(start)).then_some((pid, start))
}

/// Ends the Job's deadline process, if one runs.
pub fn stop(root: &Path, namespace: &str, job: &str) {
    let path = record_path(root, namespace, job);
    if let Some((pid, _)) = live(&path) {
        // SAFETY: a signal to the process the record names, checked alive just now.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(exceeded_path(root, namespace, job));
}

/// Starts the deadline process for Job `job` (workload label `workload`) unless one runs.
pub fn ensure(
    root: &Path,
    exe: &Path,
    namespace: &str,
    job: &str,
    seconds: u64,
    grace: u64,
) -> io::Result<()> {
    let path = record_path(root, namespace, job);
    if live(&path).is_some() {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().unwrap_or(root))?;
    let _ = std::fs::remove_file(exceeded_path(root, namespace, job));
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(root)
        .arg("__kube-deadline")
        .arg(namespace)
        .arg(job)
        .arg(seconds.to_string())
        .arg(grace.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid only, between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    // It outlives us (setsid; init reaps it).
    std::mem::forget(child);
    let start = process_start_time(pid).unwrap_or(0);
    std::fs::write(
        &path,
        serde_json::json!({"pid": pid, "start": start, "seconds": seconds}).to_string(),
    )
}

/// `hoist __kube-deadline NAMESPACE JOB SECONDS GRACE`: waits, then stops what still runs.
pub fn serve(lc: &Lifecycle, namespace: &str, job: &str, seconds: u64, grace: u64) -> ! {
    std::thread::sleep(Duration::from_secs(seconds));
    let workload = format!("job/{job}");
    let filter = ContainerFilter::labels(&[
        (labels::WORKLOAD, workload.as_str()),
        (labels::NAMESPACE, namespace),
    ]);
    let mut stopped = false;
    for (rec, st) in lc.list(&filter) {
        if matches!(st.status, Status::Running | Status::Restarting) {
            let opts = StopOptions {
                timeout: Duration::from_secs(grace),
                signal: None,
            };
            stopped |= lc.stop(&rec, opts).is_ok();
        }
    }
    let root = lc.root();
    if stopped {
        let _ = std::fs::write(exceeded_path(root, namespace, job), "DeadlineExceeded\n");
    }
    let _ = std::fs::remove_file(record_path(root, namespace, job));
    std::process::exit(0)
}
