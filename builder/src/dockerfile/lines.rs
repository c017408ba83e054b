//! The first pass: parser directives at the top, comments, and `\` line
//! continuations (with the escape character the `# escape=` directive picks),
//! turning physical lines into logical lines that remember where every piece
//! came from, so later errors can point at the right line and column.

use super::error::{ParseError, Pos};
use super::heredoc::{self, Heredoc};

/// One instruction's text after joining continuation lines.
#[derive(Debug, Clone)]
pub struct LogicalLine {
    pub text: String,
    /// Where each joined piece starts: (byte offset in `text`, its position in the file).
    segments: Vec<(usize, Pos)>,
    /// The here-documents that follow the line (RUN, COPY and ADD only).
    pub heredocs: Vec<Heredoc>,
}

impl LogicalLine {
    /// The file position of byte offset `offset` of `text`.
    pub fn pos_at(&self, offset: usize) -> Pos {
        let (start, pos) = self
            .segments
            .iter()
            .rev()
            .find(|(start, _)| *start <= offset)
            .copied()
            .unwrap_or((0, self.segments[0].1));
        let end = offset.min(self.text.len());
        let chars = self.text.get(start..end).map_or(0, |s| s.chars().count());
        Pos {
            line: pos.line,
            col: pos.col + chars,
        }
    }
}

/// The result of the first pass.
#[derive(Debug)]
pub struct Lines {
    pub escape: char,
    /// The `# syntax=` directive's value, which hoist does not use.
    pub syntax: Option<String>,
    pub lines: Vec<LogicalLine>,
}

/// Splits `source` into logical lines, reading parser directives first.
pub fn split(file: &str, source: &str) -> Result<Lines, ParseError> {
    let mut escape = '\\';
    let mut directives_open = true;
    let mut seen: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    let mut current: Option<LogicalLine> = None;
    let mut syntax = None;

    let mut physical = source.split('\n').enumerate();
    while let Some((index, raw)) = physical.next() {
        let line_no = index + 1;
        let raw = raw.trim_end_matches('\r');
        if directives_open {
            if let Some((name, value, value_col)) = directive(raw) {
                let key = name.to_ascii_lowercase();
                if matches!(key.as_str(), "escape" | "syntax" | "check") {
                    if seen.contains(&key) {
                        let pos = Pos {
                            line: line_no,
                            col: 1,
                        };
                        return Err(ParseError::at(
                            file,
                            source,
                            pos,
                            format!("only one '{key}' parser directive can be used"),
                        ));
                    }
                    seen.push(key.clone());
                    if key == "syntax" {
                        syntax = Some(value.to_string());
                    }
                    if key == "escape" {
                        escape = match value {
                            "\\" => '\\',
                            "`" => '`',
                            _ => {
                                let pos = Pos {
                                    line: line_no,
                                    col: value_col,
                                };
                                return Err(ParseError::at(
                                    file,
                                    source,
                                    pos,
                                    format!("invalid escape token '{value}': use '\\' or '`'"),
                                ));
                            }
                        };
                    }
                    continue;
                }
            }
            directives_open = false;
        }

        let trimmed = raw.trim_start();
        let leading = raw.len() - trimmed.len();
        let continuing = current.is_some();
        if trimmed.starts_with('#') {
            continue; // comments end nothing, not even a continuation
        }
        if trimmed.trim_end().is_empty() {
            continue; // blank lines, also inside a continuation (docker accepts them)
        }
        // The first line of an instruction loses its indentation; continuation
        // lines keep theirs, as docker joins them.
        let (piece, piece_col) = if continuing {
            (raw, 1)
        } else {
            (trimmed, leading_chars(raw, leading) + 1)
        };
        let (content, continues) = strip_continuation(piece, escape);
        let logical = current.get_or_insert_with(|| LogicalLine {
            text: String::new(),
            segments: Vec::new(),
            heredocs: Vec::new(),
        });
        logical.segments.push((
            logical.text.len(),
            Pos {
                line: line_no,
                col: piece_col,
            },
        ));
        logical.text.push_str(content);
        if !continues {
            let mut line = current.take().expect("current line");
            read_heredocs(&mut line, &mut physical, escape)
                .map_err(|(pos, message)| ParseError::at(file, source, pos, message))?;
            lines.push(line);
        }
    }
    if let Some(last) = current.take() {
        lines.push(last); // a continuation at end of file just ends the line
    }
    Ok(Lines {
        escape,
        syntax,
        lines,
    })
}

/// Reads the here-documents a finished RUN, COPY or ADD line announces
/// from the physical lines after it (raw: no comments, continuations or
/// blank lines are dropped inside them).
fn read_heredocs<'a>(
    line: &mut LogicalLine,
    physical: &mut impl Iterator<Item = (usize, &'a str)>,
    escape: char,
) -> Result<(), (Pos, String)> {
    let keyword = line.text.split_whitespace().next().unwrap_or("");
    if !matches!(
        keyword.to_ascii_uppercase().as_str(),
        "RUN" | "COPY" | "ADD"
    ) {
        return Ok(());
    }
    let start = line.pos_at(0);
    let mut docs = heredoc::markers(&line.text, escape).map_err(|m| (start, m))?;
    for doc in &mut docs {
        let mut terminated = false;
        for (_, raw) in physical.by_ref() {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let candidate = if doc.chomp {
                raw.trim_start_matches('\t')
            } else {
                raw
            };
            if candidate == doc.name {
                terminated = true;
                break;
            }
            doc.content.push_str(raw);
            doc.content.push('\n');
        }
        if !terminated {
            return Err((
                start,
                format!(
                    "unterminated heredoc <<{}: end it with a line holding only {}",
                    doc.name, doc.name
                ),
            ));
        }
    }
    line.heredocs = docs;
    Ok(())
}

fn leading_chars(raw: &str, bytes: usize) -> usize {
    raw[..bytes].chars().count()
}

/// Removes a trailing escape character (and blanks after it); says whether it was there.
fn strip_continuation(piece: &str, escape: char) -> (&str, bool) {
    let end = piece.trim_end_matches([' ', '\t']);
    match end.strip_suffix(escape) {
        Some(rest) => (rest, true),
        None => (piece.trim_end(), false),
    }
}

/// `# name=value` -> (name, value, 1-based column of value).
fn directive(raw: &str) -> Option<(&str, &str, usize)> {
    let rest = raw.trim_start().strip_prefix('#')?;
    let rest = rest.trim_start();
    let name_len = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let (name, after) = rest.split_at(name_len);
    let value = after.trim_start().strip_prefix('=')?;
    let value_trimmed = value.trim();
    let value_offset = raw.len() - value.len() + (value.len() - value.trim_start().len());
    Some((name, value_trimmed, raw[..value_offset].chars().count() + 1))
}
