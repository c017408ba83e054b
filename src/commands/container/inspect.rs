//! Container inspect, in docker's shape (the lead's `hoist inspect` asks here
//! first through `try_inspect`).

use hoist_runtime::container::config::MountRequest;
use hoist_runtime::container::{self, state, ContainerRecord, State, Status};
use serde_json::{json, Value};
use std::path::Path;

use crate::cli::GlobalArgs;

/// `Some(json)` when `name` is a container (by name or ID), `None` otherwise.
pub fn try_inspect(name: &str, global: &GlobalArgs) -> Option<anyhow::Result<Value>> {
    let root = super::root_of(global);
    let rec = container::find(&root, name).ok()?;
    let st = state::read_live(&container::container_dir(&root, &rec.id));
    Some(Ok(inspect_json(&root, &rec, &st)))
}

fn mounts_json(rec: &ContainerRecord, root: &Path) -> Vec<Value> {
    rec.mounts
        .iter()
        .map(|m| match m {
            MountRequest::Bind {
                source,
                target,
                readonly,
            } => json!({
                "Type": "bind", "Source": source, "Destination": target, "RW": !readonly,
            }),
            MountRequest::Volume {
                name,
                target,
                readonly,
                ..
            } => json!({
                "Type": "volume", "Name": name, "Driver": "local",
                "Source": hoist_runtime::volumes::volumes_dir(root).join(name).join("_data"),
                "Destination": target, "RW": !readonly,
            }),
            MountRequest::Tmpfs { target, options } => json!({
                "Type": "tmpfs", "Destination": target, "Options": options, "RW": true,
            }),
        })
        .collect()
}

pub fn inspect_json(root: &Path, rec: &ContainerRecord, st: &State) -> Value {
    let dir = container::container_dir(root, &rec.id);
    let record = container::paths::record_of(&dir);
    let args = rec.args();
    let zero = "0001-01-01T00:00:00Z".to_string();
    let mut ports = serde_json::Map::new();
    for p in &st.ports {
        ports.insert(
            p.key(),
            json!([{"HostIp": p.host_ip.to_string(), "HostPort": p.host_port.to_string()}]),
        );
    }
    let lower: Vec<String> = rec
        .lowerdirs
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    json!({
        "Id": rec.id,
        "Created": rec.created,
        "Path": args.first().cloned().unwrap_or_default(),
        "Args": args.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": st.status.as_str(),
            "Running": st.status == Status::Running,
            "Paused": false,
            "Restarting": st.status == Status::Restarting,
            "Ready": st.ready,
            "Started": st.started,
            "OOMKilled": st.oom_killed,
            "Dead": false,
            "Pid": st.pid,
            "ExitCode": st.exit_code,
            "Error": st.error,
            "StartedAt": st.started_at.clone().unwrap_or_else(|| zero.clone()),
            "FinishedAt": st.finished_at.clone().unwrap_or(zero),
            "Health": st.health,
        },
        "RestartCount": st.restart_count,
        "Image": rec.image_digest,
        "Name": format!("/{}", rec.name),
        // podman's: the ID of the container's pod, "" outside one.
        "Pod": rec.pod.clone().unwrap_or_default(),
        "LogPath": container::log_path(&dir, &rec.id),
        // podman's: the transient files in the run dir (a tmpfs), the
        // record (hoist.json, log, upper dir) in the store.
        "OCIConfigPath": dir.join("config.json"),
        "HostsPath": dir.join("hosts"),
        "HostnamePath": dir.join("hostname"),
        "ResolvConfPath": dir.join("resolv.conf"),
        "StaticDir": record,
        "HostConfig": {
            "NetworkMode": crate::commands::network::settings::mode_name(rec),
            "Memory": rec.memory.unwrap_or(0),
            "NanoCpus": rec.cpus.map_or(0, |c| (c * 1e9) as i64),
            "PidsLimit": rec.pids_limit,
            "ReadonlyRootfs": rec.read_only,
            "AutoRemove": rec.auto_remove,
            "RestartPolicy": {
                "Name": hoist_runtime::restart::Policy::of(rec.restart.as_deref()).name(),
                "MaximumRetryCount": hoist_runtime::restart::Policy::of(rec.restart.as_deref()).max_retries(),
            },
            "PortBindings": rec.ports.iter().map(|p| json!({
                "ContainerPort": p.container_port, "Protocol": p.protocol.as_str(),
                "HostIp": p.host_ip.to_string(), "HostPort": p.host_port,
            })).collect::<Vec<_>>(),
        },
        "GraphDriver": {
            "Name": "overlay",
            "Data": {
                "LowerDir": lower.join(":"),
                "UpperDir": record.join("upper"),
                "WorkDir": record.join("work"),
                "MergedDir": dir.join("rootfs"),
            },
        },
        "Mounts": mounts_json(rec, root),
        "Config": {
            "Hostname": rec.hostname,
            "User": rec.user,
            "Env": rec.env,
            "Cmd": rec.cmd,
            "Entrypoint": rec.entrypoint,
            "WorkingDir": rec.workdir,
            "Image": rec.image,
            "Tty": rec.tty,
            "OpenStdin": rec.interactive,
            "StopSignal": rec.stop_signal,
            "Healthcheck": rec.healthcheck,
        },
        "NetworkSettings": crate::commands::network::settings::json(rec, &dir, ports.into()),
    })
}
