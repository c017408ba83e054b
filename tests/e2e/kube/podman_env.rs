//! podman beside hoist for the kube cross-checks: storage and configuration of its own
//! (shared/BENCHMARKS.md's quirks: netavark, cgroupfs without systemd, ulimits root may
//! set), busybox and a local pause image imported from the host's static busybox (Debian's
//! podman builds its pause image from catatonit, which is not installed). Dropped: what it
//! made is removed.

use super::env::KubeEnv;
use hoist_testkit::TempRoot;
use std::process::Command;

pub struct Podman<'a> {
    env: &'a KubeEnv,
    pub dir: TempRoot,
}

impl<'a> Podman<'a> {
    /// None (the test skips, or fails under HOIST_TEST_STRICT) without podman or netavark.
    pub fn new(env: &'a KubeEnv, what: &str) -> Option<Podman<'a>> {
        if !hoist_testkit::have_program("podman")
            || !std::path::Path::new("/usr/lib/podman/netavark").exists()
        {
            hoist_testkit::skip_or_fail(
                what,
                "podman or netavark is missing (apt-get install podman netavark)",
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
        let p = Podman { env, dir };
        let tar = p.busybox_tar();
        p.run(&[
            "import",
            "--change",
            "ENV PATH=/bin",
            &tar,
            "docker.io/library/busybox:latest",
        ]);
        p.run(&[
            "import",
            "--change",
            r#"CMD ["/bin/sleep", "100000000"]"#,
            &tar,
            "localhost/hoist-pause:latest",
        ]);
        Some(p)
    }

    /// podman in the test's namespace, on this storage.
    pub fn command(&self) -> Command {
        let mut c = self.env.net.ns.command("podman");
        c.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"));
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

    /// A rootfs of the static busybox with the applets the tests' pods use.
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
        ] {
            let _ = self.command().args(args).output();
        }
    }
}
