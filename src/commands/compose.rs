//! `hoist compose config`: load the project with hoist-compose and print it. Warnings
//! (unknown keys, parts not supported yet) go to stderr, the model to stdout.

use crate::cli::compose::{ComposeCommand, ComposeTop, ProjectArgs};
use crate::cli::GlobalArgs;
use anyhow::Context;
use hoist_compose::{render, yaml, Options};
use std::io::Write;

pub fn run(cmd: ComposeTop, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let ComposeTop::Compose { project, command } = cmd;
    match command {
        ComposeCommand::Config {
            services,
            quiet,
            format,
        } => config(&project, services, quiet, &format),
    }
}

fn options(args: &ProjectArgs) -> anyhow::Result<Options> {
    Ok(Options {
        files: args.file.clone(),
        working_dir: std::env::current_dir().context("the current directory")?,
        project_name: args.project_name.clone(),
        env_files: args.env_file.clone(),
        profiles: args.profile.clone(),
        environment: std::env::vars().collect(),
    })
}

fn config(args: &ProjectArgs, services: bool, quiet: bool, format: &str) -> anyhow::Result<i32> {
    let loaded = hoist_compose::load(&options(args)?)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    if quiet {
        return Ok(0);
    }
    let out = if services {
        render::service_names(&loaded.project)
    } else {
        let tree = render::project(&loaded.project);
        match format {
            "json" => render::to_json(&tree) + "\n",
            _ => yaml::emit(&tree),
        }
    };
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(0)
}
