//! Container verbs: thin wrappers over hoist_runtime that parse flags, call
//! the library and print like docker.

mod exec;
mod exec_tty;
mod inspect;
mod logs;
mod manage;
mod pod;
mod ps;
mod run;
mod volume;

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
        ContainerCommand::Run(a) => run::run(&root, *a),
        ContainerCommand::Create(a) => run::create(&root, *a),
        ContainerCommand::Start {
            attach,
            interactive,
            containers,
        } => run::start(&root, &containers, attach, interactive),
        ContainerCommand::Restart { time, containers } => run::restart(&root, &containers, time),
        ContainerCommand::Monitor { id, ready_fd } => run::monitor(&root, &id, ready_fd),
        ContainerCommand::Pod { command } => pod::run(&root, command),
        ContainerCommand::PodHolder { id, ready_fd, join } => {
            pod::holder(&root, &id, ready_fd, join.as_deref())
        }
        ContainerCommand::Stop { time, containers } => manage::stop(&root, &containers, time),
        ContainerCommand::Kill { signal, containers } => manage::kill(&root, &containers, &signal),
        ContainerCommand::Rm {
            force,
            volumes,
            containers,
        } => manage::rm(&root, &containers, force, volumes),
        ContainerCommand::Wait { containers } => manage::wait(&root, &containers),
        ContainerCommand::Port { container, port } => manage::port(&root, &container, port),
        ContainerCommand::Ps {
            all,
            quiet,
            format,
            pod,
        } => ps::ps(&root, all, quiet, &format, pod),
        ContainerCommand::Logs {
            follow,
            tail,
            since,
            timestamps,
            container,
        } => logs::logs(
            &root,
            &container,
            follow,
            &tail,
            since.as_deref(),
            timestamps,
        ),
        ContainerCommand::Events(a) => crate::commands::events::run(&root, a),
        ContainerCommand::Exec(a) => exec::exec(&root, *a),
        ContainerCommand::Volume { command } => volume::run(&root, command),
        ContainerCommand::Healthcheck {
            command: HealthcheckCommand::Run { container },
        } => manage::healthcheck(&root, &container),
    }
}
