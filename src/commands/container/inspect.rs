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

/// docker's `Mounts`: every field docker has, with its types (Name and Driver only for
/// volumes).
fn mounts_json(rec: &ContainerRecord, root: &Path) -> Vec<Value> {
    rec.mounts
        .iter()
        .map(|m| match m {
            MountRequest::Bind {
                source,
                target,
                readonly,
            } => json!({
                "Type": "bind", "Source": source, "Destination": target,
                "Mode": if *readonly { "ro" } else { "" }, "RW": !readonly, "Propagation": "rprivate",
            }),
            MountRequest::Volume {
                name,
                target,
                readonly,
                ..
            } => json!({
                "Type": "volume", "Name": name, "Driver": "local",
                "Source": hoist_runtime::volumes::volumes_dir(root).join(name).join("_data"),
                "Destination": target, "Mode": if *readonly { "ro" } else { "z" },
                "RW": !readonly, "Propagation": "",
            }),
            MountRequest::Tmpfs { target, options } => json!({
                "Type": "tmpfs", "Source": "", "Destination": target, "Options": options,
                "Mode": "", "RW": true, "Propagation": "",
            }),
        })
        .collect()
}

/// The image ID docker shows for a container: its image's config digest (what `images -q
/// --no-trunc` prints), found through the manifest digest the record keeps; and the image's
/// own WORKDIR (docker shows "" for a container of an image without one, where hoist's record
/// holds the "/" it runs in).
fn image_facts(root: &Path, rec: &ContainerRecord) -> (String, String) {
    let load = || -> Option<(String, String)> {
        let store = hoist_store::Store::open(root).ok()?;
        let found = store.resolve(&rec.image_digest).ok()?;
        let img = store.load_image(&found.descriptor).ok()?;
        let workdir = img.config_json["config"]["WorkingDir"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Some((img.config_digest.to_string(), workdir))
    };
    load().unwrap_or_else(|| (rec.image_digest.clone(), rec.workdir.clone()))
}

/// `80/tcp` -> `{}` for every published or exposed port, as docker's ExposedPorts.
fn exposed_ports(rec: &ContainerRecord) -> Value {
    let mut m = serde_json::Map::new();
    for p in &rec.ports {
        m.insert(
            format!("{}/{}", p.container_port, p.protocol.as_str()),
            json!({}),
        );
    }
    Value::Object(m)
}

/// docker's container inspect, field for field (types as docker's: null where docker has
/// null), plus podman's and hoist's own fields (Pod, StaticDir, State.Ready, State.Started).
pub fn inspect_json(root: &Path, rec: &ContainerRecord, st: &State) -> Value {
    let dir = container::container_dir(root, &rec.id);
    let record = container::paths::record_of(&dir);
    let args = rec.args();
    let zero = "0001-01-01T00:00:00Z".to_string();
    let mut ports = serde_json::Map::new();
    for p in &st.ports {
        let entry = ports.entry(p.key()).or_insert_with(|| json!([]));
        if let Some(list) = entry.as_array_mut() {
            list.push(
                json!({"HostIp": p.host_ip.to_string(), "HostPort": p.host_port.to_string()}),
            );
        }
    }
    let mut bindings = serde_json::Map::new();
    for p in &rec.ports {
        let key = format!("{}/{}", p.container_port, p.protocol.as_str());
        let entry = bindings.entry(key).or_insert_with(|| json!([]));
        if let Some(list) = entry.as_array_mut() {
            let host_port = if p.host_port == 0 {
                String::new()
            } else {
                p.host_port.to_string()
            };
            list.push(json!({"HostIp": p.host_ip.to_string(), "HostPort": host_port}));
        }
    }
    let lower: Vec<String> = rec
        .lowerdirs
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let binds: Vec<String> = rec
        .mounts
        .iter()
        .filter_map(|m| match m {
            MountRequest::Bind {
                source,
                target,
                readonly,
            } => Some(format!(
                "{}:{target}{}",
                source.display(),
                if *readonly { ":ro" } else { "" }
            )),
            MountRequest::Volume {
                name,
                target,
                readonly,
                anonymous: false,
            } => Some(format!(
                "{name}:{target}{}",
                if *readonly { ":ro" } else { "" }
            )),
            _ => None,
        })
        .collect();
    let tmpfs: serde_json::Map<String, Value> = rec
        .mounts
        .iter()
        .filter_map(|m| match m {
            MountRequest::Tmpfs { target, options } => {
                Some((target.clone(), json!(options.join(","))))
            }
            _ => None,
        })
        .collect();
    let policy = hoist_runtime::restart::Policy::of(rec.restart.as_deref());
    let (image_id, image_workdir) = image_facts(root, rec);
    let workdir = if rec.workdir == "/" && image_workdir.is_empty() {
        ""
    } else {
        rec.workdir.as_str()
    };
    let mut state = json!({
        "Status": if st.paused { "paused" } else { st.status.as_str() },
        "Running": st.status == Status::Running,
        "Paused": st.paused,
        "Restarting": st.status == Status::Restarting,
        "OOMKilled": st.oom_killed,
        "Dead": false,
        "Pid": st.pid,
        "ExitCode": st.exit_code,
        "Error": st.error,
        "StartedAt": st.started_at.clone().unwrap_or_else(|| zero.clone()),
        "FinishedAt": st.finished_at.clone().unwrap_or(zero),
        "Ready": st.ready,
        "Started": st.started,
    });
    // docker has Health only for a container with a health check.
    if let Some(h) = &st.health {
        state["Health"] = json!(h);
    }
    let mut config = json!({
        "Hostname": rec.hostname,
        "Domainname": "",
        "User": rec.user,
        "AttachStdin": rec.interactive,
        "AttachStdout": true,
        "AttachStderr": true,
        "ExposedPorts": exposed_ports(rec),
        "Tty": rec.tty,
        "OpenStdin": rec.interactive,
        "StdinOnce": rec.interactive,
        "Env": rec.env,
        "Cmd": if rec.cmd.is_empty() { Value::Null } else { json!(rec.cmd) },
        "Image": rec.image,
        "Volumes": Value::Null,
        "WorkingDir": workdir,
        "Entrypoint": if rec.entrypoint.is_empty() { Value::Null } else { json!(rec.entrypoint) },
        "OnBuild": Value::Null,
        "Labels": super::ps_filter::labels_of(rec),
    });
    if let Some(s) = &rec.stop_signal {
        config["StopSignal"] = json!(s);
    }
    // docker has StopTimeout only when --stop-timeout was given.
    if let Some(t) = rec.extras.stop_timeout {
        config["StopTimeout"] = json!(t);
    }
    if let Some(h) = &rec.healthcheck {
        config["Healthcheck"] = json!(h);
    }
    // Built apart: one json! of the whole would pass the macro's recursion limit.
    let host_config = json!({
        "Binds": if binds.is_empty() { Value::Null } else { json!(binds) },
        "ContainerIDFile": "",
        "LogConfig": {
            "Type": "json-file",
            "Config": rec.log.config().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        },
        "NetworkMode": crate::commands::network::settings::mode_name(rec),
        "PortBindings": bindings,
        "RestartPolicy": {
            "Name": policy.name(),
            "MaximumRetryCount": policy.max_retries(),
        },
        "AutoRemove": rec.auto_remove,
        "Dns": rec.dns,
        "DnsSearch": rec.dns_search,
        "ExtraHosts": if rec.add_hosts.is_empty() { Value::Null } else { json!(rec.add_hosts) },
        "Privileged": rec.security.privileged,
        "CapAdd": if rec.security.cap_add.is_empty() { Value::Null } else { json!(rec.security.cap_add) },
        "CapDrop": if rec.security.cap_drop.is_empty() { Value::Null } else { json!(rec.security.cap_drop) },
        "SecurityOpt": security_opt(rec),
        "PublishAllPorts": false,
        "ReadonlyRootfs": rec.read_only,
        "Tmpfs": if tmpfs.is_empty() { Value::Null } else { Value::Object(tmpfs) },
        "Memory": rec.memory.unwrap_or(0),
        "NanoCpus": rec.cpus.map_or(0, |c| (c * 1e9) as i64),
        "PidsLimit": rec.pids_limit,
    });
    let mut host_config = host_config;
    if let (Some(h), Value::Object(extras)) = (host_config.as_object_mut(), rec.extras.inspect()) {
        h.extend(extras);
    }
    json!({
        "Id": rec.id,
        "Created": rec.created,
        "Path": args.first().cloned().unwrap_or_default(),
        "Args": args.iter().skip(1).collect::<Vec<_>>(),
        "State": state,
        "Image": image_id,
        "ResolvConfPath": dir.join("resolv.conf"),
        "HostnamePath": dir.join("hostname"),
        "HostsPath": dir.join("hosts"),
        "LogPath": container::log_path(&dir, &rec.id),
        "Name": format!("/{}", rec.name),
        "RestartCount": st.restart_count,
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": Value::Null,
        // podman's: the ID of the container's pod, "" outside one.
        "Pod": rec.pod.clone().unwrap_or_default(),
        // podman's: the transient files in the run dir (a tmpfs), the
        // record (hoist.json, log, upper dir) in the store.
        "OCIConfigPath": dir.join("config.json"),
        "StaticDir": record,
        "HostConfig": host_config,
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
        "Config": config,
        "NetworkSettings": crate::commands::network::settings::json(rec, &dir, ports.into()),
    })
}

/// docker's `HostConfig.SecurityOpt`: what `--security-opt` asked for.
fn security_opt(rec: &ContainerRecord) -> Value {
    use hoist_runtime::security::Seccomp;
    let mut opts = Vec::new();
    if rec.security.no_new_privileges {
        opts.push("no-new-privileges".to_string());
    }
    match &rec.security.seccomp {
        Seccomp::Default => {}
        Seccomp::Unconfined => opts.push("seccomp=unconfined".into()),
        Seccomp::Profile(text) => opts.push(format!("seccomp={text}")),
    }
    if opts.is_empty() {
        Value::Null
    } else {
        json!(opts)
    }
}
