//! The namespace holder: one process per user that does nothing but keep a
//! user namespace (with the user's id maps) and a mount namespace alive, so
//! every hoist command of that user joins the same ones (podman's "pause
//! process"). Joining is two setns() calls; making it is a fork, an
//! unshare, and newuidmap/newgidmap, done once per boot (measured in
//! ARCHITECTURE.md "Rootless").
//!
//! `holder.pid` in the user's runtime directory names it as `PID STARTTIME`
//! (the start time from /proc/PID/stat, so a recycled PID is not taken for
//! it); a flock on `holder.lock` makes two first commands agree on one.

use anyhow::{anyhow, bail, Context};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::maps::{self, IdMap};

pub const PID_FILE: &str = "holder.pid";
const LOCK_FILE: &str = "holder.lock";

/// The environment variable naming another newuidmap (tests; a wrapper).
pub const NEWUIDMAP_ENV: &str = "HOIST_NEWUIDMAP";
pub const NEWGIDMAP_ENV: &str = "HOIST_NEWGIDMAP";

/// The user's identity outside, and where the holder's files are.
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub name: String,
    pub state_dir: PathBuf,
}

/// Joins the user's holder, making it first when there is none alive;
/// returns its PID (its network namespace is the rootless one of user
/// networks: hoist_network::rootless::netns).
pub fn join_or_create(user: &User) -> anyhow::Result<i32> {
    let lock = lock(&user.state_dir)?;
    // A holder that dies between the check and the open (its namespaces
    // go with it) is made anew.
    let found =
        alive(&user.state_dir, user.uid).and_then(|pid| open_ns(pid).ok().map(|ns| (pid, ns)));
    let (pid, (userns, mntns)) = match found {
        Some(ns) => ns,
        None => {
            let pid = create(user)?;
            (pid, open_ns(pid)?)
        }
    };
    drop(lock);
    enter(&userns, &mntns)?;
    Ok(pid)
}

fn open_ns(pid: i32) -> anyhow::Result<(File, File)> {
    let ns = |kind: &str| {
        File::open(format!("/proc/{pid}/ns/{kind}"))
            .with_context(|| format!("opening the {kind} namespace of hoist's holder (PID {pid})"))
    };
    Ok((ns("user")?, ns("mnt")?))
}

fn lock(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock on our own descriptor; released when it closes.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("locking {}", path.display()));
    }
    Ok(file)
}

/// The holder's PID when `holder.pid` names a live process of ours that
/// started when the file says (not a recycled PID).
pub fn alive(dir: &Path, uid: u32) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join(PID_FILE)).ok()?;
    let mut f = text.split_whitespace();
    let pid: i32 = f.next()?.parse().ok()?;
    let start: u64 = f.next()?.parse().ok()?;
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let owner = proc_dir.metadata().ok()?.uid();
    let (state, started) = stat(pid)?;
    // A killed holder nobody has reaped yet is a zombie: its namespaces are gone.
    let living = !matches!(state, 'Z' | 'X');
    (pid > 0 && owner == uid && living && started == start).then_some(pid)
}

/// Field 22 of /proc/PID/stat: when the process started.
pub fn start_time(pid: i32) -> Option<u64> {
    stat(pid).map(|(_, start)| start)
}

/// The state (field 3) and start time (field 22) of /proc/PID/stat, read
/// after the command's closing parenthesis (the command may itself hold
/// spaces and parentheses).
fn stat(pid: i32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 2..].split(' ');
    let state = fields.next()?.chars().next()?;
    Some((state, fields.nth(18)?.parse().ok()?))
}

fn enter(userns: &File, mntns: &File) -> anyhow::Result<()> {
    // Entering a mount namespace moves the cwd to its root: kept by path
    // (the holder's mounts are a copy of the host's, so the path is the same).
    let cwd = std::env::current_dir().ok();
    // SAFETY: setns on namespace descriptors we opened; the process is
    // single-threaded here (the caller runs first thing in main).
    if unsafe { libc::setns(userns.as_raw_fd(), libc::CLONE_NEWUSER) } < 0 {
        return Err(std::io::Error::last_os_error())
            .context("joining hoist's user namespace (setns)");
    }
    // SAFETY: as above.
    if unsafe { libc::setns(mntns.as_raw_fd(), libc::CLONE_NEWNS) } < 0 {
        return Err(std::io::Error::last_os_error())
            .context("joining hoist's mount namespace (setns)");
    }
    if let Some(cwd) = cwd {
        let _ = std::env::set_current_dir(cwd);
    }
    Ok(())
}

/// A helper program: `$ENV` if set, else the first `name` on PATH.
fn helper(env: &str, name: &str) -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!(
            "{name} not found at {} (from {env}): rootless hoist needs it to map your user's \
             ids into its user namespace (Debian/Ubuntu: apt-get install uidmap)",
            p.display()
        );
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "{name} not found on PATH: rootless hoist needs it to map your user's ids \
                 into its user namespace; install the uidmap package (Debian/Ubuntu: \
                 apt-get install uidmap; Fedora: shadow-utils)"
            )
        })
}

