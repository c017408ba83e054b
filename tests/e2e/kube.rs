//! `hoist kube play` / `kube down` (issue 22), each test in a network namespace and store of
//! its own.

mod env;

mod cronjob;
mod deployment;
mod errors;
mod generate;
mod job;
mod pod;
mod podman;
mod statefulset;
