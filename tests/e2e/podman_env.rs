//! podman beside hoist for the cross-checks (compose, kube): storage and configuration of
//! its own (shared/BENCHMARKS.md's quirks: netavark, cgroupfs without systemd, ulimits root
//! may set), run in the test's namespace, with busybox imported from the host's static
//! busybox. Dropped: what it made (pods, containers, volumes, networks) is removed.

use hoist_testkit::{Netns, TempRoot};
use std::process::Command;

pub struct Podman<'a> {
    ns: &'a Netns,
    pub dir: TempRoot,
}

impl<'a> Podman<'a> {
    /// None (the test skips, or fails under HOIST_TEST_STRICT) without podman or netavark.
    pub fn new(ns: &'a Netns, what: &str) -> Option<Podman<'a>> {
        if !hoist_testkit::have_program("podman")
            || !std::path::Path::new("/usr/lib/podman/netavark").exists()
        {
            hoist_testkit::skip_or_fail(
                what,
                "podman or netavark is missing (apt-get install podman netavark aardvark-dns)",
            );
            return None;
        }
        let dir = TempRoot::new();
        let conf = format!(
            "[network]\nnetwork_backend = \"netavark\"\nnetwork_config_dir = \"{}\"\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
             infra_image = \"localhost/hoist-pause:latest\"\n\
             [containers]\ndefault_ulimits = [\"nofile=16384:16384\", \"nproc=16384:16384\"]\n",
            dir.join("networks").display()
        );
        std::fs::write(dir.join("containers.conf"), conf).unwrap();
        let p = Podman { ns, dir };
        p.run(&[
            "import",
            "--change",
            "ENV PATH=/bin",
            &p.busybox_tar(),
            "docker.io/library/busybox:latest",
        ]);
        Some(p)
    }

    /// A local pause image for pods (Debian's podman builds its own from catatonit, which is
    /// not installed): busybox sleeping.
    pub fn import_pause(&self) {
        self.run(&[
            "import",
            "--change",
            r#"CMD ["/bin/sleep", "100000000"]"#,
            &self.dir.join("rootfs.tar").display().to_string(),
            "localhost/hoist-pause:latest",
        ]);
    }

    /// `--root DIR --runroot DIR`: this storage, for podman and podman-compose's
    /// `--podman-args`.
    pub fn storage_args(&self) -> String {
        format!(
            "--root {} --runroot {}",
            self.dir.join("root").display(),
            self.dir.join("run").display()
        )
    }

    /// `program` in the test's namespace with this configuration.
    pub fn program(&self, program: &str) -> Command {
        let mut c = self.ns.command(program);
        c.env("CONTAINERS_CONF", self.dir.join("containers.conf"));
        c
    }

    /// podman on this storage.
    pub fn command(&self) -> Command {
        let mut c = self.program("podman");
        c.args(self.storage_args().split(' '));
        c
    }

    /// Runs podman, panics unless it succeeds; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "podman {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tar of a rootfs with the static busybox and the applets the tests use.
    fn busybox_tar(&self) -> String {
        let rootfs = self.dir.join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        for applet in ["sh", "sleep", "httpd", "true", "echo", "cat"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        let tar = self.dir.join("rootfs.tar");
        let ok = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(ok.success());
        tar.display().to_string()
    }
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        for args in [
            &["pod", "rm", "-af", "-t", "0"][..],
            &["rm", "-af", "-t", "0"],
            &["volume", "rm", "-af"],
            &["network", "prune", "-f"],
        ] {
            let _ = self.command().args(args).output();
        }
    }
}
