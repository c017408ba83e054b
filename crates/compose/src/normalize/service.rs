//! One service: every field of the model read from its node, long forms filled in, unknown
//! keys warned about, keys of the specification hoist does not implement yet warned about
//! as such.

use super::mounts::{volumes, Paths};
use super::ports::ports;
use super::probes::{healthcheck, hoist_extension};
use super::read::{
    boolean, command, float, int, kv, labels, map, opt_string, size, string, strings, sub, uint,
    unknown, unsupported,
};
use crate::error::{invalid, Result};
use crate::interpolate::Vars;
use crate::model::{
    Build, Condition, Dependency, Deploy, EnvFile, Resources, Service, ServiceNetwork, Ulimit,
    Warning,
};
use crate::yaml::{Node, Value};
use std::collections::BTreeMap;

/// Keys of the Compose Specification that hoist reads but does not act on yet.
const UNSUPPORTED: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cgroup",
    "cgroup_parent",
    "configs",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns_opt",
    "dns_search",
    "domainname",
    "external_links",
    "extends",
    "gpus",
    "ipc",
    "isolation",
    "label_file",
    "links",
    "logging",
    "mac_address",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "oom_kill_disable",
    "pid",
    "post_start",
    "pre_stop",
    "runtime",
    "scale",
    "secrets",
    "storage_opt",
    "use_api_socket",
    "userns_mode",
    "uts",
    "volumes_from",
];

pub(crate) struct ServiceCtx<'a> {
    pub paths: Paths<'a>,
    pub vars: &'a Vars,
}

pub(crate) fn service(
    n: &Node,
    path: &str,
    ctx: &ServiceCtx,
    warnings: &mut Vec<Warning>,
) -> Result<Service> {
    let mut s = Service::default();
    let mut env_from_files = Vec::new();
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        let p = p.as_str();
        match k.as_str() {
            "image" => s.image = opt_string(v, p)?,
            "build" => s.build = Some(build(v, p, ctx, warnings)?),
            "container_name" => s.container_name = opt_string(v, p)?,
            "command" => s.command = command(v, p)?,
            "entrypoint" => s.entrypoint = command(v, p)?,
            "environment" => {
                // A bare name takes its value from the environment, as compose does.
                s.environment = kv(v, p)?
                    .into_iter()
                    .map(|(k, val)| {
                        let val = val.or_else(|| ctx.vars.get(&k).cloned());
                        (k, val)
                    })
                    .collect()
            }
            "env_file" => {
                for (file, values) in env_files(v, p, ctx, warnings)? {
                    s.env_file.push(file);
                    env_from_files.extend(values);
                }
            }
            "ports" => s.ports = ports(v, p, warnings)?,
            "expose" => s.expose = strings(v, p)?,
            "volumes" => s.volumes = volumes(v, p, &ctx.paths, warnings)?,
            "tmpfs" => s.tmpfs = strings(v, p)?,
            "networks" => s.networks = networks(v, p, warnings)?,
            "network_mode" => s.network_mode = opt_string(v, p)?,
            "depends_on" => s.depends_on = depends_on(v, p, warnings)?,
            "healthcheck" => s.healthcheck = Some(healthcheck(v, p, warnings)?),
            "restart" => {
                let r = string(v, p)?;
                let policy = r.split(':').next().unwrap_or("");
                if !matches!(policy, "no" | "always" | "on-failure" | "unless-stopped") {
                    return Err(invalid(&v.pos, p, format!("unknown restart policy {r:?} (no, always, on-failure[:N], unless-stopped)")));
                }
                s.restart = Some(r);
            }
            "user" => s.user = opt_string(v, p)?,
            "working_dir" => s.working_dir = opt_string(v, p)?,
            "hostname" => s.hostname = opt_string(v, p)?,
            "labels" => s.labels = labels(v, p)?,
            "stop_signal" => s.stop_signal = opt_string(v, p)?,
            "stop_grace_period" => s.stop_grace_period = Some(super::read::duration(v, p)?),
            "read_only" => s.read_only = boolean(v, p)?,
            "init" => s.init = Some(boolean(v, p)?),
            "privileged" => s.privileged = boolean(v, p)?,
            "tty" => s.tty = boolean(v, p)?,
            "stdin_open" => s.stdin_open = boolean(v, p)?,
            "cap_add" => s.cap_add = strings(v, p)?,
            "cap_drop" => s.cap_drop = strings(v, p)?,
            "security_opt" => s.security_opt = strings(v, p)?,
            "extra_hosts" => s.extra_hosts = extra_hosts(v, p)?,
            "dns" => s.dns = strings(v, p)?,
            "platform" => s.platform = opt_string(v, p)?,
            "pull_policy" => s.pull_policy = opt_string(v, p)?,
            "mem_limit" => s.mem_limit = Some(size(v, p)?),
            "cpus" => s.cpus = Some(float(v, p)?),
            "pids_limit" => s.pids_limit = Some(int(v, p)?),
            "shm_size" => s.shm_size = Some(size(v, p)?),
            "ulimits" => s.ulimits = ulimits(v, p)?,
            "sysctls" => s.sysctls = labels(v, p)?,
            "oom_score_adj" => s.oom_score_adj = Some(int(v, p)?),
            "group_add" => s.group_add = strings(v, p)?,
            "cpuset" => s.cpuset = opt_string(v, p)?,
            "deploy" => s.deploy = Some(deploy(v, p, warnings)?),
            "profiles" => s.profiles = strings(v, p)?,
            "x-hoist" => s.hoist = Some(hoist_extension(v, p, warnings)?),
            k if UNSUPPORTED.contains(&k) => unsupported(warnings, k, v, path),
            _ => unknown(warnings, k, v, path),
        }
    }
    // `environment:` wins over `env_file:`, as in compose; later files win over earlier ones.
    for (k, v) in env_from_files.into_iter().rev() {
        let slot = s.environment.entry(k).or_insert(None);
        if slot.is_none() {
            *slot = Some(v);
        }
    }
    Ok(s)
}

