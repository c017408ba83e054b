//! The second pass: one logical line -> one instruction, with each
//! instruction's own argument grammar (flags, JSON vs shell form, key=value).

use super::heredoc;
use super::lines::LogicalLine;
use super::mounts::parse_mount;
use super::words::{parse_duration, Cursor, Fail, Flag};
use super::{CommandForm, CopyArgs, Healthcheck, Instruction, Kind, Word};

/// Parses one logical line.
pub fn parse_line(line: &LogicalLine, escape: char) -> Result<Option<Instruction>, Fail> {
    let mut cursor = Cursor {
        line,
        at: 0,
        escape,
    };
    let keyword_len = line
        .text
        .find(char::is_whitespace)
        .unwrap_or(line.text.len());
    let keyword = line.text[..keyword_len].to_ascii_uppercase();
    let pos = line.pos_at(0);
    cursor.at = keyword_len;
    let c = &mut cursor;
    let kind = match keyword.as_str() {
        "FROM" => from(c)?,
        "RUN" => run(c, line)?,
        "CMD" => no_flags(c, "CMD").and_then(|_| command(c, "CMD", true).map(Kind::Cmd))?,
        "ENTRYPOINT" => no_flags(c, "ENTRYPOINT")
            .and_then(|_| command(c, "ENTRYPOINT", true).map(Kind::Entrypoint))?,
        "ENV" => Kind::Env(pairs(c, "ENV")?),
        "LABEL" => Kind::Label(pairs(c, "LABEL")?),
        "MAINTAINER" => {
            // Deprecated; recorded as the `maintainer` label, like docker does.
            let (rest, rest_pos) = c.rest();
            required(rest, rest_pos, "MAINTAINER requires a name")?;
            let key = Word {
                raw: "maintainer".into(),
                pos: rest_pos,
                mode: super::Mode::VarsOnly,
            };
            let value = Word {
                raw: rest.to_string(),
                pos: rest_pos,
                mode: super::Mode::VarsOnly,
            };
            Kind::Label(vec![(key, value)])
        }
        "ARG" => arg(c)?,
        "COPY" => Kind::Copy(copy_args(
            c,
            line,
            "COPY",
            &["from", "chown", "chmod", "link", "exclude", "parents"],
        )?),
        "ADD" => Kind::Add(copy_args(
            c,
            line,
            "ADD",
            &["chown", "chmod", "link", "checksum", "exclude"],
        )?),
        "WORKDIR" => Kind::Workdir(single(c, "WORKDIR", "a path")?),
        "USER" => Kind::User(single(c, "USER", "a user name or UID")?),
        "STOPSIGNAL" => Kind::StopSignal(single(c, "STOPSIGNAL", "a signal")?),
        "VOLUME" => {
            no_flags(c, "VOLUME")?;
            let (_, rest_pos) = c.rest();
            let words = match c.json_words() {
                Some(w) => w,
                None => c.words(),
            };
            if words.is_empty() || words.iter().any(|w| w.raw.trim().is_empty()) {
                return Err((
                    rest_pos,
                    "VOLUME requires at least one non-empty path".into(),
                ));
            }
            Kind::Volume(words)
        }
        "EXPOSE" => {
            no_flags(c, "EXPOSE")?;
            let (_, rest_pos) = c.rest();
            let words = c.words();
            if words.is_empty() {
                return Err((rest_pos, "EXPOSE requires at least one port".into()));
            }
            Kind::Expose(words)
        }
        "SHELL" => {
            no_flags(c, "SHELL")?;
            let (_, rest_pos) = c.rest();
            match c.json_array() {
                Some(v) if !v.is_empty() => Kind::Shell(v),
                _ => {
                    return Err((
                        rest_pos,
                        "SHELL requires a JSON array, e.g. SHELL [\"/bin/sh\", \"-c\"]".into(),
                    ))
                }
            }
        }
        "HEALTHCHECK" => healthcheck(c)?,
        "" => return Ok(None),
        "ONBUILD" => onbuild(c)?,
        "ADD_GIT" | "CROSS" => {
            return Err((pos, format!("{keyword} is not supported by hoist")));
        }
        _ => {
            let original = &line.text[..keyword_len];
            return Err((
                pos,
                format!(
                    "unknown instruction: {original} (hoist supports FROM, RUN, CMD, ENTRYPOINT, ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER, VOLUME, EXPOSE, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD)"
                ),
            ));
        }
    };
    Ok(Some(Instruction {
        pos,
        text: line.text.clone(),
        kind,
    }))
}

