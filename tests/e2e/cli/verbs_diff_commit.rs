//! `diff`, `export` and `commit` over one container that adds, changes and
//! deletes files: docker's A/C/D lines (hoist's own mount targets such as
//! /etc/hosts never listed), the flattened file system as a tar, and a new
//! image carrying the changes (a deletion as a whiteout) and `--change`s.

use super::stderr;
use crate::container::Fixture;
use std::collections::BTreeMap;
use std::io::Read;

const SCRIPT: &str = "mkdir /newdir && echo hi > /newdir/f && echo extra >> /etc/passwd \
                      && rm /bin/ls && mkdir -p /tmp/t && rm -r /tmp/t";

fn tar_files(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(bytes);
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut body = String::new();
        let _ = e.read_to_string(&mut body);
        files.insert(name, body);
    }
    files
}

#[test]
fn diff_export_and_commit_carry_a_containers_changes() {
    let Some(f) = Fixture::new() else { return };
    // A container that changes nothing has nothing to show.
    f.ok(&["run", "--name", "quiet", "busybox", "true"]);
    assert_eq!(f.ok(&["diff", "quiet"]), "");

    f.ok(&["run", "--name", "w", "busybox", "sh", "-c", SCRIPT]);
    let diff = f.ok(&["container", "diff", "w"]);
    assert_eq!(
        diff.lines().collect::<Vec<_>>(),
        [
            "C /bin",
            "D /bin/ls",
            "C /etc",
            "C /etc/passwd",
            "A /newdir",
            "A /newdir/f",
        ],
        "{diff}"
    );

    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("w.tar");
    f.ok(&["export", "w", "-o", &file.display().to_string()]);
    let files = tar_files(&std::fs::read(&file).unwrap());
    assert_eq!(files["newdir/f"], "hi\n");
    assert!(files["etc/passwd"].ends_with("extra\n"));
    assert!(files.contains_key("bin/sh"));
    assert!(!files.contains_key("bin/ls"), "a deleted file was exported");
    let piped = f.out(&["container", "export", "w"]);
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert_eq!(tar_files(&piped.stdout), files);

    let id = f.ok(&[
        "commit",
        "-m",
        "the changes",
        "-a",
        "me",
        "-c",
        "ENV FOO=bar",
        "-c",
        "CMD [\"cat\", \"/newdir/f\"]",
        "w",
        "changed:v1",
    ]);
    assert!(id.starts_with("sha256:"), "{id}");
    let image: serde_json::Value =
        serde_json::from_str(&f.ok(&["image", "inspect", "changed:v1"])).unwrap();
    assert_eq!(image[0]["Id"], id.as_str());
    assert_eq!(image[0]["Author"], "me");
    // The new image runs its new command on the changed files.
    assert_eq!(f.ok(&["run", "--rm", "changed:v1"]), "hi");
    let seen = f.ok(&[
        "run",
        "--rm",
        "changed:v1",
        "sh",
        "-c",
        "echo $FOO; tail -n1 /etc/passwd; test -e /bin/ls || echo gone",
    ]);
    assert_eq!(seen, "bar\nextra\ngone");
    // Its containers start with nothing changed.
    f.ok(&["create", "--name", "fresh", "changed:v1"]);
    assert_eq!(f.ok(&["diff", "fresh"]), "");

    // A running container is committed too (paused meanwhile).
    f.ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "busybox",
        "sh",
        "-c",
        "echo live > /live; sleep 600",
    ]);
    hoist_testkit::wait_until(
        "the file is written",
        std::time::Duration::from_secs(10),
        || f.ok(&["diff", "live"]).contains("A /live"),
    );
    f.ok(&["commit", "live", "live:v1"]);
    assert_eq!(f.inspect("live")["State"]["Status"], "running");
    assert_eq!(f.ok(&["run", "--rm", "live:v1", "cat", "/live"]), "live");

    let missing = f.out(&["diff", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no such container"),
        "{}",
        stderr(&missing)
    );
}
