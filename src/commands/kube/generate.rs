//! `hoist kube generate CONTAINER|POD...` (podman's verb): reads the records of what is
//! named (container, probes, pod, the image's defaults and /etc/passwd) and writes the
//! Kubernetes objects hoist_kube::generate makes of them as YAML, to stdout or -f FILE.
//! Containers named together make one Pod; each pod named makes its own.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use hoist_kube::generate::volumes::PodScoped;
use hoist_kube::generate::{self, ContainerSource, Kind, Options, Workload};
use hoist_runtime::container::config::ImageDefaults;
use hoist_runtime::container::{self, ContainerRecord};
use hoist_runtime::pod;
use hoist_runtime::probe::Probes;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::GlobalArgs;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Containers and pods (names or IDs); the containers named together make one Pod
    #[arg(required = true, value_name = "CONTAINER|POD")]
    pub names: Vec<String>,
    /// What to write: a Pod, or a Deployment of it
    #[arg(short = 't', long = "type", value_enum, default_value = "pod")]
    pub kind: KindArg,
    /// A Deployment's replicas (with --type deployment)
    #[arg(short = 'r', long)]
    pub replicas: Option<i32>,
    /// Also write a Service for the published ports (a Deployment always has one); the
    /// ports are then the Service's instead of the pod's hostPorts
    #[arg(short = 's', long)]
    pub service: bool,
    /// Write the YAML to this file instead of stdout
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindArg {
    Pod,
    Deployment,
}

pub fn run(args: GenerateArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let root = crate::commands::container::root_of(global);
    let store = hoist_store::Store::open(&root).ok();
    let mut loose = Workload::default();
    let mut workloads = Vec::new();
    for name in &args.names {
        if let Ok(rec) = container::find(&root, name) {
            loose.containers.push(source(&root, store.as_ref(), rec));
        } else if let Ok(p) = pod::find(&root, name) {
            let mut members: Vec<ContainerRecord> = container::list(&root)
                .into_iter()
                .map(|(rec, _)| rec)
                .filter(|rec| rec.pod.as_deref() == Some(p.id.as_str()))
                .collect();
            members.sort_by(|a, b| a.created.cmp(&b.created));
            workloads.push(Workload {
                pod: Some(p),
                containers: members
                    .into_iter()
                    .map(|rec| source(&root, store.as_ref(), rec))
                    .collect(),
            });
        } else {
            bail!("no such container or pod: {name} (see `hoist ps -a` and `hoist pod ps`)");
        }
    }
    if !loose.containers.is_empty() {
        workloads.insert(0, loose);
    }
    let opts = Options {
        kind: match args.kind {
            KindArg::Pod => Kind::Pod,
            KindArg::Deployment => Kind::Deployment,
        },
        replicas: args.replicas,
        service: args.service,
    };
    let generated = generate::generate(&workloads, &opts)?;
    for w in &generated.warnings.0 {
        eprintln!("warning: {w}");
    }
    let text = generated.to_yaml();
    match &args.file {
        Some(path) => write_file(path, &text)?,
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("writing to stdout")?,
    }
    Ok(0)
}

/// One container with what generate needs besides its record: its probes, the image's
/// env and exposed ports, its user as numbers, and (for what `kube play` made) the volumes
/// made for its pod, with those on a tmpfs.
fn source(
    root: &Path,
    store: Option<&hoist_store::Store>,
    rec: ContainerRecord,
) -> ContainerSource {
    let probes = Probes::load(&container::container_dir(root, &rec.id));
    let image = store
        .and_then(|s| s.resolve(&rec.image_digest).ok().map(|f| (s, f)))
        .and_then(|(s, f)| s.load_image(&f.descriptor).ok())
        .map(|img| ImageDefaults::from_config_json(&img.config_json))
        .unwrap_or_default();
    let user = (!rec.user.is_empty())
        .then(|| {
            let view = hoist_runtime::rootview::RootView {
                dirs_top_first: rec.lowerdirs.iter().rev().cloned().collect(),
            };
            hoist_runtime::user::resolve_user(&rec.user, |p| view.read(p)).ok()
        })
        .flatten()
        .map(|u| (u.uid, Some(u.gid)));
    let pod_scoped = pod_scoped(root, &rec);
    ContainerSource {
        record: rec,
        probes,
        image_env: image.env,
        exposed_ports: image.exposed_ports,
        user,
        pod_scoped,
    }
}

/// The volumes `kube play` made for the container's pod (its labels name them).
fn pod_scoped(root: &Path, rec: &ContainerRecord) -> PodScoped {
    use hoist_kube::play::labels::{POD, POD_VOLUMES};
    let names: Vec<String> = rec
        .labels
        .get(POD_VOLUMES)
        .map(|v| {
            v.split(',')
                .filter(|n| !n.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let memory = names
        .iter()
        .filter(|n| {
            hoist_runtime::volumes::inspect(root, n)
                .is_ok_and(|v| v.options.get("type").map(String::as_str) == Some("tmpfs"))
        })
        .cloned()
        .collect();
    PodScoped {
        pod: rec.labels.get(POD).cloned().unwrap_or_default(),
        names,
        memory,
    }
}

/// Written whole or not at all: a temp file beside it, renamed over it.
fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| {
        format!(
            "-f {}: creating a file in {}",
            path.display(),
            dir.display()
        )
    })?;
    tmp.write_all(text.as_bytes())
        .with_context(|| format!("-f {}: writing", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("-f {}: writing", path.display()))?;
    Ok(())
}