/// RUN: flags (`--network`, repeatable `--mount`), then the command, which a
/// heredoc may supply as BuildKit does: a line that is only `<<EOF` runs the
/// document (as a script when it starts with `#!`, else through the shell);
/// any other line gets the documents appended for the shell to read.
fn run(c: &mut Cursor, line: &LogicalLine) -> Result<Kind, Fail> {
    let flags = c.flags_repeatable("RUN", &["network", "mount", "security"], &["mount"])?;
    let mut network = None;
    let mut mounts = Vec::new();
    for flag in flags {
        match flag.name.as_str() {
            "network" => network = Some(run_network(&flag)?),
            "mount" => mounts.push(parse_mount(&flag)?),
            other => {
                return Err((
                    flag.pos,
                    format!("RUN --{other} is not supported by hoist; remove it"),
                ))
            }
        }
    }
    if line.heredocs.is_empty() {
        return Ok(Kind::Run {
            command: command(c, "RUN", false)?,
            network,
            mounts,
            script: None,
        });
    }
    // A marker is a word of its own, so the line is never a JSON array here.
    let (rest, _) = c.rest();
    let alone = line.heredocs.len() == 1 && heredoc::marker(rest).ok().flatten().is_some();
    let mut script = None;
    let command = if alone {
        let doc = &line.heredocs[0];
        if doc.content.starts_with("#!") {
            script = Some(doc.clone());
            CommandForm::Exec(vec![format!("/dev/pipes/{}", doc.name)])
        } else {
            CommandForm::Shell(doc.text())
        }
    } else {
        let mut full = rest.to_string();
        for doc in &line.heredocs {
            full.push('\n');
            full.push_str(&doc.content);
            full.push_str(&doc.name);
        }
        CommandForm::Shell(full)
    };
    Ok(Kind::Run {
        command,
        network,
        mounts,
        script,
    })
}

/// `ONBUILD INSTRUCTION`: checked now, run when the image is used as a base.
fn onbuild(c: &mut Cursor) -> Result<Kind, Fail> {
    let (rest, rest_pos) = c.rest();
    required(
        rest,
        rest_pos,
        "ONBUILD requires an instruction, e.g. ONBUILD COPY . /app",
    )?;
    let keyword = rest
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    if matches!(keyword.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
        return Err((
            rest_pos,
            format!("{keyword} is not allowed as an ONBUILD trigger"),
        ));
    }
    super::parse_trigger("ONBUILD", rest).map_err(|e| {
        let pos = super::Pos {
            line: rest_pos.line,
            col: rest_pos.col + e.pos.col.saturating_sub(1),
        };
        (pos, e.message)
    })?;
    Ok(Kind::Onbuild(rest.to_string()))
}

fn required(rest: &str, pos: super::Pos, message: &str) -> Result<(), Fail> {
    if rest.is_empty() {
        Err((pos, message.to_string()))
    } else {
        Ok(())
    }
}

fn no_flags(c: &mut Cursor, keyword: &str) -> Result<(), Fail> {
    c.flags(keyword, &[]).map(|_| ())
}

/// BuildKit's `RUN --network=default|none|host`, checked as it parses (a
/// literal: BuildKit does not expand it either).
fn run_network(flag: &Flag) -> Result<String, Fail> {
    let value = flag_value(flag)?;
    match value.raw.as_str() {
        "default" | "none" | "host" => Ok(value.raw.clone()),
        other => Err((
            value.pos,
            format!("invalid network mode {other:?} for RUN --network (use default, none or host)"),
        )),
    }
}

fn flag_value(flag: &Flag) -> Result<&Word, Fail> {
    match &flag.value {
        Some(v) if !v.raw.is_empty() => Ok(v),
        _ => Err((
            flag.pos,
            format!("--{} requires a value (--{}=VALUE)", flag.name, flag.name),
        )),
    }
}

fn from(c: &mut Cursor) -> Result<Kind, Fail> {
    let flags = c.flags("FROM", &["platform"])?;
    let platform = match flags.first() {
        Some(f) => Some(flag_value(f)?.clone()),
        None => None,
    };
    let (_, rest_pos) = c.rest();
    let words = c.words();
    let image = match words.first() {
        Some(w) => w.clone(),
        None => return Err((rest_pos, "FROM requires an image name (or scratch)".into())),
    };
    let alias = match words.len() {
        1 => None,
        3 if words[1].raw.eq_ignore_ascii_case("as") => {
            let name = words[2].raw.to_ascii_lowercase();
            let valid = name.starts_with(|ch: char| ch.is_ascii_alphabetic())
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
            if !valid {
                return Err((
                    words[2].pos,
                    format!(
                        "invalid stage name {:?}: use letters, digits, '-', '_' and '.', starting with a letter",
                        words[2].raw
                    ),
                ));
            }
            Some(name)
        }
        _ => {
            let at = words.get(1).map_or(rest_pos, |w| w.pos);
            return Err((at, "FROM takes IMAGE [AS NAME]".into()));
        }
    };
    Ok(Kind::From {
        image,
        alias,
        platform,
    })
}

