//! Secrets for `RUN --mount=type=secret`, as `hoist build --secret` gives
//! them: a file read when the step runs, or a value taken from the CLI's
//! environment. Never printed: `Debug` shows where a secret comes from, not
//! what it is.

use std::path::PathBuf;

#[derive(Clone)]
pub enum SecretSource {
    /// `src=FILE`
    File(PathBuf),
    /// `env=VAR`, read by the CLI.
    Value(Vec<u8>),
}

impl SecretSource {
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            SecretSource::File(path) => std::fs::read(path),
            SecretSource::Value(v) => Ok(v.clone()),
        }
    }
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::File(p) => write!(f, "File({})", p.display()),
            SecretSource::Value(_) => f.write_str("Value(<hidden>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = SecretSource::Value(b"hunter2".to_vec());
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.read().unwrap(), b"hunter2");
    }
}
