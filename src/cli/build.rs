//! Build verbs: build (Dockerfile -> image) and history.
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum BuildCommand {
    /// Build an image from a Dockerfile and a context directory
    Build(Box<BuildArgs>),
    /// Show an image's layers and the instruction that made each
    History(HistoryArgs),
    /// Manage the build cache
    #[command(subcommand)]
    Builder(BuilderCommand),
}

#[derive(Subcommand, Debug)]
pub enum BuilderCommand {
    /// Free the build cache: every RUN --mount=type=cache directory no build is using, and
    /// the step records (the layers they point at go with `hoist system prune`)
    Prune(PruneArgs),
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Accepted for docker compatibility; prune never asks
    #[arg(short, long)]
    pub force: bool,
    /// Accepted for docker compatibility; prune always frees everything unused
    #[arg(short, long)]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Name the image (repeatable)
    #[arg(short = 't', long = "tag", value_name = "NAME")]
    pub tags: Vec<String>,
    /// The Dockerfile [default: CONTEXT/Dockerfile]
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Set a build-time variable (KEY=VALUE, or KEY to take it from the environment)
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Build up to this stage (name or index)
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// Run every step, ignoring the build cache
    #[arg(long)]
    pub no_cache: bool,
    /// Network for RUN steps without --network: none (loopback only), default (the default
    /// bridge network: an address of the step's own and a way out) or host
    #[arg(long, default_value = "none", value_parser = ["none", "default", "host"])]
    pub network: String,
    /// Layer compression
    #[arg(long, default_value = "gzip", value_parser = ["gzip", "zstd"])]
    pub compression: String,
    /// Push the image to its registry after a successful build
    #[arg(long)]
    pub push: bool,
    /// Base images: pull when missing from the store (missing), or only use local ones (never)
    #[arg(long, default_value = "missing", value_parser = ["missing", "never"])]
    pub pull: String,
    #[command(flatten)]
    pub tls: crate::cli::transfer::TlsArgs,
    /// A secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VARIABLE (repeatable)
    #[arg(long = "secret", value_name = "id=ID,src=FILE")]
    pub secrets: Vec<String>,
    /// Where the result goes besides the store: type=image (default), type=oci,dest=FILE,
    /// type=docker,dest=FILE, type=local,dest=DIR, type=registry (= --push); repeatable
    #[arg(short = 'o', long = "output", value_name = "type=TYPE[,dest=PATH]")]
    pub outputs: Vec<String>,
    /// Write the image's digest to this file
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Write the build's result (digests, names) as JSON to this file
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Set a label on the image (KEY=VALUE, repeatable)
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Set an annotation on the image manifest (KEY=VALUE, repeatable)
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// A named context for FROM, COPY --from and RUN --mount from=: NAME=DIR or
    /// NAME=docker-image://REF (repeatable)
    #[arg(long = "build-context", value_name = "NAME=DIR|docker-image://REF")]
    pub build_contexts: Vec<String>,
    /// Export the build cache: type=registry,ref=REF[,mode=min|max] or
    /// type=local,dest=DIR[,mode=min|max] (repeatable)
    #[arg(long = "cache-to", value_name = "type=registry,ref=REF")]
    pub cache_to: Vec<String>,
    /// Reuse a build cache: type=registry,ref=REF (or just REF) or type=local,src=DIR;
    /// a step's layer is fetched only when the step is reused (repeatable)
    #[arg(long = "cache-from", value_name = "type=registry,ref=REF")]
    pub cache_from: Vec<String>,
    /// Build for these platforms (OS/ARCH[/VARIANT], comma-separated): one image each
    /// (RUN steps of a foreign one under qemu-user), named together as one OCI image index
    /// [default: this host's]
    #[arg(long, value_name = "PLATFORMS")]
    pub platform: Option<String>,
    /// Progress output: auto (steps, lines on a TTY), plain, quiet (only the digest)
    #[arg(long, default_value = "auto", value_parser = ["auto", "plain", "quiet"])]
    pub progress: String,
    /// The build context directory
    pub context: PathBuf,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Show full instructions instead of truncating them
    #[arg(long)]
    pub no_trunc: bool,
    /// Print only the layer IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// The image
    pub name: String,
}
