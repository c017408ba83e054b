//! `hoist events`: the container and pod event log (crates/runtime/src/events.rs)
//! as lines or JSON, optionally followed; plus the restart-flag checks `run`
//! makes before anything is created.

use anyhow::anyhow;
use hoist_runtime::events::{self, Filter};
use hoist_runtime::restart::Policy;
use hoist_runtime::time::parse_since;
use std::path::Path;
use std::time::Duration;

use crate::cli::container::EventsArgs;
use crate::commands::coded;

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

/// An event as hoist records it (`type`, `action`, `name`, ...) with docker's fields beside
/// (`Type`, `Action`, `Actor.ID`, `Actor.Attributes.name`, `Status`, `Time`, `TimeNano`), so
/// templates written for `docker events --format` read it.
fn docker_shaped(ev: &events::Event) -> anyhow::Result<serde_json::Value> {
    let mut v = serde_json::to_value(ev)?;
    let mut attributes = ev.attributes.clone();
    attributes.insert("name".into(), ev.name.clone());
    let nanos = humantime::parse_rfc3339_weak(&ev.time)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    if let Some(m) = v.as_object_mut() {
        m.insert("Type".into(), ev.kind.clone().into());
        m.insert("Action".into(), ev.action.clone().into());
        m.insert("Status".into(), ev.action.clone().into());
        m.insert("ID".into(), ev.id.clone().into());
        m.insert(
            "Actor".into(),
            serde_json::json!({"ID": ev.id, "Attributes": attributes}),
        );
        m.insert("Scope".into(), "local".into());
        m.insert("Time".into(), (nanos / 1_000_000_000).into());
        m.insert("TimeNano".into(), nanos.into());
    }
    Ok(v)
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
                Some(t) => println!("{}", t.render(&docker_shaped(&ev)?)?),
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
