//! The Dockerfile parser: pure, no I/O. `parse` turns the text into a list of
//! instructions whose words are still unexpanded (expansion needs the build's
//! variables, so the executor does it with `Word::expand`).

mod error;
pub mod expand;
mod heredoc;
mod instructions;
mod lines;
mod mounts;
mod words;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;

pub use error::{ParseError, Pos};
pub use expand::Mode;
pub use heredoc::Heredoc;
pub use mounts::{MountKind, RunMount, Sharing};

use std::sync::Arc;

/// A parsed Dockerfile.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    /// The escape character (`\` unless a `# escape=` directive says otherwise).
    pub escape: char,
    /// A `# syntax=` directive's value: hoist's own parser builds the file
    /// anyway, and the build says so.
    pub syntax: Option<String>,
    pub instructions: Vec<Instruction>,
    /// The file's name and text, kept to render errors found after parsing.
    pub source: Arc<Source>,
}

/// The text an instruction or word came from, for error messages.
#[derive(Debug)]
pub struct Source {
    pub file: String,
    pub text: String,
}

/// One instruction with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    /// Where the instruction's keyword is.
    pub pos: Pos,
    /// The logical line, continuations joined (recorded as history's `created_by`).
    pub text: String,
    pub kind: Kind,
}

/// An unexpanded word and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub raw: String,
    pub pos: Pos,
    pub mode: Mode,
}

/// The command of RUN, CMD, ENTRYPOINT and HEALTHCHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// `["prog", "arg"]`
    Exec(Vec<String>),
    /// `prog arg`, run by the stage's SHELL.
    Shell(String),
}

/// COPY and ADD arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyArgs {
    pub from: Option<Word>,
    pub chown: Option<Word>,
    pub chmod: Option<Word>,
    pub sources: Vec<Word>,
    /// Files written inline (`COPY <<EOF /path`), in the order given.
    pub heredocs: Vec<Heredoc>,
    /// `--exclude=PATTERN` (repeatable): sources matching these are skipped.
    pub exclude: Vec<Word>,
    /// `--parents`: sources keep their path relative to the context.
    pub parents: bool,
    pub dest: Word,
}

/// HEALTHCHECK CMD with its options; durations in nanoseconds, 0 = not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    pub command: CommandForm,
    pub interval: u64,
    pub timeout: u64,
    pub start_period: u64,
    pub start_interval: u64,
    pub retries: Option<u32>,
}

/// What an instruction does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    From {
        image: Word,
        alias: Option<String>,
        platform: Option<Word>,
    },
    Run {
        command: CommandForm,
        network: Option<String>,
        mounts: Vec<RunMount>,
        /// A heredoc starting with `#!`, run as a script (mounted at
        /// `/dev/pipes/NAME`, the command being that path), as BuildKit does.
        script: Option<Heredoc>,
    },
    Cmd(CommandForm),
    Entrypoint(CommandForm),
    Env(Vec<(Word, Word)>),
    Label(Vec<(Word, Word)>),
    /// `ARG name[=default] ...`
    Arg(Vec<(String, Option<Word>)>),
    Copy(CopyArgs),
    Add(CopyArgs),
    Workdir(Word),
    User(Word),
    Volume(Vec<Word>),
    Expose(Vec<Word>),
    Shell(Vec<String>),
    StopSignal(Word),
    /// `None` is `HEALTHCHECK NONE`.
    Healthcheck(Option<Healthcheck>),
    /// `ONBUILD INSTRUCTION`: the trigger's text, kept in the image config
    /// and run when the image is used as a base.
    Onbuild(String),
}

