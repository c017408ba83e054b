//! Cross-check with `podman kube play` (Debian's podman 4.3): the same Pod YAML — a
//! ConfigMap in the file used as env, two initContainers appending to a shared emptyDir,
//! then the main container printing the file — gives the same container name and the same
//! output on both.

use super::env::KubeEnv;
use hoist_testkit::{wait_until, TempRoot};
use std::process::Command;
use std::time::Duration;

const YAML: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: words}
data: {LAST: three}
---
apiVersion: v1
kind: Pod
metadata: {name: seq}
spec:
  restartPolicy: Never
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
    - name: first
      image: docker.io/library/busybox:latest
      command: ["sh", "-c", "echo one >> /work/log"]
      volumeMounts: [{name: work, mountPath: /work}]
    - name: second
      image: docker.io/library/busybox:latest
      command: ["sh", "-c", "echo two >> /work/log"]
      volumeMounts: [{name: work, mountPath: /work}]
  containers:
    - name: main
      image: docker.io/library/busybox:latest
      command: ["sh", "-c", "echo $LAST >> /work/log; cat /work/log"]
      env:
        - name: LAST
          valueFrom: {configMapKeyRef: {name: words, key: LAST}}
      volumeMounts: [{name: work, mountPath: /work}]
"#;

/// podman in storage of its own, with shared/BENCHMARKS.md's quirks and a local pause image
/// (Debian's podman builds one from catatonit, which is not installed).
struct Podman<'a> {
    env: &'a KubeEnv,
    dir: TempRoot,
}

impl<'a> Podman<'a> {
    fn new(env: &'a KubeEnv) -> Podman<'a> {
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
        let rootfs = p.dir.join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        for applet in ["sh", "sleep", "cat", "echo"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        let tar = p.dir.join("rootfs.tar");
        let ok = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(ok.success());
        let tar = tar.display().to_string();
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
        p
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self
            .env
            .net
            .ns
            .command("podman")
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "podman {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run(&["pod", "rm", "-af", "-t", "0"]);
        }));
    }
}

#[test]
fn podman_and_hoist_play_the_same_pod_alike() {
    hoist_testkit::require_root!();
    if !hoist_testkit::have_program("podman")
        || !std::path::Path::new("/usr/lib/podman/netavark").exists()
    {
        hoist_testkit::skip_or_fail(
            "kube play podman cross-check",
            "podman or netavark is missing (apt-get install podman netavark)",
        );
        return;
    }
    let Some(env) = KubeEnv::new("kube-podman") else {
        return;
    };
    let file = env.write("seq.yaml", YAML);
    env.ok2(&["kube", "play", &file]);
    wait_until(
        "hoist's main container ends",
        Duration::from_secs(20),
        || env.state("seq-main")["Status"] == "exited",
    );
    let hoist_out = env.net.ok(&["logs", "seq-main"]);

    let podman = Podman::new(&env);
    podman.run(&["kube", "play", &file]);
    podman.run(&["wait", "seq-main"]);
    let podman_out = podman.run(&["logs", "seq-main"]);
    assert_eq!(podman_out.trim(), "one\ntwo\nthree", "podman's own result");
    assert_eq!(hoist_out.trim(), podman_out.trim());
    // The same name for the pod's container (`<pod>-<container>`); podman removes init
    // containers once they have run, hoist keeps them exited (as Kubernetes keeps their
    // statuses).
    let names = podman.run(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(names.lines().any(|n| n == "seq-main"), "podman: {names}");
    assert_eq!(
        env.containers(),
        vec!["seq-first", "seq-main", "seq-second"]
    );
}
