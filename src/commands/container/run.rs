//! run, create, start, restart, and the hidden monitor verb.

use anyhow::anyhow;
use hoist_runtime::container::config::{HealthOverrides, RunOptions};
use hoist_runtime::container::{self, state, Status};
use hoist_runtime::monitor::{self, Attach, Ready};
use hoist_runtime::time::parse_duration;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use super::run_error;
use crate::cli::container::{CreateArgs, RunArgs};
use crate::commands::coded;

/// "64m", "1g", "512k", "1048576" -> bytes.
pub fn parse_size(s: &str) -> anyhow::Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow!("invalid size {s:?}: use a number with b, k, m or g"))?;
    Ok((n * mult as f64) as i64)
}

fn duration(flag: &str, v: &Option<String>) -> anyhow::Result<Option<std::time::Duration>> {
    v.as_deref()
        .map(|s| {
            parse_duration(s).ok_or_else(|| anyhow!("{flag} {s:?} is not a duration (e.g. 30s)"))
        })
        .transpose()
}

fn options(a: &CreateArgs) -> anyhow::Result<RunOptions> {
    crate::commands::events::check_restart_flags(a.restart.as_deref(), a.rm)?;
    let net = crate::commands::network::flags::parse(a)?;
    Ok(RunOptions {
        name: a.name.clone(),
        env: a.env.clone(),
        env_files: a.env_file.clone(),
        volumes: a.volume.clone(),
        tmpfs: a.tmpfs.clone(),
        publish: a.publish.clone(),
        publish_all: a.publish_all,
        expose: a.expose.clone(),
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        entrypoint: a.entrypoint.clone(),
        hostname: a.hostname.clone(),
        network: net.mode,
        networks: net.networks,
        add_hosts: a.add_host.clone(),
        dns: a.dns.clone(),
        dns_search: a.dns_search.clone(),
        network_container: net.container,
        memory: a.memory.as_deref().map(parse_size).transpose()?,
        cpus: a.cpus,
        pids_limit: a.pids_limit,
        read_only: a.read_only,
        interactive: a.interactive,
        tty: a.tty,
        auto_remove: a.rm,
        restart: a.restart.clone(),
        health: HealthOverrides {
            cmd: a.health_cmd.clone(),
            interval: duration("--health-interval", &a.health_interval)?,
            timeout: duration("--health-timeout", &a.health_timeout)?,
            retries: a.health_retries,
            start_period: duration("--health-start-period", &a.health_start_period)?,
            start_interval: duration("--health-start-interval", &a.health_start_interval)?,
            none: a.no_healthcheck,
        },
        pod: a.pod.clone(),
        cmd: a.command.clone(),
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        privileged: a.privileged,
        security_opt: a.security_opt.clone(),
    })
}

fn create_record(root: &Path, a: &CreateArgs) -> anyhow::Result<container::ContainerRecord> {
    let opts = options(a).map_err(|e| coded(125, e))?;
    // A pod that does not exist fails before anything else is looked at.
    let pod_ports = match a.pod.as_deref() {
        Some(p) => hoist_runtime::pod::find(root, p)
            .map_err(run_error)?
            .container_ports(),
        None => Vec::new(),
    };
    // With -P the published ports are known only once the image's EXPOSE
    // is read: a readiness probe's port is checked after create then.
    let early = if a.publish_all {
        None
    } else {
        Some(crate::commands::events::probes_of(a, &pod_ports)?)
    };
    let rec = container::create(root, &a.image, &opts).map_err(run_error)?;
    let probes = match early {
        Some(p) => p,
        None => {
            let published: Vec<u16> = rec.ports.iter().map(|p| p.container_port).collect();
            match crate::commands::events::probes_of(a, &published) {
                Ok(p) => p,
                Err(e) => {
                    let _ = container::remove(root, &rec, true);
                    return Err(e);
                }
            }
        }
    };
    if let Err(e) = probes.save(&container::container_dir(root, &rec.id)) {
        let _ = container::remove(root, &rec, true);
        return Err(run_error(e));
    }
    Ok(rec)
}

