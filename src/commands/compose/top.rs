//! `hoist compose top [SERVICE...]`: the processes of the project's running containers in one
//! table, as docker compose v2 prints it: SERVICE, # (the replica), then `ps -ef`'s columns
//! with CMD last. The host's `ps` is read once and its lines kept by the PIDs of each
//! container's cgroup (`hoist top`'s way).

use super::Session;
use crate::commands::container::run_error;
use crate::render::table;
use anyhow::{anyhow, Context};
use hoist_compose::desired::{LABEL_NUMBER, LABEL_SERVICE};

/// `ps -ef`'s columns; CMD, the last, keeps its spaces.
const PS_COLUMNS: usize = 8;

pub fn top(session: &Session, services: &[String]) -> anyhow::Result<i32> {
    session.check_services(services)?;
    let mut running = session.containers(services, true);
    running.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name));
    if running.is_empty() {
        return Ok(0);
    }
    let out = std::process::Command::new("ps")
        .arg("-ef")
        .output()
        .context("running ps (procps) for top")?;
    if !out.status.success() {
        return Err(anyhow!(
            "ps -ef: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let titles: Vec<&str> = lines
        .next()
        .map(|h| h.split_whitespace().collect())
        .unwrap_or_default();
    let processes: Vec<Vec<&str>> = lines.map(|l| fields(l, PS_COLUMNS)).collect();
    let mut rows = Vec::new();
    for (rec, _) in &running {
        let pids = session.lifecycle.processes(rec).map_err(run_error)?;
        let label = |k: &str| rec.labels.get(k).cloned().unwrap_or_default();
        for p in &processes {
            let pid: Option<i32> = p.get(1).and_then(|s| s.parse().ok());
            if pid.is_some_and(|pid| pids.contains(&pid)) {
                let mut row = vec![label(LABEL_SERVICE), label(LABEL_NUMBER)];
                row.extend(p.iter().map(|c| c.to_string()));
                rows.push(row);
            }
        }
    }
    let mut headers = vec!["SERVICE", "#"];
    headers.extend(titles);
    for line in table::lines(&headers, &rows) {
        println!("{line}");
    }
    Ok(0)
}

/// The first `n - 1` whitespace-separated fields of a `ps` line, then the rest as one (CMD).
fn fields(line: &str, n: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        if out.len() + 1 == n {
            out.push(rest);
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_keeps_its_spaces() {
        let line = "root       420     7  0 08:01 ?        00:00:00 httpd -f -p 80";
        assert_eq!(
            super::fields(line, 8),
            [
                "root",
                "420",
                "7",
                "0",
                "08:01",
                "?",
                "00:00:00",
                "httpd -f -p 80"
            ]
        );
        assert_eq!(super::fields("  a b  ", 8), ["a", "b"]);
    }
}
