//! run, create, start, restart, and the hidden monitor verb: flags parsed
//! here, the work done by hoist_runtime::lifecycle.

use anyhow::anyhow;
use hoist_runtime::container::config::{HealthOverrides, RunOptions};
use hoist_runtime::container::labels::parse_labels;
use hoist_runtime::container::ContainerRecord;
use hoist_runtime::lifecycle::{Lifecycle, RunMode, RunOutcome};
use hoist_runtime::monitor::{self, Ready};
use hoist_runtime::probe::Probes;
use hoist_runtime::time::parse_duration;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use super::mount_flag::{Mounts, NewVolume};
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

fn options(a: &CreateArgs, mounts: Mounts) -> anyhow::Result<RunOptions> {
    crate::commands::events::check_restart_flags(a.restart.as_deref(), a.rm)?;
    let net = crate::commands::network::flags::parse(a)?;
    Ok(RunOptions {
        name: a.name.clone(),
        env: a.env.clone(),
        env_files: a.env_file.clone(),
        volumes: a.volume.iter().cloned().chain(mounts.volumes).collect(),
        tmpfs: a.tmpfs.iter().cloned().chain(mounts.tmpfs).collect(),
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
        cmd: a.command().to_vec(),
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        privileged: a.privileged,
        security_opt: a.security_opt.clone(),
        userns: a.userns.clone(),
        uidmap: a.uidmap.clone(),
        gidmap: a.gidmap.clone(),
        platform: a
            .platform
            .as_deref()
            .map(|p| hoist_builder::platform::parse(p).map(|p| p.to_string()))
            .transpose()
            .map_err(|e| anyhow::anyhow!("--platform: {e}"))?,
        labels: parse_labels(&a.label, &a.label_file)?,
        stop_signal: a.stop_signal.clone(),
        log: hoist_runtime::logs::LogOptions::parse(&a.log_opt)?,
        extras: super::run_flags::extras(
            &a.extra,
            a.memory.as_deref().map(parse_size).transpose()?,
            net.mode == hoist_runtime::spec::NetworkMode::Host,
        )?,
    })
}

/// The runtime's lifecycle API for this store, re-executing this binary for
/// monitors and pod holders.
pub(super) fn lifecycle(root: &Path) -> anyhow::Result<Lifecycle> {
    let exe = std::env::current_exe()
        .map_err(|e| coded(125, anyhow!("finding the hoist binary: {e}")))?;
    Ok(Lifecycle::new(root, exe))
}

/// The flags as RunOptions and the probes (their syntax; the lifecycle
/// checks their ports), and the volumes `--mount` makes first.
fn parsed(a: &CreateArgs) -> anyhow::Result<(RunOptions, Probes, Vec<NewVolume>)> {
    // docker's --mount, as the -v and --tmpfs values it amounts to.
    let mut mounts = super::mount_flag::split(&a.extra.mount).map_err(|e| coded(125, e))?;
    let new_volumes = std::mem::take(&mut mounts.new_volumes);
    let opts = options(a, mounts).map_err(|e| coded(125, e))?;
    // No ports given: only the syntax is checked here.
    let probes = Probes::parse(
        a.startup_probe.as_deref(),
        a.liveness_probe.as_deref(),
        a.readiness_probe.as_deref(),
        &[],
    )
    .map_err(|e| coded(125, e.into()))?;
    Ok((opts, probes, new_volumes))
}

/// Creates the container, first the volumes its `--mount`s make (removed
/// again when the container cannot be created).
fn create_with_volumes(
    lc: &Lifecycle,
    image: &str,
    opts: &RunOptions,
    probes: &Probes,
    new_volumes: &[NewVolume],
) -> anyhow::Result<ContainerRecord> {
    let made =
        super::mount_flag::make_volumes(lc.root(), new_volumes).map_err(|e| coded(125, e))?;
    lc.create(image, opts, probes).map_err(|e| {
        super::mount_flag::remove_made(lc.root(), &made);
        run_error(e)
    })
}

