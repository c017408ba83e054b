//! Instructions that only change the image config (and the ARGs in scope):
//! ARG, ENV, LABEL, USER, EXPOSE, VOLUME, CMD, ENTRYPOINT, SHELL, STOPSIGNAL,
//! HEALTHCHECK; and WORKDIR, which also creates its directory when missing.

use crate::config::HealthcheckConfig;
use crate::context::clean_absolute;
use crate::dockerfile::{CommandForm, Instruction, Kind, Word};
use crate::error::Result;

use super::stage::StageState;

/// Applies a config-only instruction and extends the cache key with it.
pub(crate) fn apply(state: &mut StageState, ins: &Instruction, number: usize) -> Result<()> {
    let description = match &ins.kind {
        Kind::Arg(args) => {
            let mut parts = Vec::new();
            for (name, default) in args {
                let value = match (state.shared.opts.build_args.get(name), default) {
                    (Some(v), _) => Some(v.clone()),
                    (None, Some(word)) => Some(state.expand(word)?),
                    (None, None) => state
                        .shared
                        .plan
                        .global_args
                        .get(name)
                        .cloned()
                        .flatten()
                        .or_else(|| {
                            state
                                .shared
                                .plan
                                .platform_args
                                .iter()
                                .find(|(p, _)| p == name)
                                .map(|(_, v)| v.clone())
                        }),
                };
                parts.push(format!("{name}={}", value.clone().unwrap_or_default()));
                state.args.insert(name.clone(), value);
            }
            // ARGs change RUN environments, so they are part of the key, but
            // (like docker) they leave no history entry.
            state.key = state.key.child(&format!("ARG {}", parts.join(" ")), "");
            return note_in_cache(state, number);
        }
        Kind::Env(pairs) => {
            // Every value sees the environment from before this instruction.
            let mut expanded = Vec::new();
            for (k, v) in pairs {
                expanded.push((state.expand(k)?, state.expand(v)?));
            }
            for (k, v) in &expanded {
                state.config.set_env(k, v);
            }
            format!("ENV {expanded:?}")
        }
        Kind::Label(pairs) => {
            let mut expanded = Vec::new();
            for (k, v) in pairs {
                expanded.push((state.expand(k)?, state.expand(v)?));
            }
            for (k, v) in &expanded {
                state.config.set_label(k, v);
            }
            format!("LABEL {expanded:?}")
        }
        Kind::User(word) => {
            let user = state.expand(word)?;
            state.config.set_string("User", &user);
            format!("USER {user}")
        }
        Kind::Expose(words) => {
            let mut ports = Vec::new();
            for w in words {
                ports.extend(expose_ports(state, w)?);
            }
            for p in &ports {
                state.config.add_to_set("ExposedPorts", p);
            }
            format!("EXPOSE {ports:?}")
        }
        Kind::Volume(words) => {
            let mut paths = Vec::new();
            for w in words {
                paths.push(state.expand(w)?);
            }
            for p in &paths {
                state.config.add_to_set("Volumes", p);
            }
            format!("VOLUME {paths:?}")
        }
        Kind::Cmd(form) => {
            let argv = argv_of(state, form);
            state.config.set_strings("Cmd", Some(&argv));
            state.cmd_set = true;
            format!("CMD {argv:?}")
        }
        Kind::Entrypoint(form) => {
            let argv = argv_of(state, form);
            state.config.set_strings("Entrypoint", Some(&argv));
            // docker: a new ENTRYPOINT drops a CMD inherited from the base.
            if !state.cmd_set {
                state.config.set_strings("Cmd", None);
            }
            format!("ENTRYPOINT {argv:?}")
        }
        Kind::Shell(argv) => {
            state.shell = argv.clone();
            state.config.set_strings("Shell", Some(argv));
            format!("SHELL {argv:?}")
        }
        Kind::StopSignal(word) => {
            let signal = state.expand(word)?;
            if !valid_signal(&signal) {
                return Err(state.error_at(
                    word.pos,
                    format!("STOPSIGNAL {signal:?} is not a signal: use a name like SIGTERM or a number"),
                ));
            }
            state.config.set_string("StopSignal", &signal);
            format!("STOPSIGNAL {signal}")
        }
        Kind::Healthcheck(check) => {
            let config = match check {
                None => HealthcheckConfig {
                    test: vec!["NONE".into()],
                    interval: 0,
                    timeout: 0,
                    start_period: 0,
                    start_interval: 0,
                    retries: None,
                },
                Some(h) => HealthcheckConfig {
                    test: match &h.command {
                        CommandForm::Exec(argv) => std::iter::once("CMD".to_string())
                            .chain(argv.iter().cloned())
                            .collect(),
                        CommandForm::Shell(cmd) => vec!["CMD-SHELL".into(), cmd.clone()],
                    },
                    interval: h.interval,
                    timeout: h.timeout,
                    start_period: h.start_period,
                    start_interval: h.start_interval,
                    retries: h.retries,
                },
            };
            state.config.set_healthcheck(&config);
            format!("HEALTHCHECK {config:?}")
        }
        Kind::Onbuild(trigger) => {
            let mut triggers = state.config.strings("OnBuild").unwrap_or_default();
            triggers.push(trigger.clone());
            state.config.set_strings("OnBuild", Some(&triggers));
            format!("ONBUILD {trigger}")
        }
        other => unreachable!("{} is not a metadata instruction", other.keyword()),
    };
    state.key = state.key.child(&description, "");
    state.record(&ins.text, None);
    note_in_cache(state, number)
}

