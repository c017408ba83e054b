//! The whole pipeline for one project: find the files, read the variables, load and
//! interpolate each file, merge them in order, name the project, normalize, apply profiles,
//! validate.

use crate::error::{ComposeError, Result};
use crate::interpolate::{interpolate_tree, Vars};
use crate::model::{Project, Warning};
use crate::normalize::{clean, normalize, Inputs};
use crate::{envfile, merge, validate, yaml};
use std::path::{Path, PathBuf};

/// The default file names, in compose's order of preference.
pub const FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];
const OVERRIDE_NAMES: [&str; 4] = [
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

/// What the command line (and the process) says; the library reads no global state.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-f` files in order; empty: discover from `working_dir` (or `COMPOSE_FILE`).
    pub files: Vec<PathBuf>,
    /// Where discovery starts and relative `-f` paths are resolved.
    pub working_dir: PathBuf,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--env-file` (several allowed, later ones win); empty: `.env` in the project directory.
    pub env_files: Vec<PathBuf>,
    /// `--profile`; empty: `COMPOSE_PROFILES`.
    pub profiles: Vec<String>,
    /// The process environment (it wins over `.env`, as in compose).
    pub environment: Vars,
}

#[derive(Debug, Clone)]
pub struct Loaded {
    pub project: Project,
    /// The files read, in merge order.
    pub files: Vec<PathBuf>,
    pub warnings: Vec<Warning>,
    /// Services switched off by profiles: their containers are not orphans.
    pub inactive: Vec<String>,
}

pub fn load(opts: &Options) -> Result<Loaded> {
    let files = compose_files(opts)?;
    let dir = files[0]
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| opts.working_dir.clone());
    let vars = variables(opts, &dir)?;
    let mut warnings = Vec::new();
    let mut merged: Option<yaml::Node> = None;
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|source| ComposeError::Io {
            path: file.clone(),
            source,
        })?;
        let mut node = yaml::load(&text, &file.to_string_lossy())?;
        interpolate_tree(&mut node, &vars, "", &mut warnings)?;
        merged = Some(match merged {
            Some(base) => merge::merge(base, node),
            None => node,
        });
    }
    let mut root = merged.expect("at least one file");
    merge::strip_resets(&mut root);
    if root.is_null() {
        return Err(crate::error::invalid(
            &root.pos,
            "(top level)",
            "the file is empty; a compose file declares at least `services:`",
        ));
    }
    let name = project_name(opts, &vars, &root, &dir)?;
    let profiles: Vec<String> = if opts.profiles.is_empty() {
        vars.get("COMPOSE_PROFILES")
            .map(|p| {
                p.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        opts.profiles.clone()
    };
    let normalized = normalize(
        &root,
        &Inputs {
            name: &name,
            dir: &dir,
            vars: &vars,
            profiles: &profiles,
        },
        &mut warnings,
    )?;
    let problems = validate::validate(&normalized.project, &normalized.disabled);
    if !problems.is_empty() {
        return Err(ComposeError::Validation { problems });
    }
    Ok(Loaded {
        project: normalized.project,
        files,
        warnings,
        inactive: normalized.disabled.into_keys().collect(),
    })
}

/// `-f` files (made absolute), else `COMPOSE_FILE`, else the first default name found in the
/// working directory or a parent, plus its override file beside it.
pub fn compose_files(opts: &Options) -> Result<Vec<PathBuf>> {
    let abs = |p: &Path| clean(&opts.working_dir.join(p));
    if !opts.files.is_empty() {
        return Ok(opts.files.iter().map(|f| abs(f)).collect());
    }
    if let Some(list) = opts
        .environment
        .get("COMPOSE_FILE")
        .filter(|l| !l.is_empty())
    {
        let sep = opts
            .environment
            .get("COMPOSE_PATH_SEPARATOR")
            .map(String::as_str)
            .unwrap_or(":");
        return Ok(list
            .split(sep)
            .filter(|f| !f.is_empty())
            .map(|f| abs(Path::new(f)))
            .collect());
    }
    let start = clean(&opts.working_dir);
    for dir in start.ancestors() {
        if let Some(main) = FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
            let mut files = vec![main];
            if let Some(o) = OVERRIDE_NAMES
                .iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())
            {
                files.push(o);
            }
            return Ok(files);
        }
    }
    Err(ComposeError::NoFile { dir: start })
}

/// `.env` (or `--env-file`s) under the process environment.
fn variables(opts: &Options, dir: &Path) -> Result<Vars> {
    let outer = |name: &str| opts.environment.get(name).cloned();
    let mut vars = Vars::new();
    if opts.env_files.is_empty() {
        let dotenv = dir.join(".env");
        if dotenv.is_file() {
            vars.extend(envfile::read(&dotenv, &outer)?);
        }
    } else {
        for f in &opts.env_files {
            let path = clean(&opts.working_dir.join(f));
            vars.extend(envfile::read(&path, &outer)?);
        }
    }
    vars.extend(opts.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(vars)
}

/// `-p`, else `COMPOSE_PROJECT_NAME`, else `name:`, else the project directory's name made
/// valid. A name given explicitly must already be valid (compose refuses, not rewrites, it).
fn project_name(opts: &Options, vars: &Vars, root: &yaml::Node, dir: &Path) -> Result<String> {
    let explicit = opts.project_name.clone().or_else(|| {
        vars.get("COMPOSE_PROJECT_NAME")
            .filter(|n| !n.is_empty())
            .cloned()
    });
    if let Some(name) = explicit {
        return valid_name(&name);
    }
    if let Some(node) = root.get("name") {
        if let Some(name) = node.as_scalar().filter(|n| !n.is_empty()) {
            return valid_name(name)
                .map_err(|e| crate::error::invalid(&node.pos, "name", e.to_string()));
        }
    }
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = normalize_name(&base);
    if name.is_empty() {
        return valid_name(&base);
    }
    Ok(name)
}

/// Lowercase, only `[a-z0-9_-]`, starting with a letter or digit: compose's rule.
pub fn normalize_name(s: &str) -> String {
    let lower: String = s
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lower.trim_start_matches(['_', '-']).to_string()
}

fn valid_name(name: &str) -> Result<String> {
    if !name.is_empty() && normalize_name(name) == name {
        Ok(name.to_string())
    } else {
        Err(ComposeError::Validation {
            problems: vec![format!(
                "project name {name:?} is not valid: use lowercase letters, digits, '-' and '_', starting with a letter or digit"
            )],
        })
    }
}
