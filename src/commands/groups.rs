//! docker's management groups (cli/groups.rs): each verb goes to the very function its
//! top-level shortcut uses; only `container prune`, `image prune` and the `system` verbs
//! have no shortcut.

use crate::cli::build::BuildCommand;
use crate::cli::container::ContainerCommand;
use crate::cli::groups::{ContainerGroup, GroupTop, ImageGroup};
use crate::cli::image::{ImageCommand, InspectArgs};
use crate::cli::transfer::TransferCommand;
use crate::cli::GlobalArgs;

pub fn run(cmd: GroupTop, global: &GlobalArgs) -> anyhow::Result<i32> {
    match cmd {
        GroupTop::Container { command } => container(command, global),
        GroupTop::Image { command } => image(command, global),
        GroupTop::Volume { command } => {
            crate::commands::container::volume::run(&super::container::root_of(global), command)
        }
        GroupTop::System { command } => super::system::run(command, global),
        GroupTop::Version(a) => super::system::version(&a),
        GroupTop::Info(a) => super::system::info(&a, global),
        GroupTop::Completion(a) => super::system::completion(a.shell),
        GroupTop::Man { dir } => super::system::man_pages(&dir),
    }
}

fn container(cmd: ContainerGroup, global: &GlobalArgs) -> anyhow::Result<i32> {
    let shortcut = match cmd {
        ContainerGroup::Create(a) => ContainerCommand::Create(a),
        ContainerGroup::Run(a) => ContainerCommand::Run(a),
        ContainerGroup::Start(a) => ContainerCommand::Start(a),
        ContainerGroup::Stop(a) => ContainerCommand::Stop(a),
        ContainerGroup::Restart(a) => ContainerCommand::Restart(a),
        ContainerGroup::Kill(a) => ContainerCommand::Kill(a),
        ContainerGroup::Rm(a) => ContainerCommand::Rm(a),
        ContainerGroup::Ls(a) => ContainerCommand::Ps(a),
        ContainerGroup::Logs(a) => ContainerCommand::Logs(a),
        ContainerGroup::Exec(a) => ContainerCommand::Exec(a),
        ContainerGroup::Wait(a) => ContainerCommand::Wait(a),
        ContainerGroup::Port(a) => ContainerCommand::Port(a),
        ContainerGroup::Pause(a) => ContainerCommand::Pause(a),
        ContainerGroup::Unpause(a) => ContainerCommand::Unpause(a),
        ContainerGroup::Stats(a) => ContainerCommand::Stats(a),
        ContainerGroup::Top(a) => ContainerCommand::Top(a),
        ContainerGroup::Rename(a) => ContainerCommand::Rename(a),
        ContainerGroup::Cp(a) => ContainerCommand::Cp(a),
        ContainerGroup::Diff(a) => ContainerCommand::Diff(a),
        ContainerGroup::Export(a) => ContainerCommand::Export(a),
        ContainerGroup::Commit(a) => ContainerCommand::Commit(a),
        ContainerGroup::Update(a) => ContainerCommand::Update(a),
        ContainerGroup::Attach(a) => ContainerCommand::Attach(a),
        ContainerGroup::Inspect(a) => {
            return inspect(a, "container", global);
        }
        ContainerGroup::Prune(a) => {
            return super::container::prune::prune(&super::container::root_of(global), &a.filter)
        }
    };
    super::container::run(shortcut, global)
}

fn image(cmd: ImageGroup, global: &GlobalArgs) -> anyhow::Result<i32> {
    let shortcut = match cmd {
        ImageGroup::Ls(a) => ImageCommand::Images(a),
        ImageGroup::Rm(a) => ImageCommand::Rmi(a),
        ImageGroup::Tag(a) => ImageCommand::Tag(a),
        ImageGroup::Save(a) => ImageCommand::Save(a),
        ImageGroup::Load(a) => ImageCommand::Load(a),
        ImageGroup::Import(a) => ImageCommand::Import(a),
        ImageGroup::Inspect(a) => return inspect(a, "image", global),
        ImageGroup::Pull(a) => return super::transfer::run(TransferCommand::Pull(a), global),
        ImageGroup::Push(a) => return super::transfer::run(TransferCommand::Push(a), global),
        ImageGroup::Build(a) => return super::build::run(BuildCommand::Build(a), global),
        ImageGroup::History(a) => return super::build::run(BuildCommand::History(a), global),
        ImageGroup::Prune(_) => {
            let store = super::image::open_store(global)?;
            return super::image::prune_images(&store);
        }
    };
    super::image::run(shortcut, global)
}

/// `container inspect` and `image inspect`: `hoist inspect --type KIND`.
fn inspect(mut a: InspectArgs, kind: &str, global: &GlobalArgs) -> anyhow::Result<i32> {
    a.kind = Some(kind.to_string());
    super::image::run(ImageCommand::Inspect(a), global)
}
