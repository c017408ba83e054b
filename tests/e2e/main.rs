//! End-to-end tests: drive the real `hoist` binary against real peers.
//! One module per area; each owns its own file.

mod common;

mod build;
mod cli;
mod compose;
mod container;
mod dns;
mod fuzz_corpus;
mod image;
mod kube;
mod layers;
mod network;
mod podman_env;
mod pods;
mod probes;
mod registry;
mod registry_s3;
mod rootless;
mod security;
mod store;
mod tidy;
mod transfer;
