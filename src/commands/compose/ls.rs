//! `hoist compose ls`: the compose projects on this machine, found from their containers'
//! `com.docker.compose.project` labels (no compose file needed), as docker compose lists
//! them: NAME, STATUS (`running(2), exited(1)`, states sorted), CONFIG FILES. Without `-a`
//! only running containers count, so only projects with one running are listed.

use crate::render::table;
use hoist_compose::desired::{LABEL_CONFIG_FILES, LABEL_PROJECT};
use hoist_runtime::lifecycle::{ContainerFilter, LabelFilter, Lifecycle};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Default)]
struct ProjectRow {
    states: BTreeMap<&'static str, usize>,
    files: Vec<String>,
}

impl ProjectRow {
    fn status(&self) -> String {
        let parts: Vec<String> = self
            .states
            .iter()
            .map(|(s, n)| format!("{s}({n})"))
            .collect();
        parts.join(", ")
    }
}

pub fn ls(root: &Path, all: bool, quiet: bool, format: &str) -> anyhow::Result<i32> {
    let lifecycle = Lifecycle::new(root, std::env::current_exe()?);
    let filter = ContainerFilter {
        labels: vec![LabelFilter {
            key: LABEL_PROJECT.into(),
            value: None,
        }],
        running: !all,
        ..Default::default()
    };
    let mut projects: BTreeMap<String, ProjectRow> = BTreeMap::new();
    for (rec, st) in lifecycle.list(&filter) {
        let row = projects
            .entry(rec.labels[LABEL_PROJECT].clone())
            .or_default();
        *row.states.entry(st.status.as_str()).or_default() += 1;
        for f in rec
            .labels
            .get(LABEL_CONFIG_FILES)
            .into_iter()
            .flat_map(|f| f.split(','))
        {
            if !f.is_empty() && !row.files.iter().any(|have| have == f) {
                row.files.push(f.to_string());
            }
        }
    }
    if quiet {
        for name in projects.keys() {
            println!("{name}");
        }
        return Ok(0);
    }
    if format == "json" {
        let list: Vec<serde_json::Value> = projects
            .iter()
            .map(|(name, p)| {
                serde_json::json!({
                    "Name": name, "Status": p.status(), "ConfigFiles": p.files.join(","),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = projects
        .iter()
        .map(|(name, p)| vec![name.clone(), p.status(), p.files.join(",")])
        .collect();
    for line in table::lines(&["NAME", "STATUS", "CONFIG FILES"], &rows) {
        println!("{line}");
    }
    Ok(0)
}
