//! One service as the runtime's create options (what `hoist run` would be given), as docker
//! compose turns a service into a container config.

use crate::model::{Healthcheck, MountType, Port, Project, Service};
use hoist_runtime::container::config::{HealthOverrides, RunOptions};
use hoist_runtime::container::extras::{SpecExtras, Ulimit};
use hoist_runtime::spec::NetworkMode;

/// The options of every replica of service `name` (each gets its own name at create).
pub fn run_options(project: &Project, name: &str, svc: &Service) -> RunOptions {
    let (entrypoint, mut cmd) = match &svc.entrypoint {
        // The runtime takes one entrypoint program; the rest of compose's list goes before
        // the command, which runs the same argv.
        Some(ep) if ep.is_empty() => (Some(String::new()), Vec::new()),
        Some(ep) => (Some(ep[0].clone()), ep[1..].to_vec()),
        None => (None, Vec::new()),
    };
    // An entrypoint without a command drops the image's CMD (docker's rule, which the
    // runtime applies to any entrypoint given).
    if let Some(c) = &svc.command {
        cmd.extend(c.iter().cloned());
    }
    let limits = svc.deploy.as_ref().and_then(|d| d.limits.as_ref());
    let (mode, networks, network_container) = network(project, name, svc);
    RunOptions {
        env: svc
            .environment
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect(),
        volumes: volumes(project, svc),
        tmpfs: tmpfs(svc),
        publish: svc.ports.iter().map(publish).collect(),
        expose: svc.expose.clone(),
        workdir: svc.working_dir.clone(),
        user: svc.user.clone(),
        entrypoint,
        hostname: svc.hostname.clone(),
        network: mode,
        networks,
        network_container,
        add_hosts: svc
            .extra_hosts
            .iter()
            .map(|h| match h.split_once('=') {
                Some((host, ip)) => format!("{host}:{ip}"),
                None => h.clone(),
            })
            .collect(),
        dns: svc.dns.clone(),
        memory: svc
            .mem_limit
            .or(limits.and_then(|l| l.memory))
            .map(|m| m.min(i64::MAX as u64) as i64),
        cpus: svc.cpus.or(limits.and_then(|l| l.cpus)),
        pids_limit: svc.pids_limit.or(limits.and_then(|l| l.pids)),
        read_only: svc.read_only,
        interactive: svc.stdin_open,
        tty: svc.tty,
        restart: svc.restart.clone().filter(|r| r != "no"),
        health: health(svc.healthcheck.as_ref()),
        labels: svc.labels.clone(),
        cmd,
        privileged: svc.privileged,
        cap_add: svc.cap_add.clone(),
        cap_drop: svc.cap_drop.clone(),
        security_opt: svc.security_opt.clone(),
        stop_signal: svc.stop_signal.clone(),
        extras: extras(svc),
        ..Default::default()
    }
}

/// `init`, `shm_size`, `ulimits`, `sysctls`, `oom_score_adj`, `group_add`, `cpuset`: the
/// runtime's spec amendments, as `run --init --shm-size --ulimit --sysctl --oom-score-adj
/// --group-add --cpuset-cpus` (the ulimits were checked by the normalizer).
fn extras(svc: &Service) -> SpecExtras {
    SpecExtras {
        init: svc.init == Some(true),
        shm_size: svc.shm_size,
        // Checked by the runtime: group names at create, the sysctls' namespaces and the
        // cpuset by the core and the kernel at start.
        sysctls: svc.sysctls.clone(),
        oom_score_adj: svc.oom_score_adj.map(|o| o.clamp(-1000, 1000) as i32),
        group_add_given: svc.group_add.clone(),
        cpuset_cpus: svc.cpuset.clone(),
        ulimits: svc
            .ulimits
            .iter()
            .map(|(name, l)| Ulimit {
                name: name.clone(),
                soft: l.soft,
                hard: l.hard,
            })
            .collect(),
        ..Default::default()
    }
}

/// Fields of the model the runtime cannot apply yet (warned about by the CLI); none left
/// since `init`, `shm_size` and `ulimits` reach the runtime (extras above).
pub fn unapplied(_svc: &Service) -> Vec<&'static str> {
    Vec::new()
}

fn network(
    project: &Project,
    name: &str,
    svc: &Service,
) -> (NetworkMode, Vec<hoist_network::Request>, Option<String>) {
    match svc.network_mode.as_deref() {
        Some("host") => (NetworkMode::Host, Vec::new(), None),
        Some("none") => (NetworkMode::None, Vec::new(), None),
        Some(m) if m.starts_with("service:") => {
            let other = &m["service:".len()..];
            let target = project
                .services
                .get(other)
                .and_then(|s| s.container_name.clone())
                .unwrap_or_else(|| format!("{}-{other}-1", project.name));
            (NetworkMode::Container, Vec::new(), Some(target))
        }
        Some(m) if m.starts_with("container:") => (
            NetworkMode::Container,
            Vec::new(),
            Some(m["container:".len()..].to_string()),
        ),
        Some("bridge") => (
            NetworkMode::Bridge,
            vec![hoist_network::Request {
                network: hoist_network::DEFAULT_NETWORK.into(),
                ..Default::default()
            }],
            None,
        ),
        _ => {
            let mut nets: Vec<_> = svc.networks.iter().collect();
            // Higher priority first (compose connects in that order).
            nets.sort_by_key(|(_, sn)| std::cmp::Reverse(sn.priority.unwrap_or(0)));
            let requests = nets
                .into_iter()
                .map(|(key, sn)| {
                    let mut aliases = vec![name.to_string()];
                    aliases.extend(sn.aliases.iter().cloned());
                    hoist_network::Request {
                        network: project
                            .networks
                            .get(key)
                            .map(|n| n.name.clone())
                            .unwrap_or_else(|| key.clone()),
                        ip: sn.ipv4_address.as_deref().and_then(|a| a.parse().ok()),
                        aliases,
                    }
                })
                .collect();
            (NetworkMode::Bridge, requests, None)
        }
    }
}

