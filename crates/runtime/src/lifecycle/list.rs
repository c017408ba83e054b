//! Listing containers, filtered by label (`label=KEY` / `label=KEY=VALUE`,
//! as `docker ps --filter`), pod and whether they run: how compose and kube
//! find what exists of a project.

use super::Lifecycle;
use crate::container::labels::Labels;
use crate::container::{self, ContainerRecord, State, Status};
use crate::error::{Result, RuntimeError};

/// One label condition: the key is present, or has exactly this value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFilter {
    pub key: String,
    pub value: Option<String>,
}

impl LabelFilter {
    /// `KEY` or `KEY=VALUE`.
    pub fn parse(spec: &str) -> Result<LabelFilter> {
        let (key, value) = match spec.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (spec, None),
        };
        if key.is_empty() {
            return Err(RuntimeError::Invalid(format!(
                "invalid label filter {spec:?}: use KEY or KEY=VALUE"
            )));
        }
        Ok(LabelFilter {
            key: key.to_string(),
            value,
        })
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        match (labels.get(&self.key), &self.value) {
            (Some(have), Some(want)) => have == want,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// Which containers `list` returns: every condition must hold.
#[derive(Debug, Clone, Default)]
pub struct ContainerFilter {
    pub labels: Vec<LabelFilter>,
    /// Members of this pod (its ID).
    pub pod: Option<String>,
    /// Only those running or waiting to restart (`ps` without `-a`).
    pub running: bool,
}

impl ContainerFilter {
    /// Containers carrying every one of `labels`.
    pub fn labels(labels: &[(&str, &str)]) -> ContainerFilter {
        ContainerFilter {
            labels: labels
                .iter()
                .map(|(k, v)| LabelFilter {
                    key: k.to_string(),
                    value: Some(v.to_string()),
                })
                .collect(),
            ..Default::default()
        }
    }

    pub fn matches(&self, rec: &ContainerRecord, st: &State) -> bool {
        self.labels.iter().all(|f| f.matches(&rec.labels))
            && self
                .pod
                .as_ref()
                .is_none_or(|p| rec.pod.as_ref() == Some(p))
            && (!self.running || matches!(st.status, Status::Running | Status::Restarting))
    }
}

impl Lifecycle {
    /// The containers `filter` selects, with their live state, newest first.
    pub fn list(&self, filter: &ContainerFilter) -> Vec<(ContainerRecord, State)> {
        container::list(self.root())
            .into_iter()
            .filter(|(rec, st)| filter.matches(rec, st))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(labels: &[(&str, &str)], pod: Option<&str>) -> ContainerRecord {
        ContainerRecord {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            pod: pod.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn label_filters_by_key_or_key_and_value() {
        let r = rec(
            &[("com.docker.compose.project", "web"), ("empty", "")],
            None,
        );
        let f = |s: &str| LabelFilter::parse(s).unwrap().matches(&r.labels);
        assert!(f("com.docker.compose.project"));
        assert!(f("com.docker.compose.project=web"));
        assert!(!f("com.docker.compose.project=db"));
        assert!(f("empty="));
        assert!(!f("missing"));
        assert!(LabelFilter::parse("=x").is_err());
    }

    #[test]
    fn every_condition_must_hold() {
        let r = rec(&[("p", "web"), ("s", "api")], Some("pod1"));
        let running = State {
            status: Status::Running,
            ..Default::default()
        };
        let exited = State::default();
        let both = ContainerFilter::labels(&[("p", "web"), ("s", "api")]);
        assert!(both.matches(&r, &exited));
        let other = ContainerFilter::labels(&[("p", "web"), ("s", "db")]);
        assert!(!other.matches(&r, &exited));
        let only_running = ContainerFilter {
            running: true,
            ..both.clone()
        };
        assert!(only_running.matches(&r, &running));
        assert!(!only_running.matches(&r, &exited));
        let in_pod = |p: &str| ContainerFilter {
            pod: Some(p.into()),
            ..Default::default()
        };
        assert!(in_pod("pod1").matches(&r, &exited));
        assert!(!in_pod("pod2").matches(&r, &exited));
    }
}
