//! CronJobs for `kube play`: the schedule (schedule.rs).

pub mod schedule;
