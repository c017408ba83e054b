//! `hoist compose`: load the project with hoist-compose, turn it into the reconciler's
//! desired state, read what exists from the containers' labels, and plan/apply with
//! hoist-reconcile over the runtime's lifecycle API. Each verb is a file; this one loads.

mod build;
mod config;
mod exec;
mod image_list;
mod images;
mod kill_rm;
mod logs;
mod ls;
mod manage;
mod port;
mod progress;
mod ps;
mod pull_push;
mod run;
mod top;
mod up;

use crate::cli::compose::{ComposeCommand, ComposeTop, ProjectArgs};
use crate::cli::GlobalArgs;
use anyhow::Context;
use hoist_compose::desired::{
    self, KEYS, LABEL_NUMBER, LABEL_ONEOFF, LABEL_PROJECT, LABEL_SERVICE,
};
use hoist_compose::{Loaded, Options};
use hoist_reconcile::runtime::{observe, ContainerSpec, RuntimeDriver};
use hoist_reconcile::{Desired, Observed};
use hoist_runtime::container::{ContainerRecord, State};
use hoist_runtime::lifecycle::{ContainerFilter, Lifecycle};

pub fn run(cmd: ComposeTop, global: &GlobalArgs) -> anyhow::Result<i32> {
    let ComposeTop::Compose {
        mut project,
        command,
    } = cmd;
    let (files, name) = match &command {
        ComposeCommand::Config { after, .. }
        | ComposeCommand::Start { after, .. }
        | ComposeCommand::Stop { after, .. }
        | ComposeCommand::Restart { after, .. }
        | ComposeCommand::Kill { after, .. }
        | ComposeCommand::Top { after, .. }
        | ComposeCommand::Port { after, .. }
        | ComposeCommand::Images { after, .. }
        | ComposeCommand::Pull { after, .. }
        | ComposeCommand::Push { after, .. }
        | ComposeCommand::Build { after, .. } => (after.file.clone(), after.project_name.clone()),
        ComposeCommand::Up(a) => (a.after.file.clone(), a.after.project_name.clone()),
        ComposeCommand::Down(a) => (a.after.file.clone(), a.after.project_name.clone()),
        ComposeCommand::Ps(a) => (a.after.file.clone(), a.after.project_name.clone()),
        ComposeCommand::Logs(a) => (Vec::new(), a.after.project_name.clone()),
        ComposeCommand::Exec(a) => (Vec::new(), a.after.project_name.clone()),
        ComposeCommand::Rm { after, .. } => (Vec::new(), after.project_name.clone()),
        ComposeCommand::Run(a) => (Vec::new(), a.project_name.clone()),
        ComposeCommand::Ls { .. } => (Vec::new(), None),
    };
    project.file.extend(files);
    if name.is_some() {
        project.project_name = name;
    }
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
        ComposeCommand::Exec(a) => exec::exec(&open()?, &a),
        ComposeCommand::Run(a) => run::run(&open()?, &a),
        ComposeCommand::Kill {
            signal, services, ..
        } => kill_rm::kill(&open()?, &signal, &services),
        ComposeCommand::Rm {
            force,
            stop,
            volumes,
            services,
            ..
        } => kill_rm::rm(&open()?, force, stop, volumes, &services),
        ComposeCommand::Top { services, .. } => top::top(&open()?, &services),
        ComposeCommand::Port {
            protocol,
            index,
            service,
            private_port,
            ..
        } => port::port(&open()?, &service, private_port, &protocol, index),
        ComposeCommand::Ls { all, quiet, format } => {
            ls::ls(&super::container::root_of(global), all, quiet, &format)
        }
        ComposeCommand::Images {
            quiet, services, ..
        } => image_list::images(&open()?, quiet, &services),
        ComposeCommand::Pull {
            ignore_pull_failures,
            tls,
            services,
            ..
        } => pull_push::pull(&open()?, &services, &tls, ignore_pull_failures),
        ComposeCommand::Push {
            ignore_push_failures,
            tls,
            services,
            ..
        } => pull_push::push(&open()?, &services, &tls, ignore_push_failures),
        ComposeCommand::Build {
            no_cache,
            build_arg,
            services,
            ..
        } => build::build(&open()?, &services, no_cache, &build_arg),
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

/// Whether a container is a one-off of `compose run` (`com.docker.compose.oneoff=True`).
fn is_oneoff(rec: &ContainerRecord) -> bool {
    rec.labels
        .get(LABEL_ONEOFF)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
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

    /// Fails naming the first of `services` the project does not have.
    fn check_services(&self, services: &[String]) -> anyhow::Result<()> {
        match services
            .iter()
            .find(|s| !self.project().services.contains_key(*s))
        {
            Some(s) => anyhow::bail!("no such service: {s}"),
            None => Ok(()),
        }
    }

    /// The project's containers (of `services`, all when empty; only running ones with
    /// `running`), one-off containers included, by service and number.
    fn containers(&self, services: &[String], running: bool) -> Vec<(ContainerRecord, State)> {
        let filter = ContainerFilter {
            running,
            ..ContainerFilter::labels(&[(LABEL_PROJECT, &self.project().name)])
        };
        let label = |r: &ContainerRecord, k: &str| r.labels.get(k).cloned().unwrap_or_default();
        let mut list = self.lifecycle.list(&filter);
        list.retain(|(r, _)| services.is_empty() || services.contains(&label(r, LABEL_SERVICE)));
        list.sort_by_key(|(r, _)| {
            let n: u32 = label(r, LABEL_NUMBER).parse().unwrap_or(0);
            (
                label(r, LABEL_SERVICE),
                label(r, LABEL_ONEOFF),
                n,
                r.name.clone(),
            )
        });
        list
    }

    fn driver(&self) -> RuntimeDriver<'_> {
        RuntimeDriver {
            lifecycle: &self.lifecycle,
        }
    }
}
