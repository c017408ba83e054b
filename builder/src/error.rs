//! The builder's errors: each says what went wrong and, where it can, which
//! Dockerfile line caused it and what to do.

use crate::dockerfile::ParseError;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A syntax error, or a problem an instruction has at build time
    /// (`Dockerfile:LINE:COL: message`, then the line and a caret).
    #[error(transparent)]
    At(#[from] ParseError),
    #[error("target stage {name:?} is not in the Dockerfile (stages: {stages})")]
    UnknownTarget { name: String, stages: String },
    #[error("{headline}\n  command: {command}{tail}")]
    RunFailed {
        headline: String,
        code: i32,
        command: String,
        /// The last lines the command printed, indented, or empty.
        tail: String,
    },
    #[error("the build context {path}: {source}")]
    Context {
        path: String,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(String),
    #[error("{0}")]
    Runtime(String),
    #[error("build cache: {0}")]
    Cache(String),
    /// A platform hoist cannot build for (no interpreter, a bad one).
    #[error("{0}")]
    Platform(String),
    #[error("a build thread panicked")]
    Panicked,
}

impl BuildError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
        let what = what.into();
        move |source| BuildError::Io { what, source }
    }

    /// The exit code the CLI should end with (a failed RUN's own, else 1).
    pub fn exit_code(&self) -> i32 {
        match self {
            BuildError::RunFailed { code, .. } if *code > 0 => *code,
            _ => 1,
        }
    }
}

pub type Result<T, E = BuildError> = std::result::Result<T, E>;
