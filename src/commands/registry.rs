use crate::cli::{registry::RegistryCommand, GlobalArgs};

pub fn run(cmd: RegistryCommand, _global: &GlobalArgs) -> anyhow::Result<i32> {
    match cmd {}
}
