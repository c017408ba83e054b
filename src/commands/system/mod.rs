//! `hoist system df|info|prune|events|check`, `hoist version`, `hoist info`, and the shell
//! completion scripts and man pages generated from the command-line definitions.

mod df;
mod generate;
mod info;

pub use generate::{completion, man_pages};
pub use info::{info, version};

use crate::cli::system::SystemCommand;
use crate::cli::GlobalArgs;

pub fn run(cmd: SystemCommand, global: &GlobalArgs) -> anyhow::Result<i32> {
    let root = super::container::root_of(global);
    match cmd {
        SystemCommand::Df(a) => df::run(&root, &a),
        SystemCommand::Info(a) => info(&a, global),
        SystemCommand::Events(a) => super::events::run(&root, a),
        SystemCommand::Check { repair } => super::image::check(global, repair),
        SystemCommand::Prune { force, volumes } => {
            let store = super::image::open_store(global)?;
            let code = super::image::prune_store(&store, global)?;
            if volumes {
                super::container::volume::run(
                    &root,
                    crate::cli::container::VolumeCommand::Prune { force },
                )?;
            }
            Ok(code)
        }
    }
}
