//! Image verbs: import, images, tag, rmi, inspect, save, load. `hoist image VERB`
//! (cli/groups.rs) reuses these argument structs.
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Create a single-layer image from a rootfs tarball or directory (`-` reads stdin)
    Import(ImportArgs),
    /// List images in the local store
    Images(ImagesArgs),
    /// Give an image another name
    Tag(TagArgs),
    /// Remove image names (`hoist image prune` then frees what no name or container uses)
    Rmi(RmiArgs),
    /// Show containers' or images' details as JSON (docker's shape)
    Inspect(InspectArgs),
    /// Write images to an OCI archive
    Save(SaveArgs),
    /// Read images from an OCI archive or a `docker save` archive
    Load(LoadArgs),
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

#[derive(Args, Debug, Default)]
pub struct ImagesArgs {
    /// Only images of this repository (and tag), e.g. busybox or busybox:1
    pub reference: Option<String>,
    /// Show all images (hoist keeps no intermediate images: the same as without)
    #[arg(short, long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Only print image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate IDs
    #[arg(long)]
    pub no_trunc: bool,
    /// table, json, or a Go template (`{{.Repository}}:{{.Tag}}`, `table {{.ID}}\t{{.Size}}`)
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Filter: dangling=true|false, label=KEY[=VALUE], reference=PATTERN, before=IMAGE,
    /// since=IMAGE (repeatable; different keys must all match)
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    pub source: String,
    pub target: String,
}

#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Accepted for docker's scripts (removing a name never needs force)
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A Go template applied to each object (`{{.State.Status}}`, `{{json .Config}}`)
    #[arg(short, long)]
    pub format: Option<String>,
    /// Only this kind of object: container or image
    #[arg(long = "type", value_parser = ["container", "image"])]
    pub kind: Option<String>,
    /// Accepted for docker's scripts (sizes are always shown)
    #[arg(short, long)]
    pub size: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SaveArgs {
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    #[arg(short, long)]
    pub input: PathBuf,
}