/// `-v` specs: binds `SRC:DST[:ro]`, named volumes by their machine name, anonymous `DST`.
fn volumes(project: &Project, svc: &Service) -> Vec<String> {
    svc.volumes
        .iter()
        .filter(|m| m.kind != MountType::Tmpfs)
        .map(|m| {
            let ro = if m.read_only { ":ro" } else { "" };
            match (&m.kind, &m.source) {
                (MountType::Volume, Some(key)) => {
                    let name = project
                        .volumes
                        .get(key)
                        .map(|v| v.name.clone())
                        .unwrap_or_else(|| key.clone());
                    format!("{name}:{}{ro}", m.target)
                }
                (MountType::Bind, Some(src)) => format!("{src}:{}{ro}", m.target),
                // Anonymous: `-v DST` (the runtime has no read-only form for it).
                _ => m.target.clone(),
            }
        })
        .collect()
}

/// `--tmpfs` specs: `tmpfs:` entries and tmpfs mounts with their size and mode.
fn tmpfs(svc: &Service) -> Vec<String> {
    let mut out = svc.tmpfs.clone();
    for m in svc.volumes.iter().filter(|m| m.kind == MountType::Tmpfs) {
        let mut opts = Vec::new();
        if let Some(t) = &m.tmpfs {
            if let Some(size) = t.size {
                opts.push(format!("size={size}"));
            }
            if let Some(mode) = t.mode {
                opts.push(format!("mode={mode:o}"));
            }
        }
        if m.read_only {
            opts.push("ro".into());
        }
        out.push(if opts.is_empty() {
            m.target.clone()
        } else {
            format!("{}:{}", m.target, opts.join(","))
        });
    }
    out
}

/// A `-p` spec: `[IP:][HOST:]CONTAINER/PROTO`.
fn publish(p: &Port) -> String {
    let mut s = String::new();
    if let Some(ip) = &p.host_ip {
        s.push_str(ip);
        s.push(':');
    }
    match &p.published {
        Some(host) => s.push_str(&format!("{host}:{}", p.target)),
        // An IP without a host port: docker's `IP::CONTAINER`.
        None if p.host_ip.is_some() => s.push_str(&format!(":{}", p.target)),
        None => s.push_str(&p.target.to_string()),
    }
    format!("{s}/{}", p.protocol)
}

fn health(h: Option<&Healthcheck>) -> HealthOverrides {
    let Some(h) = h else {
        return HealthOverrides::default();
    };
    let none = h.disable
        || h.test
            .as_ref()
            .is_some_and(|t| t.first().map(String::as_str) == Some("NONE"));
    let cmd = h
        .test
        .as_ref()
        .and_then(|t| match t.first().map(String::as_str) {
            Some("CMD-SHELL") => t.get(1).cloned(),
            // The runtime's override is a shell command: the CMD form is quoted into one.
            Some("CMD") => Some(
                t[1..]
                    .iter()
                    .map(|a| shell_quote(a))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        });
    HealthOverrides {
        cmd,
        interval: h.interval,
        timeout: h.timeout,
        retries: h.retries.map(|r| r.min(u32::MAX as u64) as u32),
        start_period: h.start_period,
        start_interval: h.start_interval,
        none,
    }
}

fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod security_tests {
    use super::*;

    #[test]
    fn security_fields_reach_the_run_options() {
        let svc = Service {
            image: Some("busybox".into()),
            privileged: true,
            cap_add: vec!["SYS_ADMIN".into()],
            cap_drop: vec!["CHOWN".into()],
            security_opt: vec!["no-new-privileges:true".into()],
            stop_signal: Some("SIGINT".into()),
            init: Some(true),
            ..Default::default()
        };
        let o = run_options(&Project::default(), "s", &svc);
        assert!(o.privileged);
        assert_eq!(o.cap_add, ["SYS_ADMIN"]);
        assert_eq!(o.cap_drop, ["CHOWN"]);
        assert_eq!(o.security_opt, ["no-new-privileges:true"]);
        assert_eq!(o.stop_signal.as_deref(), Some("SIGINT"));
        assert!(o.extras.init);
        assert!(unapplied(&svc).is_empty());
    }

    #[test]
    fn shm_size_and_ulimits_reach_the_run_extras() {
        let svc = Service {
            image: Some("busybox".into()),
            shm_size: Some(96 << 20),
            ulimits: [(
                "nofile".to_string(),
                crate::model::Ulimit { soft: 10, hard: 20 },
            )]
            .into(),
            ..Default::default()
        };
        let o = run_options(&Project::default(), "s", &svc);
        assert_eq!(o.extras.shm_size, Some(96 << 20));
        assert!(!o.extras.init);
        assert_eq!(
            o.extras.ulimits,
            [Ulimit {
                name: "nofile".into(),
                soft: 10,
                hard: 20
            }]
        );
    }
}
