//! Command-line grammar. Each area of hoist owns one file with its own
//! subcommand enum, flattened into the top level so `hoist push`, `hoist run`
//! and `hoist images` all sit side by side like docker's verbs; docker's
//! management groups (`hoist container stop`, `hoist image ls`) are in groups.rs.

pub mod build;
pub mod compose;
pub mod container;
pub mod dns;
pub mod groups;
pub mod image;
pub mod kube;
pub mod network;
pub mod registry;
pub mod registry_s3;
pub mod system;
pub mod transfer;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "hoist",
    version,
    about = "Build, store, ship, serve and run OCI images"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Where hoist keeps images, containers and volumes
    /// [default: /var/lib/hoist as root, else $XDG_DATA_HOME/hoist]
    #[arg(long, global = true, env = "HOIST_ROOT")]
    pub root: Option<PathBuf>,
    /// Log level: error, warn, info, debug, trace
    #[arg(long, global = true, default_value = "warn")]
    pub log_level: String,
    /// Log format: text or json
    #[arg(long, global = true)]
    pub log_format: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    #[command(flatten)]
    Image(image::ImageCommand),
    #[command(flatten)]
    Registry(registry::RegistryCommand),
    #[command(flatten)]
    Transfer(transfer::TransferCommand),
    #[command(flatten)]
    Container(container::ContainerCommand),
    #[command(flatten)]
    Build(build::BuildCommand),
    #[command(flatten)]
    Dns(dns::DnsCommand),
    #[command(flatten)]
    Network(network::NetworkTop),
    #[command(flatten)]
    Compose(compose::ComposeTop),
    #[command(flatten)]
    Kube(kube::KubeTop),
    #[command(flatten)]
    Group(groups::GroupTop),
}
