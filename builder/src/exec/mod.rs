//! Running a plan: each needed stage in turn (independent stages in parallel
//! threads), each step either found in the cache or carried out — metadata
//! instructions edit the config, COPY/ADD write layers directly, RUN runs in
//! a container from the runtime — and finally the image is written to the store.

mod copy;
mod image;
mod layer_tree;
mod layers;
mod metadata;
mod mounts;
mod private;
mod run;
mod stage;
mod staging;
mod stubs;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hoist_store::layer::Compression;
use hoist_store::Store;

use crate::cache::{Cache, LayerRecord, StepKey};
use crate::config::ImageConfig;
use crate::context::SourceTree;
use crate::dockerfile::{self, Dockerfile};
use crate::error::{BuildError, Result};
use crate::filehash::FileHashes;
use crate::plan::{self, Plan};
use crate::secrets::SecretSource;

/// Network for RUN steps (`hoist build --network`, `RUN --network`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// Loopback only: hoist's default, so builds are hermetic unless asked.
    #[default]
    None,
    Host,
    /// docker's `default` for builds: the default bridge network `bridge`,
    /// with an address of the step's own and a way out through NAT.
    Bridge,
}

impl Network {
    /// docker's names: `default`, `none`, `host`.
    pub fn from_docker(name: &str) -> Option<Network> {
        match name {
            "default" => Some(Network::Bridge),
            "none" => Some(Network::None),
            "host" => Some(Network::Host),
            _ => None,
        }
    }
}

/// Everything `hoist build` passes in.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The build context directory.
    pub context: PathBuf,
    /// The Dockerfile (default: `<context>/Dockerfile`).
    pub dockerfile: Option<PathBuf>,
    /// Names to give the image.
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub network: Network,
    pub compression: Compression,
    /// Timestamps for files and history (SOURCE_DATE_EPOCH, default 0).
    pub source_date_epoch: i64,
    /// Fetches a base image that is not in the store (docker's pull-if-missing);
    /// `None` means only local images may be used.
    pub pull_missing: Option<PullMissing>,
    /// `--secret id=ID,...`: what `RUN --mount=type=secret,id=ID` reads.
    pub secrets: BTreeMap<String, SecretSource>,
    /// `--build-context NAME=DIR|docker-image://REF`: what FROM, COPY --from
    /// and RUN --mount from= find under NAME.
    pub build_contexts: BTreeMap<String, NamedContext>,
    /// `--label K=V`: labels set on the image after the Dockerfile's.
    pub labels: BTreeMap<String, String>,
    /// `--annotation K=V`: annotations on the image manifest.
    pub annotations: BTreeMap<String, String>,
    /// `--cache-from`: asked for the steps the local cache lacks.
    pub cache_import: Option<crate::cache_export::ImportHook>,
    /// The platform to build for (`--platform`); None: this host's. A
    /// foreign platform's RUN steps run under qemu-user (runtime's
    /// emulation.rs).
    pub platform: Option<hoist_store::Platform>,
}

/// A named build context (`--build-context`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedContext {
    /// A local directory, read like the build context (.dockerignore included).
    Dir(PathBuf),
    /// An image, by reference, used where the name appears.
    Image(String),
}

/// Brings the named image into the store, or says why it could not. The
/// builder knows nothing of registries: the CLI supplies this.
#[derive(Clone)]
pub struct PullMissing(pub Arc<PullFn>);

/// `(name, platform) -> Ok(manifest digest)` once that platform's image is
/// in the store, else why not.
pub type PullFn =
    dyn Fn(&str, &hoist_store::Platform) -> std::result::Result<String, String> + Send + Sync;

impl std::fmt::Debug for PullMissing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PullMissing(..)")
    }
}

