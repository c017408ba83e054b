//! The labels `kube play` puts on what it makes, so `down` and a second `play` find it again.

use hoist_reconcile::runtime::LabelKeys;

/// `<kind>/<name>` of the workload (the reconciler's project).
pub const WORKLOAD: &str = "io.hoist.kube.workload";
/// The container's name in its pod (the reconciler's service).
pub const CONTAINER: &str = "io.hoist.kube.container";
/// The replica's number, from 1 (the pod's ordinal is one less).
pub const REPLICA: &str = "io.hoist.kube.replica";
pub const CONFIG_HASH: &str = "io.hoist.kube.config-hash";
pub const ONEOFF: &str = "io.hoist.kube.oneoff";
pub const NAMESPACE: &str = "io.hoist.kube.namespace";
pub const KIND: &str = "io.hoist.kube.kind";
pub const POD: &str = "io.hoist.kube.pod";
/// Volumes made for one pod (emptyDir), removed with it: comma-separated names.
pub const POD_VOLUMES: &str = "io.hoist.kube.pod-volumes";
/// On volumes: which volume of which workload (`<kind>/<name>/<volume>`).
pub const VOLUME: &str = "io.hoist.kube.volume";
/// Pod template labels are copied under this prefix (what Services select).
pub const LABEL_PREFIX: &str = "io.hoist.kube.label.";

pub const KEYS: LabelKeys = LabelKeys {
    project: WORKLOAD,
    service: CONTAINER,
    number: REPLICA,
    config_hash: CONFIG_HASH,
    oneoff: ONEOFF,
};
