//! exec: a process in a running container, with this CLI's stdio.

use hoist_runtime::container;
use hoist_runtime::container::config::{expand_env_flag, read_env_file};
use hoist_runtime::core::wait_exit_code;
use hoist_runtime::exec::{exec_in, ExecOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use super::run_error;
use crate::cli::container::ExecArgs;
use crate::commands::coded;

pub fn exec(root: &Path, a: ExecArgs) -> anyhow::Result<i32> {
    let keys = super::attach::detach_keys(&a.detach_keys).map_err(|e| coded(125, e))?;
    let rec = container::find(root, a.container()).map_err(|e| coded(125, e.into()))?;
    // --env-file first, then -e (docker's order: a later KEY wins).
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(read_env_file(f).map_err(|e| coded(125, e.into()))?);
    }
    env.extend(a.env.iter().filter_map(|e| expand_env_flag(e)));
    let opts = ExecOptions {
        argv: a.command().to_vec(),
        env,
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        tty: a.tty && !a.detach,
        privileged: a.privileged,
    };
    if opts.tty {
        use hoist_runtime::container::state::{read_live, Status};
        let st = read_live(&container::container_dir(root, &rec.id));
        if st.status != Status::Running || st.pid <= 0 {
            let not_running = hoist_runtime::error::RuntimeError::NotRunning(rec.name.clone());
            return Err(run_error(not_running));
        }
        let (master, slave) =
            hoist_runtime::exec_pty::open_container_pty(st.pid).map_err(run_error)?;
        hoist_runtime::exec_pty::copy_window_size(std::os::fd::AsFd::as_fd(&master));
        let fd = slave.as_raw_fd();
        let pid = exec_in(root, &rec, &opts, [fd, fd, fd]).map_err(run_error)?;
        // Only the process holds the slave now: its exit hangs the pty up.
        drop(slave);
        return super::exec_tty::relay(master, a.interactive, keys, || Ok(wait_exit_code(pid)?));
    }
    let null = std::fs::File::open("/dev/null")?;
    let stdin = if a.interactive { 0 } else { null.as_raw_fd() };
    let stdio = if a.detach {
        [null.as_raw_fd(); 3]
    } else {
        [stdin, 1, 2]
    };
    let pid = exec_in(root, &rec, &opts, stdio).map_err(run_error)?;
    if a.detach {
        return Ok(0);
    }
    Ok(wait_exit_code(pid)?)
}
