//! What can go wrong reading and checking Kubernetes objects, before anything is created.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("reading {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Yaml(#[from] hoist_compose::ComposeError),
    /// An object that does not fit the Kubernetes schema (at a key path).
    #[error("{at}: {kind} {name:?}: {path}: {message}")]
    Schema {
        at: String,
        kind: String,
        name: String,
        path: String,
        message: String,
    },
    #[error("{at}: kind {kind:?} is not supported by hoist kube play (supported: Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, Service, ConfigMap, Secret, PersistentVolumeClaim)")]
    UnknownKind { at: String, kind: String },
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
    /// Everything else found wrong in an object, named with its kind and name.
    #[error("{kind} {name:?}: {message}")]
    Object {
        kind: String,
        name: String,
        message: String,
    },
}

pub type Result<T, E = KubeError> = std::result::Result<T, E>;
