//! One container of a pod template as the runtime's create options (what `hoist run` would
//! be given): command/args, env (values, ConfigMap/Secret references resolved now),
//! volumes, resources, security context, probes, restart policy.

use super::check::resolve_port;
use super::desired::{FileSet, VolumeTemplate};
use super::labels;
use super::manifest::{Kind, Manifest, Workload};
use super::units;
use hoist_runtime::container::config::RunOptions;
use hoist_runtime::probe::{Check, Probe, Probes};
use k8s_openapi::api::core::v1::{Container, KeyToPath, Probe as KProbe};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What [`container_options`] makes of one container.
#[derive(Debug, Clone)]
pub struct Built {
    pub member: String,
    pub image: String,
    pub options: RunOptions,
    pub probes: Probes,
    pub volumes: Vec<VolumeTemplate>,
}

/// The ConfigMap and Secret volumes' files of one workload, a directory per volume.
pub struct PodFiles {
    base: PathBuf,
    sets: BTreeMap<String, FileSet>,
}

impl PodFiles {
    pub fn new(base: PathBuf) -> PodFiles {
        PodFiles {
            base,
            sets: BTreeMap::new(),
        }
    }

    fn add(
        &mut self,
        volume: &str,
        data: Option<&BTreeMap<String, Vec<u8>>>,
        items: Option<&Vec<KeyToPath>>,
        mode: u32,
    ) -> PathBuf {
        let dir = self.base.join(volume);
        let empty = BTreeMap::new();
        let data = data.unwrap_or(&empty);
        let files = match items {
            Some(items) => items
                .iter()
                .filter_map(|i| {
                    let v = data.get(&i.key)?;
                    Some((
                        i.path.clone(),
                        v.clone(),
                        i.mode.map(|m| m as u32).unwrap_or(mode),
                    ))
                })
                .collect(),
            None => data
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), mode))
                .collect(),
        };
        self.sets.insert(
            volume.to_string(),
            FileSet {
                dir: dir.clone(),
                files,
            },
        );
        dir
    }

    pub fn into_sets(self) -> Vec<FileSet> {
        self.sets.into_values().collect()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Kubernetes' `$(VAR)` references in command, args and env values: replaced by the
/// variable's value when it is defined (in `env`), left as written otherwise; `$$` is `$`.
pub fn expand(text: &str, env: &[String]) -> String {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(close) = after.strip_prefix('(').and_then(|a| a.find(')')) {
            let name = &after[1..=close];
            match lookup(name) {
                Some(v) => out.push_str(v),
                None => out.push_str(&rest[i..i + close + 3]),
            }
            rest = &after[close + 2..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn env(m: &Manifest, c: &Container) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let set = |out: &mut Vec<String>, k: String, v: String| {
        out.retain(|e| e.split_once('=').map(|(n, _)| n) != Some(k.as_str()));
        out.push(format!("{k}={v}"));
    };
    for e in c.env_from.iter().flatten() {
        let prefix = e.prefix.clone().unwrap_or_default();
        let data = match (&e.config_map_ref, &e.secret_ref) {
            (Some(r), _) => m.config_maps.get(&r.name),
            (_, Some(r)) => m.secrets.get(&r.name),
            _ => None,
        };
        for (k, v) in data.into_iter().flatten() {
            set(&mut out, format!("{prefix}{k}"), text(v));
        }
    }
    for e in c.env.iter().flatten() {
        let value = match (&e.value, &e.value_from) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(from)) => {
                let pick = |d: Option<&BTreeMap<String, Vec<u8>>>, key: &str| {
                    d.and_then(|d| d.get(key)).map(|v| text(v))
                };
                match (&from.config_map_key_ref, &from.secret_key_ref) {
                    (Some(r), _) => pick(m.config_maps.get(&r.name), &r.key),
                    (_, Some(r)) => pick(m.secrets.get(&r.name), &r.key),
                    _ => None,
                }
            }
            (None, None) => Some(String::new()),
        };
        // An optional reference that is missing leaves the variable unset; a value may use
        // the variables before it.
        if let Some(v) = value {
            let v = if e.value.is_some() {
                expand(&v, &out)
            } else {
                v
            };
            out.retain(|x| x.split_once('=').map(|(n, _)| n) != Some(e.name.as_str()));
            out.push(format!("{}={v}", e.name));
        }
    }
    out
}

fn probe(c: &Container, p: &KProbe) -> Option<Probe> {
    let secs = |v: Option<i32>, default: u64| {
        Duration::from_secs(v.map(|n| n.max(0) as u64).unwrap_or(default))
    };
    let check = if let Some(e) = &p.exec {
        Check::Exec {
            argv: e.command.clone().unwrap_or_default(),
        }
    } else if let Some(h) = &p.http_get {
        Check::Http {
            port: resolve_port(c, &h.port)?,
            path: h.path.clone().unwrap_or_else(|| "/".into()),
        }
    } else if let Some(t) = &p.tcp_socket {
        Check::Tcp {
            port: resolve_port(c, &t.port)?,
        }
    } else {
        return None;
    };
    Some(Probe {
        check,
        initial_delay: secs(p.initial_delay_seconds, 0),
        period: secs(p.period_seconds, 10).max(Duration::from_secs(1)),
        timeout: secs(p.timeout_seconds, 1).max(Duration::from_secs(1)),
        success: p.success_threshold.map(|n| n.max(1) as u32).unwrap_or(1),
        failure: p.failure_threshold.map(|n| n.max(1) as u32).unwrap_or(3),
    })
}

fn restart(w: &Workload, init: bool) -> String {
    if init {
        return "no".into();
    }
    let policy = w.spec.restart_policy.as_deref().unwrap_or("Always");
    match (w.kind, policy) {
        (Kind::Job, _) => match w.job.map(|j| j.backoff_limit).unwrap_or(6) {
            0 => "no".into(),
            n => format!("on-failure:{n}"),
        },
        (_, "OnFailure") => "on-failure".into(),
        (_, "Never") => "no".into(),
        _ => "always".into(),
    }
}

/// The create options of container `c` of workload `w` (an init container when `init`).
pub fn container_options(
    m: &Manifest,
    w: &Workload,
    c: &Container,
    init: bool,
    files: &mut PodFiles,
) -> Built {
    let mut o = RunOptions {
        env: env(m, c),
        ..Default::default()
    };
    let words = |v: &Option<Vec<String>>| -> Vec<String> {
        v.iter().flatten().map(|w| expand(w, &o.env)).collect()
    };
    let (command, args) = (words(&c.command), words(&c.args));
    match (command.split_first(), c.args.is_some()) {
        (Some((first, rest)), _) => {
            // The runtime's entrypoint is one word: the rest goes before the command (the
            // same argv, as compose does it).
            o.entrypoint = Some(first.clone());
            o.cmd = rest.to_vec();
            o.cmd.extend(args);
        }
        (None, true) => o.cmd = args,
        _ => {}
    }
    o.workdir = c.working_dir.clone();
    o.tty = c.tty.unwrap_or(false);
    o.interactive = c.stdin.unwrap_or(false);
    o.restart = Some(restart(w, init));
    for p in c.ports.iter().flatten() {
        let proto = if p.protocol.as_deref() == Some("UDP") {
            "/udp"
        } else {
            ""
        };
        o.expose.push(format!("{}{proto}", p.container_port));
    }
    if let Some(limits) = c.resources.as_ref().and_then(|r| r.limits.as_ref()) {
        o.cpus = limits.get("cpu").and_then(|q| units::cpus(&q.0));
        o.memory = limits.get("memory").and_then(|q| units::bytes(&q.0));
    }
    // The pod's securityContext gives runAsUser/runAsGroup to every container; a
    // container's own wins.
    let pod_sc = w.spec.security_context.as_ref();
    let sc = c.security_context.as_ref();
    let user = sc
        .and_then(|s| s.run_as_user)
        .or(pod_sc.and_then(|s| s.run_as_user));
    let group = sc
        .and_then(|s| s.run_as_group)
        .or(pod_sc.and_then(|s| s.run_as_group));
    o.user = match (user, group) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        (None, Some(g)) => Some(format!("0:{g}")),
        (None, None) => None,
    };
    if let Some(sc) = sc {
        o.read_only = sc.read_only_root_filesystem.unwrap_or(false);
        o.privileged = sc.privileged.unwrap_or(false);
        if let Some(caps) = &sc.capabilities {
            o.cap_add = caps.add.clone().unwrap_or_default();
            o.cap_drop = caps.drop.clone().unwrap_or_default();
        }
    }
    let mut volumes = Vec::new();
    for vm in c.volume_mounts.iter().flatten() {
        let ro = if vm.read_only.unwrap_or(false) {
            ":ro"
        } else {
            ""
        };
        let target = &vm.mount_path;
        let vol_labels = |what: &str| {
            BTreeMap::from([
                (labels::WORKLOAD.to_string(), w.id()),
                (labels::VOLUME.to_string(), format!("{}/{what}", w.id())),
            ])
        };
        if w.claim_templates.contains(&vm.name) {
            // StatefulSet: `<template>-<pod>` (Kubernetes' PVC name), kept across down.
            let name = format!("{}-{{pod}}", vm.name);
            volumes.push(VolumeTemplate {
                name: name.clone(),
                labels: vol_labels(&vm.name),
                options: BTreeMap::new(),
                ephemeral: false,
            });
            o.volumes.push(format!("{name}:{target}{ro}"));
            continue;
        }
        let Some(v) = w.spec.volumes.iter().flatten().find(|v| v.name == vm.name) else {
            continue; // check.rs refused it
        };
        if let Some(e) = &v.empty_dir {
            let name = format!("{{pod}}-{}", v.name);
            let mut options = BTreeMap::new();
            if e.medium.as_deref() == Some("Memory") {
                options.insert("type".into(), "tmpfs".into());
                options.insert("device".into(), "tmpfs".into());
            }
            volumes.push(VolumeTemplate {
                name: name.clone(),
                labels: vol_labels(&v.name),
                options,
                ephemeral: true,
            });
            o.volumes.push(format!("{name}:{target}{ro}"));
        } else if let Some(h) = &v.host_path {
            o.volumes.push(format!("{}:{target}{ro}", h.path));
        } else if let Some(cm) = &v.config_map {
            let mode = cm.default_mode.map(|m| m as u32).unwrap_or(0o644);
            let dir = files.add(
                &v.name,
                m.config_maps.get(&cm.name),
                cm.items.as_ref(),
                mode,
            );
            o.volumes.push(format!("{}:{target}:ro", dir.display()));
        } else if let Some(s) = &v.secret {
            let sname = s.secret_name.clone().unwrap_or_default();
            let mode = s.default_mode.map(|m| m as u32).unwrap_or(0o644);
            let dir = files.add(&v.name, m.secrets.get(&sname), s.items.as_ref(), mode);
            o.volumes.push(format!("{}:{target}:ro", dir.display()));
        } else if let Some(pvc) = &v.persistent_volume_claim {
            let ro = if pvc.read_only.unwrap_or(false) {
                ":ro"
            } else {
                ro
            };
            volumes.push(VolumeTemplate {
                name: pvc.claim_name.clone(),
                labels: BTreeMap::from([(
                    labels::VOLUME.to_string(),
                    format!("pvc/{}", pvc.claim_name),
                )]),
                options: BTreeMap::new(),
                ephemeral: false,
            });
            o.volumes.push(format!("{}:{target}{ro}", pvc.claim_name));
        }
    }
    let probes = Probes {
        startup: c.startup_probe.as_ref().and_then(|p| probe(c, p)),
        liveness: c.liveness_probe.as_ref().and_then(|p| probe(c, p)),
        readiness: c.readiness_probe.as_ref().and_then(|p| probe(c, p)),
    };
    Built {
        member: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        options: o,
        probes,
        volumes,
    }
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn references_are_expanded_as_kubernetes_does() {
        let env = vec!["A=1".to_string(), "B=two".to_string()];
        assert_eq!(expand("x$(A)y$(B)", &env), "x1ytwo");
        assert_eq!(expand("$(NOPE) stays", &env), "$(NOPE) stays");
        assert_eq!(
            expand("$$(A) is escaped, $5 too", &env),
            "$(A) is escaped, $5 too"
        );
        assert_eq!(expand("unclosed $(A", &env), "unclosed $(A");
    }
}
