//! `hoist compose ...`: docker compose's command line: config, up, down, start, stop,
//! restart, ps, logs, exec, run, kill, rm, top, port, ls, images, pull, push, build.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ComposeTop {
    /// Multi-container projects from compose files
    Compose {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(subcommand)]
        command: ComposeCommand,
    },
}

/// Which project: given before the verb, as docker compose takes them (`-f` after it would
/// be `logs -f`, `-p` after `run` is `--publish`); --env-file and --profile are accepted
/// after it too, -f and -p after the verbs where they mean nothing else.
#[derive(Args, Debug, Clone)]
pub struct ProjectArgs {
    /// Compose file (repeatable; later files merge onto earlier ones)
    /// [default: compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml here or
    /// in a parent directory, plus its override file]
    #[arg(short = 'f', long = "file")]
    pub file: Vec<PathBuf>,
    /// Project name [default: $COMPOSE_PROJECT_NAME, else name: in the file, else the
    /// directory's name]
    #[arg(short = 'p', long = "project-name")]
    pub project_name: Option<String>,
    /// Variables for interpolation from this file instead of .env (repeatable)
    #[arg(long, global = true)]
    pub env_file: Vec<PathBuf>,
    /// Enable services of this profile (repeatable; * for all)
    #[arg(long, global = true)]
    pub profile: Vec<String>,
}

/// `-f` and `-p` after the verb (docker compose's persistent flags), on every verb but
/// `logs` and `rm`, where `-f` is --follow and --force, and `run`, where `-p` is --publish.
#[derive(Args, Debug, Clone, Default)]
pub struct FileAfter {
    /// Compose file (repeatable; later files merge onto earlier ones)
    #[arg(short = 'f', long = "file")]
    pub file: Vec<PathBuf>,
    /// Project name
    #[arg(short = 'p', long = "project-name")]
    pub project_name: Option<String>,
}

