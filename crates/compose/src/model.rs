//! The normalized project: every short syntax turned into its long form, paths absolute,
//! durations and sizes parsed, defaults filled in as docker compose fills them. This is what
//! `compose config` prints and what a planner will compare with what exists.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Project {
    pub name: String,
    /// The directory relative paths were resolved against (the first file's directory).
    pub working_dir: PathBuf,
    /// Enabled services only (profiles applied).
    pub services: BTreeMap<String, Service>,
    /// Top-level networks, with `default` when a service uses it.
    pub networks: BTreeMap<String, Network>,
    pub volumes: BTreeMap<String, Volume>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Service {
    pub image: Option<String>,
    pub build: Option<Build>,
    pub container_name: Option<String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `None`: the variable is passed only if set where the container is created.
    pub environment: BTreeMap<String, Option<String>>,
    /// Already read into `environment` (kept to know where values came from).
    pub env_file: Vec<EnvFile>,
    pub ports: Vec<Port>,
    pub expose: Vec<String>,
    pub volumes: Vec<Mount>,
    pub tmpfs: Vec<String>,
    pub networks: BTreeMap<String, ServiceNetwork>,
    pub network_mode: Option<String>,
    pub depends_on: BTreeMap<String, Dependency>,
    pub healthcheck: Option<Healthcheck>,
    pub restart: Option<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub hostname: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
    pub stop_grace_period: Option<Duration>,
    pub read_only: bool,
    pub init: Option<bool>,
    pub privileged: bool,
    pub tty: bool,
    pub stdin_open: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `no-new-privileges[:true]`, `seccomp=unconfined|FILE` (what the runtime's
    /// `--security-opt` takes).
    pub security_opt: Vec<String>,
    pub extra_hosts: Vec<String>,
    pub dns: Vec<String>,
    pub platform: Option<String>,
    pub pull_policy: Option<String>,
    /// Bytes.
    pub mem_limit: Option<u64>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    /// Bytes.
    pub shm_size: Option<u64>,
    /// `ulimits:` by name (`nofile`); -1 is unlimited.
    pub ulimits: BTreeMap<String, Ulimit>,
    /// `sysctls:` (namespaced kernel parameters, as `run --sysctl`).
    pub sysctls: BTreeMap<String, String>,
    /// `oom_score_adj:`, `group_add:`, `cpuset:` (as the `run` flags).
    pub oom_score_adj: Option<i64>,
    pub group_add: Vec<String>,
    pub cpuset: Option<String>,
    pub deploy: Option<Deploy>,
    pub profiles: Vec<String>,
    /// The `x-hoist` extension: Kubernetes-style probes.
    pub hoist: Option<HoistExtension>,
}

/// One `ulimits:` entry: `nofile: 20000` sets both limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Build {
    /// An absolute directory, or a URL (git) kept as written.
    pub context: String,
    pub dockerfile: Option<String>,
    pub args: BTreeMap<String, Option<String>>,
    pub target: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub cache_from: Vec<String>,
    pub network: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvFile {
    pub path: PathBuf,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub target: u16,
    /// A port or a range `8000-8010` on the host; `None`: an ephemeral one.
    pub published: Option<String>,
    pub host_ip: Option<String>,
    pub protocol: String,
    pub mode: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Volume,
    Tmpfs,
}

impl MountType {
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Volume => "volume",
            MountType::Tmpfs => "tmpfs",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub kind: MountType,
    /// A host path (bind, absolute), a volume name, or `None` (anonymous volume, tmpfs).
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub bind: Option<BindOptions>,
    pub volume: Option<VolumeOptions>,
    pub tmpfs: Option<TmpfsOptions>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BindOptions {
    pub create_host_path: bool,
    pub propagation: Option<String>,
    pub selinux: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VolumeOptions {
    pub nocopy: bool,
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TmpfsOptions {
    /// Bytes.
    pub size: Option<u64>,
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceNetwork {
    pub aliases: Vec<String>,
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
    pub priority: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Condition {
    #[default]
    Started,
    Healthy,
    CompletedSuccessfully,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    pub condition: Condition,
    /// Restart this service when the dependency is recreated or restarted by compose.
    pub restart: bool,
    /// A missing optional dependency is not an error.
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]`; `None` keeps the image's.
    pub test: Option<Vec<String>>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u64>,
    pub disable: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Deploy {
    pub mode: Option<String>,
    pub replicas: Option<u64>,
    pub labels: BTreeMap<String, String>,
    pub limits: Option<Resources>,
    pub reservations: Option<Resources>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resources {
    pub cpus: Option<f64>,
    /// Bytes.
    pub memory: Option<u64>,
    pub pids: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Network {
    /// The name on this machine: `<project>_<key>` unless `name:` says, or the key if external.
    pub name: String,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub external: bool,
    pub internal: bool,
    pub enable_ipv6: bool,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
    pub ipam: Option<Ipam>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ipam {
    pub driver: Option<String>,
    pub config: Vec<IpamPool>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IpamPool {
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Volume {
    pub name: String,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub external: bool,
    pub labels: BTreeMap<String, String>,
}

/// `x-hoist:` on a service: hoist's probes, with Kubernetes' field names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HoistExtension {
    pub startup_probe: Option<Probe>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub action: ProbeAction,
    pub initial_delay_seconds: u32,
    pub period_seconds: u32,
    pub timeout_seconds: u32,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeAction {
    Exec {
        command: Vec<String>,
    },
    HttpGet {
        path: String,
        port: u16,
        host: Option<String>,
        scheme: String,
        headers: Vec<(String, String)>,
    },
    TcpSocket {
        port: u16,
        host: Option<String>,
    },
}

impl Probe {
    /// The container port an http/tcp probe checks.
    pub fn port(&self) -> Option<u16> {
        match &self.action {
            ProbeAction::HttpGet { port, .. } | ProbeAction::TcpSocket { port, .. } => Some(*port),
            ProbeAction::Exec { .. } => None,
        }
    }
}

/// Something in the files hoist did not use: an unknown key (a typo, usually), or a part of
/// the Compose Specification hoist does not implement yet. Collected, never printed here.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub pos: crate::yaml::Pos,
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.pos, self.path, self.message)
    }
}