/// RUN/CMD/ENTRYPOINT: JSON form if the rest is a JSON array, else shell form.
fn command(c: &mut Cursor, keyword: &str, allow_empty: bool) -> Result<CommandForm, Fail> {
    let (rest, rest_pos) = c.rest();
    if let Some(argv) = c.json_array() {
        if argv.is_empty() && !allow_empty {
            return Err((rest_pos, format!("{keyword} requires a command")));
        }
        return Ok(CommandForm::Exec(argv));
    }
    if rest.is_empty() {
        return Err((rest_pos, format!("{keyword} requires a command")));
    }
    Ok(CommandForm::Shell(rest.to_string()))
}

/// ENV and LABEL: `KEY=VALUE ...`, or the old `KEY VALUE` (one pair, value = rest of line).
fn pairs(c: &mut Cursor, keyword: &str) -> Result<Vec<(Word, Word)>, Fail> {
    no_flags(c, keyword)?;
    let (_, rest_pos) = c.rest();
    let start = c.at;
    let words = c.words();
    let Some(first) = words.first() else {
        return Err((rest_pos, format!("{keyword} requires KEY=VALUE")));
    };
    if !first.raw.contains('=') {
        // Legacy form: the first word is the key, the rest of the line the value.
        c.at = start;
        let key = c.word().expect("first word");
        let (value, value_pos) = c.rest();
        if value.is_empty() {
            return Err((
                key.pos,
                format!(
                    "{keyword} {} has no value: use {keyword} {}=VALUE",
                    key.raw, key.raw
                ),
            ));
        }
        let value = Word {
            raw: value.to_string(),
            pos: value_pos,
            mode: super::Mode::Shell,
        };
        return Ok(vec![(key, value)]);
    }
    let mut out = Vec::new();
    for word in words {
        let Some((key, value)) = word.raw.split_once('=') else {
            return Err((
                word.pos,
                format!(
                    "{keyword} expects KEY=VALUE, found {:?} (quote values with spaces)",
                    word.raw
                ),
            ));
        };
        if key.is_empty() {
            return Err((word.pos, format!("{keyword} has an empty key before '='")));
        }
        let value_pos = super::Pos {
            line: word.pos.line,
            col: word.pos.col + key.chars().count() + 1,
        };
        out.push((
            Word {
                raw: key.to_string(),
                pos: word.pos,
                mode: super::Mode::Shell,
            },
            Word {
                raw: value.to_string(),
                pos: value_pos,
                mode: super::Mode::Shell,
            },
        ));
    }
    Ok(out)
}

fn arg(c: &mut Cursor) -> Result<Kind, Fail> {
    no_flags(c, "ARG")?;
    let (_, rest_pos) = c.rest();
    let words = c.words();
    if words.is_empty() {
        return Err((rest_pos, "ARG requires a name (ARG NAME[=default])".into()));
    }
    let mut out = Vec::new();
    for word in words {
        let (name, default) = match word.raw.split_once('=') {
            Some((n, v)) => (
                n,
                Some(Word {
                    raw: v.to_string(),
                    pos: super::Pos {
                        line: word.pos.line,
                        col: word.pos.col + n.chars().count() + 1,
                    },
                    mode: super::Mode::Shell,
                }),
            ),
            None => (word.raw.as_str(), None),
        };
        let valid = name.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
            && name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if !valid {
            return Err((word.pos, format!("invalid ARG name {name:?}")));
        }
        out.push((name.to_string(), default));
    }
    Ok(Kind::Arg(out))
}