/// `-p` after the verb, where `-f` means something else.
#[derive(Args, Debug, Clone, Default)]
pub struct NameAfter {
    /// Project name
    #[arg(short = 'p', long = "project-name")]
    pub project_name: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ComposeCommand {
    /// Print the project as hoist reads it: files merged, variables interpolated, every short
    /// syntax in its long form
    Config {
        /// Only the service names, one a line
        #[arg(long)]
        services: bool,
        /// Only validate: print nothing, exit 0 when the project is valid
        #[arg(short, long)]
        quiet: bool,
        /// Output format: yaml or json
        #[arg(long, default_value = "yaml", value_parser = ["yaml", "json"])]
        format: String,
        #[command(flatten)]
        after: FileAfter,
    },
    /// Create and start the project's containers: missing ones created, changed ones
    /// recreated, unchanged running ones left alone
    Up(UpArgs),
    /// Stop and remove the project's containers and networks (volumes with -v)
    Down(DownArgs),
    /// Start existing containers of the project
    Start {
        /// Only these services
        services: Vec<String>,
        #[command(flatten)]
        after: FileAfter,
    },
    /// Stop the project's containers (dependents first)
    Stop {
        /// Seconds to wait before killing [default: each service's stop_grace_period, 10]
        #[arg(short = 't', long)]
        timeout: Option<u64>,
        services: Vec<String>,
        #[command(flatten)]
        after: FileAfter,
    },
    /// Restart the project's containers
    Restart {
        #[arg(short = 't', long)]
        timeout: Option<u64>,
        services: Vec<String>,
        #[command(flatten)]
        after: FileAfter,
    },
    /// List the project's containers
    Ps(PsArgs),
    /// Show the output of the project's containers, each line prefixed with its container
    Logs(LogsArgs),
    /// Run a command in a running container of a service
    Exec(ExecArgs),
    /// Run a one-off command in a new container of a service (its dependencies started
    /// first)
    Run(RunArgs),
    /// Send a signal (default SIGKILL) to the running containers of the project
    Kill {
        /// Signal to send (name or number)
        #[arg(short = 's', long, default_value = "SIGKILL")]
        signal: String,
        services: Vec<String>,
        #[command(flatten)]
        after: FileAfter,
    },
    /// Remove the project's stopped containers
    Rm {
        /// Do not ask for confirmation
        #[arg(short = 'f', long)]
        force: bool,
        /// Stop the containers first, if they run
        #[arg(short = 's', long)]
        stop: bool,
        /// Remove their anonymous volumes too
        #[arg(short = 'v', long)]
        volumes: bool,
        services: Vec<String>,
        #[command(flatten)]
        after: NameAfter,
    },
    /// Display the running processes of the project's containers
    Top {
        services: Vec<String>,
        #[command(flatten)]
        after: FileAfter,
    },
    /// Print the host address a container port of a service is published on
    Port {
        /// tcp or udp
        #[arg(long, default_value = "tcp", value_parser = ["tcp", "udp"])]
        protocol: String,
        /// Which container of the service, when it has several
        #[arg(long, default_value_t = 1)]
        index: u32,
        service: String,
        private_port: u16,
        #[command(flatten)]
        after: FileAfter,
    },
    /// List the compose projects on this machine (from their containers' labels)
    Ls {
        /// Stopped projects too
        #[arg(short = 'a', long)]
        all: bool,
        /// Only the project names
        #[arg(short = 'q', long)]
        quiet: bool,
        /// table or json
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// List the images the project's containers use
    Images {
        /// Only image IDs
        #[arg(short = 'q', long)]
        quiet: bool,
        services: Vec<String>,
        #[command(flatten)]
        after: FileAfter,
    },
    /// Pull the services' images (services with only build: are skipped)
    Pull {
        /// Go on when an image cannot be pulled
        #[arg(long)]
        ignore_pull_failures: bool,
        #[command(flatten)]
        tls: crate::cli::transfer::TlsArgs,
        services: Vec<String>,
        #[command(flatten)]
        after: FileAfter,
    },
    /// Push the images of services with build: and image: to their registries
    Push {
        /// Go on when an image cannot be pushed
        #[arg(long)]
        ignore_push_failures: bool,
        #[command(flatten)]
        tls: crate::cli::transfer::TlsArgs,
        services: Vec<String>,
        #[command(flatten)]
        after: FileAfter,
    },
    /// Build the images of services with build:
    Build {
        /// Run every step, ignoring the build cache
        #[arg(long)]
        no_cache: bool,
        /// KEY=VALUE over the file's build args (repeatable)
        #[arg(long = "build-arg", value_name = "KEY=VALUE")]
        build_arg: Vec<String>,
        services: Vec<String>,
        #[command(flatten)]
        after: FileAfter,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub struct ExecArgs {
    /// Run the command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// No pseudo-terminal [default: one when stdout is a terminal]
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// KEY=VALUE (repeatable)
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// User (name|uid[:group|gid])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Working directory in the container
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Which container of the service, when it has several
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Accepted as docker compose does (stdin is kept open anyway)
    #[arg(short = 'i', long, hide = true)]
    pub interactive: bool,
    /// Accepted as docker compose does (a pseudo-terminal is the default)
    #[arg(short = 't', long, hide = true)]
    pub tty: bool,
    #[command(flatten)]
    pub after: NameAfter,
    pub service: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Run in the background and print the container's name
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// KEY=VALUE (repeatable)
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// The container's name [default: <project>-<service>-run-<random>]
    #[arg(long)]
    pub name: Option<String>,
    /// Override the entrypoint (split like a shell)
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// No pseudo-terminal [default: one when stdin and stdout are terminals]
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Do not start the services this one depends on
    #[arg(long)]
    pub no_deps: bool,
    /// Publish a port instead of the service's: [IP:][HOST:]CONTAINER[/PROTO] (repeatable)
    #[arg(short = 'p', long, conflicts_with = "service_ports")]
    pub publish: Vec<String>,
    /// Publish the service's ports (not done by default: the service's own containers may
    /// hold them)
    #[arg(long)]
    pub service_ports: bool,
    /// Bind mount or volume, SRC:DST[:ro] (repeatable; a relative SRC is from the project
    /// directory)
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// KEY=VALUE label added or overridden (repeatable)
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Join the networks under the service's name and aliases too
    #[arg(long)]
    pub use_aliases: bool,
    /// Accepted as docker compose does (stdin is kept open unless -d)
    #[arg(short = 'i', long, hide = true)]
    pub interactive: bool,
    /// Build the service's image first (with build:)
    #[arg(long)]
    pub build: bool,
    /// Add a capability over the service's (repeatable)
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop a capability over the service's (repeatable)
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// User (name|uid[:group|gid])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Working directory in the container
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Project name (`-p` is --publish here, as in docker compose)
    #[arg(long = "project-name")]
    pub project_name: Option<String>,
    pub service: String,
    /// The command [default: the service's]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct UpArgs {
    /// Run in the background: return once everything is started
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Build images before starting (services with build:)
    #[arg(long)]
    pub build: bool,
    /// Recreate containers even when their configuration has not changed
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// Never recreate existing containers, even when their configuration changed
    #[arg(long)]
    pub no_recreate: bool,
    /// Remove containers of services that are not in the compose files
    #[arg(long)]
    pub remove_orphans: bool,
    /// Wait until every container runs and is healthy (implies -d)
    #[arg(long)]
    pub wait: bool,
    /// SERVICE=N containers of a service (repeatable), over deploy.replicas
    #[arg(long, value_name = "SERVICE=N")]
    pub scale: Vec<String>,
    /// Seconds to wait for a container to stop when it is recreated or (in the
    /// foreground) the project is stopped
    #[arg(short = 't', long)]
    pub timeout: Option<u64>,
    /// Only these services (and what they depend on)
    pub services: Vec<String>,
    #[command(flatten)]
    pub after: FileAfter,
}

#[derive(Args, Debug, Clone, Default)]
pub struct DownArgs {
    /// Remove the project's named volumes and containers' anonymous volumes too
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove images: "local" (those built for the project, without an image: name) or
    /// "all"
    #[arg(long, value_parser = ["local", "all"])]
    pub rmi: Option<String>,
    /// Remove containers of services not in the compose files too
    #[arg(long)]
    pub remove_orphans: bool,
    #[arg(short = 't', long)]
    pub timeout: Option<u64>,
    #[command(flatten)]
    pub after: FileAfter,
}

#[derive(Args, Debug, Clone, Default)]
pub struct PsArgs {
    /// Stopped containers too
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Only service names
    #[arg(long)]
    pub services: bool,
    /// table, or json (one object per line, as docker compose prints)
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Only these services
    #[arg(value_name = "SERVICE")]
    pub service_names: Vec<String>,
    #[command(flatten)]
    pub after: FileAfter,
}

#[derive(Args, Debug, Clone, Default)]
pub struct LogsArgs {
    /// Keep following new output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Lines from the end of each container's log ("all" for every line)
    #[arg(long, default_value = "all")]
    pub tail: String,
    /// Each line's time
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Plain prefixes, without colour
    #[arg(long)]
    pub no_color: bool,
    /// No prefix at all
    #[arg(long)]
    pub no_log_prefix: bool,
    pub services: Vec<String>,
    #[command(flatten)]
    pub after: NameAfter,
}
