//! `hoist build` and `hoist history`.

mod cache;
mod history;
mod options;
mod outputs;
mod progress;
mod prune;
mod registry;

use std::collections::BTreeMap;

use anyhow::{bail, Context as _};
use hoist_builder::{BuildOptions, Network};
use hoist_store::Store;

use crate::cli::build::{BuildArgs, BuildCommand, BuilderCommand};
use crate::cli::GlobalArgs;

pub fn run(cmd: BuildCommand, global: &GlobalArgs) -> anyhow::Result<i32> {
    match cmd {
        BuildCommand::Build(args) => build(*args, global),
        BuildCommand::History(args) => history::run(args, global),
        BuildCommand::Builder(BuilderCommand::Prune(args)) => prune::run(args, global),
    }
}

pub(crate) fn open_store(global: &GlobalArgs) -> anyhow::Result<Store> {
    let root = global.root.clone().unwrap_or_else(Store::default_root);
    Store::open(&root).with_context(|| format!("cannot open the store at {}", root.display()))
}

fn build(args: BuildArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let store = open_store(global)?;
    let mut build_args = BTreeMap::new();
    for item in &args.build_args {
        match item.split_once('=') {
            Some((k, v)) => {
                build_args.insert(k.to_string(), v.to_string());
            }
            // docker: a bare KEY takes its value from the environment, if set.
            None => {
                if let Ok(v) = std::env::var(item) {
                    build_args.insert(item.clone(), v);
                }
            }
        }
    }
    let source_date_epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v
            .parse::<i64>()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"))?,
        _ => 0,
    };
    let mut tags = args.tags.clone();
    let outputs = options::outputs(&args.outputs, &mut tags)?;
    let push = args.push || outputs.contains(&options::Output::Registry);
    let secrets = options::secrets(&args.secrets)?;
    let build_contexts = options::build_contexts(&args.build_contexts)?;
    let labels = options::pairs(&args.labels, "--label")?;
    let annotations = options::pairs(&args.annotations, "--annotation")?;
    let cache_to = args
        .cache_to
        .iter()
        .map(|s| cache::parse(s, "--cache-to", "dest"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cache_from = args
        .cache_from
        .iter()
        .map(|s| cache::parse(s, "--cache-from", "src"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let platforms = match &args.platform {
        Some(list) => Some(
            hoist_builder::platform::parse_list(list)
                .map_err(|e| anyhow::anyhow!("--platform: {e}"))?,
        ),
        None => None,
    };
    if platforms.as_ref().is_some_and(|p| p.len() > 1)
        && outputs
            .iter()
            .any(|o| matches!(o, options::Output::Local(_)))
    {
        bail!("--output type=local takes one platform; build each platform on its own for a directory");
    }
    if push && tags.is_empty() {
        bail!("--push needs a name to push to: add -t REGISTRY/REPO:TAG");
    }
    if !args.context.is_dir() {
        bail!(
            "build context {} is not a directory: give the folder holding your files",
            args.context.display()
        );
    }
    let opts = BuildOptions {
        context: args.context.clone(),
        dockerfile: args.file.clone(),
        tags: tags.clone(),
        build_args,
        target: args.target.clone(),
        no_cache: args.no_cache,
        network: Network::from_docker(&args.network).expect("clap checked the value"),
        compression: args.compression.parse().expect("clap checked the value"),
        source_date_epoch,
        pull_missing: (args.pull == "missing")
            .then(|| registry::pull_missing(global, &args.tls, args.progress == "quiet")),
        secrets,
        build_contexts,
        labels,
        annotations,
        cache_import: cache::import(global, &args.tls, &cache_from, args.progress == "quiet")?,
        platform: None,
    };
    let printer = progress::Printer::new(&args.progress);
    let built = match &platforms {
        Some(platforms) => {
            hoist_builder::build_platforms(&store, &opts, platforms, &|e| printer.event(e))?
        }
        None => hoist_builder::build(&store, &opts, &|e| printer.event(e))?,
    };
    for name in &built.names {
        printer.note(&format!("Named {name}"));
    }
    outputs::export(&store, global, &built, &outputs)?;
    if let Some(path) = &args.iidfile {
        outputs::iidfile(path, &built)?;
    }
    if let Some(path) = &args.metadata_file {
        outputs::metadata_file(path, &store, &built)?;
    }
    cache::export(
        global,
        &args.tls,
        &cache_to,
        &built,
        args.progress == "quiet",
    )?;
    if push {
        registry::push_tags(global, &tags, &args.tls, &args.progress)?;
    }
    println!("{}", built.digest);
    Ok(0)
}
