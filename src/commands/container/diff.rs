//! `diff CONTAINER`: docker's `A /path`, `C /path`, `D /path` lines, sorted
//! by path, from the container's overlay upper dir (hoist_runtime::copy).

use std::io::Write;
use std::path::Path;

use super::run::lifecycle;

pub fn diff(root: &Path, container: &str) -> anyhow::Result<i32> {
    let lc = lifecycle(root)?;
    let rec = match lc.find(container) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(1);
        }
    };
    let changes = hoist_runtime::copy::changes(root, &rec)?;
    let mut out = std::io::stdout().lock();
    for c in changes {
        writeln!(out, "{} {}", c.kind.letter(), c.path)?;
    }
    Ok(0)
}
