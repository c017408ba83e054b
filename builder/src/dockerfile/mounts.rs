//! BuildKit's `RUN --mount=type=...,key=value,...`: parsed here into a typed
//! `RunMount` (its grammar checked at the column it is wrong at). Paths, ids
//! and stage names stay unexpanded words: the executor expands them with the
//! variables in scope, as BuildKit does.

use super::error::Pos;
use super::expand::Mode;
use super::words::{Fail, Flag};
use super::Word;

/// The kinds of mount hoist supports (BuildKit's `ssh` is not among them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// Files of the context, a stage or an image (read-only unless `rw`).
    Bind,
    /// A directory kept between builds under the store, outside every layer.
    Cache,
    /// An empty tmpfs.
    Tmpfs,
    /// A secret given to `hoist build --secret`, as a file or an env variable.
    Secret,
}

impl MountKind {
    pub fn name(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Cache => "cache",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Secret => "secret",
        }
    }
}

/// How concurrent builds share one cache mount (BuildKit's `sharing=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sharing {
    /// Everyone uses the same directory at once.
    #[default]
    Shared,
    /// A step that finds it in use gets a fresh, throw-away directory.
    Private,
    /// A step waits until no other step uses it.
    Locked,
}

/// One `--mount` of a RUN instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMount {
    pub kind: MountKind,
    /// Where the `--mount` flag is, for errors.
    pub pos: Pos,
    /// Where it appears in the container; None only for secrets (then
    /// `/run/secrets/<id>`, or no file at all when `env=` is given).
    pub target: Option<Word>,
    pub id: Option<Word>,
    pub source: Option<Word>,
    /// `from=`: a stage or an image (bind; the context when absent).
    pub from: Option<Word>,
    /// `rw`/`ro` when given: binds are read-only by default, caches writable.
    pub readwrite: Option<bool>,
    pub sharing: Sharing,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Secret: fail when the build was not given it.
    pub required: bool,
    /// Secret: the environment variable to put it in.
    pub env: Option<Word>,
    /// Tmpfs: its size in bytes.
    pub size: Option<u64>,
}

const TYPES: &str = "bind, cache, tmpfs or secret";

