//! Usage errors the way docker prints them: `unknown flag: --x`, the verb's usage line, and
//! where to read more; exit 125 (docker's status for a command line it refuses).

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::CommandFactory;

/// The words of the subcommand path in `args` (`["container", "ls"]`), found by walking the
/// clap tree, so the message names the verb the user typed.
fn verb_path(args: &[String]) -> Vec<String> {
    let mut cmd = crate::cli::Cli::command();
    let mut path = Vec::new();
    let mut words = args.iter().skip(1);
    while let Some(a) = words.next() {
        // The global options that take a value (`--root DIR`) come before the verb.
        if matches!(a.as_str(), "--root" | "--log-level" | "--log-format") {
            words.next();
            continue;
        }
        if a.starts_with('-') {
            continue;
        }
        let found = cmd
            .get_subcommands()
            .find(|s| s.get_name() == a || s.get_all_aliases().any(|al| al == a))
            .cloned();
        match found {
            Some(sub) => {
                path.push(a.clone());
                cmd = sub;
            }
            None => break,
        }
    }
    path
}

/// The message and exit code for a usage error, or None for clap's own text (help, version,
/// other kinds).
pub fn docker_style(err: &clap::Error, args: &[String]) -> Option<(String, i32)> {
    match err.kind() {
        ErrorKind::UnknownArgument => {
            let Some(ContextValue::String(flag)) = err.get(ContextKind::InvalidArg) else {
                return None;
            };
            let flag = flag.split('=').next().unwrap_or(flag);
            if !flag.starts_with('-') {
                return None;
            }
            let path = verb_path(args);
            // Only the typed verb is built (building the whole tree would run clap's debug
            // checks over every verb); its usage then names the whole path.
            let mut sub = crate::cli::Cli::command();
            for p in &path {
                sub = sub.find_subcommand(p)?.clone();
            }
            let full = std::iter::once("hoist".to_string())
                .chain(path.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ");
            let mut sub = sub.bin_name(full);
            let usage = sub.render_usage().to_string();
            let usage = usage.trim_start_matches("Usage:").trim();
            let verb = if path.is_empty() {
                "hoist".to_string()
            } else {
                format!("hoist {}", path.join(" "))
            };
            Some((
                format!(
                    "unknown flag: {flag}\n\nUsage:  {usage}\n\nRun '{verb} --help' for more information\n"
                ),
                125,
            ))
        }
        _ => None,
    }
}
