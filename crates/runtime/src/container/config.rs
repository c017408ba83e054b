//! What a container runs, resolved once at create time: the image config
//! merged with the flags exactly as docker does (ENTRYPOINT/CMD, env, workdir,
//! user, healthcheck), plus parsed -v / --tmpfs / -p specs.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::error::{Result, RuntimeError};
use crate::health::Healthcheck;
use crate::spec::NetworkMode;

/// The `run`/`create` flags, as the CLI parsed them.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub name: Option<String>,
    pub env: Vec<String>,
    pub env_files: Vec<PathBuf>,
    pub volumes: Vec<String>,
    pub tmpfs: Vec<String>,
    pub publish: Vec<String>,
    /// `-P`: publish every exposed port on a free host port.
    pub publish_all: bool,
    /// `--expose`: ports to add to the image's EXPOSEd ones.
    pub expose: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// Some("") clears the image's entrypoint.
    pub entrypoint: Option<String>,
    pub hostname: Option<String>,
    pub network: NetworkMode,
    pub memory: Option<i64>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    pub read_only: bool,
    pub interactive: bool,
    pub tty: bool,
    pub auto_remove: bool,
    pub restart: Option<String>,
    pub health: HealthOverrides,
    /// The pod (name or ID) whose namespaces and volumes the container shares.
    pub pod: Option<String>,
    /// With `network: Bridge`: the networks (none given = the default one),
    /// each with its `--ip` and `--network-alias`es.
    pub networks: Vec<hoist_network::Request>,
    pub add_hosts: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    /// `--network container:NAME`: the container (name or ID).
    pub network_container: Option<String>,
    /// The command after the image name.
    pub cmd: Vec<String>,
    /// `--cap-add`, `--cap-drop` (names with or without `CAP_`, or `ALL`).
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--privileged`: every capability, no seccomp, the host's devices,
    /// /sys and the cgroup fs writable, nothing masked.
    pub privileged: bool,
    /// `--security-opt`: seccomp=unconfined|PROFILE.json, no-new-privileges.
    pub security_opt: Vec<String>,
    /// `--userns=host|auto[:size=N]` (security/userns.rs).
    pub userns: Option<String>,
    /// `--uidmap`/`--gidmap CONTAINER:HOST:SIZE`.
    pub uidmap: Vec<String>,
    pub gidmap: Vec<String>,
    /// `--platform OS/ARCH[/VARIANT]` (normalized): the entry of an index
    /// to run, and the platform the image must be. A foreign one runs
    /// under qemu-user (emulation.rs), as does a foreign image without it.
    pub platform: Option<String>,
    /// `--label`/`--label-file`, parsed (container/labels.rs); merged over
    /// the image's labels at create.
    pub labels: super::labels::Labels,
    /// `--stop-signal` (a name or number): over the image's STOPSIGNAL.
    pub stop_signal: Option<String>,
    /// `--log-opt max-size=… max-file=…`, parsed (logs.rs).
    pub log: crate::logs::LogOptions,
    /// `--ulimit`, `--group-add`, `--shm-size`, `--device`, parsed (extras.rs).
    pub extras: super::extras::SpecExtras,
}

#[derive(Debug, Clone, Default)]
pub struct HealthOverrides {
    pub cmd: Option<String>,
    pub interval: Option<std::time::Duration>,
    pub timeout: Option<std::time::Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<std::time::Duration>,
    pub start_interval: Option<std::time::Duration>,
    pub none: bool,
}

/// The parts of an image config hoist uses (docker's names).
#[derive(Debug, Clone, Default)]
pub struct ImageDefaults {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub user: String,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<Healthcheck>,
    /// The keys of `config.ExposedPorts` (`80/tcp`, `53/udp`).
    pub exposed_ports: Vec<String>,
    /// `config.Labels`.
    pub labels: super::labels::Labels,
}

impl ImageDefaults {
    /// Reads them from the config JSON (`config.Entrypoint`, ... and docker's
    /// `config.Healthcheck`, which the OCI types do not model).
    pub fn from_config_json(v: &serde_json::Value) -> ImageDefaults {
        let c = &v["config"];
        let strings = |k: &str| -> Vec<String> {
            c[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
        ImageDefaults {
            entrypoint: strings("Entrypoint"),
            cmd: strings("Cmd"),
            env: strings("Env"),
            workdir: text("WorkingDir"),
            user: text("User"),
            stop_signal: c["StopSignal"].as_str().map(String::from),
            healthcheck: serde_json::from_value(c["Healthcheck"].clone()).ok(),
            exposed_ports: c["ExposedPorts"]
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default(),
            labels: serde_json::from_value(c["Labels"].clone()).unwrap_or_default(),
        }
    }
}

/// A mount as the user asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Type")]
pub enum MountRequest {
    #[serde(rename = "bind")]
    Bind {
        #[serde(rename = "Source")]
        source: PathBuf,
        #[serde(rename = "Destination")]
        target: String,
        #[serde(rename = "RO")]
        readonly: bool,
    },
    #[serde(rename = "volume")]
    Volume {
        #[serde(rename = "Name")]
        name: String,
        #[serde(rename = "Destination")]
        target: String,
        #[serde(rename = "RO")]
        readonly: bool,
        #[serde(rename = "Anonymous")]
        anonymous: bool,
    },
    #[serde(rename = "tmpfs")]
    Tmpfs {
        #[serde(rename = "Destination")]
        target: String,
        #[serde(rename = "Options")]
        options: Vec<String>,
    },
}

/// The transport of a published port (docker's `/tcp`, `/udp` suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            _ => None,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A published port: host address and port to container port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: std::net::IpAddr,
    /// 0 = pick a free port when the container starts.
    pub host_port: u16,
    pub container_port: u16,
    /// Records written before UDP existed have no protocol: TCP.
    #[serde(default)]
    pub protocol: Protocol,
}

impl PortMapping {
    /// docker's key for the container side, e.g. `80/tcp`, `53/udp`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.container_port, self.protocol)
    }
}

fn bad(msg: String) -> RuntimeError {
    RuntimeError::Invalid(msg)
}

fn check_container_path(p: &str, flag: &str) -> Result<()> {
    if !p.starts_with('/') {
        return Err(bad(format!(
            "{flag}: the container path {p:?} must be absolute"
        )));
    }
    Ok(())
}

/// Parses `-v SRC:DST[:ro|rw]`, `-v NAME:DST`, `-v DST` (anonymous volume).
pub fn parse_volume(spec: &str) -> Result<MountRequest> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [dst] => (None, *dst, ""),
        [src, dst] => (Some(*src), *dst, ""),
        [src, dst, opts] => (Some(*src), *dst, *opts),
        _ => return Err(bad(format!("-v {spec:?}: expected SOURCE:TARGET[:ro]"))),
    };
    check_container_path(dst, "-v")?;
    let mut readonly = false;
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => readonly = true,
            "rw" | "z" | "Z" | "rprivate" | "private" => {}
            other => return Err(bad(format!("-v {spec:?}: unknown option {other:?}"))),
        }
    }
    Ok(match src {
        None => MountRequest::Volume {
            name: random_hex(32),
            target: dst.into(),
            readonly,
            anonymous: true,
        },
        Some(s) if s.starts_with('/') => MountRequest::Bind {
            source: PathBuf::from(s),
            target: dst.into(),
            readonly,
        },
        Some(s) => {
            crate::volumes::check_name(s)?;
            MountRequest::Volume {
                name: s.into(),
                target: dst.into(),
                readonly,
                anonymous: false,
            }
        }
    })
}

/// Parses `--tmpfs /path[:size=64m,mode=1777]`.
pub fn parse_tmpfs(spec: &str) -> Result<MountRequest> {
    let (dst, opts) = spec.split_once(':').unwrap_or((spec, ""));
    check_container_path(dst, "--tmpfs")?;
    let mut options = vec!["noexec".to_string()];
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        let key = o.split('=').next().unwrap_or_default();
        if ![
            "size",
            "mode",
            "uid",
            "gid",
            "nr_inodes",
            "exec",
            "noexec",
            "ro",
            "rw",
        ]
        .contains(&key)
        {
            return Err(bad(format!("--tmpfs {spec:?}: unknown option {o:?}")));
        }
        if o == "exec" {
            options.retain(|x| x != "noexec");
            continue;
        }
        options.push(o.to_string());
    }
    Ok(MountRequest::Tmpfs {
        target: dst.into(),
        options,
    })
}

/// The most ports one `-p` range may publish: each published port costs
/// the monitor a listening thread.
pub const MAX_PORT_RANGE: usize = 1024;

/// Parses docker's `-p [IP:][HOSTPORT:]CTRPORT[/tcp|/udp]`, where each port
/// may be a range (`8000-8010:8000-8010`, `8000-8010` for random host
/// ports). A missing IP is 127.0.0.1 (hoist publishes on loopback unless
/// told otherwise); a missing host port is picked when the container starts.
pub fn parse_publish(spec: &str) -> Result<Vec<PortMapping>> {
    let (body, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let protocol = Protocol::parse(proto).ok_or_else(|| {
        bad(format!(
            "-p {spec:?}: unknown protocol {proto:?} (use tcp or udp)"
        ))
    })?;
    let (ip, host, ctr) = match body.rsplitn(3, ':').collect::<Vec<_>>().as_slice() {
        [c] => (None, "", *c),
        [c, h] => (None, *h, *c),
        [c, h, ip] => (Some(*ip), *h, *c),
        _ => unreachable!(),
    };
    let host_ip = match ip {
        None | Some("") => std::net::IpAddr::from([127, 0, 0, 1]),
        Some(ip) => ip
            .trim_matches(['[', ']'])
            .parse()
            .map_err(|_| bad(format!("-p {spec:?}: {ip:?} is not an IP address")))?,
    };
    let ctr = port_range(spec, ctr)?;
    if *ctr.start() == 0 {
        return Err(bad(format!("-p {spec:?}: the container port cannot be 0")));
    }
    let host = if host.is_empty() {
        None
    } else {
        Some(port_range(spec, host)?)
    };
    let count = ctr.len();
    if let Some(h) = &host {
        if h.len() != count {
            return Err(bad(format!(
                "-p {spec:?}: the host range has {} ports and the container range {count}; give ranges of the same length",
                h.len()
            )));
        }
    }
    if count > MAX_PORT_RANGE {
        return Err(bad(format!(
            "-p {spec:?}: {count} ports; publish at most {MAX_PORT_RANGE} per range"
        )));
    }
    Ok(ctr
        .enumerate()
        .map(|(i, container_port)| PortMapping {
            host_ip,
            host_port: host.as_ref().map_or(0, |h| h.start() + i as u16),
            container_port,
            protocol,
        })
        .collect())
}

/// `80` or `8000-8010` (inclusive, ascending).
fn port_range(spec: &str, s: &str) -> Result<std::ops::RangeInclusive<u16>> {
    let port = |p: &str| -> Result<u16> {
        p.parse()
            .map_err(|_| bad(format!("-p {spec:?}: {p:?} is not a port number")))
    };
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(s)?, port(s)?),
    };
    if a > b {
        return Err(bad(format!(
            "-p {spec:?}: the range {s:?} ends before it starts"
        )));
    }
    Ok(a..=b)
}

/// Reads `--env-file`: KEY=VALUE lines, `#` comments, bare KEY taken from our env.
pub fn read_env_file(path: &std::path::Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(format!("--env-file {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(expand_env_flag)
        .collect())
}

/// `-e KEY=VALUE` as is; `-e KEY` takes KEY from hoist's own environment
/// (dropped when unset, like docker).
pub fn expand_env_flag(e: &str) -> Option<String> {
    if e.contains('=') {
        Some(e.to_string())
    } else {
        std::env::var(e).ok().map(|v| format!("{e}={v}"))
    }
}

/// Sets `KEY=...` in `env`, replacing an earlier value of the same key.
pub fn set_env(env: &mut Vec<String>, entry: String) {
    let key = entry.split('=').next().unwrap_or_default().to_string();
    env.retain(|e| e.split('=').next() != Some(key.as_str()));
    env.push(entry);
}

/// docker's ENTRYPOINT/CMD rule: a new --entrypoint drops the image's CMD;
/// arguments after the image replace CMD.
pub fn merge_command(image: &ImageDefaults, opts: &RunOptions) -> (Vec<String>, Vec<String>) {
    let (entrypoint, image_cmd) = match &opts.entrypoint {
        Some(ep) if ep.is_empty() => (Vec::new(), Vec::new()),
        Some(ep) => (vec![ep.clone()], Vec::new()),
        None => (image.entrypoint.clone(), image.cmd.clone()),
    };
    let cmd = if opts.cmd.is_empty() {
        image_cmd
    } else {
        opts.cmd.clone()
    };
    (entrypoint, cmd)
}

/// Image env, then --env-file, then -e (later wins), PATH defaulted.
pub fn merge_env(image: &ImageDefaults, opts: &RunOptions) -> Result<Vec<String>> {
    let mut env = Vec::new();
    for e in &image.env {
        set_env(&mut env, e.clone());
    }
    for f in &opts.env_files {
        for e in read_env_file(f)? {
            set_env(&mut env, e);
        }
    }
    for e in opts.env.iter().filter_map(|e| expand_env_flag(e)) {
        set_env(&mut env, e);
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
    }
    Ok(env)
}

pub fn random_hex(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&format!("{:016x}", rand::random::<u64>()));
    }
    s.truncate(len);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageDefaults {
        ImageDefaults {
            entrypoint: vec!["/ep".into()],
            cmd: vec!["a".into()],
            env: vec!["A=1".into(), "PATH=/bin".into()],
            ..Default::default()
        }
    }

    #[test]
    fn command_merge_follows_docker() {
        let mut o = RunOptions::default();
        assert_eq!(
            merge_command(&image(), &o),
            (vec!["/ep".into()], vec!["a".into()])
        );
        o.cmd = vec!["b".into()];
        assert_eq!(
            merge_command(&image(), &o),
            (vec!["/ep".into()], vec!["b".into()])
        );
        o.cmd.clear();
        o.entrypoint = Some("echo".into());
        assert_eq!(merge_command(&image(), &o), (vec!["echo".into()], vec![]));
        o.entrypoint = Some(String::new());
        o.cmd = vec!["sh".into()];
        assert_eq!(merge_command(&image(), &o), (vec![], vec!["sh".into()]));
    }

    #[test]
    fn env_merge_overrides_by_key() {
        let o = RunOptions {
            env: vec!["A=2".into(), "B=3".into()],
            ..Default::default()
        };
        assert_eq!(
            merge_env(&image(), &o).unwrap(),
            vec!["PATH=/bin", "A=2", "B=3"]
        );
    }

    #[test]
    fn image_config_keys_are_read_including_docker_healthcheck() {
        let v = serde_json::json!({"config": {
            "Entrypoint": ["/ep"], "Cmd": ["a"], "Env": ["A=1"], "WorkingDir": "/w",
            "User": "user", "StopSignal": "SIGQUIT",
            "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 1000000000u64, "Retries": 2}
        }});
        let d = ImageDefaults::from_config_json(&v);
        assert_eq!(
            (d.entrypoint, d.cmd, d.workdir, d.user),
            (
                vec!["/ep".to_string()],
                vec!["a".to_string()],
                "/w".into(),
                "user".into()
            )
        );
        assert_eq!(d.stop_signal.as_deref(), Some("SIGQUIT"));
        let h = d.healthcheck.unwrap();
        assert_eq!(
            (h.retries(), h.interval()),
            (2, std::time::Duration::from_secs(1))
        );
    }

    #[test]
    fn publish_parses_protocols_and_ranges() {
        let u = parse_publish("0.0.0.0:5353:53/udp").unwrap();
        assert_eq!(
            (u.len(), u[0].host_port, u[0].container_port, u[0].protocol),
            (1, 5353, 53, Protocol::Udp)
        );
        assert_eq!(u[0].host_ip.to_string(), "0.0.0.0");
        assert_eq!(u[0].key(), "53/udp");
        assert_eq!(parse_publish("80/TCP").unwrap()[0].protocol, Protocol::Tcp);
        let v6 = parse_publish("[::1]:8080:80/udp").unwrap();
        assert_eq!(v6[0].host_ip.to_string(), "::1");
        let r = parse_publish("8000-8002:9000-9002/udp").unwrap();
        let pairs: Vec<_> = r.iter().map(|m| (m.host_port, m.container_port)).collect();
        assert_eq!(pairs, [(8000, 9000), (8001, 9001), (8002, 9002)]);
        assert!(r.iter().all(|m| m.protocol == Protocol::Udp));
        let random = parse_publish("7000-7001").unwrap();
        assert!(random.iter().all(|m| m.host_port == 0));
        assert_eq!(random.len(), 2);
        for bad in [
            "80/sctp",
            "8000-8001:80",
            "8000-8002:9000-9001",
            "90-80",
            "0/udp",
            "1-2000",
            "a:80/udp",
            "1.2.3:80:80",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad} was accepted");
        }
        let e = parse_publish("80/sctp").unwrap_err().to_string();
        assert!(e.contains("tcp or udp"), "{e}");
    }

    #[test]
    fn flags_parse() {
        let p = parse_publish("8080:80").unwrap()[0];
        assert_eq!(
            (
                p.host_ip.to_string().as_str(),
                p.host_port,
                p.container_port,
                p.protocol
            ),
            ("127.0.0.1", 8080, 80, Protocol::Tcp)
        );
        assert_eq!(parse_publish("127.0.0.1::80").unwrap()[0].host_port, 0);
        assert!(matches!(
            parse_volume("/a:/b:ro").unwrap(),
            MountRequest::Bind { readonly: true, .. }
        ));
        assert!(matches!(
            parse_volume("data:/b").unwrap(),
            MountRequest::Volume {
                anonymous: false,
                ..
            }
        ));
        assert!(matches!(
            parse_volume("/b").unwrap(),
            MountRequest::Volume {
                anonymous: true,
                ..
            }
        ));
        assert!(parse_volume("a:b").is_err());
        assert!(parse_tmpfs("/t:size=1m,mode=1777").is_ok());
        assert!(parse_tmpfs("/t:bogus").is_err());
    }
}
