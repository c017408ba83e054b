//! Container events (`hoist events`): start, die, oom, restart,
//! health_status, probe failures, ... and pod events (podman's names:
//! create, start, stop, remove, plus `died` when a pod's holder process
//! ends without being asked to) appended as JSON lines to
//! `<root>/events.log` by the monitor and the CLI. Each event is one
//! `write` on an `O_APPEND` descriptor, so lines from concurrent writers
//! never interleave (Linux appends a whole write atomically for regular
//! files on local filesystems).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::container::ContainerRecord;

pub const FILE: &str = "events.log";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// RFC 3339 with nanoseconds, UTC.
    pub time: String,
    /// "container" or "pod".
    #[serde(rename = "type")]
    pub kind: String,
    /// "start", "die", "oom", "restart", "health_status", "probe_failed", ...
    pub action: String,
    pub id: String,
    pub name: String,
    /// Details: exitCode, restartCount, probe, message, ...
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl Event {
    pub fn container(rec: &ContainerRecord, action: &str) -> Event {
        Event {
            time: crate::time::now(),
            kind: "container".into(),
            action: action.into(),
            id: rec.id.clone(),
            name: rec.name.clone(),
            attributes: BTreeMap::new(),
        }
    }

    pub fn pod(rec: &crate::pod::PodRecord, action: &str) -> Event {
        Event {
            time: crate::time::now(),
            kind: "pod".into(),
            action: action.into(),
            id: rec.id.clone(),
            name: rec.name.clone(),
            attributes: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl ToString) -> Event {
        self.attributes.insert(key.into(), value.to_string());
        self
    }

    /// One human line: `TIME container ACTION ID (name=N, k=v)`.
    pub fn line(&self) -> String {
        let mut attrs = vec![format!("name={}", self.name)];
        attrs.extend(self.attributes.iter().map(|(k, v)| format!("{k}={v}")));
        format!(
            "{} {} {} {} ({})",
            self.time,
            self.kind,
            self.action,
            self.id,
            attrs.join(", ")
        )
    }
}

pub fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// Appends `ev` (errors are logged, never fatal: events are a record, not
/// part of running the container).
pub fn emit(root: &Path, ev: &Event) {
    let mut line = serde_json::to_vec(ev).unwrap_or_default();
    line.push(b'\n');
    let r = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path(root))
        .and_then(|mut f| f.write_all(&line));
    if let Err(e) = r {
        tracing::warn!("recording event {}: {e}", ev.action);
    }
}

/// Which events `read` returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub since: Option<SystemTime>,
    pub until: Option<SystemTime>,
    /// Container names or IDs (ID prefixes of at least 3 characters); any matches.
    pub containers: Vec<String>,
    /// Actions ("die", "restart", ...); any matches.
    pub actions: Vec<String>,
    /// Pod names or IDs (prefixes of at least 3 characters): events of
    /// those pods (podman's `pod=`); any matches.
    pub pods: Vec<String>,
    /// Event types ("container", "pod"); any matches.
    pub types: Vec<String>,
}

impl Filter {
    pub fn matches(&self, ev: &Event) -> bool {
        let t = crate::time::parse_rfc3339(&ev.time);
        if let (Some(since), Some(t)) = (self.since, t) {
            if t < since {
                return false;
            }
        }
        if let (Some(until), Some(t)) = (self.until, t) {
            if t > until {
                return false;
            }
        }
        let names = |wanted: &[String]| {
            wanted
                .iter()
                .any(|c| c == &ev.name || (c.len() >= 3 && ev.id.starts_with(c.as_str())))
        };
        let container_ok =
            self.containers.is_empty() || (ev.kind == "container" && names(&self.containers));
        let pod_ok = self.pods.is_empty() || (ev.kind == "pod" && names(&self.pods));
        let action_ok = self.actions.is_empty() || self.actions.iter().any(|a| a == &ev.action);
        let type_ok = self.types.is_empty() || self.types.iter().any(|t| t == &ev.kind);
        container_ok && pod_ok && action_ok && type_ok
    }
}

/// Reads events from byte `offset` on; returns them and the offset after
/// the last complete line (for following the file).
pub fn read_from(root: &Path, offset: u64, filter: &Filter) -> (Vec<Event>, u64) {
    use std::io::{Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path(root)) else {
        return (Vec::new(), offset);
    };
    if f.seek(SeekFrom::Start(offset)).is_err() {
        return (Vec::new(), offset);
    }
    let mut out = Vec::new();
    let mut pos = offset;
    let mut reader = BufReader::new(f);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !line.ends_with('\n') {
                    break; // a line still being written
                }
                pos += n as u64;
                if let Ok(ev) = serde_json::from_str::<Event>(&line) {
                    if filter.matches(&ev) {
                        out.push(ev);
                    }
                }
            }
        }
    }
    (out, pos)
}

pub fn read(root: &Path, filter: &Filter) -> Vec<Event> {
    read_from(root, 0, filter).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_filters() {
        let dir = tempfile::tempdir().unwrap();
        let rec = ContainerRecord {
            id: "a".repeat(64),
            name: "web".into(),
            ..Default::default()
        };
        let other = ContainerRecord {
            id: "b".repeat(64),
            name: "db".into(),
            ..Default::default()
        };
        emit(dir.path(), &Event::container(&rec, "start"));
        emit(dir.path(), &Event::container(&other, "start"));
        emit(
            dir.path(),
            &Event::container(&rec, "die").with("exitCode", 3),
        );
        let all = read(dir.path(), &Filter::default());
        assert_eq!(all.len(), 3);
        let web = Filter {
            containers: vec!["web".into()],
            ..Default::default()
        };
        let evs = read(dir.path(), &web);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[1].attributes["exitCode"], "3");
        assert!(evs[1].line().contains("die"));
        let future = Filter {
            since: Some(SystemTime::now() + std::time::Duration::from_secs(60)),
            ..Default::default()
        };
        assert!(read(dir.path(), &future).is_empty());
    }

    #[test]
    fn pod_and_type_filters_pick_pod_events() {
        let dir = tempfile::tempdir().unwrap();
        let pod = crate::pod::PodRecord {
            id: "c".repeat(64),
            name: "web".into(),
            ..Default::default()
        };
        let member = ContainerRecord {
            id: "d".repeat(64),
            name: "web".into(),
            ..Default::default()
        };
        emit(dir.path(), &Event::pod(&pod, "create"));
        emit(dir.path(), &Event::container(&member, "start"));
        emit(dir.path(), &Event::pod(&pod, "died").with("pid", 42));
        let by_pod = Filter {
            pods: vec!["web".into()],
            ..Default::default()
        };
        let evs = read(dir.path(), &by_pod);
        let actions: Vec<&str> = evs.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["create", "died"]);
        assert!(evs[1]
            .line()
            .starts_with(&format!("{} pod died", evs[1].time)));
        let by_prefix = Filter {
            pods: vec!["ccc".into()],
            ..Default::default()
        };
        assert_eq!(read(dir.path(), &by_prefix).len(), 2);
        let containers = Filter {
            types: vec!["container".into()],
            ..Default::default()
        };
        assert_eq!(read(dir.path(), &containers)[0].id, member.id);
        // container=web names the container, not the pod of the same name.
        let container_web = Filter {
            containers: vec!["web".into()],
            ..Default::default()
        };
        assert_eq!(read(dir.path(), &container_web).len(), 1);
    }
}