/// Progress, for the CLI to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Warning(String),
    /// A step starts: `[stage n/total] INSTRUCTION`.
    Step {
        stage: String,
        number: usize,
        total: usize,
        text: String,
    },
    /// The step just announced was found in the cache.
    Cached {
        stage: String,
        number: usize,
    },
    /// A line a RUN step printed.
    Output {
        stage: String,
        line: String,
    },
    /// The image was written.
    Written {
        digest: String,
    },
}

/// Where events go.
pub type Events<'a> = &'a (dyn Fn(Event) + Sync);

/// The result: the image's manifest digest and what else was written.
#[derive(Debug, Clone)]
pub struct Built {
    /// Digest of the image manifest (the image's identity).
    pub digest: String,
    pub config_digest: String,
    pub names: Vec<String>,
    /// The image's layer digests, bottom first.
    pub layers: Vec<String>,
    /// Every step the build found in a cache or made, for `--cache-to`.
    pub steps: Vec<crate::cache_export::UsedStep>,
    /// A multi-platform build (`digest` is then an image index's): each
    /// platform's image manifest digest, in `--platform` order. Empty for
    /// one image.
    pub platforms: Vec<(hoist_store::Platform, String)>,
}

/// A finished stage: its layers, config, and cache key.
#[derive(Debug, Clone)]
pub(crate) struct StageOutput {
    pub layers: Vec<LayerRecord>,
    pub config: ImageConfig,
    pub key: StepKey,
}

/// What every stage of one build shares.
pub(crate) struct Shared<'a> {
    pub store: &'a Store,
    pub cache: Cache,
    pub df: &'a Dockerfile,
    pub plan: &'a Plan,
    pub opts: &'a BuildOptions,
    pub context: SourceTree,
    pub events: Events<'a>,
    pub outputs: Mutex<Vec<Option<StageOutput>>>,
    pub created: String,
    /// Content hashes of context files, remembered between builds.
    pub file_hashes: FileHashes,
    /// Steps found or made, in order, for `--cache-to`.
    pub used: Mutex<Vec<crate::cache_export::UsedStep>>,
    /// The qemu-user interpreter of each foreign platform a stage runs on,
    /// checked before the build starts.
    pub emulators: BTreeMap<String, hoist_runtime::emulation::Emulator>,
    /// COPY layers packed straight from the build context, by the chain ID
    /// (hex) of their layer stack: written out as snapshots only when a
    /// later step needs the root filesystem (`layers::snapshots`).
    pub pending_snapshots: Mutex<BTreeMap<String, layer_tree::PendingSnapshot>>,
}

impl Shared<'_> {
    pub fn emit(&self, event: Event) {
        (self.events)(event)
    }

    pub fn output_of(&self, stage: usize) -> StageOutput {
        self.outputs.lock().expect("outputs lock")[stage]
            .clone()
            .expect("stages run after the stages they need")
    }
}

/// Builds the image the options describe.
pub fn build(store: &Store, opts: &BuildOptions, events: Events) -> Result<Built> {
    let df = read_dockerfile(opts)?;
    if let Some(syntax) = &df.syntax {
        events(Event::Warning(format!(
            "# syntax={syntax} is ignored: hoist builds the Dockerfile with its own frontend"
        )));
    }
    let platform = opts
        .platform
        .clone()
        .unwrap_or_else(hoist_store::host_platform);
    let plan = plan::plan(&df, opts.target.as_deref(), &opts.build_args, &platform)?;
    let emulators = emulators(&plan)?;
    if !plan.unused_build_args.is_empty() {
        events(Event::Warning(format!(
            "build args not consumed by any ARG: {}",
            plan.unused_build_args.join(", ")
        )));
    }
    let context = SourceTree::context(&opts.context).map_err(|message| BuildError::Context {
        path: opts.context.display().to_string(),
        source: std::io::Error::other(message),
    })?;
    let cache = Cache::open(store.root()).map_err(BuildError::io("cannot open the build cache"))?;
    private::sweep_private_files();
    let file_hashes = FileHashes::load(&store.root().join("build-cache"), context.root());
    let shared = Shared {
        store,
        cache,
        df: &df,
        plan: &plan,
        opts,
        context,
        events,
        outputs: Mutex::new(vec![None; plan.stages.len()]),
        created: crate::config::rfc3339(opts.source_date_epoch),
        file_hashes,
        used: Mutex::new(Vec::new()),
        emulators,
        pending_snapshots: Mutex::new(BTreeMap::new()),
    };
    let result = plan
        .waves
        .iter()
        .try_for_each(|wave| run_wave(&shared, wave));
    shared.file_hashes.save();
    result?;
    let output = shared.output_of(plan.target);
    let built = image::write_image(&shared, output)?;
    events(Event::Written {
        digest: built.digest.clone(),
    });
    Ok(built)
}