pub fn create(root: &Path, a: CreateArgs) -> anyhow::Result<i32> {
    let rec = create_record(root, &a)?;
    println!("{}", rec.id);
    Ok(0)
}

pub fn run(root: &Path, a: RunArgs) -> anyhow::Result<i32> {
    let rec = create_record(root, &a.create)?;
    if let Err(e) = super::pod::ensure_running(root, &rec) {
        if rec.auto_remove {
            let _ = container::remove(root, &rec, true);
        }
        return Err(e);
    }
    if a.detach {
        if let Err(e) = start_detached(root, &rec.id) {
            if rec.auto_remove {
                let _ = container::remove(root, &rec, true);
            }
            return Err(e);
        }
        println!("{}", rec.id);
        return Ok(0);
    }
    foreground(root, &rec, a.create.interactive)
}

/// Runs the monitor in this process with the terminal attached.
fn foreground(root: &Path, rec: &container::ContainerRecord, stdin: bool) -> anyhow::Result<i32> {
    let attach = Attach {
        stdin,
        forward_signals: true,
    };
    match monitor::run(root, &rec.id, Some(attach), Ready::new(None)) {
        Ok(code) => Ok(code),
        Err(e) => {
            if rec.auto_remove {
                let _ = container::remove(root, rec, true);
            }
            Err(run_error(e))
        }
    }
}

/// Starts `hoist __monitor ID` in its own session and waits for its report.
pub fn start_detached(root: &Path, id: &str) -> anyhow::Result<()> {
    let dir = container::container_dir(root, id);
    spawn_reporting(
        root,
        "__monitor",
        id,
        &dir.join("monitor.log"),
        "container monitor",
    )
}

/// Starts `hoist VERB ID --ready-fd 3` in its own session (stderr to `log`)
/// and waits for its "ok" or "err CODE MESSAGE" (monitor/detached.rs).
pub fn spawn_reporting(
    root: &Path,
    verb: &str,
    id: &str,
    log_path: &Path,
    what: &str,
) -> anyhow::Result<()> {
    let child = monitor::detached::spawn_reporting(root, verb, id, &[], log_path, what)
        .map_err(run_error)?;
    // It lives on in its own session; it is not waited for here.
    std::mem::forget(child);
    Ok(())
}

pub fn start(
    root: &Path,
    names: &[String],
    attach: bool,
    interactive: bool,
) -> anyhow::Result<i32> {
    if attach {
        let [name] = names else {
            return Err(anyhow!("start -a takes exactly one container"));
        };
        let rec = container::find(root, name)?;
        super::pod::ensure_running(root, &rec)?;
        return foreground(root, &rec, interactive);
    }
    for name in names {
        let rec = container::find(root, name)?;
        let st = state::read_live(&container::container_dir(root, &rec.id));
        if st.unsupervised {
            return Err(coded(
                1,
                anyhow!(
                    "cannot start container {name}: its monitor ended unexpectedly while processes of it still run; stop them with `hoist stop {name}` (or `hoist rm -f {name}`) first"
                ),
            ));
        }
        if !matches!(st.status, Status::Running | Status::Restarting) {
            super::pod::ensure_running(root, &rec)?;
            start_detached(root, &rec.id)?;
        }
        println!("{name}");
    }
    Ok(0)
}

pub fn restart(root: &Path, names: &[String], time: u64) -> anyhow::Result<i32> {
    for name in names {
        let rec = container::find(root, name)?;
        super::manage::stop_one(root, &rec, time, None)?;
        super::pod::ensure_running(root, &rec)?;
        start_detached(root, &rec.id)?;
        println!("{name}");
    }
    Ok(0)
}

/// `hoist __monitor ID --ready-fd N`.
pub fn monitor(root: &Path, id: &str, ready_fd: Option<i32>) -> anyhow::Result<i32> {
    // SAFETY: the fd was set up for us by start_detached.
    let ready = ready_fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    let code = monitor::run(root, id, None, Ready::new(ready)).map_err(run_error)?;
    Ok(code)
}
