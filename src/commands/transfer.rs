use crate::cli::{transfer::TransferCommand, GlobalArgs};

pub fn run(cmd: TransferCommand, _global: &GlobalArgs) -> anyhow::Result<i32> {
    match cmd {}
}
