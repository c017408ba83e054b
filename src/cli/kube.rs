//! `hoist kube ...`: Kubernetes YAML on this machine (podman's verbs): play, down.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum KubeTop {
    /// Run Kubernetes YAML (Pods, Deployments, StatefulSets, DaemonSets, Jobs, Services, ConfigMaps, Secrets, PVCs) on this machine
    Kube {
        #[command(subcommand)]
        command: KubeCommand,
    },
    /// (internal) the CronJob scheduler: runs CronJobs' Jobs until no CronJob is left
    #[command(name = "__kube-cron", hide = true)]
    KubeCron,
    /// (internal) a Service's keeper: its ports, sent to ready pods
    #[command(name = "__kube-service", hide = true)]
    KubeService {
        /// The Service's definition (JSON)
        def: String,
        /// The inherited listening sockets, comma-separated
        fds: String,
    },
    /// (internal) a Job's activeDeadlineSeconds: stops what still runs when it passes
    #[command(name = "__kube-deadline", hide = true)]
    KubeDeadline {
        namespace: String,
        job: String,
        seconds: u64,
        /// Seconds between the stop signal and SIGKILL
        grace: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum KubeCommand {
    /// Create and start what the files describe; a second play brings it to the files' state
    Play(PlayArgs),
    /// Remove what play made of the files (named volumes of PVCs are kept)
    Down(DownArgs),
    /// Write containers and pods as Kubernetes YAML a cluster accepts (Pod or Deployment, Service, PVCs)
    Generate(crate::commands::kube::generate::GenerateArgs),
    /// List the CronJobs played: schedule, active Jobs, last and next run (UTC)
    Ps,
}

#[derive(Args, Debug)]
pub struct PlayArgs {
    /// Kubernetes YAML files (several objects per file, separated by ---)
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Replicas of every Deployment and StatefulSet, over the files' replicas
    #[arg(long)]
    pub replicas: Option<u32>,
    /// Remove what an earlier play of the files made first, then play them
    #[arg(long)]
    pub replace: bool,
}

#[derive(Args, Debug)]
pub struct DownArgs {
    /// The files played
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}
