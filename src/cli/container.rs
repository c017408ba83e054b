use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum ContainerCommand {}
