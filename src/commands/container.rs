use crate::cli::{container::ContainerCommand, GlobalArgs};

pub fn run(cmd: ContainerCommand, _global: &GlobalArgs) -> anyhow::Result<i32> {
    match cmd {}
}
