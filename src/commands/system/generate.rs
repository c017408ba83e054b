//! Shell completions (clap_complete) and man pages (clap_mangen), both generated from the
//! clap definitions so they never drift from the real flags.

use crate::cli::groups::Shell;
use anyhow::Context;
use clap::CommandFactory;
use std::path::Path;

pub fn completion(shell: Shell) -> anyhow::Result<i32> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = crate::cli::Cli::command();
    // Into a buffer first: clap_complete panics on a write error (`| head` closing the pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "hoist", &mut script);
    match std::io::Write::write_all(&mut std::io::stdout(), &script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(0),
    }
}

/// Writes `hoist.1` and one page per verb (`hoist-run.1`, `hoist-container-run.1`, ...),
/// hidden internal verbs left out.
pub fn man_pages(dir: &Path) -> anyhow::Result<i32> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    let mut written = 0;
    write_page(dir, &cmd, "hoist", &mut written)?;
    println!("wrote {written} man pages to {}", dir.display());
    Ok(0)
}

fn write_page(
    dir: &Path,
    cmd: &clap::Command,
    name: &str,
    written: &mut usize,
) -> anyhow::Result<()> {
    let path = dir.join(format!("{name}.1"));
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_string())
        .render(&mut out)?;
    std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
    *written += 1;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_page(dir, sub, &format!("{name}-{}", sub.get_name()), written)?;
    }
    Ok(())
}
