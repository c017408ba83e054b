//! logs [-f] [--tail N] [--since T] [-t].

use anyhow::anyhow;
use hoist_runtime::container::{self, state, Status};
use hoist_runtime::logs::{filter, read_all, read_from, LogRecord};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

fn print(records: &[LogRecord], timestamps: bool) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for r in records {
        let w: &mut dyn Write = if r.stream == "stderr" {
            &mut err
        } else {
            &mut out
        };
        if timestamps {
            let _ = write!(w, "{} ", r.time);
        }
        let _ = w.write_all(r.log.as_bytes());
    }
    let _ = out.flush();
    let _ = err.flush();
}

pub fn logs(
    root: &Path,
    name: &str,
    follow: bool,
    tail: &str,
    since: Option<&str>,
    timestamps: bool,
) -> anyhow::Result<i32> {
    let rec = container::find(root, name)?;
    let dir = container::container_dir(root, &rec.id);
    let path = container::log_path(&dir, &rec.id);
    let tail = match tail {
        "all" | "-1" => None,
        n => Some(
            n.parse::<usize>()
                .map_err(|_| anyhow!("--tail {n:?} is not a number"))?,
        ),
    };
    let since = since
        .map(|s| {
            hoist_runtime::time::parse_since(s)
                .ok_or_else(|| anyhow!("--since {s:?}: not a time or duration"))
        })
        .transpose()?;
    let (records, mut offset) = read_all(&path)?;
    print(&filter(records, since, tail), timestamps);
    if !follow {
        return Ok(0);
    }
    loop {
        let running = state::read_live(&dir).status == Status::Running;
        let (more, next) = read_from(&path, offset)?;
        offset = next;
        print(&filter(more, since, None), timestamps);
        if !running {
            // One last read: the monitor writes the final lines before it marks the exit.
            let (rest, _) = read_from(&path, offset)?;
            print(&filter(rest, since, None), timestamps);
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
