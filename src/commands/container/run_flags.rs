//! `run`/`create` flags kept apart from run.rs: `--ulimit`, `--group-add`,
//! `--shm-size`, `--device`, `--memory-swap`, `--memory-reservation`,
//! `--cpu-shares`, `--cpuset-cpus`, `--cpuset-mems`, `--sysctl`,
//! `--oom-score-adj`, `--stop-timeout` (spec amendments: hoist_runtime's
//! container::extras), `--cidfile`, `run -a`, and `--init` (PID 1 stays hoist's own
//! init, a tini built into the runtime's core: no binary in the image).

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
    /// Add a supplementary group (a name from the image's /etc/group, or a GID)
    #[arg(long, value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// Size of /dev/shm (e.g. 128m; default 64m)
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Add a host device: HOST[:CONTAINER][:PERMS] (PERMS of r, w, m)
    #[arg(long, value_name = "DEVICE")]
    pub device: Vec<String>,
    /// Memory plus swap limit (e.g. 256m; -1 for unlimited swap; needs --memory)
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit (e.g. 32m)
    #[arg(long, value_name = "SIZE")]
    pub memory_reservation: Option<String>,
    /// CPU shares (relative weight; docker's default 1024)
    #[arg(short = 'c', long, value_name = "SHARES")]
    pub cpu_shares: Option<u64>,
    /// CPUs the container may use (e.g. 0-1, 0,2)
    #[arg(long, value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use (e.g. 0)
    #[arg(long, value_name = "MEMS")]
    pub cpuset_mems: Option<String>,
    /// Write the container's ID to this file (which must not exist)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Option<PathBuf>,
    /// Run an init as PID 1 that forwards signals and reaps zombies
    #[arg(long)]
    pub init: bool,
    /// Tune the container's OOM preference (-1000 to 1000)
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub oom_score_adj: Option<i32>,
    /// Seconds stop and restart wait before killing (default 10)
    #[arg(long, value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,
    /// Attach a filesystem mount: type=bind|volume|tmpfs,source=...,target=...[,readonly]
    #[arg(long, value_name = "MOUNT")]
    pub mount: Vec<String>,
    /// Namespaced kernel parameter: KEY=VALUE (kernel.shm*, kernel.msg*,
    /// kernel.sem, fs.mqueue.*, net.* with a network of the container's own)
    #[arg(long, value_name = "KEY=VALUE")]
    pub sysctl: Vec<String>,
}

/// The spec amendments the flags ask for; `host_network`: `--network
/// host` (no `net.*` sysctl then).
pub fn extras(
    a: &ExtraArgs,
    memory: Option<i64>,
    host_network: bool,
) -> anyhow::Result<SpecExtras> {
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
    let memory_swap = match a.memory_swap.as_deref() {
        None => None,
        Some("-1") => Some(-1),
        Some(s) => Some(parse_size(s)?),
    };
    match (memory_swap, memory) {
        (Some(_), None) => bail!("--memory-swap needs --memory (it is memory plus swap)"),
        (Some(s), Some(m)) if s != -1 && s < m => bail!(
            "--memory-swap must be at least --memory (it is memory plus swap), or -1 for unlimited swap"
        ),
        _ => {}
    }
    let memory_reservation = a
        .memory_reservation
        .as_deref()
        .map(parse_size)
        .transpose()?;
    if let (Some(r), Some(m)) = (memory_reservation, memory) {
        if r > m {
            bail!("--memory-reservation must be below --memory");
        }
    }
    if a.cpu_shares.is_some_and(|s| s < 2) {
        bail!("--cpu-shares must be at least 2");
    }
    let cpuset = |v: &Option<String>, mems| {
        v.as_deref()
            .map(|v| SpecExtras::parse_cpuset(v, mems))
            .transpose()
    };
    let extras = SpecExtras {
        oom_score_adj: a
            .oom_score_adj
            .map(SpecExtras::check_oom_score_adj)
            .transpose()?,
        stop_timeout: a.stop_timeout,
        cpuset_cpus: cpuset(&a.cpuset_cpus, false)?,
        cpuset_mems: cpuset(&a.cpuset_mems, true)?,
        sysctls: a
            .sysctl
            .iter()
            .map(|s| SpecExtras::parse_sysctl(s))
            .collect::<Result<_, _>>()?,
        memory_swap,
        memory_reservation,
        cpu_shares: a.cpu_shares,
        ulimits: a
            .ulimit
            .iter()
            .map(|u| SpecExtras::parse_ulimit(u))
            .collect::<Result<_, _>>()?,
        // Resolved in the image's /etc/group at create.
        group_add: Vec::new(),
        group_add_given: a
            .group_add
            .iter()
            .map(|g| SpecExtras::parse_group(g))
            .collect::<Result<_, _>>()?,
        shm_size,
        init: a.init,
        devices: a
            .device
            .iter()
            .map(|d| SpecExtras::parse_device(d))
            .collect::<Result<_, _>>()?,
    };
    extras.check_sysctl_network(host_network)?;
    Ok(extras)
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

/// How `stop`/`restart` stop a container: `-t` when given, else its
/// `--stop-timeout`, else docker's 10 s.
pub fn stop_options(
    time: Option<u64>,
    rec: &hoist_runtime::container::ContainerRecord,
) -> hoist_runtime::lifecycle::StopOptions {
    let secs = time.or(rec.extras.stop_timeout).unwrap_or(10);
    hoist_runtime::lifecycle::StopOptions {
        timeout: std::time::Duration::from_secs(secs),
        signal: None,
    }
}

/// `run -a STREAM...`: which of the container's streams this terminal gets
/// (none given: stdout and stderr, stdin with -i). docker refuses `-a`
/// with `-d`.
pub fn attach_streams(
    streams: &[String],
    detach: bool,
    interactive: bool,
) -> anyhow::Result<hoist_runtime::monitor::Attach> {
    if detach && !streams.is_empty() {
        bail!("Conflicting options: -a and -d");
    }
    let mut attach = hoist_runtime::monitor::Attach {
        stdin: interactive,
        forward_signals: true,
        stdout: true,
        stderr: true,
    };
    if streams.is_empty() {
        return Ok(attach);
    }
    attach.stdout = false;
    attach.stderr = false;
    let mut stdin = false;
    for s in streams {
        match s.to_ascii_lowercase().as_str() {
            "stdin" => stdin = true,
            "stdout" => attach.stdout = true,
            "stderr" => attach.stderr = true,
            _ => bail!(
                "invalid argument {s:?} for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
            ),
        }
    }
    // docker: stdin reaches the container only when attached and open (-i).
    attach.stdin = stdin && interactive;
    Ok(attach)
}
