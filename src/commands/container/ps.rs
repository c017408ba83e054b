//! ps: docker's table, or one JSON object per line with --format json.

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
            format!("Up {}{health}{ready}", human_duration(up))
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
        .map(|p| format!("{}:{}->{}/tcp", p.host_ip, p.host_port, p.container_port))
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

pub fn ps(root: &Path, all: bool, quiet: bool, format: &str) -> anyhow::Result<i32> {
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
                });
                println!("{v}");
            }
        }
        "table" => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|(r, s)| {
                    vec![
                        r.short_id().to_string(),
                        r.image.clone(),
                        command_text(r),
                        format!("{} ago", human_duration(ago(&r.created))),
                        status_text(s),
                        ports_text(s),
                        r.name.clone(),
                    ]
                })
                .collect();
            let headers = [
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES",
            ];
            for line in crate::render::table::lines(&headers, &table) {
                println!("{line}");
            }
        }
        other => anyhow::bail!("unknown --format {other:?} (use table or json)"),
    }
    Ok(0)
}
