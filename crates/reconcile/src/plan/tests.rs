//! The planner's rules, one case each, on small hand-made states.

use super::*;
use crate::model::*;

fn svc(name: &str, hash: &str, deps: &[(&str, bool)]) -> ServiceSpec<()> {
    ServiceSpec {
        name: name.into(),
        replicas: 1,
        config_hash: hash.into(),
        depends_on: deps
            .iter()
            .map(|(d, restart)| Dependency {
                service: d.to_string(),
                condition: Condition::Started,
                restart: *restart,
                required: true,
            })
            .collect(),
        container_name: None,
        stop_timeout: 10,
        spec: (),
    }
}

/// db <- api <- web (web depends on api with restart: true), all at hash "h1".
fn desired() -> Desired<()> {
    Desired {
        project: "p".into(),
        services: vec![
            svc("web", "h1", &[("api", true)]),
            svc("api", "h1", &[("db", false)]),
            svc("db", "h1", &[]),
        ],
        inactive: vec!["debug".into()],
        networks: vec![NetworkSpec {
            key: "default".into(),
            name: "p_default".into(),
            ..Default::default()
        }],
        volumes: vec![VolumeSpec {
            key: "data".into(),
            name: "p_data".into(),
            ..Default::default()
        }],
    }
}

fn container(service: &str, n: u32, hash: &str, state: RunState) -> ObservedContainer {
    ObservedContainer {
        id: format!("{service}{n}-id"),
        name: format!("p-{service}-{n}"),
        service: service.into(),
        number: n,
        config_hash: hash.into(),
        state,
        oneoff: false,
    }
}

/// Everything of desired() exists and runs.
fn running() -> Observed {
    Observed {
        containers: ["web", "api", "db"]
            .iter()
            .map(|s| container(s, 1, "h1", RunState::Running))
            .collect(),
        networks: vec!["p_default".into()],
        volumes: vec!["p_data".into()],
    }
}

/// (service, action kind, container name) in plan order.
fn summary(p: &Plan) -> Vec<(String, &'static str, String)> {
    p.services
        .iter()
        .flat_map(|s| {
            s.actions.iter().map(move |a| {
                let kind = match a {
                    Action::Keep { .. } => "keep",
                    Action::Start { .. } => "start",
                    Action::Restart { .. } => "restart",
                    Action::Create { .. } => "create",
                    Action::Recreate { .. } => "recreate",
                    Action::Remove { .. } => "remove",
                };
                (s.service.clone(), kind, a.name().to_string())
            })
        })
        .collect()
}

fn kinds(p: &Plan) -> Vec<(String, &'static str)> {
    summary(p).into_iter().map(|(s, k, _)| (s, k)).collect()
}

fn pairs(v: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    v.iter().map(|(s, k)| (s.to_string(), *k)).collect()
}

#[test]
fn nothing_exists_everything_is_created_in_dependency_order() {
    let p = plan_up(&desired(), &Observed::default(), &UpOptions::default()).unwrap();
    assert_eq!(p.networks, ["p_default"]);
    assert_eq!(p.volumes, ["p_data"]);
    assert_eq!(
        summary(&p),
        [
            ("db".to_string(), "create", "p-db-1".to_string()),
            ("api".into(), "create", "p-api-1".into()),
            ("web".into(), "create", "p-web-1".into()),
        ]
    );
    assert_eq!(p.services[1].wait_for[0].service, "db");
    assert!(p.changes_anything());
}

#[test]
fn unchanged_and_running_is_left_alone() {
    let p = plan_up(&desired(), &running(), &UpOptions::default()).unwrap();
    assert_eq!(
        kinds(&p),
        pairs(&[("db", "keep"), ("api", "keep"), ("web", "keep")])
    );
    assert!(!p.changes_anything());
}

#[test]
fn a_stopped_unchanged_container_is_started_not_recreated() {
    let mut o = running();
    o.containers[1].state = RunState::Exited; // api
    let p = plan_up(&desired(), &o, &UpOptions::default()).unwrap();
    assert_eq!(
        kinds(&p),
        pairs(&[("db", "keep"), ("api", "start"), ("web", "keep")])
    );
}

#[test]
fn a_changed_hash_recreates_only_that_service() {
    let mut d = desired();
    d.services[2].config_hash = "h2".into(); // db
    let p = plan_up(&d, &running(), &UpOptions::default()).unwrap();
    // api depends on db without restart: left running (compose v2).
    assert_eq!(
        kinds(&p),
        pairs(&[("db", "recreate"), ("api", "keep"), ("web", "keep")])
    );
    let Action::Recreate {
        old_id,
        name,
        number,
    } = &p.services[0].actions[0]
    else {
        panic!()
    };
    assert_eq!(
        (old_id.as_str(), name.as_str(), *number),
        ("db1-id", "p-db-1", 1)
    );
}

#[test]
fn dependents_with_restart_true_are_restarted() {
    let mut d = desired();
    d.services[1].config_hash = "h2".into(); // api; web depends on it with restart: true
    let p = plan_up(&d, &running(), &UpOptions::default()).unwrap();
    assert_eq!(
        kinds(&p),
        pairs(&[("db", "keep"), ("api", "recreate"), ("web", "restart")])
    );
}

#[test]
fn force_recreate_and_no_recreate() {
    let opts = UpOptions {
        recreate: Recreate::Force,
        ..Default::default()
    };
    let p = plan_up(&desired(), &running(), &opts).unwrap();
    assert!(kinds(&p).iter().all(|(_, k)| *k == "recreate"), "{p:?}");

    let mut d = desired();
    for s in &mut d.services {
        s.config_hash = "h2".into();
    }
    let opts = UpOptions {
        recreate: Recreate::Never,
        recreate_dependencies: Recreate::Never,
        ..Default::default()
    };
    let p = plan_up(&d, &running(), &opts).unwrap();
    assert!(!p.changes_anything(), "{p:?}");
}

