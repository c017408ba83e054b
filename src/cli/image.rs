//! Image verbs: import, images, tag, rmi, inspect, save, load, system prune/check.
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Create a single-layer image from a rootfs tarball or directory (`-` reads stdin)
    Import(ImportArgs),
    /// List images in the local store
    Images(ImagesArgs),
    /// Give an image another name
    Tag { source: String, target: String },
    /// Remove image names (`hoist system prune` then frees what no name or container uses)
    Rmi {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Show an image's (or container's) details as JSON
    Inspect {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Write images to an OCI archive
    Save {
        #[arg(short, long)]
        output: PathBuf,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Read images from an OCI archive or a `docker save` archive
    Load {
        #[arg(short, long)]
        input: PathBuf,
    },
    /// Maintenance of the local store
    System {
        #[command(subcommand)]
        command: SystemCommand,
    },
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Tarball (plain, gzip or zstd), directory, or `-` for stdin
    pub source: String,
    /// Name for the image
    #[arg(short, long = "tag")]
    pub tag: String,
    /// Dockerfile instruction applied to the config (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL)
    #[arg(short, long = "change")]
    pub changes: Vec<String>,
    /// Layer compression: gzip or zstd
    #[arg(long, default_value = "gzip")]
    pub compression: String,
}

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Output format: table or json
    #[arg(long, default_value = "table")]
    pub format: String,
}

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Remove blobs and snapshots that nothing references
    Prune {
        /// Accepted for docker compatibility; prune never asks
        #[arg(short = 'f', long)]
        force: bool,
    },
    /// Verify every blob, the index and every unpacked layer; exits 1 when
    /// something is wrong (or, with --repair, when something could not be repaired)
    Check {
        /// Remove corrupt blobs and snapshots and restore a corrupt index
        /// from its previous copy; names the images that need a new pull
        #[arg(long)]
        repair: bool,
    },
}
