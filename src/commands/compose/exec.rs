//! `hoist compose exec SERVICE CMD...`: the command in the service's running container
//! (`--index N` picks the replica), through the same code as `hoist exec`; the command's exit
//! code is ours. As docker compose: a pseudo-terminal unless `-T` or stdout is not a
//! terminal, stdin kept open.

use super::{is_oneoff, Session};
use crate::cli::compose::ExecArgs;
use anyhow::anyhow;
use hoist_compose::desired::LABEL_NUMBER;
use std::io::IsTerminal;

pub fn exec(session: &Session, a: &ExecArgs) -> anyhow::Result<i32> {
    session.check_services(std::slice::from_ref(&a.service))?;
    let index = a.index.to_string();
    let running = session.containers(std::slice::from_ref(&a.service), true);
    let (rec, _) = running
        .iter()
        .find(|(r, _)| r.labels.get(LABEL_NUMBER) == Some(&index) && !is_oneoff(r))
        .ok_or_else(|| match running.is_empty() {
            // docker compose's words.
            true => anyhow!("service {:?} is not running", a.service),
            false => anyhow!(
                "service {:?} is not running container #{} (--index)",
                a.service,
                a.index
            ),
        })?;
    let args = crate::cli::container::ExecArgs {
        interactive: true,
        tty: !a.no_tty && std::io::stdout().is_terminal(),
        detach: a.detach,
        env: a.env.clone(),
        env_file: Vec::new(),
        privileged: false,
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        // docker compose exec's default detach keys, as docker exec's.
        detach_keys: "ctrl-p,ctrl-q".into(),
        container_and_command: std::iter::once(rec.id.clone())
            .chain(a.command.iter().cloned())
            .collect(),
    };
    crate::commands::container::exec::exec(session.lifecycle.root(), args)
}
