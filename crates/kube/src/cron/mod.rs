//! CronJobs for `kube play`: the schedule (schedule.rs), what is kept of each CronJob
//! (record.rs) and the scheduler process that runs their Jobs (scheduler.rs). `play`
//! checks a CronJob, keeps it and makes sure the scheduler runs; `down` removes it and the
//! Jobs it made; `status` is what `kube ps` shows.

pub mod record;
pub mod schedule;
pub mod scheduler;

use k8s_openapi::api::batch::v1::CronJob;
use record::{CronRecord, RecordsLock};
use schedule::Schedule;
use serde_json::{json, Value};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum CronError {
    #[error("CronJob {name:?}: {message}")]
    Invalid { name: String, message: String },
    #[error("CronJob {name:?}: {source}")]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

/// Kubernetes' defaults for the history limits.
const SUCCESSFUL_HISTORY: i32 = 3;
const FAILED_HISTORY: i32 = 1;

/// What is wrong with `c`, before anything starts: its schedule, a missing Job template, an
/// unknown concurrencyPolicy.
pub fn check(c: &CronJob) -> Result<(), CronError> {
    let name = c.metadata.name.clone().unwrap_or_default();
    let invalid = |message: String| CronError::Invalid {
        name: name.clone(),
        message,
    };
    let spec = &c.spec;
    Schedule::parse(&spec.schedule).map_err(|e| invalid(e.to_string()))?;
    if spec.job_template.spec.is_none() {
        return Err(invalid(
            "spec.jobTemplate.spec (the Job to run) is missing".into(),
        ));
    }
    let concurrency = spec.concurrency_policy.as_deref().unwrap_or("Allow");
    if !["Allow", "Forbid", "Replace"].contains(&concurrency) {
        return Err(invalid(format!(
            "concurrencyPolicy {concurrency:?}: use Allow, Forbid or Replace"
        )));
    }
    Ok(())
}

/// What of `c` hoist does not carry out.
pub fn warnings(c: &CronJob) -> Vec<String> {
    let name = c.metadata.name.clone().unwrap_or_default();
    let spec = &c.spec;
    let mut warnings = Vec::new();
    if let Some(tz) = spec
        .time_zone
        .as_deref()
        .filter(|z| !["UTC", "Etc/UTC"].contains(z))
    {
        warnings.push(format!(
            "CronJob {name:?}: timeZone {tz:?}: hoist runs CronJobs on UTC time; ignored"
        ));
    }
    if spec.starting_deadline_seconds.is_some() {
        warnings.push(format!(
            "CronJob {name:?}: startingDeadlineSeconds is not supported (a missed run is run once); ignored"
        ));
    }
    warnings
}

/// Keeps `c` (checked: [`check`]; a re-play keeps its runs and, with the same schedule, its
/// last run time), then starts the scheduler unless it runs.
pub fn play(root: &Path, exe: &Path, c: &CronJob) -> Result<(), CronError> {
    check(c)?;
    let name = c.metadata.name.clone().unwrap_or_default();
    let spec = &c.spec;
    let sched = Schedule::parse(&spec.schedule).map_err(|e| CronError::Invalid {
        name: name.clone(),
        message: e.to_string(),
    })?;
    let template = &spec.job_template;
    let concurrency = spec
        .concurrency_policy
        .clone()
        .unwrap_or_else(|| "Allow".into());
    let keep = spec
        .successful_jobs_history_limit
        .unwrap_or(SUCCESSFUL_HISTORY)
        .max(0)
        + spec
            .failed_jobs_history_limit
            .unwrap_or(FAILED_HISTORY)
            .max(0);
    let namespace = c
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let io = |source| CronError::Io {
        name: name.clone(),
        source,
    };
    {
        let _guard = RecordsLock::take(root).map_err(io)?;
        let old = record::load(root, &namespace, &name);
        let same_schedule = old
            .as_ref()
            .is_some_and(|o| o.schedule == sched.to_string());
        let rec = CronRecord {
            namespace: namespace.clone(),
            name: name.clone(),
            schedule: sched.to_string(),
            job_template: serde_json::to_value(template).unwrap_or(Value::Null),
            concurrency,
            suspend: spec.suspend.unwrap_or(false),
            keep: keep as u32,
            since: old
                .as_ref()
                .filter(|_| same_schedule)
                .map_or_else(record::now, |o| o.since),
            last: old.as_ref().filter(|_| same_schedule).and_then(|o| o.last),
            runs: old.map(|o| o.runs).unwrap_or_default(),
        };
        record::save(root, &rec).map_err(io)?;
    }
    scheduler::ensure(root, exe).map_err(io)?;
    Ok(())
}

/// Removes the CronJob and takes its Jobs down (`hoist kube down` of each run's file). The
/// scheduler ends by itself once no CronJob is left.
pub fn down(root: &Path, exe: &Path, namespace: &str, name: &str) {
    let rec = {
        let _guard = RecordsLock::take(root).ok();
        let rec = record::load(root, namespace, name);
        record::remove(root, namespace, name);
        rec
    };
    // With no CronJob left the scheduler ends once the runs it started have been played:
    // waiting for that means no run of this CronJob comes up after the downs below.
    if record::list(root).is_empty() {
        for _ in 0..200 {
            if scheduler::running(root).is_none() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    for run in rec.map(|r| r.runs).unwrap_or_default() {
        let _ = std::process::Command::new(exe)
            .arg("--root")
            .arg(root)
            .args(["kube", "down"])
            .arg(&run.file)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_file(&run.file);
        let _ = std::fs::remove_file(run.file.with_extension("log"));
    }
}

/// The Job object for one run: the template's metadata and spec, named `job`, labelled
/// with its CronJob.
pub fn job_document(rec: &CronRecord, job: &str) -> Value {
    let t = &rec.job_template;
    let mut labels = t["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels[scheduler::CRONJOB_LABEL] = json!(rec.name);
    let mut meta = t["metadata"].clone();
    if !meta.is_object() {
        meta = json!({});
    }
    meta["name"] = json!(job);
    meta["namespace"] = json!(rec.namespace);
    meta["labels"] = labels;
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": t["spec"],
    })
}

/// One CronJob as `kube ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub namespace: String,
    pub name: String,
    pub schedule: String,
    pub suspend: bool,
    /// Jobs of it still running.
    pub active: usize,
    pub last: Option<i64>,
    pub next: Option<i64>,
}

pub fn status(lc: &hoist_runtime::lifecycle::Lifecycle) -> Vec<Status> {
    let unit = scheduler::minute_secs();
    record::list(lc.root())
        .into_iter()
        .map(|r| Status {
            active: r
                .runs
                .iter()
                .filter(|run| scheduler::job_active(lc, &run.job))
                .count(),
            next: scheduler::next_run(&r, unit).map(|(at, _)| at),
            namespace: r.namespace,
            name: r.name,
            schedule: r.schedule,
            suspend: r.suspend,
            last: r.last,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_the_template_named_and_labelled() {
        let rec = CronRecord {
            namespace: "default".into(),
            name: "tick".into(),
            job_template: json!({
                "metadata": {"labels": {"team": "a"}},
                "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox"}]}}},
            }),
            ..Default::default()
        };
        let doc = job_document(&rec, "tick-29000000");
        assert_eq!(doc["kind"], "Job");
        assert_eq!(doc["metadata"]["name"], "tick-29000000");
        assert_eq!(doc["metadata"]["namespace"], "default");
        assert_eq!(
            doc["metadata"]["labels"],
            json!({"team": "a", "io.hoist.kube.cronjob": "tick"})
        );
        assert_eq!(doc["spec"]["backoffLimit"], 2);
        // It reads as a Job.
        let _: k8s_openapi::api::batch::v1::Job = serde_json::from_value(doc).unwrap();
    }
}
