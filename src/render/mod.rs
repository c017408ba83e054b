//! Rendering for people and machines: one-line errors, tables, JSON, progress.

pub mod progress;
pub mod table;
pub mod template;
pub mod usage;

/// The whole context chain of an error on one line: `outer: inner: cause`.
pub fn error_line(err: &anyhow::Error) -> String {
    // Library errors often print their source in their own message ("what: {source}") and
    // also expose it as `source()`; `{err:#}` would then say the cause twice. Each cause is
    // added only when the message so far does not already end with it.
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.is_empty() {
            line = text;
        } else if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::error_line;

    /// Shaped like a thiserror variant `#[error("opening x: {source}")]` with `#[source]`.
    #[derive(Debug)]
    struct Wrapped {
        source: std::io::Error,
    }
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "opening x: {}", self.source)
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from_raw_os_error(libc::ENOENT);
        let err = anyhow::Error::new(Wrapped { source: io }).context("starting web");
        assert_eq!(
            error_line(&err),
            "starting web: opening x: No such file or directory (os error 2)"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_line(&plain), "outer: inner");
    }
}
