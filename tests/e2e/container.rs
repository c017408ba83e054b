//! End-to-end tests: containers (root, on the busybox base image). Each test
//! uses its own store root; a guard force-removes every container it made and
//! the tests check that no mount, monitor or cgroup is left behind.

mod crun;
mod exec_detach;
mod exec_tty;
mod health;
mod hostile;
mod init;
mod labels;
mod lifecycle;
mod limits;
mod monitor_death;
mod mount_volume_opts;
mod run;
mod run_flags_more;
mod run_tty;
mod rundir;
mod sig_proxy;
mod tmpfs_volumes;
mod volumes;

use crate::common::{hoist, hoist_out, import_busybox};
use hoist_testkit::TempRoot;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// A store root with busybox:latest imported; removes its containers on drop.
pub struct Fixture {
    pub root: TempRoot,
}

impl Fixture {
    /// None (test skipped) without root or busybox.
    pub fn new() -> Option<Fixture> {
        if !hoist_testkit::is_root() {
            hoist_testkit::skip_or_fail("container", "needs root");
            return None;
        }
        let root = TempRoot::new();
        if !import_busybox(root.path(), "busybox:latest") {
            return None;
        }
        Some(Fixture { root })
    }
    pub fn path(&self) -> &Path {
        self.root.path()
    }
    pub fn out(&self, args: &[&str]) -> Output {
        hoist_out(self.path(), args)
    }
    /// Runs `args` (a shell with -i -t) feeding it a command through the pty;
    /// asserts the shell ran it: its output and its exit code.
    pub fn assert_shell_reads_stdin(&self, args: &[&str]) {
        let out = self.out_with_stdin(args, b"echo from-stdin-$((6*7)); exit 3\n");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{stdout}");
        assert!(stdout.contains("from-stdin-42"), "{stdout}");
    }
    /// Runs hoist with `input` on its stdin (then closed).
    pub fn out_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = crate::common::hoist(self.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting hoist");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input)
            .expect("writing hoist's stdin");
        child.wait_with_output().expect("waiting for hoist")
    }
    /// Runs hoist; asserts success; returns trimmed stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.out(args);
        assert!(
            out.status.success(),
            "hoist {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }
    pub fn inspect(&self, name: &str) -> Value {
        let v: Value = serde_json::from_str(&self.ok(&["inspect", name])).expect("inspect JSON");
        v[0].clone()
    }
    pub fn wait_for(
        &self,
        what: &str,
        secs: u64,
        mut cond: impl FnMut(&Value) -> bool,
        name: &str,
    ) -> Value {
        hoist_testkit::wait_until_ok(what, Duration::from_secs(secs), || {
            let v = self.inspect(name);
            cond(&v).then_some(v)
        })
    }
    /// Makes an image from a busybox rootfs with extra `--change`s and files.
    pub fn image(&self, name: &str, changes: &[&str], files: &[(&str, &str)]) {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for d in [
            "bin", "etc", "tmp", "root", "home", "proc", "sys", "dev", "var/www",
        ] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", r.join("bin/busybox")).unwrap();
        let applets = String::from_utf8(
            std::process::Command::new("/bin/busybox")
                .arg("--list")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        for a in applets.lines().filter(|a| *a != "busybox") {
            std::os::unix::fs::symlink("busybox", r.join("bin").join(a)).unwrap();
        }
        std::fs::write(
            r.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            r.join("etc/group"),
            "root:x:0:\nuser:x:1000:\nstaff:x:50:user\n",
        )
        .unwrap();
        for (path, content) in files {
            let p = r.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            if let Some(target) = content.strip_prefix("symlink:") {
                std::os::unix::fs::symlink(target, &p).unwrap();
            } else {
                std::fs::write(&p, content).unwrap();
            }
        }
        let mut args = vec![
            "import".to_string(),
            r.display().to_string(),
            "-t".into(),
            name.into(),
        ];
        args.push("--change".into());
        args.push("ENV PATH=/bin".into());
        for c in changes {
            args.push("--change".into());
            args.push(c.to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ok(&args);
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let ids = hoist_out(self.path(), &["ps", "-aq"]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = hoist(self.path()).args(["rm", "-f", id]).output();
        }
    }
}

/// Asserts that nothing of container `id` remains: no mount naming it, no
/// live monitor process, no cgroup directory.
pub fn assert_nothing_left(id: &str) {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(id), "a mount of {id} remains:\n{mounts}");
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'));
        assert!(
            zombie || !(cmdline.contains("__monitor") && cmdline.contains(id)),
            "monitor {pid} of {id} still runs"
        );
    }
    for ctrl in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let dir = ctrl.path().join("hoist").join(id);
        assert!(!dir.exists(), "cgroup {} remains", dir.display());
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
