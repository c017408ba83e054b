//! Everything the files ask for, sorted by role: workloads (each a pod template and how many
//! pods of it), Services, ConfigMaps and Secrets (their data as bytes), PVCs; plus a warning
//! per field hoist does not carry out.

use super::error::{KubeError, Result};
use super::object::{object, Object};
use super::read::{read_file, Document};
use k8s_openapi::api::core::v1::{PodSpec, Service};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Job => "Job",
        }
    }
}

/// A Job's run-to-completion settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobParams {
    /// Retries of a failing container (Kubernetes' default 6).
    pub backoff_limit: u32,
    pub completions: u32,
    pub active_deadline: Option<u64>,
}

/// A pod template and how many pods of it.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: Kind,
    pub name: String,
    pub namespace: String,
    pub at: String,
    pub replicas: u32,
    /// The pod template's labels (what Services select).
    pub labels: BTreeMap<String, String>,
    pub spec: PodSpec,
    /// StatefulSet volumeClaimTemplates' names: a volume per pod.
    pub claim_templates: Vec<String>,
    pub job: Option<JobParams>,
}

impl Workload {
    /// The value of the workload label: `deployment/web`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind.as_str().to_lowercase(), self.name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub workloads: Vec<Workload>,
    pub services: Vec<(String, Service)>,
    pub config_maps: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    pub claims: Vec<String>,
    /// CronJobs, checked (crate::cron::check); their Jobs run from the scheduler process.
    pub cron_jobs: Vec<k8s_openapi::api::batch::v1::CronJob>,
    pub warnings: Vec<String>,
}

/// Reads and sorts every object of `files`.
pub fn load(files: &[PathBuf]) -> Result<Manifest> {
    let mut docs = Vec::new();
    for f in files {
        docs.extend(read_file(f)?);
    }
    from_documents(&docs)
}

pub fn from_documents(docs: &[Document]) -> Result<Manifest> {
    let mut m = Manifest::default();
    for doc in docs {
        let located = object(doc)?;
        let kind = located.object.kind();
        let name = located.object.name();
        for path in super::fields::unsupported(kind, &doc.value) {
            m.warnings.push(format!(
                "{}: {kind} {name:?}: {path} is not supported by hoist kube play; ignored",
                doc.at
            ));
        }
        add(&mut m, &doc.at, located.object)?;
    }
    let mut seen = BTreeMap::new();
    for w in &m.workloads {
        for n in pod_names(w) {
            if let Some(other) = seen.insert(n.clone(), w.id()) {
                return Err(KubeError::Object {
                    kind: w.kind.as_str().into(),
                    name: w.name.clone(),
                    message: format!("its pod {n} has the name of a pod of {other}; rename one"),
                });
            }
        }
    }
    Ok(m)
}

/// The pod names a workload uses at its declared scale (for name clashes).
fn pod_names(w: &Workload) -> Vec<String> {
    if w.kind == Kind::Pod {
        return vec![w.name.clone()];
    }
    (0..w.replicas).map(|i| format!("{}-{i}", w.name)).collect()
}

fn data(
    strings: Option<&BTreeMap<String, String>>,
    bytes: Option<&BTreeMap<String, k8s_openapi::ByteString>>,
) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in bytes.into_iter().flatten() {
        out.insert(k.clone(), v.0.clone());
    }
    for (k, v) in strings.into_iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}

fn template(
    at: &str,
    kind: &str,
    name: &str,
    t: Option<k8s_openapi::api::core::v1::PodTemplateSpec>,
) -> Result<(BTreeMap<String, String>, PodSpec)> {
    let t = t.unwrap_or_default();
    let spec = t.spec.ok_or_else(|| KubeError::Invalid {
        at: at.into(),
        message: format!("{kind} {name:?} has no spec.template.spec (its pod template)"),
    })?;
    Ok((
        t.metadata.unwrap_or_default().labels.unwrap_or_default(),
        spec,
    ))
}

fn count(v: Option<i32>, default: u32) -> u32 {
    v.map(|n| n.max(0) as u32).unwrap_or(default)
}

fn add(m: &mut Manifest, at: &str, obj: Object) -> Result<()> {
    let name = obj.name();
    let ns = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        meta.namespace.clone().unwrap_or_else(|| "default".into())
    };
    let workload = |kind, namespace, replicas, (labels, spec)| Workload {
        kind,
        name: name.clone(),
        namespace,
        at: at.to_string(),
        replicas,
        labels,
        spec,
        claim_templates: Vec::new(),
        job: None,
    };
    let missing_spec = || KubeError::Invalid {
        at: at.into(),
        message: format!("{} {name:?} has no spec", obj.kind()),
    };
    match &obj {
        Object::Pod(p) => {
            let spec = p.spec.clone().ok_or_else(missing_spec)?;
            let labels = p.metadata.labels.clone().unwrap_or_default();
            m.workloads
                .push(workload(Kind::Pod, ns(&p.metadata), 1, (labels, spec)));
        }
        Object::Deployment(d) => {
            let s = d.spec.clone().ok_or_else(missing_spec)?;
            let t = template(at, "Deployment", &name, Some(s.template))?;
            m.workloads.push(workload(
                Kind::Deployment,
                ns(&d.metadata),
                count(s.replicas, 1),
                t,
            ));
        }
        Object::StatefulSet(d) => {
            let s = d.spec.clone().ok_or_else(missing_spec)?;
            let t = template(at, "StatefulSet", &name, Some(s.template))?;
            let mut w = workload(Kind::StatefulSet, ns(&d.metadata), count(s.replicas, 1), t);
            w.claim_templates = s
                .volume_claim_templates
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| c.metadata.name)
                .collect();
            m.workloads.push(w);
        }
        Object::DaemonSet(d) => {
            let s = d.spec.clone().ok_or_else(missing_spec)?;
            let t = template(at, "DaemonSet", &name, Some(s.template))?;
            // This machine is the one node.
            m.workloads
                .push(workload(Kind::DaemonSet, ns(&d.metadata), 1, t));
        }
        Object::Job(j) => {
            let s = j.spec.clone().ok_or_else(missing_spec)?;
            let t = template(at, "Job", &name, Some(s.template))?;
            let params = JobParams {
                backoff_limit: count(s.backoff_limit, 6),
                completions: count(s.completions, 1).max(1),
                active_deadline: s.active_deadline_seconds.map(|d| d.max(0) as u64),
            };
            let mut w = workload(Kind::Job, ns(&j.metadata), params.completions, t);
            w.job = Some(params);
            m.workloads.push(w);
        }
        Object::Service(s) => m.services.push((at.to_string(), (**s).clone())),
        Object::ConfigMap(c) => {
            m.config_maps
                .insert(name.clone(), data(c.data.as_ref(), c.binary_data.as_ref()));
        }
        Object::Secret(s) => {
            m.secrets
                .insert(name.clone(), data(s.string_data.as_ref(), s.data.as_ref()));
        }
        Object::PersistentVolumeClaim(_) => m.claims.push(name.clone()),
        Object::CronJob(c) => {
            crate::cron::check(c).map_err(|e| KubeError::Invalid {
                at: at.into(),
                message: e.to_string(),
            })?;
            m.warnings.extend(
                crate::cron::warnings(c)
                    .into_iter()
                    .map(|w| format!("{at}: {w}")),
            );
            m.cron_jobs.push((**c).clone());
        }
    }
    Ok(())
}