/// The maps of the namespace, warning when the user has no subordinate
/// ranges (then only the user's own id exists inside: images whose files
/// belong to other ids cannot be unpacked, and `-u 1000` cannot run).
fn planned_maps(user: &User) -> (Vec<IdMap>, Vec<IdMap>) {
    let uids = maps::read_ranges(Path::new("/etc/subuid"), &user.name, user.uid);
    let gids = maps::read_ranges(Path::new("/etc/subgid"), &user.name, user.uid);
    if uids.is_empty() || gids.is_empty() {
        let missing = match (uids.is_empty(), gids.is_empty()) {
            (true, true) => "/etc/subuid and /etc/subgid",
            (true, false) => "/etc/subuid",
            _ => "/etc/subgid",
        };
        eprintln!(
            "Warning: {} (uid {}) has no subordinate ids in {missing}: hoist maps only your \
             own id (as root) into its user namespace, so images with files of other owners \
             cannot be used. Add a range (usermod --add-subuids 100000-165535 \
             --add-subgids 100000-165535 {}), then stop hoist's holder (kill the PID in \
             {}) so the next command makes it again.",
            user.name,
            user.uid,
            user.name,
            user.state_dir.join(PID_FILE).display()
        );
    }
    (
        maps::maps_for(user.uid, &uids),
        maps::maps_for(user.gid, &gids),
    )
}

fn pipe() -> anyhow::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two descriptors we own from here on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error()).context("pipe2");
    }
    // SAFETY: fresh descriptors from pipe2, owned by nobody else.
    unsafe { Ok((File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1]))) }
}

/// Makes the holder; returns its PID once its maps are written and
/// `holder.pid` names it. On any failure it is killed: nothing half-made.
fn create(user: &User) -> anyhow::Result<i32> {
    // Found before anything is made: a missing helper leaves no process.
    let newuidmap = helper(NEWUIDMAP_ENV, "newuidmap")?;
    let newgidmap = helper(NEWGIDMAP_ENV, "newgidmap")?;
    let (uid_maps, gid_maps) = planned_maps(user);
    let (mut ready_r, ready_w) = pipe()?;
    let (go_r, mut go_w) = pipe()?;
    // SAFETY: single-threaded (first thing in main): the child may do anything.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(std::io::Error::last_os_error()).context("fork");
    }
    if child == 0 {
        drop(ready_r);
        drop(go_w);
        // Forked once more so the holder is nobody's child but init's:
        // its parent exits at once, and no hoist ever has to reap it.
        // SAFETY: as above.
        match unsafe { libc::fork() } {
            0 => holder_main(ready_w, go_r),
            // SAFETY: _exit skips atexit handlers and buffers that are the parent's.
            _ => unsafe { libc::_exit(0) },
        }
    }
    drop(ready_w);
    drop(go_r);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };

    let mut report = [0u8; 8];
    ready_r
        .read_exact(&mut report)
        .map_err(|_| anyhow!("hoist's namespace holder did not start"))?;
    let pid = i32::from_ne_bytes(report[..4].try_into().expect("4 bytes"));
    let errno = i32::from_ne_bytes(report[4..].try_into().expect("4 bytes"));
    if errno != 0 {
        bail!(
            "creating a user namespace: {} (unprivileged user namespaces may be disabled: \
             sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces > 0)",
            std::io::Error::from_raw_os_error(errno)
        );
    }
    let made = map_ids(pid, &newuidmap, &uid_maps, &newgidmap, &gid_maps).and_then(|()| {
        go_w.write_all(&[1]).context("releasing the holder")?;
        let mut ok = [0u8; 1];
        ready_r
            .read_exact(&mut ok)
            .map_err(|_| anyhow!("hoist's namespace holder died while being set up"))?;
        if ok[0] != 0 {
            bail!("hoist's namespace holder could not make its mounts private");
        }
        write_pid_file(&user.state_dir, pid)
    });
    if let Err(e) = made {
        // SAFETY: the holder we just made (its PID came from it, and as
        // init's child it cannot have been reaped and reused meanwhile
        // without our go byte).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        return Err(e);
    }
    Ok(pid)
}

fn map_ids(
    pid: i32,
    newuidmap: &Path,
    uid_maps: &[IdMap],
    newgidmap: &Path,
    gid_maps: &[IdMap],
) -> anyhow::Result<()> {
    for (helper, maps) in [(newuidmap, uid_maps), (newgidmap, gid_maps)] {
        let out = std::process::Command::new(helper)
            .arg(pid.to_string())
            .args(maps::helper_args(maps))
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("running {}", helper.display()))?;
        if !out.status.success() {
            bail!(
                "{} {pid} {} failed ({}): {} — check your ranges in /etc/subuid and /etc/subgid \
                 and that {} is set-uid root (the uidmap package installs it so)",
                helper.display(),
                maps::helper_args(maps).join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                helper.display()
            );
        }
    }
    Ok(())
}

