use crate::cli::{build::BuildCommand, GlobalArgs};

pub fn run(cmd: BuildCommand, _global: &GlobalArgs) -> anyhow::Result<i32> {
    match cmd {}
}
