//! What `ps` knows of one container: the few fields of its record that ps's columns and
//! filters read, small enough that ps_cache.rs can keep 2,000 of them in one file instead
//! of parsing 2,000 full records (hoist.json) at every `ps`.

use hoist_runtime::container::config::MountRequest;
use hoist_runtime::container::ContainerRecord;
use hoist_runtime::spec::NetworkMode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    pub name: String,
    /// RFC 3339, as in the record.
    pub created: String,
    /// The image as the user named it, its full reference, manifest digest.
    pub image: String,
    pub image_ref: String,
    pub image_digest: String,
    /// Entrypoint and command, joined by spaces (untruncated).
    pub command: String,
    pub labels: BTreeMap<String, String>,
    pub mounts: Vec<Mount>,
    /// docker's HostConfig.NetworkMode (network/settings.rs `mode_name`).
    pub network_mode: String,
    /// The networks a bridge-mode container attaches to.
    pub networks: Vec<String>,
    /// The `Networks` column: the bridge networks joined, else the mode.
    pub networks_column: String,
    pub pod: Option<String>,
}

/// A mount as `ps` shows and filters it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    pub kind: MountKind,
    /// The volume's name or the bind's host path ("" for tmpfs).
    pub source: String,
    pub target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MountKind {
    Volume,
    Bind,
    Tmpfs,
}

impl Row {
    pub fn of(r: &ContainerRecord) -> Row {
        let mounts = r
            .mounts
            .iter()
            .map(|m| match m {
                MountRequest::Volume { name, target, .. } => Mount {
                    kind: MountKind::Volume,
                    source: name.clone(),
                    target: target.clone(),
                },
                MountRequest::Bind { source, target, .. } => Mount {
                    kind: MountKind::Bind,
                    source: source.display().to_string(),
                    target: target.clone(),
                },
                MountRequest::Tmpfs { target, .. } => Mount {
                    kind: MountKind::Tmpfs,
                    source: String::new(),
                    target: target.clone(),
                },
            })
            .collect();
        let network_mode = crate::commands::network::settings::mode_name(r);
        let networks: Vec<String> = r.networks.iter().map(|n| n.network.clone()).collect();
        let networks_column = match r.network {
            NetworkMode::Bridge if !networks.is_empty() => networks.join(","),
            _ => network_mode.clone(),
        };
        Row {
            id: r.id.clone(),
            name: r.name.clone(),
            created: r.created.clone(),
            image: r.image.clone(),
            image_ref: r.image_ref.clone(),
            image_digest: r.image_digest.clone(),
            command: r.args().join(" "),
            labels: super::ps_filter::labels_of(r).clone(),
            mounts,
            network_mode,
            networks,
            networks_column,
            pod: r.pod.clone(),
        }
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }
}
