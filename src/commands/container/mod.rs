//! Container verbs: thin wrappers over hoist_runtime that parse flags, call
//! the library and print like docker.

mod attach;
mod commit;
mod cp;
mod diff;
pub(crate) mod exec;
mod exec_tty;
mod export;
mod inspect;
mod logs;
mod manage;
mod mount_flag;
mod pause;
mod pod;
pub mod prune;
mod ps;
mod ps_cache;
pub(crate) mod ps_filter;
mod ps_row;
mod pull;
mod rename;
mod run;
pub mod run_flags;
mod stats;
pub(crate) mod top;
mod update;
pub mod volume;

use crate::cli::container::{ContainerCommand, HealthcheckCommand};
use crate::cli::GlobalArgs;
use crate::commands::coded;
use hoist_runtime::RuntimeError;
use std::path::PathBuf;

pub use inspect::try_inspect;

/// The store root from --root / HOIST_ROOT / the default.
pub fn root_of(global: &GlobalArgs) -> PathBuf {
    global
        .root
        .clone()
        .unwrap_or_else(hoist_store::Store::default_root)
}

/// A runtime error as an anyhow error carrying docker's exit code for `run`.
pub fn run_error(e: RuntimeError) -> anyhow::Error {
    let code = e.exit_code();
    coded(code, anyhow::Error::new(e))
}

pub fn run(cmd: ContainerCommand, global: &GlobalArgs) -> anyhow::Result<i32> {
    let root = root_of(global);
    match cmd {
        ContainerCommand::Run(a) => {
            pull::ensure_image(&root, a.create.image(), &a.create.pull)?;
            run::run(&root, *a)
        }
        ContainerCommand::Create(a) => {
            pull::ensure_image(&root, a.image(), &a.pull)?;
            run::create(&root, *a)
        }
        ContainerCommand::Start(a) => run::start(&root, &a.containers, a.attach, a.interactive),
        ContainerCommand::Restart(a) => run::restart(&root, &a.containers, a.time),
        ContainerCommand::Monitor { id, ready_fd } => run::monitor(&root, &id, ready_fd),
        ContainerCommand::Pod { command } => pod::run(&root, command),
        ContainerCommand::PodHolder { id, ready_fd, join } => {
            pod::holder(&root, &id, ready_fd, join.as_deref())
        }
        ContainerCommand::Stop(a) => manage::stop(&root, &a.containers, a.time),
        ContainerCommand::Kill(a) => manage::kill(&root, &a.containers, &a.signal),
        ContainerCommand::Rm(a) => manage::rm(&root, &a.containers, a.force, a.volumes),
        ContainerCommand::Wait(a) => manage::wait(&root, &a.containers),
        ContainerCommand::Port(a) => manage::port(&root, &a.container, a.port),
        ContainerCommand::Ps(a) => ps::ps(&root, &a),
        ContainerCommand::Pause(a) => pause::pause(&root, &a.containers),
        ContainerCommand::Unpause(a) => pause::unpause(&root, &a.containers),
        ContainerCommand::Stats(a) => stats::stats(&root, &a),
        ContainerCommand::Top(a) => top::top(&root, &a),
        ContainerCommand::Rename(a) => rename::rename(&root, &a.container, &a.new_name),
        ContainerCommand::Cp(a) => cp::cp(&root, &a),
        ContainerCommand::Diff(a) => diff::diff(&root, &a.container),
        ContainerCommand::Export(a) => export::export(&root, &a),
        ContainerCommand::Commit(a) => commit::commit(&root, &a),
        ContainerCommand::Update(a) => update::update(&root, &a),
        ContainerCommand::Attach(a) => attach::attach(&root, &a),
        ContainerCommand::Logs(a) => logs::logs(
            &root,
            &a.container,
            a.follow,
            &a.tail,
            a.since.as_deref(),
            a.timestamps,
        ),
        ContainerCommand::Events(a) => crate::commands::events::run(&root, a),
        ContainerCommand::Exec(a) => exec::exec(&root, *a),
        ContainerCommand::Healthcheck {
            command: HealthcheckCommand::Run { container },
        } => manage::healthcheck(&root, &container),
    }
}
