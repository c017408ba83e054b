//! The fork-safe container core: plan in the parent, raw syscalls in the child.
//! See ../../../shared/research/libcontainer.md for why it is our own.

pub mod build;
pub mod caps;
pub mod child;
pub mod console;
pub mod helper_thread;
pub mod idmap;
pub mod init;
pub mod join;
pub mod netns;
pub mod plan;
pub mod spawn;
pub mod sys;
pub mod sysctl;

pub use build::{container_plan, process_plan, PlanOptions};
pub use join::{spawn_in, JoinPlan};
pub use spawn::{exit_code_of_status, spawn, wait_exit_code};
