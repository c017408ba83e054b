//! One error type for the crate. Every variant says where (file, line, key path) and what the
//! user can do; the CLI renders it, the library never prints.

use crate::yaml::Pos;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("reading {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no compose file (compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml) in {} or any parent directory; name one with -f FILE", dir.display())]
    NoFile { dir: PathBuf },
    #[error("{file}:{line}:{col}: not valid YAML: {message}")]
    Syntax {
        file: String,
        line: usize,
        col: usize,
        message: String,
    },
    /// A value of the wrong type or form at a key path.
    #[error("{pos}: {path}: {message}")]
    Invalid {
        pos: Pos,
        path: String,
        message: String,
    },
    /// `${VAR:?message}` / `${VAR?message}` with the variable unset (or empty), or a malformed
    /// `${...}` expression.
    #[error("{pos}: {path}: {message}")]
    Interpolation {
        pos: Pos,
        path: String,
        message: String,
    },
    #[error("{}:{line}: {message}", path.display())]
    EnvFile {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// The model is well-formed but inconsistent (unknown dependency, cycle, undefined volume
    /// or network, bad port range); every problem found, one per line.
    #[error("invalid compose project:\n  {}", problems.join("\n  "))]
    Validation { problems: Vec<String> },
}

pub type Result<T> = std::result::Result<T, ComposeError>;

pub(crate) fn invalid(pos: &Pos, path: &str, message: impl Into<String>) -> ComposeError {
    ComposeError::Invalid {
        pos: pos.clone(),
        path: path.to_string(),
        message: message.into(),
    }
}
