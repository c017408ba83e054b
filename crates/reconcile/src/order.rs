//! Dependency order: every service after the services it depends on, ties broken by name so
//! plans are the same from run to run. Stopping goes the other way ([`reverse`]).

use crate::model::ServiceSpec;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("service {service:?} depends on {missing:?}, which is not a service of this project")]
    UnknownDependency { service: String, missing: String },
    #[error("dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// The service names in start order. An unknown required dependency or a cycle is an error;
/// an unknown optional one (`required: false`) is ignored.
pub fn order<S>(services: &[ServiceSpec<S>]) -> Result<Vec<String>, OrderError> {
    let names: BTreeSet<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let mut deps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in services {
        let mut list = Vec::new();
        for d in &s.depends_on {
            if names.contains(d.service.as_str()) {
                list.push(d.service.as_str());
            } else if d.required {
                return Err(OrderError::UnknownDependency {
                    service: s.name.clone(),
                    missing: d.service.clone(),
                });
            }
        }
        list.sort();
        deps.insert(&s.name, list);
    }
    // Depth-first, visiting names and dependencies in sorted order; `path` finds cycles.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for name in names.iter().copied() {
        let mut path = Vec::new();
        visit(name, &deps, &mut done, &mut path, &mut out)?;
    }
    Ok(out)
}

fn visit<'a>(
    name: &'a str,
    deps: &BTreeMap<&'a str, Vec<&'a str>>,
    done: &mut BTreeSet<&'a str>,
    path: &mut Vec<&'a str>,
    out: &mut Vec<String>,
) -> Result<(), OrderError> {
    if done.contains(name) {
        return Ok(());
    }
    if let Some(at) = path.iter().position(|p| *p == name) {
        let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
        cycle.push(name.to_string());
        return Err(OrderError::Cycle(cycle));
    }
    path.push(name);
    for d in &deps[name] {
        visit(d, deps, done, path, out)?;
    }
    path.pop();
    done.insert(name);
    out.push(name.to_string());
    Ok(())
}

/// Stop order: dependents before what they depend on.
pub fn reverse(order: &[String]) -> Vec<String> {
    order.iter().rev().cloned().collect()
}

/// `names` and everything they depend on, transitively (`up web` also brings up web's
/// dependencies).
pub fn with_dependencies<S>(services: &[ServiceSpec<S>], names: &[String]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = names.to_vec();
    while let Some(n) = todo.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(s) = services.iter().find(|s| s.name == n) {
            todo.extend(s.depends_on.iter().map(|d| d.service.clone()));
        }
    }
    seen.retain(|n| services.iter().any(|s| &s.name == n));
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Condition, Dependency};

    fn svc(name: &str, deps: &[&str]) -> ServiceSpec<()> {
        ServiceSpec {
            name: name.into(),
            replicas: 1,
            config_hash: String::new(),
            depends_on: deps
                .iter()
                .map(|d| Dependency {
                    service: d.to_string(),
                    condition: Condition::Started,
                    restart: false,
                    required: true,
                })
                .collect(),
            container_name: None,
            stop_timeout: 10,
            spec: (),
        }
    }

    #[test]
    fn dependencies_come_first_and_ties_by_name() {
        let s = vec![
            svc("web", &["api"]),
            svc("api", &["db", "cache"]),
            svc("db", &[]),
            svc("cache", &[]),
            svc("alone", &[]),
        ];
        assert_eq!(
            order(&s).unwrap(),
            ["alone", "cache", "db", "api", "web"].map(String::from)
        );
        assert_eq!(reverse(&order(&s).unwrap())[0], "web");
    }

    #[test]
    fn a_cycle_is_named_in_full() {
        let s = vec![svc("a", &["b"]), svc("b", &["c"]), svc("c", &["a"])];
        assert_eq!(
            order(&s),
            Err(OrderError::Cycle(
                ["a", "b", "c", "a"].map(String::from).to_vec()
            ))
        );
        assert_eq!(
            order(&s).unwrap_err().to_string(),
            "dependency cycle: a -> b -> c -> a"
        );
    }

    #[test]
    fn unknown_required_dependency_is_an_error_optional_is_not() {
        let mut s = vec![svc("web", &["nope"])];
        assert!(matches!(
            order(&s),
            Err(OrderError::UnknownDependency { .. })
        ));
        s[0].depends_on[0].required = false;
        assert_eq!(order(&s).unwrap(), ["web"]);
    }

    #[test]
    fn selection_pulls_in_dependencies_transitively() {
        let s = vec![
            svc("web", &["api"]),
            svc("api", &["db"]),
            svc("db", &[]),
            svc("x", &[]),
        ];
        let got = with_dependencies(&s, &["web".into()]);
        assert_eq!(got.into_iter().collect::<Vec<_>>(), ["api", "db", "web"]);
    }
}
