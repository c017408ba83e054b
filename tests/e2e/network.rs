//! Networks (issue 15): the default bridge, user networks with names that
//! resolve, isolation, NAT out, internal networks, IPAM under load and after
//! crashes, published ports on a bridge, bad input. Every test runs hoist
//! inside a network namespace of its own (`NetEnv`), with any "outside world"
//! another namespace the test made: nothing touches the host's network.

#[path = "network/env.rs"]
pub(crate) mod env;

#[path = "network/reach.rs"]
mod reach;

#[path = "network/ipam.rs"]
mod ipam;

#[path = "network/ports.rs"]
mod ports;

#[path = "network/ports_udp.rs"]
mod ports_udp;

#[path = "network/errors.rs"]
mod errors;

#[path = "network/docker.rs"]
mod docker;

#[path = "network/pods.rs"]
mod pods;

#[path = "network/ipv6.rs"]
mod ipv6;

#[path = "network/isolation.rs"]
mod isolation;

#[path = "network/multi_dns.rs"]
mod multi_dns;
