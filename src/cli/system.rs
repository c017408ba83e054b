//! `hoist system ...`, `hoist version`, `hoist info` and `hoist completion`.
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show how much disk images, containers and volumes use
    Df(DfArgs),
    /// Show what this hoist is and what its store holds
    Info(InfoArgs),
    /// Remove blobs, snapshots and networks that nothing uses (stopped containers stay)
    Prune {
        /// Accepted for docker compatibility; prune never asks
        #[arg(short = 'f', long)]
        force: bool,
        /// Also remove every volume no container uses
        #[arg(long)]
        volumes: bool,
    },
    /// Show container and pod events (as `hoist events`)
    Events(crate::cli::container::EventsArgs),
    /// Verify every blob, the index and every unpacked layer; exits 1 when
    /// something is wrong (or, with --repair, when something could not be repaired)
    Check {
        /// Remove corrupt blobs and snapshots and restore a corrupt index
        /// from its previous copy; names the images that need a new pull
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Args, Debug)]
pub struct DfArgs {
    /// One line per image, container and volume
    #[arg(short, long)]
    pub verbose: bool,
    /// table, json, or a Go template (`{{.Type}}\t{{.Size}}`)
    #[arg(long, default_value = "table")]
    pub format: String,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// json or a Go template (`{{.Containers}}`)
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct VersionArgs {
    /// json or a Go template (`{{.Client.Version}}`)
    #[arg(short, long)]
    pub format: Option<String>,
}