fn build(n: &Node, path: &str, ctx: &ServiceCtx, warnings: &mut Vec<Warning>) -> Result<Build> {
    let resolve = |c: &str| {
        if c.contains("://") || c.starts_with("git@") {
            c.to_string()
        } else {
            ctx.paths.resolve(c)
        }
    };
    if let Value::Scalar { text, .. } = &n.value {
        return Ok(Build {
            context: resolve(text),
            dockerfile: Some("Dockerfile".into()),
            ..Build::default()
        });
    }
    let mut b = Build {
        context: resolve("."),
        dockerfile: Some("Dockerfile".into()),
        ..Build::default()
    };
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        match k.as_str() {
            "context" => b.context = resolve(&string(v, &p)?),
            "dockerfile" => b.dockerfile = opt_string(v, &p)?,
            "args" => b.args = kv(v, &p)?,
            "target" => b.target = opt_string(v, &p)?,
            "labels" => b.labels = labels(v, &p)?,
            "cache_from" => b.cache_from = strings(v, &p)?,
            "network" => b.network = opt_string(v, &p)?,
            "additional_contexts"
            | "cache_to"
            | "dockerfile_inline"
            | "entitlements"
            | "extra_hosts"
            | "isolation"
            | "no_cache"
            | "platforms"
            | "privileged"
            | "pull"
            | "secrets"
            | "shm_size"
            | "ssh"
            | "tags"
            | "ulimits" => unsupported(warnings, k, v, path),
            _ => unknown(warnings, k, v, path),
        }
    }
    Ok(b)
}

type EnvValues = Vec<(String, String)>;

/// The `env_file:` entries and what each holds (a missing optional file holds nothing).
fn env_files(
    n: &Node,
    path: &str,
    ctx: &ServiceCtx,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<(EnvFile, EnvValues)>> {
    let items: Vec<&Node> = match &n.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        _ => vec![n],
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let p = if matches!(n.value, Value::Seq(_)) {
            format!("{path}[{i}]")
        } else {
            path.to_string()
        };
        let (file, required) = match &item.value {
            Value::Map(m) => {
                let (mut file, mut required) = (None, true);
                for (k, v) in m {
                    match k.as_str() {
                        "path" => file = Some(string(v, &sub(&p, k))?),
                        "required" => required = boolean(v, &sub(&p, k))?,
                        "format" => {}
                        _ => unknown(warnings, k, v, &p),
                    }
                }
                (
                    file.ok_or_else(|| invalid(&item.pos, &p, "an env_file entry needs `path`"))?,
                    required,
                )
            }
            _ => (string(item, &p)?, true),
        };
        let file = EnvFile {
            path: ctx.paths.resolve(&file).into(),
            required,
        };
        let values = if file.path.is_file() || required {
            crate::envfile::read(&file.path, &|name| ctx.vars.get(name).cloned()).map_err(|e| match e {
                crate::ComposeError::Io { source, .. } => invalid(
                    &item.pos,
                    &p,
                    format!("env file {} cannot be read ({source}); create it or mark it `required: false`", file.path.display()),
                ),
                other => other,
            })?
        } else {
            Vec::new()
        };
        out.push((file, values));
    }
    Ok(out)
}

fn networks(
    n: &Node,
    path: &str,
    warnings: &mut Vec<Warning>,
) -> Result<BTreeMap<String, ServiceNetwork>> {
    let mut out = BTreeMap::new();
    if let Value::Seq(_) = &n.value {
        for name in strings(n, path)? {
            out.insert(name, ServiceNetwork::default());
        }
        return Ok(out);
    }
    for (name, v) in map(n, path)? {
        let p = sub(path, name);
        let mut sn = ServiceNetwork::default();
        for (k, val) in map(v, &p)? {
            let kp = sub(&p, k);
            match k.as_str() {
                "aliases" => sn.aliases = strings(val, &kp)?,
                "ipv4_address" => sn.ipv4_address = opt_string(val, &kp)?,
                "ipv6_address" => sn.ipv6_address = opt_string(val, &kp)?,
                "priority" => sn.priority = Some(int(val, &kp)?),
                "driver_opts" | "gw_priority" | "interface_name" | "link_local_ips"
                | "mac_address" => unsupported(warnings, k, val, &p),
                _ => unknown(warnings, k, val, &p),
            }
        }
        out.insert(name.clone(), sn);
    }
    Ok(out)
}