fn write_pid_file(dir: &Path, pid: i32) -> anyhow::Result<()> {
    let start = start_time(pid).ok_or_else(|| anyhow!("hoist's namespace holder died"))?;
    let tmp = dir.join(format!(".{PID_FILE}.{}", std::process::id()));
    std::fs::write(&tmp, format!("{pid} {start}\n"))
        .and_then(|()| std::fs::rename(&tmp, dir.join(PID_FILE)))
        .with_context(|| format!("writing {}", dir.join(PID_FILE).display()))
}

/// The holder itself: unshares, reports, waits for its maps, makes its
/// mounts private to it, then sleeps until killed. Single-threaded, so it
/// may allocate; it never returns.
fn holder_main(ready: File, go: File) -> ! {
    let mut ready = ready;
    let mut go = go;
    // SAFETY: plain syscalls in a single-threaded child.
    unsafe { libc::setsid() };
    // SAFETY: as above.
    // The network namespace is the rootless one (user networks' bridges,
    // veths, NAT and DNS responders: hoist_network::rootless::netns), owned
    // by the new user namespace and living exactly as long as the holder.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWNET) };
    let errno = if rc < 0 {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EPERM)
    } else {
        0
    };
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut report = pid.to_ne_bytes().to_vec();
    report.extend_from_slice(&errno.to_ne_bytes());
    if ready.write_all(&report).is_err() || errno != 0 {
        // SAFETY: leaving the child without running the parent's handlers.
        unsafe { libc::_exit(1) };
    }
    let mut byte = [0u8; 1];
    if go.read_exact(&mut byte).is_err() {
        // The parent failed (or died): nothing to hold.
        // SAFETY: as above.
        unsafe { libc::_exit(1) };
    }
    // Mounts hoist makes here (overlays of containers started later are in
    // mount namespaces of their own; rundir, tests) never reach the host.
    // Slave rather than private: a mount the host makes later (a new disk
    // for a bind mount) still shows here.
    // SAFETY: mount(2) with static strings.
    let rc = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        )
    };
    let _ = ready.write_all(&[u8::from(rc < 0)]);
    drop(ready);
    drop(go);
    detach();
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
    }
}

/// Lets go of everything the holder inherited: the caller's terminal, its
/// pipes (a test reading a hoist's output would wait for EOF forever), its
/// cwd (a directory that could then never be unmounted), and its signals
/// but SIGTERM and SIGKILL.
fn detach() {
    // SAFETY: plain syscalls on descriptors of this process.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
        }
        libc::close_range(3, u32::MAX, 0);
        // The lifeline: a pipe whose write end only the holder has. The
        // shared slirp4netns of user networks watches its read end
        // (/proc/HOLDER/fd/3) as its exit descriptor, so it ends with the
        // holder.
        let mut fds = [0; 2];
        if libc::pipe(fds.as_mut_ptr()) == 0 {
            let read = hoist_network::rootless::netns::LIFELINE_FD;
            for (fd, want) in [(fds[0], read), (fds[1], read + 1)] {
                if fd != want {
                    libc::dup2(fd, want);
                    libc::close(fd);
                }
            }
        }
        libc::chdir(c"/".as_ptr());
        libc::prctl(libc::PR_SET_NAME, c"hoist-holder".as_ptr());
        for sig in [
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGPIPE,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGALRM,
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGTTOU,
        ] {
            libc::signal(sig, libc::SIG_IGN);
        }
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_reads_past_a_command_with_spaces_and_parentheses() {
        let mine = start_time(std::process::id() as i32).unwrap();
        assert!(mine > 0);
        assert_eq!(start_time(std::process::id() as i32), Some(mine));
        assert_eq!(start_time(i32::MAX), None);
    }

    #[test]
    fn a_pid_file_naming_a_recycled_or_foreign_pid_is_not_alive() {
        let t = tempfile::tempdir().unwrap();
        let me = std::process::id() as i32;
        let uid = nix::unistd::geteuid().as_raw();
        let start = start_time(me).unwrap();
        std::fs::write(t.path().join(PID_FILE), format!("{me} {start}\n")).unwrap();
        assert_eq!(alive(t.path(), uid), Some(me));
        std::fs::write(t.path().join(PID_FILE), format!("{me} {}\n", start + 1)).unwrap();
        assert_eq!(alive(t.path(), uid), None, "another start time: recycled");
        std::fs::write(t.path().join(PID_FILE), format!("{me} {start}\n")).unwrap();
        assert_eq!(alive(t.path(), uid + 1), None, "not the user's process");
        std::fs::write(t.path().join(PID_FILE), "garbage").unwrap();
        assert_eq!(alive(t.path(), uid), None);
    }
}
