//! The rootless tests' harness: an unprivileged user made for one test
//! (useradd -M with a home under the test's temp dir; subordinate ranges
//! given by useradd from /etc/login.defs, or none), its own
//! XDG_RUNTIME_DIR, and hoist run as that user through `setpriv` with only
//! HOME/XDG/PATH in the environment, inside a network namespace the test
//! made. On drop: the user's processes (hoist's holder, anything a failed
//! test left) killed by PID, `userdel` (which also takes the user's lines
//! out of /etc/subuid and /etc/subgid), the network namespace and the
//! temp dir removed.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::common;
use hoist_testkit::Netns;

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    pub runtime: PathBuf,
    pub netns: Netns,
    /// The first subordinate uid range (start, count), if the user has one.
    pub subuid: Option<(u32, u32)>,
    /// A cgroup v2 directory's cgroup.procs every command is moved into
    /// before it runs (`in_cgroup`), as a systemd-delegated session's are.
    cgroup_procs: Option<std::ffi::CString>,
    dir: tempfile::TempDir,
}

/// Subordinate ranges or none.
#[derive(PartialEq, Eq)]
pub enum Ranges {
    Given,
    None,
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn id_of(flag: &str, name: &str) -> u32 {
    let out = Command::new("id").args([flag, name]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The user's lines in a subuid/subgid file.
pub fn sub_lines(file: &str, name: &str) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(':').next() == Some(name))
        .map(str::to_string)
        .collect()
}

impl User {
    /// Makes the user, or returns None (after skip_or_fail) when the
    /// machine lacks what the tests need.
    pub fn new(ranges: Ranges) -> Option<User> {
        if !hoist_testkit::is_root() {
            hoist_testkit::skip_or_fail("rootless", "needs root (it makes a user)");
            return None;
        }
        for program in ["useradd", "userdel", "setpriv", "newuidmap", "newgidmap"] {
            if !hoist_testkit::have_program(program) {
                hoist_testkit::skip_or_fail(
                    "rootless",
                    &format!("`{program}` is not installed (passwd, util-linux, uidmap)"),
                );
                return None;
            }
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // useradd: at most 32 characters.
        let name = format!("hrl{}x{n}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("hoist-rootless-")
            .tempdir()
            .unwrap();
        // The user must reach its home and runtime dir through the temp dir.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let home = dir.path().join("home");
        let mut add = Command::new("useradd");
        add.args(["-M", "-s", "/bin/sh", "-d"]).arg(&home);
        if ranges == Ranges::None {
            add.args(["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"]);
        }
        run_ok(add.arg(&name));
        let (uid, gid) = (id_of("-u", &name), id_of("-g", &name));
        let runtime = dir.path().join("run");
        for (d, mode) in [(&home, 0o755), (&runtime, 0o700)] {
            std::fs::create_dir(d).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
            std::os::unix::fs::chown(d, Some(uid), Some(gid)).unwrap();
        }
        let subuid = sub_lines("/etc/subuid", &name).first().map(|l| {
            let f: Vec<u32> = l.split(':').skip(1).map(|n| n.parse().unwrap()).collect();
            (f[0], f[1])
        });
        assert_eq!(
            subuid.is_some(),
            ranges == Ranges::Given,
            "useradd's subordinate ranges for {name}"
        );
        Some(User {
            name,
            uid,
            gid,
            home,
            runtime,
            netns: Netns::new("rootless"),
            subuid,
            cgroup_procs: None,
            dir,
        })
    }

    /// Runs every later command inside cgroup v2 directory `dir` (moved
    /// there by root before it becomes the user).
    pub fn in_cgroup(&mut self, dir: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let procs = dir.join("cgroup.procs");
        self.cgroup_procs = Some(std::ffi::CString::new(procs.as_os_str().as_bytes()).unwrap());
    }

    /// A temp directory the test may use (root's, readable by the user).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The user's store (hoist's rootless default).
    pub fn store(&self) -> PathBuf {
        self.home.join(".local/share/hoist")
    }

    /// `program ARGS` as the user, in the test's network namespace, with a
    /// login-like environment and nothing of the test's.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.command_env(&[], program)
    }

    /// `command` with more environment variables (`NAME=VALUE`).
    pub fn command_env(&self, env: &[String], program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = self.netns.command("setpriv");
        c.args([
            "--reuid",
            &self.uid.to_string(),
            "--regid",
            &self.gid.to_string(),
        ])
        .args(["--init-groups", "--", "env", "-i"])
        .arg(format!("HOME={}", self.home.display()))
        .arg(format!("USER={}", self.name))
        .arg(format!("XDG_RUNTIME_DIR={}", self.runtime.display()))
        .arg(format!("{}=never", common::PULL_ENV))
        .args(env);
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            c.arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        }
        c.arg(program);
        c.current_dir(&self.home);
        if let Some(procs) = self.cgroup_procs.clone() {
            use std::os::unix::process::CommandExt;
            // SAFETY: open/write/close only, between fork and exec.
            unsafe {
                c.pre_exec(move || {
                    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    let ok = fd >= 0 && libc::write(fd, b"0".as_ptr().cast(), 1) == 1;
                    let err = std::io::Error::last_os_error();
                    if fd >= 0 {
                        libc::close(fd);
                    }
                    if ok {
                        Ok(())
                    } else {
                        Err(err)
                    }
                });
            }
        }
        c
    }

