//! `hoist compose config`: the project as hoist reads it. Warnings (unknown keys, parts not
//! supported yet) go to stderr, the model to stdout.

use crate::cli::compose::ProjectArgs;
use hoist_compose::{render, yaml};
use std::io::Write;

pub fn config(
    args: &ProjectArgs,
    services: bool,
    quiet: bool,
    format: &str,
) -> anyhow::Result<i32> {
    let loaded = super::load(args)?;
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