fn depends_on(
    n: &Node,
    path: &str,
    warnings: &mut Vec<Warning>,
) -> Result<BTreeMap<String, Dependency>> {
    let mut out = BTreeMap::new();
    let short = Dependency {
        condition: Condition::Started,
        restart: false,
        required: true,
    };
    if let Value::Seq(_) = &n.value {
        for name in strings(n, path)? {
            out.insert(name, short.clone());
        }
        return Ok(out);
    }
    for (name, v) in map(n, path)? {
        let p = sub(path, name);
        let mut d = short.clone();
        for (k, val) in map(v, &p)? {
            let kp = sub(&p, k);
            match k.as_str() {
                "condition" => {
                    d.condition = match string(val, &kp)?.as_str() {
                        "service_started" => Condition::Started,
                        "service_healthy" => Condition::Healthy,
                        "service_completed_successfully" => Condition::CompletedSuccessfully,
                        other => {
                            return Err(invalid(&val.pos, &kp, format!("unknown condition {other:?} (service_started, service_healthy or service_completed_successfully)")))
                        }
                    }
                }
                "restart" => d.restart = boolean(val, &kp)?,
                "required" => d.required = boolean(val, &kp)?,
                _ => unknown(warnings, k, val, &p),
            }
        }
        out.insert(name.clone(), d);
    }
    Ok(out)
}

/// `ulimits: {nofile: 20000}` or `{nofile: {soft: 1024, hard: 2048}}`.
fn ulimits(n: &Node, path: &str) -> Result<BTreeMap<String, Ulimit>> {
    let mut out = BTreeMap::new();
    for (name, v) in map(n, path)? {
        let p = sub(path, name);
        let limit = if let Value::Map(_) = &v.value {
            let (mut soft, mut hard) = (None, None);
            for (k, lv) in map(v, &p)? {
                match k.as_str() {
                    "soft" => soft = Some(int(lv, &sub(&p, k))?),
                    "hard" => hard = Some(int(lv, &sub(&p, k))?),
                    _ => return Err(invalid(&lv.pos, &sub(&p, k), "expected soft or hard")),
                }
            }
            let (Some(s), Some(h)) = (soft, hard) else {
                return Err(invalid(&v.pos, &p, "give both soft and hard"));
            };
            Ulimit { soft: s, hard: h }
        } else {
            let both = int(v, &p)?;
            Ulimit {
                soft: both,
                hard: both,
            }
        };
        // Checked here, so up fails before anything starts: the runtime's names, and
        // docker's rule that the soft limit stays within the hard one (-1: unlimited).
        if limit.hard != -1 && (limit.soft == -1 || limit.soft > limit.hard) {
            return Err(invalid(
                &v.pos,
                &p,
                format!(
                    "the soft limit ({}) must not exceed the hard limit ({})",
                    limit.soft, limit.hard
                ),
            ));
        }
        let spec = format!("{name}={}:{}", limit.soft, limit.hard);
        hoist_runtime::container::extras::SpecExtras::parse_ulimit(&spec)
            .map_err(|e| invalid(&v.pos, &p, e.to_string()))?;
        out.insert(name.clone(), limit);
    }
    Ok(out)
}

fn extra_hosts(n: &Node, path: &str) -> Result<Vec<String>> {
    match &n.value {
        Value::Map(_) => Ok(labels(n, path)?
            .into_iter()
            .map(|(host, ip)| format!("{host}={ip}"))
            .collect()),
        _ => strings(n, path),
    }
}

fn deploy(n: &Node, path: &str, warnings: &mut Vec<Warning>) -> Result<Deploy> {
    let mut d = Deploy::default();
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        match k.as_str() {
            "mode" => d.mode = opt_string(v, &p)?,
            "replicas" => d.replicas = Some(uint(v, &p)?),
            "labels" => d.labels = labels(v, &p)?,
            "resources" => {
                for (rk, rv) in map(v, &p)? {
                    let rp = sub(&p, rk);
                    match rk.as_str() {
                        "limits" => d.limits = Some(resources(rv, &rp, warnings)?),
                        "reservations" => d.reservations = Some(resources(rv, &rp, warnings)?),
                        _ => unknown(warnings, rk, rv, &p),
                    }
                }
            }
            "endpoint_mode" | "placement" | "restart_policy" | "rollback_config"
            | "update_config" => unsupported(warnings, k, v, path),
            _ => unknown(warnings, k, v, path),
        }
    }
    Ok(d)
}

fn resources(n: &Node, path: &str, warnings: &mut Vec<Warning>) -> Result<Resources> {
    let mut r = Resources::default();
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        match k.as_str() {
            "cpus" => r.cpus = Some(float(v, &p)?),
            "memory" => r.memory = Some(size(v, &p)?),
            "pids" => r.pids = Some(int(v, &p)?),
            "devices" | "generic_resources" => unsupported(warnings, k, v, path),
            _ => unknown(warnings, k, v, path),
        }
    }
    Ok(r)
}
