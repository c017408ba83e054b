//! top: docker's way — the host's `ps` with the user's options (default `-ef`), keeping the
//! header and the lines whose PID column names a process of the container's cgroup.

use crate::cli::container::TopArgs;
use anyhow::{anyhow, Context};
use std::path::Path;

use super::run::lifecycle;

pub fn top(root: &Path, a: &TopArgs) -> anyhow::Result<i32> {
    let lc = lifecycle(root)?;
    let rec = lc.find(&a.container)?;
    let pids = lc.processes(&rec)?;
    let args: Vec<String> = if a.ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        a.ps_args.clone()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("running ps (procps) for top")?;
    if !out.status.success() {
        return Err(anyhow!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (header, rows) = filter(&text, &pids).ok_or_else(|| {
        anyhow!(
            "ps {} printed no PID column (docker's rule)",
            args.join(" ")
        )
    })?;
    println!("{header}");
    for r in rows {
        println!("{r}");
    }
    Ok(0)
}

/// The header and the lines of `ps` output whose PID is in `pids`; None without a PID column.
fn filter<'a>(text: &'a str, pids: &[i32]) -> Option<(&'a str, Vec<&'a str>)> {
    let mut lines = text.lines();
    let header = lines.next()?;
    let column = header.split_whitespace().position(|c| c == "PID")?;
    let rows = lines
        .filter(|l| {
            l.split_whitespace()
                .nth(column)
                .and_then(|p| p.parse::<i32>().ok())
                .is_some_and(|p| pids.contains(&p))
        })
        .collect();
    Some((header, rows))
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_container_pids_only() {
        let ps = "UID   PID  PPID  C STIME TTY  TIME     CMD\n\
                  root    1     0  0 08:00 ?    00:00:01 /sbin/init\n\
                  root  420     7  0 08:01 ?    00:00:00 sleep 300\n";
        let (h, rows) = super::filter(ps, &[420]).unwrap();
        assert!(h.starts_with("UID"));
        assert_eq!(rows.len(), 1);
        assert!(rows[0].contains("sleep 300"));
        assert!(super::filter("USER COMMAND\n", &[1]).is_none());
    }
}