#[test]
fn named_services_bring_their_dependencies_with_the_dependency_rule() {
    let opts = UpOptions {
        services: vec!["api".into()],
        recreate: Recreate::Force,
        recreate_dependencies: Recreate::Diverged,
        ..Default::default()
    };
    let p = plan_up(&desired(), &running(), &opts).unwrap();
    // web is not selected; db comes as a dependency and is unchanged.
    assert_eq!(kinds(&p), pairs(&[("db", "keep"), ("api", "recreate")]));
}

#[test]
fn orphans_are_reported_and_removed_only_when_asked() {
    let mut o = running();
    o.containers
        .push(container("old", 1, "h0", RunState::Running));
    o.containers
        .push(container("debug", 1, "h1", RunState::Exited)); // inactive profile
    let mut oneoff = container("web", 7, "h1", RunState::Running);
    oneoff.oneoff = true;
    o.containers.push(oneoff);
    let p = plan_up(&desired(), &o, &UpOptions::default()).unwrap();
    assert_eq!(p.orphans.len(), 1);
    assert_eq!(p.orphans[0].service, "old");
    assert!(!p.changes_anything());
    let p = plan_up(
        &desired(),
        &o,
        &UpOptions {
            remove_orphans: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(p.remove_orphans && p.changes_anything());
    // The one-off container is not one of web's replicas.
    assert_eq!(p.services[2].actions.len(), 1);
}

#[test]
fn scale_up_fills_after_the_highest_number_and_down_removes_from_the_top() {
    let mut o = running();
    o.containers
        .push(container("db", 3, "h1", RunState::Running));
    let mut scale = BTreeMap::new();
    scale.insert("db".to_string(), 4);
    let p = plan_up(
        &desired(),
        &o,
        &UpOptions {
            scale,
            ..Default::default()
        },
    )
    .unwrap();
    let db: Vec<_> = summary(&p)
        .into_iter()
        .filter(|(s, _, _)| s == "db")
        .map(|(_, k, n)| format!("{k} {n}"))
        .collect();
    assert_eq!(
        db,
        [
            "keep p-db-1",
            "keep p-db-3",
            "create p-db-4",
            "create p-db-5"
        ]
    );

    let mut scale = BTreeMap::new();
    scale.insert("db".to_string(), 1);
    let p = plan_up(
        &desired(),
        &o,
        &UpOptions {
            scale,
            ..Default::default()
        },
    )
    .unwrap();
    let db: Vec<_> = summary(&p)
        .into_iter()
        .filter(|(s, _, _)| s == "db")
        .map(|(_, k, n)| format!("{k} {n}"))
        .collect();
    assert_eq!(db, ["remove p-db-3", "keep p-db-1"]);
}

#[test]
fn bad_requests_are_refused() {
    let opts = UpOptions {
        services: vec!["nope".into()],
        ..Default::default()
    };
    assert_eq!(
        plan_up(&desired(), &running(), &opts),
        Err(PlanError::UnknownService("nope".into()))
    );
    let mut d = desired();
    d.networks[0].external = true;
    d.networks[0].name = "shared".into();
    assert_eq!(
        plan_up(&d, &running(), &UpOptions::default()),
        Err(PlanError::MissingExternalNetwork("shared".into()))
    );
    let mut d = desired();
    d.services[0].container_name = Some("front".into());
    d.services[0].replicas = 2;
    assert!(matches!(
        plan_up(&d, &running(), &UpOptions::default()),
        Err(PlanError::NamedReplicas { .. })
    ));
    let mut d = desired();
    d.services[2].depends_on.push(Dependency {
        service: "web".into(),
        condition: Condition::Started,
        restart: false,
        required: true,
    });
    assert!(matches!(
        plan_up(&d, &running(), &UpOptions::default()),
        Err(PlanError::Order(crate::OrderError::Cycle(_)))
    ));
}

#[test]
fn down_goes_in_reverse_order_and_keeps_volumes_without_v() {
    let mut o = running();
    o.containers
        .push(container("old", 1, "h0", RunState::Running));
    let p = plan_down(&desired(), &o, DownOptions::default()).unwrap();
    let names: Vec<_> = p.containers.iter().map(|c| c.service.as_str()).collect();
    assert_eq!(names, ["web", "api", "db"]);
    assert_eq!(p.orphans_left.len(), 1);
    assert_eq!(p.networks, ["p_default"]);
    assert!(p.volumes.is_empty());
    let p = plan_down(
        &desired(),
        &o,
        DownOptions {
            remove_orphans: true,
            volumes: true,
        },
    )
    .unwrap();
    let names: Vec<_> = p.containers.iter().map(|c| c.service.as_str()).collect();
    assert_eq!(names, ["old", "web", "api", "db"]);
    assert_eq!(p.volumes, ["p_data"]);
}

#[test]
fn stop_is_reverse_and_start_is_forward_with_waits() {
    let mut o = running();
    o.containers[0].state = RunState::Exited; // web
    let stop = plan_stop(&desired(), &o, &[]).unwrap();
    let names: Vec<_> = stop.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["p-api-1", "p-db-1"]);
    let start = plan_start(&desired(), &o, &[]).unwrap();
    let order: Vec<_> = start.iter().map(|s| s.service.as_str()).collect();
    assert_eq!(order, ["db", "api", "web"]);
    assert!(matches!(start[2].actions[0], Action::Start { .. }));
    assert_eq!(start[2].wait_for[0].service, "api");
}