    /// `hoist ARGS` as the user (the store at its default place).
    pub fn hoist(&self, args: &[&str]) -> Command {
        let mut c = self.command(common::hoist_bin());
        c.args(args);
        c
    }

    pub fn out(&self, args: &[&str]) -> Output {
        self.hoist(args).output().unwrap()
    }

    /// Runs hoist as the user; panics with its stderr unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.out(args);
        assert!(
            out.status.success(),
            "hoist {args:?} as {} failed ({}):\nstdout: {}\nstderr: {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The busybox base image in the user's store, made by the user
    /// (testdata/make-base-image.sh as the user: `hoist import`).
    pub fn import_busybox(&self) {
        let hoist = format!("HOIST={}", common::hoist_bin().display());
        run_ok(
            self.command_env(&[hoist], "bash")
                .arg(common::repo_dir().join("testdata/make-base-image.sh"))
                .arg("busybox:latest"),
        );
    }

    /// The holder's PID from its file, when there is one.
    pub fn holder_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.runtime.join("hoist/holder.pid"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// Processes whose uid is the user's or one of its subordinate ids.
    pub fn processes(&self) -> Vec<i32> {
        User::processes_of(self.uid, self.subuid)()
    }

    fn processes_of(uid: u32, subuid: Option<(u32, u32)>) -> impl Fn() -> Vec<i32> {
        move || {
            let mut ids = vec![(uid, 1)];
            ids.extend(subuid);
            std::fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter_map(|e| {
                    let pid: i32 = e.file_name().to_str()?.parse().ok()?;
                    let uid = e.path().metadata().ok()?.uid();
                    // A killed process nobody reaped yet (the holder is
                    // init's child, and this machine's PID 1 may not reap)
                    // holds nothing.
                    let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
                    if stat[stat.rfind(')')? + 2..].starts_with('Z') {
                        return None;
                    }
                    ids.iter()
                        .any(|&(start, count)| uid >= start && uid - start < count)
                        .then_some(pid)
                })
                .collect()
        }
    }

    /// Every path under `dir` owned by real root (uid or gid 0).
    pub fn owned_by_root(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            let Ok(meta) = d.symlink_metadata() else {
                continue;
            };
            if meta.uid() == 0 || meta.gid() == 0 {
                found.push(d.clone());
            }
            if meta.is_dir() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    todo.push(e.path());
                }
            }
        }
        found
    }
}

impl User {
    /// Removes the user (as drop does) and checks nothing of it is left: no
    /// process, no line in /etc/subuid or /etc/subgid, no account.
    pub fn finish(self) {
        let name = self.name.clone();
        let ranges = (self.uid, self.subuid);
        let probe = User::processes_of(ranges.0, ranges.1);
        drop(self);
        assert_eq!(probe(), Vec::<i32>::new(), "processes of {name} left");
        assert!(
            sub_lines("/etc/subuid", &name).is_empty(),
            "{name} in /etc/subuid"
        );
        assert!(
            sub_lines("/etc/subgid", &name).is_empty(),
            "{name} in /etc/subgid"
        );
        assert!(!Command::new("id")
            .arg(&name)
            .output()
            .unwrap()
            .status
            .success());
    }
}

impl Drop for User {
    fn drop(&mut self) {
        // Everything of the user's is the test's: its holder first (by PID),
        // then whatever a failed test left running.
        if let Some(pid) = self.holder_pid() {
            // SAFETY: kill by PID a process of the user this test made.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for _ in 0..50 {
            let left = self.processes();
            if left.is_empty() {
                break;
            }
            for pid in left {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = Command::new("userdel").arg(&self.name).output();
        if !out.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("userdel {} failed: {out:?}", self.name);
        }
    }
}
