//! docker's management groups: `hoist container VERB`, `hoist image VERB`, `hoist volume
//! VERB`, `hoist system VERB`, plus `version`, `info` and `completion`. Each verb reuses the
//! argument struct of its top-level shortcut (`hoist container stop` and `hoist stop` take the
//! same flags) and commands/groups.rs sends it to the same function. Aliases are docker's.

use crate::cli::build::{BuildArgs, HistoryArgs};
use crate::cli::container::{
    AttachArgs, CommitArgs, CpArgs, CreateArgs, DiffArgs, ExecArgs, ExportArgs, KillArgs, LogsArgs,
    PauseArgs, PortArgs, PsArgs, RenameArgs, RestartArgs, RmArgs, RunArgs, StartArgs, StatsArgs,
    StopArgs, TopArgs, UpdateArgs, VolumeCommand, WaitArgs,
};
use crate::cli::image::{
    ImagesArgs, ImportArgs, InspectArgs, LoadArgs, RmiArgs, SaveArgs, TagArgs,
};
use crate::cli::system::{InfoArgs, SystemCommand, VersionArgs};
use crate::cli::transfer::{PullArgs, PushArgs};
use clap::{Args, Subcommand, ValueEnum};

#[derive(Subcommand, Debug)]
pub enum GroupTop {
    /// Manage containers (docker's `container` verbs)
    Container {
        #[command(subcommand)]
        command: ContainerGroup,
    },
    /// Manage images (docker's `image` verbs)
    Image {
        #[command(subcommand)]
        command: ImageGroup,
    },
    /// Manage named volumes
    Volume {
        #[command(subcommand)]
        command: VolumeCommand,
    },
    /// Disk use, information, pruning, events and store checks
    System {
        #[command(subcommand)]
        command: SystemCommand,
    },
    /// Show hoist's version
    Version(VersionArgs),
    /// Show what this hoist is and what its store holds (as `hoist system info`)
    Info(InfoArgs),
    /// Print a shell completion script (e.g. `hoist completion bash > /etc/bash_completion.d/hoist`)
    Completion(CompletionArgs),
    /// (build step) write man pages for every verb into a directory
    #[command(name = "__man", hide = true)]
    Man {
        /// Directory to write hoist.1, hoist-run.1, hoist-container-run.1, ...
        dir: std::path::PathBuf,
    },
}

/// docker's `container` verbs, each also a top-level shortcut (`prune` excepted).
#[derive(Subcommand, Debug)]
pub enum ContainerGroup {
    /// Create a container without starting it
    Create(Box<CreateArgs>),
    /// Create and start a container from an image
    Run(Box<RunArgs>),
    /// Start stopped containers
    Start(StartArgs),
    /// Stop running containers
    Stop(StopArgs),
    /// Stop and start containers again
    Restart(RestartArgs),
    /// Send a signal to running containers
    Kill(KillArgs),
    /// Remove containers
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// List containers
    #[command(visible_aliases = ["ps", "list"])]
    Ls(PsArgs),
    /// Show a container's output
    Logs(LogsArgs),
    /// Run a command in a running container
    Exec(Box<ExecArgs>),
    /// Show containers' details as JSON (docker's shape)
    Inspect(InspectArgs),
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
    /// Remove every stopped container
    Prune(PruneArgs),
}

#[derive(Subcommand, Debug)]
pub enum ImageGroup {
    /// List images
    #[command(visible_alias = "list")]
    Ls(ImagesArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Remove image names
    #[command(visible_aliases = ["remove", "rmi"])]
    Rm(RmiArgs),
    /// Give an image another name
    Tag(TagArgs),
    /// Show images' details as JSON (docker's shape)
    Inspect(InspectArgs),
    /// Show an image's layers and the instruction that made each
    History(HistoryArgs),
    /// Write images to an OCI archive
    Save(SaveArgs),
    /// Read images from an OCI archive or a `docker save` archive
    Load(LoadArgs),
    /// Create a single-layer image from a rootfs tarball or directory
    Import(ImportArgs),
    /// Build an image from a Dockerfile
    Build(Box<BuildArgs>),
    /// Remove blobs and snapshots no image name or container uses
    Prune(PruneArgs),
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Accepted for docker's scripts; prune never asks
    #[arg(short, long)]
    pub force: bool,
    /// Only what matches: until=DURATION|TIME, label=KEY[=VALUE] (containers)
    #[arg(long = "filter")]
    pub filter: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CompletionArgs {
    pub shell: Shell,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}