pub fn create(root: &Path, a: CreateArgs) -> anyhow::Result<i32> {
    let (opts, probes, new_volumes) = parsed(&a)?;
    let rec = create_with_volumes(&lifecycle(root)?, a.image(), &opts, &probes, &new_volumes)?;
    super::run_flags::write_cidfile(a.extra.cidfile.as_deref(), &rec.id)?;
    println!("{}", rec.id);
    Ok(0)
}

pub fn run(root: &Path, a: RunArgs) -> anyhow::Result<i32> {
    let (opts, probes, new_volumes) = parsed(&a.create)?;
    let mode = if a.detach {
        RunMode::Detached
    } else {
        RunMode::Attached {
            stdin: a.create.interactive,
        }
    };
    let cidfile = a.create.extra.cidfile.as_deref();
    let streams = super::run_flags::attach_streams(&a.attach, a.detach, a.create.interactive)
        .map_err(|e| coded(125, e))?;
    let lc = lifecycle(root)?;
    if !a.detach && !a.sig_proxy {
        // The container must outlive a SIGTERM/SIGINT to this CLI: it runs
        // under its own monitor, this CLI attached to it (attach.rs).
        let rec = create_with_volumes(&lc, a.create.image(), &opts, &probes, &new_volumes)?;
        super::run_flags::write_cidfile(cidfile, &rec.id)?;
        return super::attach::run_attached_to_monitor(&lc, &rec, streams);
    }
    if !a.detach && (cidfile.is_some() || !a.attach.is_empty() || !new_volumes.is_empty()) {
        // The ID is written between create and start, as docker does.
        let rec = create_with_volumes(&lc, a.create.image(), &opts, &probes, &new_volumes)?;
        super::run_flags::write_cidfile(cidfile, &rec.id)?;
        return lc.attach_streams(&rec, streams).map_err(run_error);
    }
    if !new_volumes.is_empty() {
        let rec = create_with_volumes(&lc, a.create.image(), &opts, &probes, &new_volumes)?;
        return start_detached(&lc, &rec, cidfile);
    }
    match lc
        .run(a.create.image(), &opts, &probes, mode)
        .map_err(run_error)?
    {
        RunOutcome::Detached(rec) => {
            super::run_flags::write_cidfile(cidfile, &rec.id)?;
            println!("{}", rec.id);
            Ok(0)
        }
        RunOutcome::Exited(code) => Ok(code),
    }
}

/// `run -d` of a created container: started under its own monitor (a
/// `--rm` one that cannot start is removed), its ID printed.
fn start_detached(
    lc: &Lifecycle,
    rec: &ContainerRecord,
    cidfile: Option<&Path>,
) -> anyhow::Result<i32> {
    super::run_flags::write_cidfile(cidfile, &rec.id)?;
    if let Err(e) = lc.start(rec) {
        if rec.auto_remove {
            let _ = hoist_runtime::container::remove(lc.root(), rec, true);
        }
        return Err(run_error(e));
    }
    println!("{}", rec.id);
    Ok(0)
}

pub fn start(
    root: &Path,
    names: &[String],
    attach: bool,
    interactive: bool,
) -> anyhow::Result<i32> {
    let lc = lifecycle(root)?;
    if attach {
        let [name] = names else {
            return Err(anyhow!("start -a takes exactly one container"));
        };
        let rec = lc.find(name)?;
        return lc.attach(&rec, interactive).map_err(run_error);
    }
    for name in names {
        let rec = lc.find(name)?;
        lc.start(&rec).map_err(run_error)?;
        println!("{name}");
    }
    Ok(0)
}

pub fn restart(root: &Path, names: &[String], time: Option<u64>) -> anyhow::Result<i32> {
    let lc = lifecycle(root)?;
    for name in names {
        let rec = lc.find(name)?;
        let stop = super::run_flags::stop_options(time, &rec);
        lc.restart(&rec, stop).map_err(run_error)?;
        println!("{name}");
    }
    Ok(0)
}

/// `hoist __monitor ID --ready-fd N`.
pub fn monitor(root: &Path, id: &str, ready_fd: Option<i32>) -> anyhow::Result<i32> {
    // SAFETY: the fd was set up for us by the starting process
    // (monitor/detached.rs).
    let ready = ready_fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    let code = monitor::run(root, id, None, Ready::new(ready)).map_err(run_error)?;
    Ok(code)
}