/// Config-only steps leave no layer, but are remembered so that a rebuild
/// can say CACHED for them like for every other step.
fn note_in_cache(state: &StageState, number: usize) -> Result<()> {
    if super::copy::lookup(state, &state.key).is_some() {
        super::stage::cached(state, number);
        Ok(())
    } else {
        super::copy::store_entry(state, &state.key, &None)
    }
}

/// CMD/ENTRYPOINT argv: the exec form as is, the shell form through SHELL.
pub(crate) fn argv_of(state: &StageState, form: &CommandForm) -> Vec<String> {
    match form {
        CommandForm::Exec(argv) => argv.clone(),
        CommandForm::Shell(cmd) => {
            let mut argv = state.shell.clone();
            argv.push(cmd.clone());
            argv
        }
    }
}

/// WORKDIR: sets the working directory, creating it (as a layer) when missing.
pub(crate) fn workdir(
    state: &mut StageState,
    ins: &Instruction,
    word: &Word,
    number: usize,
) -> Result<()> {
    let path = state.expand(word)?;
    let current = state
        .config
        .string("WorkingDir")
        .unwrap_or_else(|| "/".into());
    let full = if path.starts_with('/') {
        clean_absolute(&path)
    } else {
        clean_absolute(&format!("{current}/{path}"))
    };
    state.config.set_string("WorkingDir", &full);
    super::copy::ensure_dir(state, ins, &full, number)
}

fn expose_ports(state: &StageState, word: &Word) -> Result<Vec<String>> {
    let text = state.expand(word)?;
    let (range, proto) = match text.split_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (text.as_str(), "tcp".to_string()),
    };
    let bad = || {
        state.error_at(
            word.pos,
            format!("EXPOSE {text:?}: expected PORT[-PORT][/tcp|udp|sctp], e.g. 8080/tcp"),
        )
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad());
    }
    let (lo, hi) = match range.split_once('-') {
        Some((a, b)) => (a, b),
        None => (range, range),
    };
    let lo: u16 = lo.parse().map_err(|_| bad())?;
    let hi: u16 = hi.parse().map_err(|_| bad())?;
    if lo == 0 || hi < lo {
        return Err(bad());
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

fn valid_signal(signal: &str) -> bool {
    if let Ok(n) = signal.parse::<u32>() {
        return (1..=64).contains(&n);
    }
    let name = signal.strip_prefix("SIG").unwrap_or(signal);
    const NAMES: &[&str] = &[
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    NAMES.contains(&name) || name.starts_with("RTMIN") || name.starts_with("RTMAX")
}
