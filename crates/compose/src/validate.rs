//! Checks across the normalized project, all problems at once: dependencies on services that
//! do not exist (or are off by profile), dependency cycles (named), named volumes and
//! networks a service uses but the file does not declare, services with neither image nor
//! build, and readiness probes on a port the service does not publish.

use crate::model::{MountType, Project, Service};
use std::collections::BTreeMap;

pub fn validate(project: &Project, disabled: &BTreeMap<String, Service>) -> Vec<String> {
    let mut problems = Vec::new();
    let names = project
        .services
        .keys()
        .map(|n| ("service", n))
        .chain(project.networks.keys().map(|n| ("network", n)))
        .chain(project.volumes.keys().map(|n| ("volume", n)));
    for (what, name) in names {
        if !valid_key(name) {
            problems.push(format!(
                "{what} name {name:?} is not valid: use letters, digits, '.', '_' and '-' (they become parts of container, network and volume names)"
            ));
        }
    }
    for (name, svc) in &project.services {
        if svc.image.is_none() && svc.build.is_none() {
            problems.push(format!(
                "service {name:?} has neither an image nor a build section"
            ));
        }
        for (dep, d) in &svc.depends_on {
            if project.services.contains_key(dep) || !d.required {
                continue;
            }
            problems.push(match disabled.get(dep) {
                Some(off) => format!(
                    "service {name:?} depends on {dep:?}, which is in profile(s) {} that are not enabled; enable one with --profile",
                    off.profiles.join(", ")
                ),
                None => format!("service {name:?} depends on undefined service {dep:?}"),
            });
        }
        if let Some(other) = svc
            .network_mode
            .as_deref()
            .and_then(|m| m.strip_prefix("service:"))
        {
            if !project.services.contains_key(other) {
                problems.push(format!(
                    "service {name:?}: network_mode uses undefined service {other:?}"
                ));
            }
        }
        for net in svc.networks.keys() {
            if !project.networks.contains_key(net) {
                problems.push(format!(
                    "service {name:?} uses network {net:?}, which is not declared under the top-level networks:"
                ));
            }
        }
        for m in &svc.volumes {
            if let (MountType::Volume, Some(vol)) = (m.kind, &m.source) {
                if !project.volumes.contains_key(vol) {
                    problems.push(format!(
                        "service {name:?} mounts volume {vol:?}, which is not declared under the top-level volumes:"
                    ));
                }
            }
        }
        let readiness_port = svc
            .hoist
            .as_ref()
            .and_then(|h| h.readiness_probe.as_ref())
            .and_then(|p| p.port());
        if let Some(port) = readiness_port {
            if !svc.ports.is_empty() && !svc.ports.iter().any(|p| p.target == port) {
                problems.push(format!(
                    "service {name:?}: x-hoist.readinessProbe checks container port {port}, which the service does not publish; readiness gates the published ports, so probe one of them"
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(project) {
        problems.push(format!("dependency cycle: {}", cycle.join(" -> ")));
    }
    problems
}

/// The Compose Specification's pattern for service, network and volume keys.
fn valid_key(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The first dependency cycle, as a path that ends where it starts.
fn find_cycle(project: &Project) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        project: &'a Project,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match marks.get(name).copied().unwrap_or(Mark::New) {
            Mark::Done => return None,
            Mark::Open => {
                let from = stack.iter().position(|s| *s == name).unwrap_or(0);
                let mut cycle: Vec<String> = stack[from..].iter().map(|s| s.to_string()).collect();
                cycle.push(name.to_string());
                return Some(cycle);
            }
            Mark::New => {}
        }
        marks.insert(name, Mark::Open);
        stack.push(name);
        if let Some(svc) = project.services.get(name) {
            for dep in svc.depends_on.keys() {
                if let Some(c) = visit(dep, project, marks, stack) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        marks.insert(name, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for name in project.services.keys() {
        if let Some(c) = visit(name, project, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Condition, Dependency, Mount, Volume};

    fn project(edges: &[(&str, &[&str])]) -> Project {
        let mut p = Project::default();
        for (name, deps) in edges {
            let svc = Service {
                image: Some("x".into()),
                depends_on: deps
                    .iter()
                    .map(|d| {
                        let dep = Dependency {
                            condition: Condition::Started,
                            restart: false,
                            required: true,
                        };
                        (d.to_string(), dep)
                    })
                    .collect(),
                ..Service::default()
            };
            p.services.insert(name.to_string(), svc);
        }
        p
    }

    #[test]
    fn keys_must_be_usable_in_names() {
        let p = project(&[("web app", &[]), ("ok.name_1-x", &[])]);
        let problems = validate(&p, &BTreeMap::new());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("service name \"web app\" is not valid"));
    }

    #[test]
    fn a_diamond_is_not_a_cycle() {
        let p = project(&[("a", &["b", "c"]), ("b", &["d"]), ("c", &["d"]), ("d", &[])]);
        assert!(validate(&p, &BTreeMap::new()).is_empty());
    }

    #[test]
    fn the_cycle_is_named_from_where_it_closes() {
        let p = project(&[("a", &["b"]), ("b", &["c"]), ("c", &["d"]), ("d", &["b"])]);
        assert_eq!(
            validate(&p, &BTreeMap::new()),
            ["dependency cycle: b -> c -> d -> b"]
        );
    }

    #[test]
    fn anonymous_and_declared_volumes_pass() {
        let mut p = project(&[("a", &[])]);
        let mount = |source: Option<&str>| Mount {
            kind: MountType::Volume,
            source: source.map(String::from),
            target: "/t".into(),
            read_only: false,
            bind: None,
            volume: None,
            tmpfs: None,
        };
        p.volumes.insert("data".into(), Volume::default());
        let a = p.services.get_mut("a").unwrap();
        a.volumes = vec![mount(None), mount(Some("data"))];
        assert!(validate(&p, &BTreeMap::new()).is_empty());
        p.services
            .get_mut("a")
            .unwrap()
            .volumes
            .push(mount(Some("other")));
        assert_eq!(validate(&p, &BTreeMap::new()).len(), 1);
    }
}
