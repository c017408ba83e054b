//! docker is the reference for `diff`: the same image (a rootfs with only
//! busybox, a file and a directory) and the same script under a dockerd of
//! the test's own and under hoist; the A/C/D lines must be the same (the
//! removed file, the chmod of a directory, an appended file, a new tree, a
//! directory made and removed again that docker does not list either).

use super::stderr;
use crate::container::Fixture;
use hoist_testkit::{Dockerd, Netns};

const SCRIPT: &str = "B=/bin/busybox; $B mkdir /newdir; echo hi > /newdir/f; \
                      echo extra >> /etc/passwd; $B rm /data/gone; $B chmod 700 /data/dir; \
                      $B mkdir /tmp/t; $B rmdir /tmp/t";

#[test]
fn diff_lines_match_dockers() {
    if !hoist_testkit::have_program("dockerd") || !hoist_testkit::have_program("docker") {
        hoist_testkit::skip_or_fail(
            "cli docker diff",
            "dockerd is missing (apt-get install docker.io)",
        );
        return;
    }
    let Some(f) = Fixture::new() else { return };
    let rootfs = f.root.join("df-rootfs");
    for d in ["bin", "etc", "tmp", "data/dir"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
    std::fs::write(rootfs.join("data/gone"), "x").unwrap();
    let tar = f.root.join("df-rootfs.tar");
    crate::common::tar_dir(&rootfs, &tar);
    let tar = tar.to_str().unwrap();

    let ns = Netns::new("hcli-df");
    let dockerd = Dockerd::start(&ns);
    let docker = |args: &[&str]| {
        let out = dockerd.docker().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}\n{}",
            stderr(&out),
            dockerd.log()
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    };
    docker(&["import", tar, "dfbb:latest"]);
    f.ok(&["import", tar, "-t", "dfbb:latest"]);
    let run = [
        "run",
        "--name",
        "dd",
        "--network",
        "none",
        "dfbb",
        "/bin/busybox",
        "sh",
        "-c",
        SCRIPT,
    ];
    docker(&run);
    f.ok(&[
        "run",
        "--name",
        "dd",
        "dfbb",
        "/bin/busybox",
        "sh",
        "-c",
        SCRIPT,
    ]);
    let theirs = docker(&["diff", "dd"]);
    let ours = f.ok(&["diff", "dd"]);
    // docker's order changes from run to run (its walk's); hoist sorts by path.
    let mut sorted: Vec<&str> = theirs.lines().collect();
    sorted.sort_by_key(|l| l.get(2..).unwrap_or("").to_string());
    assert_eq!(ours, sorted.join("\n"), "hoist:\n{ours}\ndocker:\n{theirs}");
}
