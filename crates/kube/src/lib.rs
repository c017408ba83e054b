//! Kubernetes YAML on one machine: `play` turns Pods, Deployments, StatefulSets, DaemonSets,
//! Jobs, Services, ConfigMaps, Secrets and PVCs into hoist's desired state; `generate` writes
//! what runs on hoist back out as objects a real cluster accepts.

pub mod cron;
pub mod generate;
pub mod play;
