//! A dockerd of the test's own, inside a network namespace the test made: its own data root,
//! exec root, socket and pidfile under a temp dir, so it touches nothing of the host's (with
//! iptables on it sets the namespace's FORWARD policy to DROP and adds its chains, which is
//! what tests of hoist beside docker want). Stopped by its PID on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{ChildGuard, Netns};

pub struct Dockerd {
    guard: ChildGuard,
    dir: tempfile::TempDir,
}

impl Dockerd {
    /// Starts `dockerd` inside `netns` and waits (up to 60 s) until it answers on its socket.
    /// Panics with dockerd's log when it does not come up.
    pub fn start(netns: &Netns) -> Dockerd {
        let dir = tempfile::Builder::new()
            .prefix("hoist-dockerd-")
            .tempdir()
            .expect("temp dir for dockerd");
        let d = dir.path();
        let log = std::fs::File::create(d.join("dockerd.log")).expect("dockerd log");
        let mut cmd = netns.command("dockerd");
        cmd.arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", d.join("docker.sock").display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        let guard = ChildGuard::spawn(&mut cmd).expect("spawn dockerd (apt-get install docker.io)");
        let dockerd = Dockerd { guard, dir };
        let up = poll(Duration::from_secs(60), || {
            dockerd
                .docker()
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        });
        assert!(up, "dockerd did not come up:\n{}", dockerd.log());
        dockerd
    }

    /// `DOCKER_HOST` for this daemon.
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }

    /// A `docker` command talking to this daemon.
    pub fn docker(&self) -> Command {
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", self.host());
        c
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.path().join("docker.pid")
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containerd and unmount what it mounted; SIGKILL
        // (ChildGuard's drop) only if it does not go within 20 s.
        self.guard.signal(libc::SIGTERM);
        let pid = self.guard.id();
        poll(Duration::from_secs(20), || {
            self.guard.exited() || !Path::new(&format!("/proc/{pid}")).exists()
        });
        let _ = std::fs::remove_file(self.pidfile());
        // dockerd leaves its exec root's `netns/default` bind mounted when it
        // exits (and everything when it had to be killed): detach what is
        // still mounted below the temp dir, or the dir cannot be removed and
        // the mount outlives the test.
        unmount_below(self.dir.path());
    }
}

/// Detaches every mount point under `dir`, deepest first.
fn unmount_below(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        if let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) {
            // SAFETY: a valid NUL-terminated path; MNT_DETACH never blocks.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Polls `cond` until true or `timeout`; returns whether it became true. (Unlike
/// `wait_until` it does not panic: `start` panics with the daemon's log, `drop` not at all.)
fn poll(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
