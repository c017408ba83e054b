//! One stage: start from its base, then each instruction in order, keeping
//! the stage's state (layers, config, ARGs in scope, SHELL, cache key).

use std::collections::BTreeMap;

use crate::cache::{LayerRecord, StepKey};
use crate::config::ImageConfig;
use crate::dockerfile::{Instruction, Kind, Word};
use crate::error::{BuildError, Result};
use crate::plan::{self, Base};

use super::{image, Event, Shared, StageOutput};

/// The state a stage's instructions read and change.
pub(crate) struct StageState<'s, 'a> {
    pub shared: &'s Shared<'a>,
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
    /// Expands a word with the variables in scope.
    pub fn expand(&self, word: &Word) -> Result<String> {
        let env = self.config.env();
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| self.args.get(name).cloned().flatten())
        };
        Ok(self.shared.df.expand(word, &lookup)?)
    }

    /// An error pointing at a position of the Dockerfile.
    pub fn error_at(&self, pos: crate::dockerfile::Pos, message: impl Into<String>) -> BuildError {
        self.shared.df.error_at(pos, message).into()
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
        Base::Scratch => (
            Vec::new(),
            ImageConfig::scratch(&image::host_architecture()),
            StepKey::root("scratch"),
        ),
        Base::Stage(i) => {
            let out = shared.output_of(*i);
            (out.layers, out.config, out.key)
        }
        Base::Image(name) => {
            let base = image::load_base(shared, name).map_err(|message| {
                BuildError::from(shared.df.error_at(plan::from_pos(stage), message))
            })?;
            let key = StepKey::root(&base.manifest_digest);
            (base.layers, base.config, key)
        }
    };
    let shell = config
        .strings("Shell")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
    let mut state = StageState {
        shared,
        index,
        label,
        layers,
        config,
        args: BTreeMap::new(),
        shell,
        key,
        cmd_set: false,
    };
    for (n, ins) in stage.steps.iter().enumerate() {
        shared.emit(Event::Step {
            stage: state.label.clone(),
            number: n + 2,
            total,
            text: ins.text.clone(),
        });
        step(&mut state, ins, n + 2)?;
    }
    Ok(StageOutput {
        layers: state.layers,
        config: state.config,
        key: state.key,
    })
}

fn step(state: &mut StageState, ins: &Instruction, number: usize) -> Result<()> {
    match &ins.kind {
        Kind::Run { command, network } => {
            super::run::run(state, ins, command, network.as_deref(), number)
        }
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
