//! The hidden verb that runs a network's DNS responder (started by
//! `hoist_network::dns::ensure_responder`, never by hand).

use clap::Subcommand;
use std::net::Ipv4Addr;

#[derive(Subcommand, Debug)]
pub enum DnsCommand {
    /// (internal) a network's DNS responder
    #[command(name = "__dns", hide = true)]
    Responder {
        network: String,
        /// The gateway address to listen on (port 53)
        #[arg(long)]
        listen: Ipv4Addr,
        #[arg(long)]
        ready_fd: Option<i32>,
    },
}
