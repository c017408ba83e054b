//! Parse errors that point at the exact spot: `Dockerfile:LINE:COL: message`,
//! then the offending line and a caret under the column.

use std::fmt;

/// A position in the Dockerfile: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A syntax error (or an error found later while expanding a word of the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The file's name as the user gave it (e.g. "Dockerfile").
    pub file: String,
    pub pos: Pos,
    pub message: String,
    /// The physical line the position is on, for the caret display.
    pub source_line: String,
}

impl ParseError {
    /// An error at `pos` of `source` (the whole Dockerfile text).
    pub fn at(file: &str, source: &str, pos: Pos, message: impl Into<String>) -> Self {
        let source_line = source
            .split('\n')
            .nth(pos.line.saturating_sub(1))
            .unwrap_or("")
            .trim_end_matches('\r')
            .to_string();
        ParseError {
            file: file.to_string(),
            pos,
            message: message.into(),
            source_line,
        }
    }

    /// The one-line form `Dockerfile:3:5: message`, without the caret display.
    pub fn headline(&self) -> String {
        format!(
            "{}:{}:{}: {}",
            self.file, self.pos.line, self.pos.col, self.message
        )
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline())?;
        // Tabs are kept so the caret lines up with what a terminal shows.
        let pad: String = self
            .source_line
            .chars()
            .take(self.pos.col.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(f, "  {}\n  {}^", self.source_line, pad)
    }
}

impl std::error::Error for ParseError {}
