//! `ps --filter KEY=VALUE`: docker's keys. Values of one key are alternatives (any may
//! match); different keys must all match.

use super::ps_row::{MountKind, Row};
use anyhow::bail;
use hoist_runtime::container::{ContainerRecord, State, Status};
use std::collections::BTreeMap;

pub struct Filters {
    by_key: BTreeMap<String, Vec<String>>,
}

const KEYS: &[&str] = &[
    "status", "name", "id", "label", "ancestor", "exited", "health", "network", "volume", "before",
    "since",
];

impl Filters {
    pub fn parse(items: &[String]) -> anyhow::Result<Filters> {
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for item in items {
            let Some((k, v)) = item.split_once('=') else {
                bail!("bad format of filter {item:?} (expected name=value)");
            };
            let k = k.trim().to_ascii_lowercase();
            if !KEYS.contains(&k.as_str()) {
                bail!("invalid filter '{k}' (ps filters: {})", KEYS.join(", "));
            }
            check_value(&k, v)?;
            by_key.entry(k).or_default().push(v.to_string());
        }
        Ok(Filters { by_key })
    }

    /// Adds, for each `ancestor=IMAGE` the store knows, that image's manifest digest as
    /// another alternative (containers record the manifest digest; docker's users give an
    /// image ID or a name).
    pub fn resolve_ancestors(&mut self, root: &std::path::Path) {
        let Some(values) = self.by_key.get_mut("ancestor") else {
            return;
        };
        let Ok(store) = hoist_store::Store::open(root) else {
            return;
        };
        let found: Vec<String> = values
            .iter()
            .filter_map(|v| crate::commands::image::resolve_image(&store, v).ok())
            .map(|f| f.digest().to_string())
            .collect();
        values.extend(found);
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Whether the filter has `status` or `exited`, which look past "running only".
    pub fn names_a_state(&self) -> bool {
        self.by_key.contains_key("status") || self.by_key.contains_key("exited")
    }

    /// `all` holds every container (for before/since, which name other containers).
    pub fn matches(&self, rec: &Row, st: &State, all: &[(Row, State)]) -> bool {
        self.by_key
            .iter()
            .all(|(k, values)| values.iter().any(|v| one(k, v, rec, st, all)))
    }
}

fn check_value(key: &str, v: &str) -> anyhow::Result<()> {
    match key {
        "status"
            if !matches!(
                v,
                "created" | "restarting" | "running" | "removing" | "paused" | "exited" | "dead"
            ) =>
        {
            bail!("invalid filter 'status={v}' (created, restarting, running, removing, paused, exited or dead)")
        }
        "health" if !matches!(v, "starting" | "healthy" | "unhealthy" | "none") => {
            bail!("invalid filter 'health={v}' (starting, healthy, unhealthy or none)")
        }
        "exited" if v.parse::<i32>().is_err() => {
            bail!("invalid filter 'exited={v}': not an exit code")
        }
        _ => Ok(()),
    }
}

/// The container's labels (the image's with `--label` over them).
pub fn labels_of(rec: &ContainerRecord) -> &BTreeMap<String, String> {
    &rec.labels
}

fn one(key: &str, v: &str, rec: &Row, st: &State, all: &[(Row, State)]) -> bool {
    match key {
        "status" => st.status.as_str() == v,
        "name" => rec.name.contains(v.trim_start_matches('/')),
        "id" => rec.id.starts_with(v),
        "label" => match v.split_once('=') {
            Some((k, want)) => rec.labels.get(k).is_some_and(|have| have == want),
            None => rec.labels.contains_key(v),
        },
        "ancestor" => ancestor(rec, v),
        "exited" => st.status == Status::Exited && v.parse() == Ok(st.exit_code),
        "health" => {
            let h = st
                .health
                .as_ref()
                .map(|h| h.status.as_str())
                .unwrap_or("none");
            h == v
        }
        "network" => rec.network_mode == v || rec.networks.iter().any(|n| n == v),
        "volume" => rec
            .mounts
            .iter()
            .any(|m| m.target == v || (m.kind != MountKind::Tmpfs && m.source == v)),
        "before" | "since" => match all.iter().find(|(r, _)| r.name == v || r.id.starts_with(v)) {
            Some((other, _)) if key == "before" => rec.created < other.created,
            Some((other, _)) => rec.created > other.created,
            None => false,
        },
        _ => false,
    }
}

/// docker's ancestor: the image as named at run (with or without `:latest`), its full
/// reference, or its digest (whole or a prefix of the hex).
fn ancestor(rec: &Row, v: &str) -> bool {
    let bare = |s: &str| s.strip_suffix(":latest").unwrap_or(s).to_string();
    let hex = |s: &str| s.strip_prefix("sha256:").unwrap_or(s).to_string();
    bare(&rec.image) == bare(v)
        || bare(&rec.image_ref) == bare(v)
        || hoist_oci::Reference::parse(v).is_ok_and(|r| r.to_string() == rec.image_ref)
        || (v.len() >= 4 && hex(&rec.image_digest).starts_with(&hex(v)))
}
