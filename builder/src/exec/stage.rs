//! One stage: start from its base, then each instruction in order, keeping
//! the stage's state (layers, config, ARGs in scope, SHELL, cache key).

use std::collections::BTreeMap;

use crate::cache::{LayerRecord, StepKey};
use crate::config::ImageConfig;
use crate::dockerfile::{self, Dockerfile, Instruction, Kind, Word};
use crate::error::{BuildError, Result};
use crate::plan::{self, Base};

use super::{image, Event, Shared, StageOutput};

/// The state a stage's instructions read and change.
pub(crate) struct StageState<'s, 'a> {
    pub shared: &'s Shared<'a>,
    /// The Dockerfile the running instruction comes from: the build's, or
    /// an ONBUILD trigger of the base image (errors point into it).
    pub df: &'s Dockerfile,
    pub index: usize,
    pub label: String,
    pub layers: Vec<LayerRecord>,
    pub config: ImageConfig,
    /// ARGs declared in this stage (value None when declared without one).
    pub args: BTreeMap<String, Option<String>>,
    pub shell: Vec<String>,
    pub key: StepKey,
    /// CMD was set by this stage (ENTRYPOINT then keeps it).
    pub cmd_set: bool,
}

impl StageState<'_, '_> {
    /// The platform this stage runs on.
    pub fn platform(&self) -> &hoist_store::Platform {
        &self.shared.plan.stages[self.index].platform
    }

    /// Expands a word with the variables in scope.
    pub fn expand(&self, word: &Word) -> Result<String> {
        let env = self.config.env();
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| self.args.get(name).cloned().flatten())
        };
        Ok(self.df.expand(word, &lookup)?)
    }

    /// An error pointing at a position of the Dockerfile.
    pub fn error_at(&self, pos: crate::dockerfile::Pos, message: impl Into<String>) -> BuildError {
        self.df.error_at(pos, message).into()
    }

    /// The environment of a RUN step: the image's ENV plus the ARGs in scope.
    pub fn run_env(&self) -> Vec<(String, String)> {
        let mut env = self.config.env();
        for (k, v) in &self.args {
            if let Some(v) = v {
                if !env.iter().any(|(ek, _)| ek == k) {
                    env.push((k.clone(), v.clone()));
                }
            }
        }
        env
    }

    /// Records a finished step: history entry, layer if any.
    pub fn record(&mut self, created_by: &str, layer: Option<LayerRecord>) {
        let created = self.shared.created.clone();
        match layer {
            Some(layer) => {
                self.config.push_layer(&layer.diff_id);
                self.config.push_history(&created, created_by, false);
                self.layers.push(layer);
            }
            None => self.config.push_history(&created, created_by, true),
        }
    }
}

/// Builds stage `index`.
pub(crate) fn run_stage(shared: &Shared, index: usize) -> Result<StageOutput> {
    let stage = &shared.plan.stages[index];
    let label = stage
        .name
        .clone()
        .unwrap_or_else(|| format!("stage-{index}"));
    let total = stage.steps.len() + 1;
    shared.emit(Event::Step {
        stage: label.clone(),
        number: 1,
        total,
        text: stage.from.text.clone(),
    });
    let (layers, config, key) = match &stage.base {
        // The platform is in a scratch stage's root key: its RUN steps
        // (over COPY'd programs) differ by platform; image stages differ
        // by their base's manifest digest already.
        Base::Scratch => (
            Vec::new(),
            ImageConfig::scratch(&stage.platform),
            StepKey::root(&format!("scratch {}", stage.platform)),
        ),
        Base::Stage(i) => {
            let out = shared.output_of(*i);
            (out.layers, out.config, out.key)
        }
        Base::Image(name) => {
            let named = shared.opts.build_contexts.get(name);
            if let Some(super::NamedContext::Dir(dir)) = named {
                return Err(shared
                    .df
                    .error_at(
                        plan::from_pos(stage),
                        format!(
                            "FROM {name}: the build context {name} is a directory ({}); FROM needs an image (--build-context {name}=docker-image://REF)",
                            dir.display()
                        ),
                    )
                    .into());
            }
            let image_name = match named {
                Some(super::NamedContext::Image(reference)) => reference.as_str(),
                _ => name.as_str(),
            };
            let base =
                image::load_base(shared, image_name, &stage.platform).map_err(|message| {
                    BuildError::from(shared.df.error_at(plan::from_pos(stage), message))
                })?;
            let key = StepKey::root(&base.manifest_digest);
            (base.layers, base.config, key)
        }
    };
    // docker runs the base's ONBUILD triggers right after FROM; the new
    // image does not inherit them.
    let mut config = config;
    let triggers = match &stage.base {
        Base::Scratch => Vec::new(),
        _ => config.strings("OnBuild").unwrap_or_default(),
    };
    config.remove("OnBuild");
    let base_name = match &stage.base {
        Base::Image(name) => name.clone(),
        Base::Stage(i) => format!("stage {i}"),
        Base::Scratch => String::new(),
    };
    let trigger_files = triggers
        .iter()
        .map(|t| {
            dockerfile::parse_trigger(&format!("ONBUILD trigger of {base_name}"), t).map_err(|e| {
                BuildError::from(shared.df.error_at(
                    plan::from_pos(stage),
                    format!(
                        "the base image's ONBUILD trigger {t:?} does not parse: {}",
                        e.message
                    ),
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let shell = config
        .strings("Shell")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
    let mut state = StageState {
        shared,
        df: shared.df,
        index,
        label,
        layers,
        config,
        args: BTreeMap::new(),
        shell,
        key,
        cmd_set: false,
    };
    let total = total
        + trigger_files
            .iter()
            .map(|t| t.instructions.len())
            .sum::<usize>();
    let mut number = 1;
    for tdf in &trigger_files {
        state.df = tdf;
        for ins in &tdf.instructions {
            number += 1;
            shared.emit(Event::Step {
                stage: state.label.clone(),
                number,
                total,
                text: format!("ONBUILD {}", ins.text),
            });
            step(&mut state, ins, number)?;
        }
    }
    state.df = shared.df;
    for ins in &stage.steps {
        number += 1;
        shared.emit(Event::Step {
            stage: state.label.clone(),
            number,
            total,
            text: ins.text.clone(),
        });
        step(&mut state, ins, number)?;
    }
    Ok(StageOutput {
        layers: state.layers,
        config: state.config,
        key: state.key,
    })
}

fn step(state: &mut StageState, ins: &Instruction, number: usize) -> Result<()> {
    match &ins.kind {
        Kind::Run {
            command,
            network,
            mounts,
            script,
        } => super::run::run(
            state,
            ins,
            super::run::RunStep {
                command,
                network: network.as_deref(),
                mounts,
                script: script.as_ref(),
            },
            number,
        ),
        Kind::Copy(args) => super::copy::copy(state, ins, args, false, number),
        Kind::Add(args) => super::copy::copy(state, ins, args, true, number),
        Kind::Workdir(word) => super::metadata::workdir(state, ins, word, number),
        _ => super::metadata::apply(state, ins, number),
    }
}

/// Announces a cache hit for step `number`.
pub(crate) fn cached(state: &StageState, number: usize) {
    state.shared.emit(Event::Cached {
        stage: state.label.clone(),
        number,
    });
}
