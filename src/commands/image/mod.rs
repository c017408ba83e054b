use crate::cli::{image::ImageCommand, GlobalArgs};

pub fn run(cmd: ImageCommand, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let _ = cmd;
    anyhow::bail!("not yet implemented")
}
