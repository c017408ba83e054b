//! `hoist __dns NETWORK --listen IP --ready-fd N`: a thin call into the responder.

use crate::cli::dns::DnsCommand;
use crate::cli::GlobalArgs;
use hoist_network::dns::{serve, Ready, ServeOptions};
use std::os::fd::{FromRawFd, OwnedFd};

pub fn run(cmd: DnsCommand, global: &GlobalArgs) -> anyhow::Result<i32> {
    let DnsCommand::Responder {
        network,
        listen,
        ready_fd,
    } = cmd;
    let root = super::container::root_of(global);
    // SAFETY: the fd was set up for us by ensure_responder.
    let ready = ready_fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    serve(
        &ServeOptions::new(root, &network, listen),
        Ready::new(ready),
    )?;
    Ok(0)
}
