//! hoist's container runtime: OCI runtime specs built from images and flags,
//! carried out by a small fork-safe core (clone, mounts, pivot_root,
//! capabilities, cgroups), overlay snapshots of image layers, and the
//! per-container monitor with logs, state, health checks and port proxies.

pub mod cgroup;
pub mod core;
pub mod emulation;
pub mod error;

pub use error::{Result, RuntimeError};
pub mod fsutil;
pub mod oneshot;
pub mod overlay;
pub mod rootview;
pub mod spec;
pub mod user;

pub use oneshot::{run_oneshot, ExitStatusInfo, OneShot, Stdio};
pub mod container;
pub mod copy;
pub mod events;
pub mod exec;
pub mod exec_pty;
pub mod gate;
pub mod health;
pub mod inroot;
pub mod keepid;
pub mod lifecycle;
pub mod logs;
pub mod monitor;
pub mod netattach;
pub mod netcheck;
mod netjoin;
pub mod netlive;
pub mod netpod;
pub mod netrootless;
pub mod pod;
pub mod ports;
pub mod probe;
mod relay;
pub mod restart;
pub mod rootless;
pub mod rundir;
pub mod security;
pub mod snapshot;
pub mod time;
mod udp_ports;
pub mod volumes;

pub use container::live_image_digests;
pub use snapshot::{ensure_snapshots, image_snapshots};
