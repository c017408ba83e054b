//! `hoist compose`: load the project with hoist-compose, turn it into the reconciler's
//! desired state, read what exists from the containers' labels, and plan/apply with
//! hoist-reconcile over the runtime's lifecycle API. Each verb is a file; this one loads.

mod config;
mod images;
mod logs;
mod manage;
mod progress;
mod ps;
mod up;

use crate::cli::compose::{ComposeCommand, ComposeTop, ProjectArgs};
use crate::cli::GlobalArgs;
use anyhow::Context;
use hoist_compose::desired::{self, KEYS};
use hoist_compose::{Loaded, Options};
use hoist_reconcile::runtime::{observe, ContainerSpec, RuntimeDriver};
use hoist_reconcile::{Desired, Observed};
use hoist_runtime::lifecycle::Lifecycle;

pub fn run(cmd: ComposeTop, global: &GlobalArgs) -> anyhow::Result<i32> {
    let ComposeTop::Compose {
        mut project,
        command,
    } = cmd;
    let after = match &command {
        ComposeCommand::Config { after, .. }
        | ComposeCommand::Start { after, .. }
        | ComposeCommand::Stop { after, .. }
        | ComposeCommand::Restart { after, .. } => after.file.clone(),
        ComposeCommand::Up(a) => a.after.file.clone(),
        ComposeCommand::Down(a) => a.after.file.clone(),
        ComposeCommand::Ps(a) => a.after.file.clone(),
        ComposeCommand::Logs(_) => Vec::new(),
    };
    project.file.extend(after);
    let open = || Session::open(&project, global);
    match command {
        ComposeCommand::Config {
            services,
            quiet,
            format,
            ..
        } => config::config(&project, services, quiet, &format),
        ComposeCommand::Up(a) => up::up(&open()?, &a),
        ComposeCommand::Down(a) => manage::down(&open()?, &a),
        ComposeCommand::Start { services, .. } => manage::start(&open()?, &services),
        ComposeCommand::Stop {
            timeout, services, ..
        } => manage::stop(&open()?, timeout, &services),
        ComposeCommand::Restart {
            timeout, services, ..
        } => manage::restart(&open()?, timeout, &services),
        ComposeCommand::Ps(a) => ps::ps(&open()?, &a),
        ComposeCommand::Logs(a) => logs::logs(&open()?, &a),
    }
}

fn options(args: &ProjectArgs) -> anyhow::Result<Options> {
    Ok(Options {
        files: args.file.clone(),
        working_dir: std::env::current_dir().context("the current directory")?,
        project_name: args.project_name.clone(),
        env_files: args.env_file.clone(),
        profiles: args.profile.clone(),
        environment: std::env::vars().collect(),
    })
}

/// Loads the project, printing its warnings to stderr.
fn load(args: &ProjectArgs) -> anyhow::Result<Loaded> {
    let loaded = hoist_compose::load(&options(args)?)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded)
}

/// A loaded project and the lifecycle it runs under.
pub struct Session {
    pub loaded: Loaded,
    pub lifecycle: Lifecycle,
}

impl Session {
    fn open(args: &ProjectArgs, global: &GlobalArgs) -> anyhow::Result<Session> {
        let loaded = load(args)?;
        let root = super::container::root_of(global);
        let exe = std::env::current_exe().context("finding the hoist binary")?;
        Ok(Session {
            loaded,
            lifecycle: Lifecycle::new(root, exe),
        })
    }

    fn project(&self) -> &hoist_compose::Project {
        &self.loaded.project
    }

    /// The desired state, with each service's image as the store has it now.
    fn desired(&self) -> Desired<ContainerSpec> {
        let ctx = desired::Context {
            files: self.loaded.files.clone(),
            inactive: self.loaded.inactive.clone(),
            image_ids: images::image_ids(self.lifecycle.root(), self.project()),
        };
        desired::desired(self.project(), &ctx)
    }

    fn observe(&self, desired: &Desired<ContainerSpec>) -> Observed {
        let nets: Vec<&str> = desired.networks.iter().map(|n| n.name.as_str()).collect();
        let vols: Vec<&str> = desired.volumes.iter().map(|v| v.name.as_str()).collect();
        observe(&self.lifecycle, &KEYS, &self.project().name, &nets, &vols)
    }

    fn driver(&self) -> RuntimeDriver<'_> {
        RuntimeDriver {
            lifecycle: &self.lifecycle,
        }
    }
}