/// The Dockerfile the options name, parsed.
fn read_dockerfile(opts: &BuildOptions) -> Result<Dockerfile> {
    let dockerfile_path = opts
        .dockerfile
        .clone()
        .unwrap_or_else(|| opts.context.join("Dockerfile"));
    let text = std::fs::read_to_string(&dockerfile_path).map_err(|source| BuildError::Io {
        what: format!("cannot read the Dockerfile {}", dockerfile_path.display()),
        source,
    })?;
    let name = dockerfile_path
        .file_name()
        .map_or("Dockerfile".to_string(), |n| {
            n.to_string_lossy().to_string()
        });
    Ok(dockerfile::parse(&name, &text)?)
}

/// Whether the build can run for `platform`: the Dockerfile parses and
/// plans, and every platform its needed stages run on (`FROM --platform`
/// included) has an interpreter. Nothing is built.
pub fn check_platform(opts: &BuildOptions, platform: &hoist_store::Platform) -> Result<()> {
    let df = read_dockerfile(opts)?;
    let plan = plan::plan(&df, opts.target.as_deref(), &opts.build_args, platform)?;
    emulators(&plan).map(|_| ())
}

/// The emulator of every foreign platform a needed stage with RUN steps
/// runs on: such a platform hoist cannot run fails here, before any step.
/// Stages without RUN (COPY'd cross-compiled programs, metadata) need none.
fn emulators(plan: &Plan) -> Result<BTreeMap<String, hoist_runtime::emulation::Emulator>> {
    let mut out = BTreeMap::new();
    for &i in plan.waves.iter().flatten() {
        let stage = &plan.stages[i];
        let runs = stage
            .steps
            .iter()
            .any(|s| matches!(s.kind, dockerfile::Kind::Run { .. }));
        if !runs || out.contains_key(&stage.platform.to_string()) {
            continue;
        }
        if let Some(emulator) = emulator_for(&stage.platform)? {
            out.insert(stage.platform.to_string(), emulator);
        }
    }
    Ok(out)
}

/// The interpreter `platform` needs (None: native), as a build error.
pub(crate) fn emulator_for(
    platform: &hoist_store::Platform,
) -> Result<Option<hoist_runtime::emulation::Emulator>> {
    hoist_runtime::emulation::emulator_for(platform)
        .map_err(|e| BuildError::Platform(e.to_string()))
}

/// Runs the stages of one wave, in parallel when there are several.
fn run_wave(shared: &Shared, wave: &[usize]) -> Result<()> {
    if let [only] = wave {
        let out = stage::run_stage(shared, *only)?;
        shared.outputs.lock().expect("outputs lock")[*only] = Some(out);
        return Ok(());
    }
    let results: Vec<Result<StageOutput>> = std::thread::scope(|scope| {
        let handles: Vec<_> = wave
            .iter()
            .map(|&i| scope.spawn(move || stage::run_stage(shared, i)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(BuildError::Panicked)))
            .collect()
    });
    for (&i, result) in wave.iter().zip(results) {
        let out = result?;
        shared.outputs.lock().expect("outputs lock")[i] = Some(out);
    }
    Ok(())
}
