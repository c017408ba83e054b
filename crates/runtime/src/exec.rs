//! Starting a process inside a running container (CLI `exec`, health checks):
//! the container's own process settings from its config.json (capabilities,
//! no_new_privs, env), with exec's overrides, joined via setns (core/join.rs).

use oci_spec::runtime::Spec;
use std::os::unix::io::RawFd;
use std::path::Path;

use crate::cgroup::Cgroup;
use crate::container::{state, ContainerRecord, Status};
use crate::core::{process_plan, spawn_in, JoinPlan};
use crate::error::{Result, RuntimeError};
use crate::user::resolve_user;

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub argv: Vec<String>,
    /// Extra KEY=VALUE entries (override the container's).
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub tty: bool,
    /// docker's `exec --privileged`: every capability this process can
    /// hand on, whatever the container's set (its seccomp filter stays).
    pub privileged: bool,
}

/// Reads a file of the container's root through /proc/PID/root without
/// following symlinks out of it (openat2 RESOLVE_IN_ROOT).
pub fn read_in_container(pid: i32, path: &str) -> Option<String> {
    use std::ffi::CString;
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let root = CString::new(format!("/proc/{pid}/root")).ok()?;
    let rel = CString::new(path.trim_start_matches('/')).ok()?;
    // SAFETY: plain open calls; the descriptors are closed below or owned by File.
    unsafe {
        let dir = libc::open(
            root.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        if dir < 0 {
            return None;
        }
        let fd = crate::core::sys::openat2(
            dir,
            rel.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
            0,
            libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
        );
        libc::close(dir);
        let mut f = std::fs::File::from_raw_fd(fd.ok()?);
        let mut s = String::new();
        f.read_to_string(&mut s).ok()?;
        Some(s)
    }
}

/// Starts `opts.argv` in the container; returns the PID (our child).
pub fn exec_in(
    root: &Path,
    rec: &ContainerRecord,
    opts: &ExecOptions,
    stdio: [RawFd; 3],
) -> Result<i32> {
    let dir = crate::container::container_dir(root, &rec.id);
    let st = state::read_live(&dir);
    if st.status != Status::Running || st.pid <= 0 {
        return Err(RuntimeError::NotRunning(rec.name.clone()));
    }
    let spec = Spec::load(dir.join("config.json"))
        .map_err(|e| RuntimeError::Invalid(format!("reading the container's spec: {e}")))?;
    let mut process = spec
        .process()
        .clone()
        .ok_or_else(|| RuntimeError::Invalid("the container's spec has no process".into()))?;
    if opts.argv.is_empty() {
        return Err(RuntimeError::Invalid("exec needs a command".into()));
    }
    process.set_args(Some(opts.argv.clone()));
    let mut env = process.env().clone().unwrap_or_default();
    for e in &opts.env {
        crate::container::config::set_env(&mut env, e.clone());
    }
    process.set_env(Some(env));
    if let Some(w) = &opts.workdir {
        process.set_cwd(w.into());
    }
    if let Some(u) = &opts.user {
        let r = resolve_user(u, |p| read_in_container(st.pid, p))?;
        let mut user = process.user().clone();
        user.set_uid(r.uid);
        user.set_gid(r.gid);
        user.set_additional_gids(Some(r.additional_gids));
        process.set_user(user);
        if r.uid != 0 {
            if let Some(mut caps) = process.capabilities().clone() {
                caps.set_effective(Some(Default::default()));
                caps.set_permitted(Some(Default::default()));
                process.set_capabilities(Some(caps));
            }
        }
    }
    process.set_terminal(Some(opts.tty));
    let mut plan = process_plan(&process, stdio)?;
    if opts.privileged {
        let all = crate::security::own_bounding_set();
        plan.caps.bounding = all;
        plan.caps.inheritable = all;
        // As for any exec: a user other than root keeps no effective set.
        if plan.uid == 0 {
            plan.caps.effective = all;
            plan.caps.permitted = all;
        }
    }
    // The container's own filter (from the store's cache: exec compiles nothing).
    plan.seccomp = crate::security::seccomp_program(&spec, Some(root))?;
    let cgroup_files = Cgroup::existing(&rec.id).open_join_files()?;
    let join = JoinPlan::new(st.pid, cgroup_files, plan)?;
    spawn_in(&join)
}
