//! `export CONTAINER [-o FILE]`: the container's flattened file system
//! (image and changes, no volumes) as a tar archive. Refuses to write a
//! terminal, as docker does; a failed export removes its half-written file.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;

use super::run::lifecycle;
use crate::cli::container::ExportArgs;

pub fn export(root: &Path, a: &ExportArgs) -> anyhow::Result<i32> {
    let lc = lifecycle(root)?;
    let rec = match lc.find(&a.container) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(1);
        }
    };
    match &a.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let done = hoist_runtime::copy::export(root, &rec, &mut out)
                .map_err(anyhow::Error::new)
                .and_then(|()| Ok(out.flush()?));
            if let Err(e) = done {
                let _ = std::fs::remove_file(path);
                return Err(e);
            }
        }
        None => {
            if std::io::stdout().is_terminal() {
                eprintln!(
                    "Error: cowardly refusing to save to a terminal. Use the -o flag or redirect"
                );
                return Ok(1);
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            hoist_runtime::copy::export(root, &rec, &mut out)?;
            out.flush()?;
        }
    }
    Ok(0)
}