/// Parses one `--mount=...` flag.
pub fn parse_mount(flag: &Flag) -> Result<RunMount, Fail> {
    let value = match &flag.value {
        Some(v) if !v.raw.is_empty() => v,
        _ => {
            return Err((
                flag.pos,
                "--mount requires a value, e.g. --mount=type=cache,target=/root/.cache".into(),
            ))
        }
    };
    let mut mount = RunMount {
        kind: MountKind::Bind, // BuildKit's default type
        pos: flag.pos,
        target: None,
        id: None,
        source: None,
        from: None,
        readwrite: None,
        sharing: Sharing::Shared,
        mode: None,
        uid: None,
        gid: None,
        required: false,
        env: None,
        size: None,
    };
    let mut fields = Vec::new();
    let mut offset = 0;
    for part in value.raw.split(',') {
        let pos = Pos {
            line: value.pos.line,
            col: value.pos.col + value.raw[..offset].chars().count(),
        };
        offset += part.len() + 1;
        if part.is_empty() {
            continue;
        }
        let (key, val) = match part.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (part.to_ascii_lowercase(), None),
        };
        fields.push((key, val, pos));
    }
    // The type decides which keys are allowed, so it is read first.
    for (key, val, pos) in &fields {
        if key == "type" {
            mount.kind = match val.unwrap_or("") {
                "bind" => MountKind::Bind,
                "cache" => MountKind::Cache,
                "tmpfs" => MountKind::Tmpfs,
                "secret" => MountKind::Secret,
                "ssh" => return Err((
                    *pos,
                    "RUN --mount=type=ssh is not supported by hoist: use a secret mount for keys"
                        .into(),
                )),
                other => return Err((*pos, format!("unknown mount type {other:?}: use {TYPES}"))),
            };
        }
    }
    let kind = mount.kind;
    for (key, val, pos) in fields {
        let word = |v: Option<&str>| -> Result<Word, Fail> {
            match v {
                Some(v) if !v.is_empty() => Ok(Word {
                    raw: v.to_string(),
                    pos: Pos {
                        line: pos.line,
                        col: pos.col + key.chars().count() + 1,
                    },
                    mode: Mode::Shell,
                }),
                _ => Err((
                    pos,
                    format!("mount option {key} needs a value ({key}=VALUE)"),
                )),
            }
        };
        let number = |v: Option<&str>, radix: u32| -> Result<u32, Fail> {
            let w = word(v)?;
            u32::from_str_radix(&w.raw, radix).map_err(|_| {
                let what = if radix == 8 {
                    "an octal mode like 0755"
                } else {
                    "a number"
                };
                (
                    w.pos,
                    format!("mount option {key}={}: expected {what}", w.raw),
                )
            })
        };
        let boolean = |v: Option<&str>| -> Result<bool, Fail> {
            match v.map(str::to_ascii_lowercase).as_deref() {
                None | Some("true") | Some("1") => Ok(true),
                Some("false") | Some("0") => Ok(false),
                Some(other) => Err((
                    pos,
                    format!("mount option {key}={other}: use true or false"),
                )),
            }
        };
        let allowed = match key.as_str() {
            "type" => true,
            "target" | "dst" | "destination" => {
                mount.target = Some(word(val)?);
                true
            }
            "source" | "src" => {
                mount.source = Some(word(val)?);
                matches!(kind, MountKind::Bind | MountKind::Secret | MountKind::Cache)
            }
            "from" => {
                mount.from = Some(word(val)?);
                kind == MountKind::Bind
            }
            "id" => {
                mount.id = Some(word(val)?);
                matches!(kind, MountKind::Cache | MountKind::Secret)
            }
            "rw" | "readwrite" => {
                mount.readwrite = Some(boolean(val)?);
                kind == MountKind::Bind
            }
            "ro" | "readonly" => {
                mount.readwrite = Some(!boolean(val)?);
                matches!(kind, MountKind::Bind | MountKind::Cache)
            }
            "sharing" => {
                mount.sharing = match val.unwrap_or("") {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    other => {
                        return Err((
                            pos,
                            format!("sharing={other:?}: use shared, private or locked"),
                        ))
                    }
                };
                kind == MountKind::Cache
            }
            "mode" => {
                mount.mode = Some(number(val, 8)?);
                matches!(kind, MountKind::Cache | MountKind::Secret)
            }
            "uid" => {
                mount.uid = Some(number(val, 10)?);
                matches!(kind, MountKind::Cache | MountKind::Secret)
            }
            "gid" => {
                mount.gid = Some(number(val, 10)?);
                matches!(kind, MountKind::Cache | MountKind::Secret)
            }
            "required" => {
                mount.required = boolean(val)?;
                kind == MountKind::Secret
            }
            "env" => {
                mount.env = Some(word(val)?);
                kind == MountKind::Secret
            }
            "size" => {
                let w = word(val)?;
                mount.size = Some(parse_size(&w.raw).ok_or_else(|| {
                    (
                        w.pos,
                        format!("size={}: expected bytes like 64m or 1g", w.raw),
                    )
                })?);
                kind == MountKind::Tmpfs
            }
            _ => {
                return Err((
                    pos,
                    format!("unknown mount option {key:?} for type={}", kind.name()),
                ))
            }
        };
        if !allowed {
            return Err((
                pos,
                format!("mount option {key} does not apply to type={}", kind.name()),
            ));
        }
    }
    match kind {
        MountKind::Secret if mount.id.is_none() && mount.target.is_none() => {
            return Err((
                flag.pos,
                "a secret mount needs id=ID (the id given to hoist build --secret)".into(),
            ));
        }
        MountKind::Secret => {}
        _ if mount.target.is_none() => {
            return Err((
                flag.pos,
                format!(
                    "--mount=type={} needs target=PATH (where it appears in the container)",
                    kind.name()
                ),
            ))
        }
        _ => {}
    }
    Ok(mount)
}

/// `64m`, `1g`, `4096` -> bytes.
fn parse_size(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let trimmed = lower.trim_end_matches('b');
    let (digits, scale) = match trimmed.chars().last()? {
        'k' => (&trimmed[..trimmed.len() - 1], 1u64 << 10),
        'm' => (&trimmed[..trimmed.len() - 1], 1 << 20),
        'g' => (&trimmed[..trimmed.len() - 1], 1 << 30),
        _ => (trimmed, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
}
