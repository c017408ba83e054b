//! ps: docker's table, one JSON object per line with --format json, or a Go template
//! (`--format '{{.Names}}'`, `table {{.ID}}\t{{.Status}}`); docker's --filter keys.
//! `--pod` adds podman's POD ID and PODNAME columns; the JSON always has
//! podman's `Pod` and `PodName` (empty outside a pod).

use super::ps_cache;
use super::ps_filter::Filters;
use super::ps_row::{MountKind, Row};
use crate::cli::container::PsArgs;
use crate::render::template::{self, Format};
use hoist_runtime::container::{State, Status};
use hoist_runtime::time::{ago, human_duration};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
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
            let paused = if st.paused { " (Paused)" } else { "" };
            format!("Up {}{paused}{health}{ready}{lost}", human_duration(up))
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

fn command_text(row: &Row, no_trunc: bool) -> String {
    let c = &row.command;
    if !no_trunc && c.chars().count() > 20 {
        format!("\"{}…\"", c.chars().take(19).collect::<String>())
    } else {
        format!("\"{c}\"")
    }
}

/// The ID and name of the container's pod ("", "" outside a pod).
fn pod_of(root: &Path, row: &Row) -> (String, String) {
    match row.pod.as_deref() {
        None => (String::new(), String::new()),
        Some(id) => {
            let name = hoist_runtime::pod::load(root, id)
                .map(|p| p.name)
                .unwrap_or_default();
            (id.to_string(), name)
        }
    }
}

/// docker's `CreatedAt` text: `2024-05-01 10:00:00 +0000 UTC` from RFC 3339.
fn created_at(rfc3339: &str) -> String {
    match humantime::parse_rfc3339_weak(rfc3339) {
        Ok(t) => {
            let s = humantime::format_rfc3339_seconds(t).to_string();
            format!("{} +0000 UTC", s.trim_end_matches('Z').replace('T', " "))
        }
        Err(_) => rfc3339.to_string(),
    }
}

/// The fields of a container as docker's `ps --format` sees them (plus podman's
/// Pod/PodName and hoist's Health/ExitCode), with their column titles for `table`, in the
/// order `--format json` prints them.
const FIELDS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("State", "STATE"),
    ("Health", "HEALTH"),
    ("ExitCode", "EXIT CODE"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Networks", "NETWORKS"),
    ("Size", "SIZE"),
    ("Pod", "POD ID"),
    ("PodName", "PODNAME"),
];

/// Which fields a `--format` reads (all of them for `json` and templates that use `.`).
struct Wanted(Option<BTreeSet<String>>);

impl Wanted {
    fn has(&self, field: &str) -> bool {
        self.0.as_ref().is_none_or(|names| names.contains(field))
    }
}

