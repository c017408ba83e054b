//! `hoist events`: the container and pod event log (crates/runtime/src/events.rs)
//! as lines or JSON, optionally followed; plus the restart-flag checks `run`
//! makes before anything is created.

use anyhow::anyhow;
use hoist_runtime::events::{self, Filter};
use hoist_runtime::restart::Policy;
use hoist_runtime::time::parse_since;
use std::path::Path;
use std::time::Duration;

use crate::cli::container::{CreateArgs, EventsArgs};
use crate::commands::coded;
use hoist_runtime::container::config::parse_publish;
use hoist_runtime::probe::Probes;

/// `--restart` must parse, and cannot go with `--rm` (docker's rule).
pub fn check_restart_flags(restart: Option<&str>, rm: bool) -> anyhow::Result<()> {
    let Some(r) = restart else { return Ok(()) };
    let policy = Policy::parse(r).map_err(|e| coded(125, e.into()))?;
    if rm && policy != Policy::No {
        return Err(coded(
            125,
            anyhow!("conflicting options: --restart {r} and --rm (a removed container cannot restart); drop one"),
        ));
    }
    Ok(())
}

/// The probe flags, parsed and checked against the published ports before
/// anything is created.
/// The probe flags, checked against the container ports published by the
/// container (`-p`) or by its pod (`pod_ports`).
pub fn probes_of(a: &CreateArgs, pod_ports: &[u16]) -> anyhow::Result<Probes> {
    let mut published = pod_ports.to_vec();
    for p in &a.publish {
        let mappings = parse_publish(p).map_err(|e| coded(125, e.into()))?;
        published.extend(mappings.iter().map(|m| m.container_port));
    }
    Probes::parse(
        a.startup_probe.as_deref(),
        a.liveness_probe.as_deref(),
        a.readiness_probe.as_deref(),
        &published,
    )
    .map_err(|e| coded(125, e.into()))
}

fn filter_of(a: &EventsArgs) -> anyhow::Result<Filter> {
    let time = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| {
                parse_since(s).ok_or_else(|| {
                    anyhow!("{flag} {s:?} is not a time: use RFC 3339, unix seconds or a duration like 10m")
                })
            })
            .transpose()
    };
    let mut f = Filter {
        since: time("--since", &a.since)?,
        until: time("--until", &a.until)?,
        ..Default::default()
    };
    for spec in &a.filter {
        match spec.split_once('=') {
            Some(("container", v)) => f.containers.push(v.to_string()),
            Some(("event", v)) => f.actions.push(v.to_string()),
            Some(("pod", v)) => f.pods.push(v.to_string()),
            Some(("type", v @ ("container" | "pod"))) => f.types.push(v.to_string()),
            Some(("type", v)) => {
                return Err(anyhow!(
                    "invalid filter type={v:?}: the event types are container and pod"
                ))
            }
            _ => {
                return Err(anyhow!(
                    "invalid filter {spec:?}: use container=NAME|ID, pod=NAME|ID, type=container|pod or event=ACTION"
                ))
            }
        }
    }
    Ok(f)
}

pub fn run(root: &Path, a: EventsArgs) -> anyhow::Result<i32> {
    let filter = filter_of(&a)?;
    // "json", or a Go template over the event's JSON (`{{.Action}} {{.Actor.Attributes.name}}`).
    let template = match a.format.as_str() {
        "" => None,
        f => Some(crate::render::template::Template::parse_docker(f)?),
    };
    let print = |evs: Vec<events::Event>| -> anyhow::Result<()> {
        for ev in evs {
            match &template {
                Some(t) => println!("{}", t.render(&serde_json::to_value(&ev)?)?),
                None => println!("{}", ev.line()),
            }
        }
        Ok(())
    };
    let (evs, mut offset) = events::read_from(root, 0, &filter);
    print(evs)?;
    if !a.follow {
        return Ok(0);
    }
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let (evs, next) = events::read_from(root, offset, &filter);
        offset = next;
        print(evs)?;
    }
}
