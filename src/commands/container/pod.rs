//! `hoist pod create|start|stop|rm|ps|inspect` and the hidden holder verb;
//! the pods' lifecycle is hoist_runtime::lifecycle's.

use anyhow::anyhow;
use hoist_runtime::container::{self, state};
use hoist_runtime::monitor::Ready;
use hoist_runtime::pod::{self, holder, PodRecord};
use serde_json::json;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use super::run::lifecycle;
use super::run_error;
use crate::cli::container::PodCommand;
use crate::commands::coded;

pub fn run(root: &Path, cmd: PodCommand) -> anyhow::Result<i32> {
    match cmd {
        PodCommand::Create {
            name,
            publish,
            volume,
            network,
        } => {
            let network = crate::commands::network::flags::pod_default(network);
            let rec = lifecycle(root)?
                .pod_create(&name, &publish, &volume, &network)
                .map_err(run_error)?;
            println!("{}", rec.id);
            Ok(0)
        }
        PodCommand::Start { pods } => {
            let lc = lifecycle(root)?;
            each(root, &pods, |p| lc.pod_start(p).map_err(run_error))
        }
        PodCommand::Stop { time, pods } => {
            let lc = lifecycle(root)?;
            let timeout = Duration::from_secs(time);
            each(root, &pods, |p| Ok(lc.pod_stop(p, timeout)?))
        }
        PodCommand::Rm { force, pods } => {
            let lc = lifecycle(root)?;
            each(root, &pods, |p| Ok(lc.pod_remove(p, force)?))
        }
        PodCommand::Ps {
            quiet,
            format,
            ctr_names,
        } => ps(root, quiet, &format, ctr_names),
        PodCommand::Inspect { pods } => {
            let mut out = Vec::new();
            for p in &pods {
                out.push(describe(root, &pod::find(root, p)?));
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(0)
        }
    }
}

/// Runs `f` on each named pod, printing its name like docker does.
fn each(
    root: &Path,
    names: &[String],
    f: impl Fn(&PodRecord) -> anyhow::Result<()>,
) -> anyhow::Result<i32> {
    for name in names {
        let p = pod::find(root, name)?;
        f(&p)?;
        println!("{name}");
    }
    Ok(0)
}

fn status(root: &Path, p: &PodRecord) -> (&'static str, Vec<serde_json::Value>) {
    // A holder found dead is reported (a `died` event) as it is seen.
    pod::reap(root, &p.id);
    let holder = pod::live(root, &p.id);
    let members: Vec<_> = pod::members(root, &p.id)
        .into_iter()
        .map(|c| {
            let st = state::read_live(&container::container_dir(root, &c.id));
            json!({"Id": c.id, "Name": c.name, "State": st.status.as_str()})
        })
        .collect();
    let any_running = members.iter().any(|m| m["State"] == "running");
    let s = match (&holder, any_running) {
        (Some(_), true) => "running",
        (Some(_), false) => "degraded",
        (None, _) if members.is_empty() => "created",
        (None, true) => "degraded",
        (None, false) => "stopped",
    };
    (s, members)
}

fn describe(root: &Path, p: &PodRecord) -> serde_json::Value {
    let (s, members) = status(root, p);
    let holder = pod::live(root, &p.id);
    let ports = holder
        .as_ref()
        .map(|h| h.ports.clone())
        .unwrap_or_else(|| p.ports.clone());
    json!({
        "Id": p.id,
        "Name": p.name,
        "Created": p.created,
        "State": s,
        "Hostname": p.name,
        "HolderPid": holder.as_ref().map_or(0, |h| h.pid),
        "SharedNamespaces": ["net", "ipc", "uts"],
        "Ports": ports.iter().map(|m| json!({
            "HostIp": m.host_ip.to_string(),
            "HostPort": m.host_port,
            "ContainerPort": m.container_port,
            "Protocol": m.protocol.as_str(),
        })).collect::<Vec<_>>(),
        "Volumes": p.volumes,
        "Containers": members,
    })
}

fn ps(root: &Path, quiet: bool, format: &str, ctr_names: bool) -> anyhow::Result<i32> {
    let pods = pod::list(root);
    if quiet {
        for (p, _) in &pods {
            println!("{}", p.short_id());
        }
        return Ok(0);
    }
    if format == "json" {
        let v: Vec<_> = pods.iter().map(|(p, _)| describe(root, p)).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let mut headers = vec!["POD ID", "NAME", "STATUS", "CONTAINERS", "PORTS"];
    if ctr_names {
        headers.push("NAMES");
    }
    let rows: Vec<Vec<String>> = pods
        .iter()
        .map(|(p, h)| {
            let (s, members) = status(root, p);
            let ports = h.as_ref().map_or(&p.ports, |h| &h.ports);
            let ports: Vec<String> = ports
                .iter()
                .map(|m| format!("{}:{}->{}", m.host_ip, m.host_port, m.key()))
                .collect();
            let mut row = vec![
                p.short_id().to_string(),
                p.name.clone(),
                s.to_string(),
                members.len().to_string(),
                ports.join(", "),
            ];
            if ctr_names {
                // podman's --ctr-names: the members, oldest first.
                let names: Vec<&str> = members.iter().filter_map(|m| m["Name"].as_str()).collect();
                row.push(names.join(","));
            }
            row
        })
        .collect();
    for line in crate::render::table::lines(&headers, &rows) {
        println!("{line}");
    }
    Ok(0)
}

/// `hoist __pod ID --ready-fd N [--join PID:START]`: the pod's holder
/// process (with --join, a replacement adopting a member's namespaces).
pub fn holder(
    root: &Path,
    id: &str,
    ready_fd: Option<i32>,
    join: Option<&str>,
) -> anyhow::Result<i32> {
    // SAFETY: the fd was set up for us by spawn_reporting.
    let ready = ready_fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    let adopt = join
        .map(|j| {
            holder::Adopt::parse(j)
                .ok_or_else(|| coded(125, anyhow!("--join {j:?}: expected PID:START")))
        })
        .transpose()?;
    holder::run(root, id, Ready::new(ready), adopt).map_err(run_error)
}