/// One field of a row; only the fields the template reads are computed (timestamps
/// parsed, pods looked up).
fn field(root: &Path, r: &Row, s: &State, no_trunc: bool, name: &str) -> Value {
    match name {
        "ID" => Value::from(if no_trunc {
            r.id.as_str()
        } else {
            r.short_id()
        }),
        "Image" => Value::from(r.image.as_str()),
        "Command" => Value::from(command_text(r, no_trunc)),
        "CreatedAt" => Value::from(created_at(&r.created)),
        "RunningFor" => Value::from(format!("{} ago", human_duration(ago(&r.created)))),
        "Status" => Value::from(status_text(s)),
        "State" => Value::from(if s.paused {
            "paused"
        } else {
            s.status.as_str()
        }),
        "Health" => Value::from(
            s.health
                .as_ref()
                .map(|h| h.status.as_str())
                .unwrap_or_default(),
        ),
        "ExitCode" => Value::from(s.exit_code),
        "Ports" => Value::from(ports_text(s)),
        "Names" => Value::from(r.name.as_str()),
        "Labels" => Value::from(
            r.labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        ),
        "Mounts" => Value::from(
            r.mounts
                .iter()
                .filter(|m| m.kind != MountKind::Tmpfs)
                .map(|m| m.source.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        "LocalVolumes" => Value::from(
            r.mounts
                .iter()
                .filter(|m| m.kind == MountKind::Volume)
                .count()
                .to_string(),
        ),
        "Networks" => Value::from(r.networks_column.as_str()),
        "Size" => Value::from("0B"),
        "Pod" => Value::from(pod_of(root, r).0),
        "PodName" => Value::from(pod_of(root, r).1),
        _ => Value::Null,
    }
}

fn row_json(root: &Path, r: &Row, s: &State, no_trunc: bool, wanted: &Wanted) -> Value {
    let mut m = serde_json::Map::new();
    for (name, _) in FIELDS.iter().filter(|(name, _)| wanted.has(name)) {
        m.insert(name.to_string(), field(root, r, s, no_trunc, name));
    }
    Value::Object(m)
}

/// docker's column titles for `ps --format 'table ...'`.
fn headers_json(wanted: &Wanted) -> Value {
    let mut m = serde_json::Map::new();
    for (name, title) in FIELDS.iter().filter(|(name, _)| wanted.has(name)) {
        m.insert(name.to_string(), Value::from(*title));
    }
    Value::Object(m)
}

/// The containers `ps` shows: running ones (or all with -a, -n, -l or a state filter),
/// newest first, filtered.
fn select(root: &Path, a: &PsArgs) -> anyhow::Result<Vec<(Row, State)>> {
    let mut filters = Filters::parse(&a.filter)?;
    filters.resolve_ancestors(root);
    let mut rows = ps_cache::list(root);
    let any_state = a.all || a.last.is_some() || a.latest || filters.names_a_state();
    // Which rows stay is decided first (filters look at every container), then the others
    // are dropped in place (`ps -a` moves no row).
    let shown: Vec<bool> = rows
        .iter()
        .map(|(r, s)| {
            (any_state || matches!(s.status, Status::Running | Status::Restarting))
                && (filters.is_empty() || filters.matches(r, s, &rows))
        })
        .collect();
    let mut shown = shown.into_iter();
    rows.retain(|_| shown.next().unwrap_or(false));
    let keep = if a.latest { Some(1) } else { a.last };
    if let Some(n) = keep {
        rows.truncate(n);
    }
    Ok(rows)
}

pub fn ps(root: &Path, a: &PsArgs) -> anyhow::Result<i32> {
    let format = Format::parse(&a.format)?;
    let rows = select(root, a)?;
    // One write for the whole listing, not one per line (stdout is line-buffered).
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.quiet {
        for (r, _) in &rows {
            writeln!(
                out,
                "{}",
                if a.no_trunc {
                    r.id.as_str()
                } else {
                    r.short_id()
                }
            )?;
        }
        out.flush()?;
        return Ok(0);
    }
    match format {
        Format::Json => {
            for (r, s) in &rows {
                writeln!(out, "{}", row_json(root, r, s, a.no_trunc, &Wanted(None)))?;
            }
        }
        Format::Template(t) => {
            let wanted = Wanted(t.root_fields());
            let values: Vec<Value> = rows
                .iter()
                .map(|(r, s)| row_json(root, r, s, a.no_trunc, &wanted))
                .collect();
            for line in template::rows(&t, &headers_json(&wanted), &values)? {
                writeln!(out, "{line}")?;
            }
        }
        Format::Table => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|(r, s)| {
                    let mut row = vec![
                        if a.no_trunc {
                            r.id.clone()
                        } else {
                            r.short_id().to_string()
                        },
                        r.image.clone(),
                        command_text(r, a.no_trunc),
                        format!("{} ago", human_duration(ago(&r.created))),
                        status_text(s),
                        ports_text(s),
                        r.name.clone(),
                    ];
                    if a.pod {
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
            if a.pod {
                headers.extend(["POD ID", "PODNAME"]);
            }
            for line in crate::render::table::lines(&headers, &table) {
                writeln!(out, "{line}")?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}
