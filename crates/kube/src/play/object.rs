//! Documents → typed Kubernetes objects (k8s-openapi's types, so every object is read against
//! the real schema); errors name the document and the key path.

use super::error::{KubeError, Result};
use super::read::Document;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
use serde::de::DeserializeOwned;

#[derive(Debug, Clone)]
pub enum Object {
    Pod(Box<Pod>),
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
    Job(Box<Job>),
    /// Kept for the scheduler process (crate::cron), which plays its Jobs.
    CronJob(Box<CronJob>),
    Service(Box<Service>),
    ConfigMap(Box<ConfigMap>),
    Secret(Box<Secret>),
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
}

/// An object and where its document starts.
#[derive(Debug, Clone)]
pub struct Located {
    pub at: String,
    pub object: Object,
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Pod(_) => "Pod",
            Object::Deployment(_) => "Deployment",
            Object::StatefulSet(_) => "StatefulSet",
            Object::DaemonSet(_) => "DaemonSet",
            Object::Job(_) => "Job",
            Object::CronJob(_) => "CronJob",
            Object::Service(_) => "Service",
            Object::ConfigMap(_) => "ConfigMap",
            Object::Secret(_) => "Secret",
            Object::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
        }
    }

    pub fn name(&self) -> String {
        let meta = match self {
            Object::Pod(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::DaemonSet(o) => &o.metadata,
            Object::Job(o) => &o.metadata,
            Object::CronJob(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
            Object::PersistentVolumeClaim(o) => &o.metadata,
        };
        meta.name.clone().unwrap_or_default()
    }
}

fn typed<T: DeserializeOwned>(doc: &Document, kind: &str) -> Result<T> {
    serde_path_to_error::deserialize(&doc.value).map_err(|e| KubeError::Schema {
        at: doc.at.clone(),
        kind: kind.to_string(),
        name: doc.value["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Reads one document by its `kind` (an unknown kind is an error, not skipped).
pub fn object(doc: &Document) -> Result<Located> {
    let Some(kind) = doc.value.get("kind").and_then(|k| k.as_str()) else {
        return Err(KubeError::Invalid {
            at: doc.at.clone(),
            message: "a Kubernetes object needs `kind:` (e.g. kind: Pod)".into(),
        });
    };
    let object = match kind {
        "Pod" => Object::Pod(typed(doc, kind)?),
        "Deployment" => Object::Deployment(typed(doc, kind)?),
        "StatefulSet" => Object::StatefulSet(typed(doc, kind)?),
        "DaemonSet" => Object::DaemonSet(typed(doc, kind)?),
        "Job" => Object::Job(typed(doc, kind)?),
        "CronJob" => Object::CronJob(typed(doc, kind)?),
        "Service" => Object::Service(typed(doc, kind)?),
        "ConfigMap" => Object::ConfigMap(typed(doc, kind)?),
        "Secret" => Object::Secret(typed(doc, kind)?),
        "PersistentVolumeClaim" => Object::PersistentVolumeClaim(typed(doc, kind)?),
        other => {
            return Err(KubeError::UnknownKind {
                at: doc.at.clone(),
                kind: other.to_string(),
            })
        }
    };
    let located = Located {
        at: doc.at.clone(),
        object,
    };
    if located.object.name().is_empty() {
        return Err(KubeError::Invalid {
            at: doc.at.clone(),
            message: format!("{kind} without metadata.name; every object needs a name"),
        });
    }
    Ok(located)
}
