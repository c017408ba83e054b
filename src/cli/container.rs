//! Container verbs: run, create, start, stop, kill, restart, rm, ps, logs,
//! exec, wait, port, pause, unpause, stats, top, rename, cp, diff, export,
//! commit, update, attach, healthcheck, pod (and the hidden monitor). `volume` is a
//! group of its own (cli/groups.rs).
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ContainerCommand {
    /// Create and start a container from an image
    Run(Box<RunArgs>),
    /// Create a container without starting it
    Create(Box<CreateArgs>),
    /// Start stopped containers
    Start(StartArgs),
    /// Stop running containers (stop signal, then SIGKILL after the timeout)
    Stop(StopArgs),
    /// Send a signal to running containers
    Kill(KillArgs),
    /// Stop and start containers again
    Restart(RestartArgs),
    /// Show container and pod events (start, die, oom, restart, health_status, probe failures; pod create, start, stop, remove, died)
    Events(crate::cli::container::EventsArgs),
    /// Remove containers
    Rm(RmArgs),
    /// List containers
    Ps(PsArgs),
    /// Show a container's output
    Logs(LogsArgs),
    /// Run a command in a running container
    Exec(Box<ExecArgs>),
    /// Wait for containers to stop and print their exit codes
    Wait(WaitArgs),
    /// List a container's published ports
    Port(PortArgs),
    /// Pause all processes within containers (cgroup freezer)
    Pause(PauseArgs),
    /// Resume all processes within paused containers
    Unpause(PauseArgs),
    /// Display a live stream of containers' resource usage
    Stats(StatsArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Copy files between a container and the host (`-` for a tar stream)
    Cp(CpArgs),
    /// List the files a container added (A), changed (C) or deleted (D)
    Diff(DiffArgs),
    /// Write a container's file system as a tar archive
    Export(ExportArgs),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
    /// Change the resource limits and restart policy of containers
    Update(UpdateArgs),
    /// Attach to a running container's output (and stdin, for -i)
    Attach(AttachArgs),
    /// Run health checks by hand
    Healthcheck {
        #[command(subcommand)]
        command: HealthcheckCommand,
    },
    /// (internal) the per-container monitor process
    #[command(name = "__monitor", hide = true)]
    Monitor {
        id: String,
        #[arg(long)]
        ready_fd: Option<i32>,
    },
    /// Manage pods: containers sharing network (127.0.0.1), IPC, host name and volumes
    Pod {
        #[command(subcommand)]
        command: PodCommand,
    },
    /// (internal) a pod's holder process (its namespaces and published ports)
    #[command(name = "__pod", hide = true)]
    PodHolder {
        id: String,
        #[arg(long)]
        ready_fd: Option<i32>,
        /// Adopt the namespaces of this running member (PID:START) instead
        /// of making new ones: a replacement for a holder that died
        #[arg(long)]
        join: Option<String>,
    },
}

// One struct per verb, so `hoist VERB` and `hoist container VERB` (cli/groups.rs) share
// the very same flags and land in the same commands/ function.

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach to the container's output and wait for it
    #[arg(short, long)]
    pub attach: bool,
    /// Attach stdin too
    #[arg(short, long)]
    pub interactive: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait before killing (default: the container's --stop-timeout, else 10)
    #[arg(short = 't', long = "time", visible_alias = "timeout")]
    pub time: Option<u64>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `pause` and `unpause`: the containers.
#[derive(Args, Debug)]
pub struct PauseArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Show all containers (default: running only)
    #[arg(short, long)]
    pub all: bool,
    /// Print one sample and exit instead of a live stream
    #[arg(long)]
    pub no_stream: bool,
    /// Format: table, json, or a Go template (`table {{.Name}}\t{{.MemUsage}}`)
    #[arg(long, default_value = "")]
    pub format: String,
    /// Do not truncate IDs
    #[arg(long)]
    pub no_trunc: bool,
    /// Containers (default: every running one)
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

/// `cp CONTAINER:SRC DEST`, `cp SRC CONTAINER:DEST`; `-` is a tar stream.
#[derive(Args, Debug)]
pub struct CpArgs {
    /// Archive mode: keep the source's owners (default: the destination's root, or
    /// the invoking user on the host)
    #[arg(short, long)]
    pub archive: bool,
    /// Follow a symlink given as SRC
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Suppress progress output (accepted for docker's scripts; hoist prints none)
    #[arg(short, long)]
    pub quiet: bool,
    /// CONTAINER:SRC_PATH, a host path, or - (a tar stream on stdin)
    pub src: String,
    /// CONTAINER:DEST_PATH, a host path, or - (a tar stream on stdout)
    pub dest: String,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    pub container: String,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to a file instead of stdout
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct CommitArgs {
    /// Author (e.g. "Jane Doe <jane@example.com>")
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply a Dockerfile instruction to the image's config (CMD, ENTRYPOINT, ENV,
    /// EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)
    #[arg(short, long = "change")]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause the container during the commit (default true; --pause=false to not)
    #[arg(short, long, default_value_t = true, num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub pause: bool,
    pub container: String,
    /// REPOSITORY[:TAG] to name the new image (none: only its ID)
    pub repository: Option<String>,
}

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Do not attach stdin
    #[arg(long)]
    pub no_stdin: bool,
    /// Send the signals hoist receives to the container (not for -t)
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// Key sequence that detaches, leaving the container running
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    pub detach_keys: String,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Memory limit (e.g. 64m, 1g)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// CPUs (e.g. 0.5)
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Maximum number of processes (-1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy: no, on-failure[:N], always, unless-stopped
    #[arg(long)]
    pub restart: Option<String>,
    /// CPUs the container may use (e.g. 0-1)
    #[arg(long, value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use (e.g. 0)
    #[arg(long, value_name = "MEMS")]
    pub cpuset_mems: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TopArgs {
    pub container: String,
    /// ps options (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal name or number
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RestartArgs {
    /// Seconds to wait before killing (default: the container's --stop-timeout, else 10)
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Kill and remove running containers
    #[arg(short, long)]
    pub force: bool,
    /// Also remove the container's anonymous volumes
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct PsArgs {
    /// Show all containers (default: running only)
    #[arg(short, long)]
    pub all: bool,
    /// Only print IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// table, json, or a Go template (`{{.ID}}`, `table {{.Names}}\t{{.Status}}`)
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Filter: status=, name=, label=KEY[=VALUE], ancestor=, exited=, health=,
    /// network=, volume=, id= (repeatable; different keys must all match)
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Do not truncate IDs and commands
    #[arg(long)]
    pub no_trunc: bool,
    /// Only the N most recently created containers (all states)
    #[arg(short = 'n', long, value_name = "N")]
    pub last: Option<usize>,
    /// Only the most recently created container (all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Add the POD ID and PODNAME columns (podman's ps --pod)
    #[arg(long)]
    pub pod: bool,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Keep following new output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines from the end ("all" for everything)
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Only records since a time (RFC 3339, unix seconds or a duration like 10m)
    #[arg(long)]
    pub since: Option<String>,
    /// Prefix each line with its timestamp
    #[arg(short, long)]
    pub timestamps: bool,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct WaitArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PortArgs {
    pub container: String,
    /// Only this container port (e.g. 80, 80/tcp or 53/udp)
    pub port: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum PodCommand {
    /// Create a pod (its containers join it with `hoist run --pod NAME`)
    Create {
        /// Name the pod (also the host name inside it)
        #[arg(long, required = true)]
        name: String,
        /// Publish a port of the pod ([IP:][HOSTPORT:]CTRPORT[/tcp|/udp]; IP defaults to 127.0.0.1)
        #[arg(short, long = "publish")]
        publish: Vec<String>,
        /// Mount into every container of the pod (NAME:/path[:ro] or /host:/path[:ro])
        #[arg(short, long = "volume")]
        volume: Vec<String>,
        /// The pod's network(s): bridge, a network's name (repeatable), or private
        /// (loopback only) [default: bridge, or $HOIST_DEFAULT_NETWORK]
        #[arg(long, visible_alias = "net")]
        network: Vec<String>,
    },
    /// Start pods and all their containers
    Start {
        #[arg(required = true)]
        pods: Vec<String>,
    },
    /// Stop all containers of pods, then the pods
    Stop {
        /// Seconds to wait for each container before killing it
        #[arg(short = 't', long = "time", default_value_t = 10)]
        time: u64,
        #[arg(required = true)]
        pods: Vec<String>,
    },
    /// Remove pods and their containers
    Rm {
        /// Stop running pods first
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        pods: Vec<String>,
    },
    /// List pods
    Ps {
        /// Only print IDs
        #[arg(short, long)]
        quiet: bool,
        /// Output format: table or json
        #[arg(long, default_value = "table")]
        format: String,
        /// Add a NAMES column: the pod's containers (podman's --ctr-names)
        #[arg(long)]
        ctr_names: bool,
    },
    /// Show pods as JSON
    Inspect {
        #[arg(required = true)]
        pods: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum VolumeCommand {
    /// Create a volume (a random name when none is given)
    Create {
        name: Option<String>,
        /// Driver option, as docker's local driver: type=tmpfs, device=tmpfs, o=size=64m,mode=1777
        #[arg(short, long = "opt", value_name = "KEY=VALUE")]
        opt: Vec<String>,
        /// Set a label (KEY=VALUE, or KEY for an empty value; repeatable)
        #[arg(long, value_name = "KEY=VALUE")]
        label: Vec<String>,
    },
    /// List volumes
    #[command(visible_alias = "list")]
    Ls {
        /// Only print names
        #[arg(short, long)]
        quiet: bool,
        /// table, json, or a Go template (`{{.Name}}`)
        #[arg(long, default_value = "table")]
        format: String,
        /// Filter: name=, label=KEY[=VALUE], dangling=true|false, driver= (repeatable)
        #[arg(short, long = "filter")]
        filter: Vec<String>,
    },
    /// Show volumes as JSON
    Inspect {
        /// A Go template applied to each volume
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove volumes
    #[command(visible_alias = "remove")]
    Rm {
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove every volume no container uses
    Prune {
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum HealthcheckCommand {
    /// Run a container's health check once; exit 0 when healthy, 1 when not
    Run { container: String },
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Run in the background and print the container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Attach only these streams: STDIN, STDOUT, STDERR (repeatable; default all)
    #[arg(short = 'a', long = "attach", value_name = "STREAM")]
    pub attach: Vec<String>,
    /// Send the signals hoist receives to the container (not with -t); with
    /// false, SIGINT/SIGTERM end only this CLI and the container runs on
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true",
          require_equals = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    #[command(flatten)]
    pub create: CreateArgs,
}

#[derive(Args, Debug, Default)]
pub struct CreateArgs {
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Name the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set an environment variable (KEY=VALUE, or KEY to copy hoist's own)
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read environment variables from a file
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Set a label (KEY=VALUE, or KEY for an empty value; over the image's labels)
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Read labels from a file (KEY=VALUE lines; # comments; --label wins)
    #[arg(long, value_name = "FILE")]
    pub label_file: Vec<PathBuf>,
    /// Signal that stops the container (over the image's STOPSIGNAL; default SIGTERM)
    #[arg(long, value_name = "SIGNAL")]
    pub stop_signal: Option<String>,
    /// Log rotation of the json-file log: max-size=SIZE (e.g. 10m), max-file=N
    #[arg(long, value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,
    /// Bind mount (/host:/ctr[:ro]), named volume (name:/ctr[:ro]) or anonymous volume (/ctr)
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Mount a tmpfs (/ctr[:size=64m,mode=1777])
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Publish a port ([IP:][HOSTPORT:]CTRPORT[/tcp|/udp], ports or ranges like
    /// 8000-8010; IP defaults to 127.0.0.1, a missing host port is picked)
    #[arg(short, long = "publish")]
    pub publish: Vec<String>,
    /// Publish every port the image EXPOSEs and every --expose on a free host
    /// port of 127.0.0.1 (a -p of the same port wins)
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Expose a port or range (80, 53/udp, 8000-8010/tcp) for --publish-all
    #[arg(long)]
    pub expose: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User (name|uid[:group|gid])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Override the image's ENTRYPOINT ("" clears it)
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(long)]
    pub hostname: Option<String>,
    /// Network: bridge (the default network), a network's name (repeatable: several
    /// networks), private (own namespace, loopback only), none or host
    /// [default: bridge, or $HOIST_DEFAULT_NETWORK]
    #[arg(long, visible_alias = "net")]
    pub network: Vec<String>,
    /// IPv4 address on the (first) network
    #[arg(long)]
    pub ip: Option<String>,
    /// Another name the container answers to on its networks (repeatable)
    #[arg(long, visible_alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// Add a line to /etc/hosts (HOST:IP, or HOST:host-gateway)
    #[arg(long)]
    pub add_host: Vec<String>,
    /// Name server for /etc/resolv.conf (repeatable)
    #[arg(long)]
    pub dns: Vec<String>,
    /// Search domain for /etc/resolv.conf (repeatable)
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// Memory limit (e.g. 64m, 1g)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// CPUs (e.g. 0.5)
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Maximum number of processes (-1 for unlimited)
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// Mount the root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// Add a Linux capability (e.g. NET_ADMIN; ALL for every one)
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a Linux capability (e.g. CHOWN; ALL for every one)
    #[arg(long, value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Every capability, the host's devices, no seccomp filter, nothing masked
    #[arg(long)]
    pub privileged: bool,
    /// seccomp=unconfined, seccomp=PROFILE.json (docker's format) or no-new-privileges
    #[arg(long, value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// User namespace: host (default), auto or auto:size=N (root maps to an unprivileged host range)
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// Map container uids to host uids in a user namespace of its own
    #[arg(long, value_name = "CONTAINER:HOST:SIZE")]
    pub uidmap: Vec<String>,
    /// Map container gids to host gids (default: as --uidmap)
    #[arg(long, value_name = "CONTAINER:HOST:SIZE")]
    pub gidmap: Vec<String>,
    /// Run this platform's image (OS/ARCH[/VARIANT]; from an index, the entry for it); a
    /// foreign one runs under qemu-user
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    #[command(flatten)]
    pub extra: crate::commands::container::run_flags::ExtraArgs,
    /// Keep stdin open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Join a pod (name or ID): share its network, IPC, host name and volumes
    #[arg(long)]
    pub pod: Option<String>,
    /// Restart policy: no, on-failure[:N], always, unless-stopped (the monitor restarts the container)
    #[arg(long)]
    pub restart: Option<String>,
    /// Startup probe: 'http :PORT[/PATH]', 'tcp :PORT' or 'exec CMD...', then
    /// initialDelay= period= timeout= success= failure= (e.g. period=5s)
    #[arg(long)]
    pub startup_probe: Option<String>,
    /// Liveness probe (same syntax); failing it kills the container
    #[arg(long)]
    pub liveness_probe: Option<String>,
    /// Readiness probe (same syntax); while failing, published ports refuse new connections
    #[arg(long)]
    pub readiness_probe: Option<String>,
    /// Health check command (run with /bin/sh -c)
    #[arg(long)]
    pub health_cmd: Option<String>,
    /// Time between health checks (e.g. 30s)
    #[arg(long)]
    pub health_interval: Option<String>,
    /// Maximum time a check may run
    #[arg(long)]
    pub health_timeout: Option<String>,
    /// Consecutive failures that make the container unhealthy
    #[arg(long)]
    pub health_retries: Option<u32>,
    /// Time during which failures do not count
    #[arg(long)]
    pub health_start_period: Option<String>,
    /// Time between checks during the start period
    #[arg(long)]
    pub health_start_interval: Option<String>,
    /// Disable the image's HEALTHCHECK
    #[arg(long)]
    pub no_healthcheck: bool,
    /// Pull the image first: missing (when not in the store), always, or never
    #[arg(long, env = "HOIST_PULL", default_value = "missing", value_parser = ["missing", "always", "never"])]
    pub pull: String,
    // One positional, so that everything after the image belongs to the command as in
    // docker (`run IMAGE -c ...` is the command's -c, not --cpu-shares).
    /// Image name or ID, then the command and its arguments (replacing the image's CMD)
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_names = ["IMAGE", "COMMAND"]
    )]
    pub image_and_command: Vec<String>,
}

impl CreateArgs {
    /// The image named on the command line.
    pub fn image(&self) -> &str {
        self.image_and_command.first().map_or("", String::as_str)
    }

    /// The command (and arguments) given after the image.
    pub fn command(&self) -> &[String] {
        self.image_and_command.get(1..).unwrap_or_default()
    }
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Keep stdin open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal (the exec uses the CLI's own terminal)
    #[arg(short, long)]
    pub tty: bool,
    /// Run in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Give the command every capability (the container's own set aside)
    #[arg(long)]
    pub privileged: bool,
    /// Read environment variables from a file (KEY=VALUE lines; -e wins)
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Working directory
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User (name|uid[:group|gid])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Key sequence that detaches from an -it exec, leaving it running
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    pub detach_keys: String,
    // One positional, as for run's image: everything after the container
    // belongs to the command (`exec C ls -la /`, `exec C sh -c '...' -x`),
    // not to hoist's flags.
    /// The container, then the command and its arguments
    #[arg(
        required = true,
        num_args = 2..,
        trailing_var_arg = true,
        value_names = ["CONTAINER", "COMMAND"]
    )]
    pub container_and_command: Vec<String>,
}

impl ExecArgs {
    /// The container named on the command line.
    pub fn container(&self) -> &str {
        self.container_and_command
            .first()
            .map_or("", String::as_str)
    }

    /// The command (and arguments) to run in it.
    pub fn command(&self) -> &[String] {
        self.container_and_command.get(1..).unwrap_or_default()
    }
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Only events at or after this time (RFC 3339, unix seconds, or a duration like 10m)
    #[arg(long)]
    pub since: Option<String>,
    /// Only events before this time
    #[arg(long)]
    pub until: Option<String>,
    /// Filter: container=NAME|ID, pod=NAME|ID, type=container|pod, event=ACTION (repeatable)
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Output: "json" for one JSON object per line, or a Go template (`{{.Action}}`)
    #[arg(long, default_value = "")]
    pub format: String,
    /// Keep printing new events as they happen
    #[arg(short = 'F', long)]
    pub follow: bool,
}