impl Kind {
    /// The instruction's keyword, upper case.
    pub fn keyword(&self) -> &'static str {
        match self {
            Kind::From { .. } => "FROM",
            Kind::Run { .. } => "RUN",
            Kind::Cmd(_) => "CMD",
            Kind::Entrypoint(_) => "ENTRYPOINT",
            Kind::Env(_) => "ENV",
            Kind::Label(_) => "LABEL",
            Kind::Arg(_) => "ARG",
            Kind::Copy(_) => "COPY",
            Kind::Add(_) => "ADD",
            Kind::Workdir(_) => "WORKDIR",
            Kind::User(_) => "USER",
            Kind::Volume(_) => "VOLUME",
            Kind::Expose(_) => "EXPOSE",
            Kind::Shell(_) => "SHELL",
            Kind::StopSignal(_) => "STOPSIGNAL",
            Kind::Healthcheck(_) => "HEALTHCHECK",
            Kind::Onbuild(_) => "ONBUILD",
        }
    }
}

impl Dockerfile {
    /// An error at `pos` rendered against this file.
    pub fn error_at(&self, pos: Pos, message: impl Into<String>) -> ParseError {
        ParseError::at(&self.source.file, &self.source.text, pos, message)
    }

    /// Expands `word` with `lookup`; errors point into the Dockerfile.
    pub fn expand(
        &self,
        word: &Word,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, ParseError> {
        expand::expand(&word.raw, self.escape, word.mode, lookup).map_err(|e| {
            // Words never span lines in practice except via continuations; the
            // offset is counted from the word's start on its first line.
            let col = word.pos.col + word.raw[..e.offset.min(word.raw.len())].chars().count();
            self.error_at(
                Pos {
                    line: word.pos.line,
                    col,
                },
                e.message,
            )
        })
    }
}

/// Parses a Dockerfile. `file` is the name used in error messages.
pub fn parse(file: &str, text: &str) -> Result<Dockerfile, ParseError> {
    let split = lines::split(file, text)?;
    let instructions = parse_lines(file, text, &split)?;
    let first = instructions
        .iter()
        .find(|i| !matches!(i.kind, Kind::Arg(_)));
    match first {
        Some(i) if !matches!(i.kind, Kind::From { .. }) => {
            return Err(ParseError::at(
                file,
                text,
                i.pos,
                format!(
                "{} before FROM: a Dockerfile must start with FROM (only ARG may come before it)",
                i.kind.keyword()
            ),
            ))
        }
        None => {
            let pos = Pos {
                line: text.split('\n').count().max(1),
                col: 1,
            };
            return Err(ParseError::at(
                file,
                text,
                pos,
                "the Dockerfile has no FROM instruction",
            ));
        }
        _ => {}
    }
    Ok(Dockerfile {
        escape: split.escape,
        syntax: split.syntax,
        instructions,
        source: Arc::new(Source {
            file: file.to_string(),
            text: text.to_string(),
        }),
    })
}

fn parse_lines(
    file: &str,
    text: &str,
    split: &lines::Lines,
) -> Result<Vec<Instruction>, ParseError> {
    let mut instructions = Vec::with_capacity(split.lines.len());
    for line in &split.lines {
        let parsed = instructions::parse_line(line, split.escape)
            .map_err(|(pos, message)| ParseError::at(file, text, pos, message))?;
        if let Some(instruction) = parsed {
            instructions.push(instruction);
        }
    }
    Ok(instructions)
}

/// Parses an ONBUILD trigger (one instruction, no FROM needed); `file`
/// names where it came from in errors.
pub fn parse_trigger(file: &str, text: &str) -> Result<Dockerfile, ParseError> {
    let split = lines::split(file, text)?;
    let instructions = parse_lines(file, text, &split)?;
    if let Some(i) = instructions
        .iter()
        .find(|i| matches!(i.kind, Kind::From { .. } | Kind::Onbuild(_)))
    {
        return Err(ParseError::at(
            file,
            text,
            i.pos,
            format!("{} is not allowed as an ONBUILD trigger", i.kind.keyword()),
        ));
    }
    Ok(Dockerfile {
        escape: split.escape,
        syntax: None,
        instructions,
        source: Arc::new(Source {
            file: file.to_string(),
            text: text.to_string(),
        }),
    })
}
