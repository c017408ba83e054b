//! `hoist network ...`: docker's network verbs.

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum NetworkTop {
    /// Manage networks: create, ls, inspect, rm, prune, connect, disconnect
    Network {
        #[command(subcommand)]
        command: NetworkCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum NetworkCommand {
    /// Create a network (a bridge with its own subnet; containers on it resolve each other by name)
    Create {
        /// Subnet in CIDR form (default: the first free 10.89.N.0/24); an IPv6 one
        /// (with --ipv6) may be given too
        #[arg(long)]
        subnet: Vec<String>,
        /// Give containers IPv6 addresses too (a random unique local /64 unless --subnet has one)
        #[arg(long)]
        ipv6: bool,
        /// Gateway address (default: the subnet's first address)
        #[arg(long)]
        gateway: Option<String>,
        /// No way out: no NAT, no forwarding beyond the network
        #[arg(long)]
        internal: bool,
        /// Driver (only "bridge")
        #[arg(short, long, default_value = "bridge")]
        driver: String,
        /// Label KEY=VALUE (repeatable)
        #[arg(long)]
        label: Vec<String>,
        /// Driver option KEY=VALUE (repeatable; recorded, not interpreted)
        #[arg(short, long = "opt")]
        opt: Vec<String>,
        name: String,
    },
    /// List networks
    #[command(visible_alias = "list")]
    Ls {
        /// Only print IDs
        #[arg(short, long)]
        quiet: bool,
        /// Do not truncate IDs
        #[arg(long)]
        no_trunc: bool,
        /// table, json, or a Go template (`{{.Name}}`, `table {{.ID}}\t{{.Driver}}`)
        #[arg(long, default_value = "table")]
        format: String,
        /// Filter: name=NAME (substring), id=PREFIX, label=KEY or KEY=VALUE, driver=bridge
        /// (repeatable; all must match)
        #[arg(short, long = "filter")]
        filter: Vec<String>,
    },
    /// Show networks in detail (JSON), with what hoist made on the host for them
    Inspect {
        /// A Go template applied to each network (`{{.IPAM.Config}}`)
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true)]
        networks: Vec<String>,
    },
    /// Remove networks (refused while containers use them)
    #[command(visible_alias = "remove")]
    Rm {
        /// Do not fail when a network does not exist
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        networks: Vec<String>,
    },
    /// Remove every user network no container uses
    Prune {
        /// Do not ask (hoist never asks; accepted for docker's scripts)
        #[arg(short, long)]
        force: bool,
    },
    /// Put a container on a network (a running one at once)
    Connect {
        /// IPv4 address on the network
        #[arg(long)]
        ip: Option<String>,
        /// Another name for the container on this network (repeatable)
        #[arg(long)]
        alias: Vec<String>,
        network: String,
        container: String,
    },
    /// Take a container off a network (a running one at once)
    Disconnect {
        /// Do not fail when the container is not on the network
        #[arg(short, long)]
        force: bool,
        network: String,
        container: String,
    },
}
