//! stats: docker's columns (CONTAINER ID, NAME, CPU %, MEM USAGE / LIMIT, MEM %, NET I/O,
//! BLOCK I/O, PIDS) from lifecycle::stats; `--no-stream` prints one sample, else the table is
//! redrawn every second until interrupted. `--format json` and Go templates get docker's
//! fields (Container, ID, Name, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs).

use crate::cli::container::StatsArgs;
use crate::render::template::{self, Format};
use hoist_runtime::container::{self, ContainerRecord, Status};
use hoist_runtime::lifecycle::{Stats, CPU_SAMPLE};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::run::lifecycle;

pub fn stats(root: &Path, a: &StatsArgs) -> anyhow::Result<i32> {
    let format = Format::parse(&a.format)?;
    let lc = lifecycle(root)?;
    let records: Vec<ContainerRecord> = if a.containers.is_empty() {
        container::list(root)
            .into_iter()
            .filter(|(_, s)| a.all || s.status == Status::Running)
            .map(|(r, _)| r)
            .collect()
    } else {
        a.containers
            .iter()
            .map(|n| lc.find(n))
            .collect::<Result<_, _>>()?
    };
    // A container that is not running shows zeros, as docker's.
    let sample = |r: &ContainerRecord| lc.stats(r).unwrap_or_default();
    let mut previous: Vec<Stats> = records.iter().map(sample).collect();
    loop {
        std::thread::sleep(if a.no_stream {
            CPU_SAMPLE
        } else {
            Duration::from_secs(1)
        });
        let now: Vec<Stats> = records.iter().map(sample).collect();
        let rows: Vec<Value> = records
            .iter()
            .zip(now.iter().zip(&previous))
            .map(|(r, (s, before))| row_json(r, s, before, a.no_trunc))
            .collect();
        let mut out = std::io::stdout().lock();
        if !a.no_stream {
            // Clear the screen and home the cursor, as docker's live view does.
            write!(out, "\x1b[2J\x1b[H")?;
        }
        print(&mut out, &format, &rows)?;
        out.flush()?;
        if a.no_stream {
            return Ok(0);
        }
        previous = now;
    }
}

fn print(out: &mut impl Write, format: &Format, rows: &[Value]) -> anyhow::Result<()> {
    const FIELDS: [(&str, &str); 8] = [
        ("ID", "CONTAINER ID"),
        ("Name", "NAME"),
        ("CPUPerc", "CPU %"),
        ("MemUsage", "MEM USAGE / LIMIT"),
        ("MemPerc", "MEM %"),
        ("NetIO", "NET I/O"),
        ("BlockIO", "BLOCK I/O"),
        ("PIDs", "PIDS"),
    ];
    match format {
        Format::Json => {
            for r in rows {
                writeln!(out, "{r}")?;
            }
        }
        Format::Template(t) => {
            let mut headers: serde_json::Map<String, Value> = FIELDS
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            headers.insert("Container".into(), json!("CONTAINER"));
            for line in template::rows(t, &Value::Object(headers), rows)? {
                writeln!(out, "{line}")?;
            }
        }
        Format::Table => {
            let titles: Vec<&str> = FIELDS.iter().map(|(_, t)| *t).collect();
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    FIELDS
                        .iter()
                        .map(|(k, _)| r[k].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .collect();
            for line in crate::render::table::lines(&titles, &cells) {
                writeln!(out, "{}", line.trim_end())?;
            }
        }
    }
    Ok(())
}

fn row_json(r: &ContainerRecord, s: &Stats, before: &Stats, no_trunc: bool) -> Value {
    let id = if no_trunc { &r.id } else { r.short_id() };
    json!({
        "Container": id,
        "ID": id,
        "Name": r.name,
        "CPUPerc": format!("{:.2}%", s.cpu_percent(before)),
        "MemUsage": format!("{} / {}", binary(s.memory_usage), binary(s.memory_limit)),
        "MemPerc": format!("{:.2}%", s.memory_percent()),
        "NetIO": format!("{} / {}", decimal(s.net_rx), decimal(s.net_tx)),
        "BlockIO": format!("{} / {}", decimal(s.block_read), decimal(s.block_write)),
        "PIDs": s.pids.to_string(),
    })
}

/// docker's `units.BytesSize`: 1024 steps, four significant digits ("1.539MiB").
fn binary(n: u64) -> String {
    scaled(n, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 4)
}

/// docker's `units.HumanSizeWithPrecision(n, 3)`: 1000 steps ("1.2kB", "0B").
fn decimal(n: u64) -> String {
    scaled(n, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"], 3)
}

fn scaled(n: u64, step: f64, units: &[&str], digits: usize) -> String {
    let mut v = n as f64;
    let mut i = 0;
    while v >= step && i + 1 < units.len() {
        v /= step;
        i += 1;
    }
    format!("{}{}", significant(v, digits), units[i])
}

/// Go's `%.Ng`: N significant digits, no trailing zeros.
fn significant(v: f64, digits: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let whole = (v.abs().log10().floor() as i64 + 1).max(1) as usize;
    let decimals = digits.saturating_sub(whole);
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_docker_prints_them() {
        assert_eq!(binary(0), "0B");
        assert_eq!(binary(1536), "1.5KiB");
        assert_eq!(binary(1_613_824), "1.539MiB");
        assert_eq!(binary(8 * 1024 * 1024 * 1024), "8GiB");
        assert_eq!(decimal(1234), "1.23kB");
        assert_eq!(decimal(999), "999B");
    }
}
