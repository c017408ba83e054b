//! `hoist compose up`: images built or pulled where missing, then the plan (what exists
//! against what the files say) applied; without `-d`, the containers' output followed until
//! they end or Ctrl-C, which stops them.

use super::progress::{self, failed};
use super::{images, logs, Session};
use crate::cli::compose::UpArgs;
use anyhow::{anyhow, bail};
use hoist_reconcile::order::with_dependencies;
use hoist_reconcile::{apply_up, plan_up, EventKind, Recreate, UpOptions};
use std::collections::BTreeMap;

fn scale(specs: &[String]) -> anyhow::Result<BTreeMap<String, u32>> {
    specs
        .iter()
        .map(|s| {
            let (svc, n) = s
                .split_once('=')
                .ok_or_else(|| anyhow!("--scale {s:?}: use SERVICE=NUMBER"))?;
            let n: u32 = n
                .parse()
                .map_err(|_| anyhow!("--scale {s:?}: {n:?} is not a number of containers"))?;
            Ok((svc.to_string(), n))
        })
        .collect()
}

pub fn up(session: &Session, a: &UpArgs) -> anyhow::Result<i32> {
    let project = session.project();
    for s in &a.services {
        if !project.services.contains_key(s) {
            bail!("no such service: {s}");
        }
    }
    let opts = UpOptions {
        services: a.services.clone(),
        recreate: match (a.force_recreate, a.no_recreate) {
            (true, _) => Recreate::Force,
            (_, true) => Recreate::Never,
            _ => Recreate::Diverged,
        },
        recreate_dependencies: if a.no_recreate {
            Recreate::Never
        } else {
            Recreate::Diverged
        },
        remove_orphans: a.remove_orphans,
        scale: scale(&a.scale)?,
    };
    for (name, svc) in &project.services {
        let fields = hoist_compose::desired::unapplied(svc);
        if !fields.is_empty() {
            eprintln!(
                "warning: service {name}: {} not applied by hoist yet",
                fields.join(", ")
            );
        }
    }
    let wanted: Vec<String> = if a.services.is_empty() {
        project.services.keys().cloned().collect()
    } else {
        let desired = session.desired();
        with_dependencies(&desired.services, &a.services)
            .into_iter()
            .collect()
    };
    images::ensure(session.lifecycle.root(), project, &wanted, a.build)?;

    let mut desired = session.desired();
    if let Some(t) = a.timeout {
        for s in &mut desired.services {
            s.stop_timeout = t;
        }
    }
    let observed = session.observe(&desired);
    let plan = plan_up(&desired, &observed, &opts)?;
    if !plan.orphans.is_empty() && !plan.remove_orphans {
        let names: Vec<&str> = plan.orphans.iter().map(|c| c.name.as_str()).collect();
        eprintln!(
            "warning: found orphan containers ({}) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
            names.join(", ")
        );
    }
    let mut driver = session.driver();
    let events =
        apply_up(&desired, &plan, &mut driver, a.wait, &mut progress::print).map_err(failed)?;
    if a.detach || a.wait {
        return Ok(0);
    }
    // Foreground: follow every container of the plan.
    let mut names: Vec<String> = Vec::new();
    for e in &events {
        let container = matches!(
            e.kind,
            EventKind::Started
                | EventKind::Running
                | EventKind::Restarted
                | EventKind::Created
                | EventKind::Recreated
        );
        if container && !names.contains(&e.name) {
            names.push(e.name.clone());
        }
    }
    logs::attach(session, &desired, &names)
}
