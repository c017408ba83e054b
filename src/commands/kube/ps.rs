//! `hoist kube ps`: the CronJobs played, with their next run (what the scheduler process
//! will do next), in `kubectl get cronjobs`' columns.

use hoist_kube::cron::{self, schedule::format_utc};
use hoist_runtime::lifecycle::Lifecycle;

pub fn run(lc: &Lifecycle) -> anyhow::Result<i32> {
    let rows = cron::status(lc);
    let when = |t: Option<i64>| t.map(format_utc).unwrap_or_else(|| "<none>".into());
    let mut table = vec![[
        "NAMESPACE".to_string(),
        "NAME".into(),
        "SCHEDULE".into(),
        "SUSPEND".into(),
        "ACTIVE".into(),
        "LAST SCHEDULE (UTC)".into(),
        "NEXT RUN (UTC)".into(),
    ]];
    for r in rows {
        table.push([
            r.namespace,
            r.name,
            r.schedule,
            if r.suspend { "True" } else { "False" }.into(),
            r.active.to_string(),
            when(r.last),
            if r.suspend {
                "<suspended>".into()
            } else {
                when(r.next)
            },
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| table.iter().map(|row| row[i].len()).max().unwrap_or(0))
        .collect();
    for row in &table {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
    Ok(0)
}