fn copy_args(
    c: &mut Cursor,
    line: &LogicalLine,
    keyword: &str,
    allowed: &[&str],
) -> Result<CopyArgs, Fail> {
    let flags = c.flags_repeatable(keyword, allowed, &["exclude"])?;
    let mut args = CopyArgs {
        from: None,
        chown: None,
        chmod: None,
        sources: Vec::new(),
        heredocs: Vec::new(),
        exclude: Vec::new(),
        parents: false,
        dest: Word {
            raw: String::new(),
            pos: Default::default(),
            mode: super::Mode::Shell,
        },
    };
    for flag in &flags {
        match flag.name.as_str() {
            "from" => args.from = Some(flag_value(flag)?.clone()),
            "chown" => args.chown = Some(flag_value(flag)?.clone()),
            "chmod" => args.chmod = Some(flag_value(flag)?.clone()),
            "exclude" => args.exclude.push(flag_value(flag)?.clone()),
            "parents" => {
                args.parents = match flag.value.as_ref().map(|v| v.raw.as_str()) {
                    None | Some("true") => true,
                    Some("false") => false,
                    Some(other) => {
                        return Err((
                            flag.pos,
                            format!("--parents={other}: use --parents or --parents=false"),
                        ))
                    }
                }
            }
            "checksum" => {
                return Err((
                    flag.pos,
                    "ADD --checksum applies to URLs, which hoist refuses".into(),
                ))
            }
            _ => {} // --link: every hoist layer is independent already
        }
    }
    let (_, rest_pos) = c.rest();
    let mut words = match c.json_words() {
        Some(w) => w,
        None => c.words(),
    };
    if words.len() < 2 {
        return Err((
            rest_pos,
            format!(
                "{keyword} requires at least one source and a destination ({keyword} SRC... DEST)"
            ),
        ));
    }
    args.dest = words.pop().expect("two words");
    // Heredoc markers among the sources become inline files, in order.
    let mut docs = line.heredocs.iter();
    for word in words {
        if word.mode == super::Mode::Shell && heredoc::marker(&word.raw).ok().flatten().is_some() {
            if let Some(doc) = docs.next() {
                args.heredocs.push(doc.clone());
                continue;
            }
        }
        args.sources.push(word);
    }
    Ok(args)
}

fn single(c: &mut Cursor, keyword: &str, what: &str) -> Result<Word, Fail> {
    no_flags(c, keyword)?;
    let (rest, rest_pos) = c.rest();
    required(rest, rest_pos, &format!("{keyword} requires {what}"))?;
    let first = c.word().expect("non-empty");
    if !c.at_end() {
        let extra = c.pos();
        return Err((
            extra,
            format!("{keyword} takes exactly one argument ({what})"),
        ));
    }
    Ok(first)
}

fn healthcheck(c: &mut Cursor) -> Result<Kind, Fail> {
    let flags = c.flags(
        "HEALTHCHECK",
        &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
    )?;
    let (_, rest_pos) = c.rest();
    let Some(first) = c.word() else {
        return Err((rest_pos, "HEALTHCHECK requires CMD or NONE".into()));
    };
    match first.raw.to_ascii_uppercase().as_str() {
        "NONE" => {
            if let Some(f) = flags.first() {
                return Err((f.pos, "HEALTHCHECK NONE takes no options".into()));
            }
            if !c.at_end() {
                return Err((c.pos(), "HEALTHCHECK NONE takes no arguments".into()));
            }
            Ok(Kind::Healthcheck(None))
        }
        "CMD" => {
            let command = command(c, "HEALTHCHECK CMD", false)?;
            let mut check = Healthcheck {
                command,
                interval: 0,
                timeout: 0,
                start_period: 0,
                start_interval: 0,
                retries: None,
            };
            for flag in &flags {
                let value = flag_value(flag)?;
                if flag.name == "retries" {
                    let n: i64 = value.raw.parse().map_err(|_| {
                        (
                            value.pos,
                            format!("--retries must be a whole number, not {:?}", value.raw),
                        )
                    })?;
                    if n < 0 {
                        return Err((value.pos, "--retries cannot be negative".into()));
                    }
                    check.retries = Some(n as u32);
                    continue;
                }
                let Some(ns) = parse_duration(&value.raw) else {
                    return Err((
                        value.pos,
                        format!(
                            "--{} must be a duration like 30s, 1m30s or 500ms, not {:?}",
                            flag.name, value.raw
                        ),
                    ));
                };
                if ns != 0 && ns < 1_000_000 {
                    return Err((value.pos, format!("--{} must be at least 1ms", flag.name)));
                }
                match flag.name.as_str() {
                    "interval" => check.interval = ns,
                    "timeout" => check.timeout = ns,
                    "start-period" => check.start_period = ns,
                    _ => check.start_interval = ns,
                }
            }
            Ok(Kind::Healthcheck(Some(check)))
        }
        _ => Err((
            first.pos,
            format!("HEALTHCHECK expects CMD or NONE, found {:?}", first.raw),
        )),
    }
}
