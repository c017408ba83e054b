//! ps: docker's table, or one JSON object per line with --format json.
//! `--pod` adds podman's POD ID and PODNAME columns; the JSON always has
//! podman's `Pod` and `PodName` (empty outside a pod).

use hoist_runtime::container::{self, ContainerRecord, State, Status};
use hoist_runtime::time::{ago, human_duration};
use serde_json::json;
use std::path::Path;

/// docker's STATUS column: "Up 3 seconds (healthy)", "Exited (0) 2 minutes ago".
pub fn status_text(st: &State) -> String {
    match st.status {
        Status::Created => "Created".into(),
        Status::Running => {
            let up = st.started_at.as_deref().map(ago).unwrap_or_default();
            let health = match st.health.as_ref().map(|h| h.status.as_str()) {
                Some("starting") => " (health: starting)".to_string(),
                Some(s) => format!(" ({s})"),
                None => String::new(),
            };
            let ready = match st.ready {
                Some(true) => " (ready)",
                Some(false) => " (not ready)",
                None => "",
            };
            // Its monitor died and processes were left (state.rs).
            let lost = if st.unsupervised {
                " (unsupervised: its monitor died)"
            } else {
                ""
            };
            format!("Up {}{health}{ready}{lost}", human_duration(up))
        }
        Status::Restarting => format!("Restarting ({})", st.exit_code),
        Status::Exited => {
            let when = st.finished_at.as_deref().map(ago).unwrap_or_default();
            format!("Exited ({}) {} ago", st.exit_code, human_duration(when))
        }
    }
}

pub fn ports_text(st: &State) -> String {
    if st.status != Status::Running {
        return String::new();
    }
    st.ports
        .iter()
        .map(|p| format!("{}:{}->{}", p.host_ip, p.host_port, p.key()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn command_text(rec: &ContainerRecord) -> String {
    let c = rec.args().join(" ");
    if c.chars().count() > 20 {
        format!("\"{}…\"", c.chars().take(19).collect::<String>())
    } else {
        format!("\"{c}\"")
    }
}

/// The ID and name of the container's pod ("", "" outside a pod).
fn pod_of(root: &Path, rec: &ContainerRecord) -> (String, String) {
    match rec.pod.as_deref() {
        None => (String::new(), String::new()),
        Some(id) => {
            let name = hoist_runtime::pod::load(root, id)
                .map(|p| p.name)
                .unwrap_or_default();
            (id.to_string(), name)
        }
    }
}

pub fn ps(root: &Path, all: bool, quiet: bool, format: &str, pods: bool) -> anyhow::Result<i32> {
    let rows: Vec<(ContainerRecord, State)> = container::list(root)
        .into_iter()
        .filter(|(_, s)| all || matches!(s.status, Status::Running | Status::Restarting))
        .collect();
    if quiet {
        for (r, _) in &rows {
            println!("{}", r.short_id());
        }
        return Ok(0);
    }
    match format {
        "json" => {
            for (r, s) in &rows {
                let (pod, pod_name) = pod_of(root, r);
                let v = json!({
                    "ID": r.short_id(),
                    "Image": r.image,
                    "Command": r.args().join(" "),
                    "CreatedAt": r.created,
                    "Status": status_text(s),
                    "State": s.status.as_str(),
                    "Health": s.health.as_ref().map(|h| h.status.clone()).unwrap_or_default(),
                    "ExitCode": s.exit_code,
                    "Ports": ports_text(s),
                    "Names": r.name,
                    "Pod": pod,
                    "PodName": pod_name,
                });
                println!("{v}");
            }
        }
        "table" => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|(r, s)| {
                    let mut row = vec![
                        r.short_id().to_string(),
                        r.image.clone(),
                        command_text(r),
                        format!("{} ago", human_duration(ago(&r.created))),
                        status_text(s),
                        ports_text(s),
                        r.name.clone(),
                    ];
                    if pods {
                        let (pod, pod_name) = pod_of(root, r);
                        row.extend([pod.chars().take(12).collect(), pod_name]);
                    }
                    row
                })
                .collect();
            let mut headers = vec![
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES",
            ];
            if pods {
                headers.extend(["POD ID", "PODNAME"]);
            }
            for line in crate::render::table::lines(&headers, &table) {
                println!("{line}");
            }
        }
        other => anyhow::bail!("unknown --format {other:?} (use table or json)"),
    }
    Ok(0)
}
