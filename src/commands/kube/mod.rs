//! `hoist kube`: load the files with hoist-kube, print its warnings, play or remove them
//! through the reconciler over the runtime's lifecycle API.

mod down;
pub mod generate;
mod images;
mod play;
mod ps;

use crate::cli::kube::{KubeCommand, KubeTop};
use crate::cli::GlobalArgs;
use anyhow::Context;
use hoist_kube::play::Manifest;
use hoist_reconcile::Event;
use hoist_runtime::lifecycle::Lifecycle;
use std::path::PathBuf;

pub fn run(cmd: KubeTop, global: &GlobalArgs) -> anyhow::Result<i32> {
    let root = super::container::root_of(global);
    let exe = std::env::current_exe().context("finding the hoist binary")?;
    let lc = Lifecycle::new(root.clone(), exe.clone());
    match cmd {
        KubeTop::Kube { command } => match command {
            KubeCommand::Play(a) => play::play(&lc, &a),
            KubeCommand::Down(a) => down::down(&lc, &a.files),
            KubeCommand::Generate(a) => generate::run(a, global),
            KubeCommand::Ps => ps::run(&lc),
        },
        KubeTop::KubeCron => Ok(hoist_kube::cron::scheduler::serve(&root, &exe)),
        KubeTop::KubeService { def, fds } => {
            let def = serde_json::from_str(&def).context("the Service definition")?;
            let fds: Vec<i32> = fds
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().context("a descriptor number"))
                .collect::<anyhow::Result<_>>()?;
            hoist_kube::play::keeper::serve(&root, &exe, def, &fds)
        }
        KubeTop::KubeDeadline {
            namespace,
            job,
            seconds,
            grace,
        } => hoist_kube::play::deadline::serve(&lc, &namespace, &job, seconds, grace),
    }
}

/// Reads the files, printing what they ask that hoist does not do.
fn load(files: &[PathBuf]) -> anyhow::Result<Manifest> {
    let m = hoist_kube::play::load(files)?;
    for w in &m.warnings {
        eprintln!("warning: {w}");
    }
    Ok(m)
}

/// Prints one step (` Container web-0-app  Started`), with the container's real name.
fn printer(lc: &Lifecycle) -> impl FnMut(&Event) + '_ {
    move |e: &Event| {
        let name =
            e.id.as_deref()
                .and_then(|id| lc.find(id).ok())
                .map(|r| r.name)
                .unwrap_or_else(|| e.name.clone());
        eprintln!(" {} {}  {}", e.kind.object(), name, e.kind.as_str());
    }
}

/// The containers a failed play created or started (by their real names).
fn made(done: &[Event], lc: &Lifecycle) -> Vec<String> {
    use hoist_reconcile::EventKind;
    let mut names: Vec<String> = Vec::new();
    for e in done {
        let made = matches!(
            e.kind,
            EventKind::Created | EventKind::Recreated | EventKind::Started | EventKind::Restarted
        );
        let name =
            e.id.as_deref()
                .and_then(|id| lc.find(id).ok())
                .map(|r| r.name)
                .unwrap_or_else(|| e.name.clone());
        if made && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}
