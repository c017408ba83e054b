//! What `kube play` keeps of a CronJob for the scheduler: `<root>/kube/cronjobs/<namespace>_
//! <name>.json` (the schedule, the Job template as JSON, the policies, the runs so far).
//! Written whole (temp file + rename) under `records.lock`, which the scheduler also takes
//! for its read-modify-write of `last`/`runs`, so a re-play never loses a run.

use serde::{Deserialize, Serialize};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CronRecord {
    pub namespace: String,
    pub name: String,
    pub schedule: String,
    /// `spec.jobTemplate` (metadata and spec), as JSON.
    pub job_template: serde_json::Value,
    /// Allow, Forbid or Replace.
    pub concurrency: String,
    pub suspend: bool,
    /// How many finished runs to keep (successful + failed history limits).
    pub keep: u32,
    /// When the record was first played (UTC seconds): runs are scheduled after it.
    pub since: i64,
    /// The last scheduled time run (UTC seconds).
    pub last: Option<i64>,
    pub runs: Vec<Run>,
}

/// One Job made by the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// The Job's name: `<cronjob>-<scheduled time in minutes>`, as Kubernetes names them.
    pub job: String,
    /// Its YAML, as played (and downed when it leaves the history).
    pub file: PathBuf,
    pub scheduled: i64,
}

pub fn dir(root: &Path) -> PathBuf {
    root.join("kube").join("cronjobs")
}

pub fn runs_dir(root: &Path) -> PathBuf {
    dir(root).join("runs")
}

pub fn path(root: &Path, namespace: &str, name: &str) -> PathBuf {
    dir(root).join(format!("{namespace}_{name}.json"))
}

/// An exclusive flock on `records.lock`, held while the value lives.
pub struct RecordsLock {
    _file: std::fs::File,
}

impl RecordsLock {
    pub fn take(root: &Path) -> io::Result<RecordsLock> {
        std::fs::create_dir_all(dir(root))?;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir(root).join("records.lock"))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RecordsLock { _file: f })
    }
}

pub fn load(root: &Path, namespace: &str, name: &str) -> Option<CronRecord> {
    let b = std::fs::read(path(root, namespace, name)).ok()?;
    serde_json::from_slice(&b).ok()
}

/// Every CronJob played, by file name.
pub fn list(root: &Path) -> Vec<CronRecord> {
    let mut out: Vec<CronRecord> = std::fs::read_dir(dir(root))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok())
        .collect();
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

pub fn save(root: &Path, rec: &CronRecord) -> io::Result<()> {
    std::fs::create_dir_all(dir(root))?;
    let p = path(root, &rec.namespace, &rec.name);
    let tmp = p.with_extension("tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(rec).map_err(io::Error::other)?,
    )?;
    std::fs::rename(&tmp, &p)
}

pub fn remove(root: &Path, namespace: &str, name: &str) {
    let _ = std::fs::remove_file(path(root, namespace, name));
}

/// Now, in UTC seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
