//! Rendering for people and machines: one-line errors, tables, JSON, progress.

pub mod progress;
pub mod table;

/// The whole context chain of an error on one line: `outer: inner: cause`.
pub fn error_line(err: &anyhow::Error) -> String {
    format!("{err:#}")
}
