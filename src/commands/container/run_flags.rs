//! `run`/`create` flags kept apart from run.rs: `--ulimit`, `--group-add`,
//! `--shm-size`, `--device` (spec amendments: hoist_runtime's
//! container::extras), `--cidfile`, and `--init`, refused: hoist has no init
//! binary to run as PID 1 (docker ships docker-init, a tini), and a
//! container whose PID 1 were not one would not reap zombies as the flag
//! promises.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use clap::Args;
use hoist_runtime::container::extras::SpecExtras;

use super::run::parse_size;

#[derive(Args, Debug, Default, Clone)]
pub struct ExtraArgs {
    /// Resource limit: NAME=SOFT[:HARD] (e.g. nofile=1024:2048; -1 for unlimited)
    #[arg(long, value_name = "NAME=SOFT[:HARD]")]
    pub ulimit: Vec<String>,
    /// Add a supplementary group (numeric GID)
    #[arg(long, value_name = "GID")]
    pub group_add: Vec<String>,
    /// Size of /dev/shm (e.g. 128m; default 64m)
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Add a host device: HOST[:CONTAINER][:PERMS] (PERMS of r, w, m)
    #[arg(long, value_name = "DEVICE")]
    pub device: Vec<String>,
    /// Write the container's ID to this file (which must not exist)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Option<PathBuf>,
    /// Run an init as PID 1 (not available in hoist: refused)
    #[arg(long)]
    pub init: bool,
}

/// The spec amendments the flags ask for; `--init` refused.
pub fn extras(a: &ExtraArgs) -> anyhow::Result<SpecExtras> {
    if a.init {
        bail!(
            "--init: hoist has no init binary to run as PID 1; put one in the image \
             (e.g. tini) and make it the ENTRYPOINT"
        );
    }
    if let Some(path) = &a.cidfile {
        if path.exists() {
            bail!(
                "container ID file found, make sure the other container isn't running or \
                 delete {}",
                path.display()
            );
        }
    }
    let shm_size = match a.shm_size.as_deref().map(parse_size).transpose()? {
        Some(n) if n <= 0 => bail!("--shm-size must be greater than 0"),
        n => n.map(|n| n as u64),
    };
    Ok(SpecExtras {
        ulimits: a
            .ulimit
            .iter()
            .map(|u| SpecExtras::parse_ulimit(u))
            .collect::<Result<_, _>>()?,
        group_add: a
            .group_add
            .iter()
            .map(|g| SpecExtras::parse_group(g))
            .collect::<Result<_, _>>()?,
        shm_size,
        devices: a
            .device
            .iter()
            .map(|d| SpecExtras::parse_device(d))
            .collect::<Result<_, _>>()?,
    })
}

/// `--cidfile`: the ID written to a file made exclusively (another run
/// racing for the same file loses).
pub fn write_cidfile(path: Option<&Path>, id: &str) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| anyhow!("--cidfile {}: {e}", path.display()))?;
    f.write_all(id.as_bytes())
        .map_err(|e| anyhow!("--cidfile {}: {e}", path.display()))
}
