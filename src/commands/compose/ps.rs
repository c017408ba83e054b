//! `hoist compose ps`: the project's containers in docker compose's columns (NAME, IMAGE,
//! COMMAND, SERVICE, CREATED, STATUS, PORTS), or one JSON object per line with its field
//! names.

use super::{is_oneoff, Session};
use crate::cli::compose::PsArgs;
use crate::render::table;
use anyhow::bail;
use hoist_compose::desired::{LABEL_NUMBER, LABEL_PROJECT, LABEL_SERVICE};
use hoist_runtime::container::{ContainerRecord, State, Status};
use hoist_runtime::lifecycle::ContainerFilter;
use hoist_runtime::time::{ago, human_duration};

fn status_text(st: &State) -> String {
    match st.status {
        Status::Running => {
            let up = st.started_at.as_deref().map(ago).unwrap_or_default();
            let health = st
                .health
                .as_ref()
                .map(|h| format!(" ({})", h.status))
                .unwrap_or_default();
            format!("Up {}{health}", human_duration(up))
        }
        Status::Restarting => "Restarting".into(),
        Status::Created => "Created".into(),
        Status::Exited => {
            let when = st.finished_at.as_deref().map(ago).unwrap_or_default();
            format!("Exited ({}) {} ago", st.exit_code, human_duration(when))
        }
    }
}

fn ports(rec: &ContainerRecord, st: &State) -> Vec<(String, u16, u16, String)> {
    let list = if st.status == Status::Running {
        &st.ports
    } else {
        &rec.ports
    };
    list.iter()
        .map(|m| {
            (
                m.host_ip.to_string(),
                m.host_port,
                m.container_port,
                m.protocol.to_string(),
            )
        })
        .collect()
}

fn command(rec: &ContainerRecord) -> String {
    let text = rec.args().join(" ");
    format!("\"{text}\"")
}

pub fn ps(session: &Session, a: &PsArgs) -> anyhow::Result<i32> {
    let project = session.project();
    for s in &a.service_names {
        if !project.services.contains_key(s) {
            bail!("no such service: {s}");
        }
    }
    if a.services {
        for s in project.services.keys() {
            if a.service_names.is_empty() || a.service_names.contains(s) {
                println!("{s}");
            }
        }
        return Ok(0);
    }
    let filter = ContainerFilter {
        running: !a.all,
        ..ContainerFilter::labels(&[(LABEL_PROJECT, &project.name)])
    };
    let mut list = session.lifecycle.list(&filter);
    let service = |r: &ContainerRecord| r.labels.get(LABEL_SERVICE).cloned().unwrap_or_default();
    list.retain(|(r, _)| a.service_names.is_empty() || a.service_names.contains(&service(r)));
    // One-off (`run`) containers only with -a, as docker compose v2 lists them.
    list.retain(|(r, _)| a.all || !is_oneoff(r));
    list.sort_by_key(|(r, _)| {
        let n: u32 = r
            .labels
            .get(LABEL_NUMBER)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        (service(r), n)
    });
    if a.quiet {
        for (r, _) in &list {
            println!("{}", r.id);
        }
        return Ok(0);
    }
    if a.format == "json" {
        for (r, st) in &list {
            println!("{}", json(r, st, &project.name));
        }
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|(r, st)| {
            let ports: Vec<String> = ports(r, st)
                .into_iter()
                .map(|(ip, host, ctr, proto)| format!("{ip}:{host}->{ctr}/{proto}"))
                .collect();
            vec![
                r.name.clone(),
                r.image.clone(),
                command(r),
                service(r),
                format!("{} ago", human_duration(ago(&r.created))),
                status_text(st),
                ports.join(", "),
            ]
        })
        .collect();
    let headers = [
        "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS",
    ];
    for line in table::lines(&headers, &rows) {
        println!("{line}");
    }
    Ok(0)
}

/// docker compose's `ps --format json` object.
fn json(r: &ContainerRecord, st: &State, project: &str) -> serde_json::Value {
    let publishers: Vec<serde_json::Value> = ports(r, st)
        .into_iter()
        .map(|(ip, host, ctr, proto)| {
            serde_json::json!({
                "URL": ip, "TargetPort": ctr, "PublishedPort": host, "Protocol": proto,
            })
        })
        .collect();
    let labels: Vec<String> = r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    serde_json::json!({
        "ID": r.id,
        "Name": r.name,
        "Names": r.name,
        "Image": r.image,
        "Command": r.args().join(" "),
        "Project": project,
        "Service": r.labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
        "Labels": labels.join(","),
        "State": st.status.as_str(),
        "Health": st.health.as_ref().map(|h| h.status.clone()).unwrap_or_default(),
        "ExitCode": st.exit_code,
        "Publishers": publishers,
        "CreatedAt": r.created,
        "RunningFor": format!("{} ago", human_duration(ago(&r.created))),
        "Status": status_text(st),
    })
}
