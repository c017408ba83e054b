//! `hoist compose ...`: docker compose's command line. Only `config` exists so far; the
//! verbs that run a project (up, down, ps, logs, ...) wait for the runtime's lifecycle API.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ComposeTop {
    /// Multi-container projects from compose files (so far: config)
    Compose {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(subcommand)]
        command: ComposeCommand,
    },
}

/// Which project: accepted before or after the verb, as docker compose does.
#[derive(Args, Debug, Clone)]
pub struct ProjectArgs {
    /// Compose file (repeatable; later files merge onto earlier ones)
    /// [default: compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml here or
    /// in a parent directory, plus its override file]
    #[arg(short = 'f', long = "file", global = true)]
    pub file: Vec<PathBuf>,
    /// Project name [default: $COMPOSE_PROJECT_NAME, else name: in the file, else the
    /// directory's name]
    #[arg(short = 'p', long = "project-name", global = true)]
    pub project_name: Option<String>,
    /// Variables for interpolation from this file instead of .env (repeatable)
    #[arg(long, global = true)]
    pub env_file: Vec<PathBuf>,
    /// Enable services of this profile (repeatable; * for all)
    #[arg(long, global = true)]
    pub profile: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum ComposeCommand {
    /// Print the project as hoist reads it: files merged, variables interpolated, every short
    /// syntax in its long form
    Config {
        /// Only the service names, one a line
        #[arg(long)]
        services: bool,
        /// Only validate: print nothing, exit 0 when the project is valid
        #[arg(short, long)]
        quiet: bool,
        /// Output format: yaml or json
        #[arg(long, default_value = "yaml", value_parser = ["yaml", "json"])]
        format: String,
    },
}
