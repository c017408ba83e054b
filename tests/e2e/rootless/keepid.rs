//! `--userns=keep-id` as an unprivileged user (issues 18, 19): the user's
//! ids as themselves inside, root as the first subordinate id, over copies
//! of the image's layers owned for the map (made once, shared, removed by
//! rmi); refused as root, and `--userns=auto` refused rootless.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::stderr;
use super::user::{Ranges, User};
use crate::common;
use hoist_testkit::{wait_until, TempRoot};

/// The layer copies in a store: `snapshots/idmapped/<mapping>/<chain ID>`.
fn copies(store: &Path) -> Vec<PathBuf> {
    let base = store.join("snapshots/idmapped");
    let mut found = Vec::new();
    for key in std::fs::read_dir(base).into_iter().flatten().flatten() {
        for copy in std::fs::read_dir(key.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if !copy.file_name().to_string_lossy().starts_with('.') {
                found.push(copy.path());
            }
        }
    }
    found.sort();
    found
}

/// The image's layer snapshots (64-hex names) in a store.
fn snapshots(store: &Path) -> usize {
    std::fs::read_dir(store.join("snapshots"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().len() == 64)
        .count()
}

#[test]
fn keep_id_runs_as_the_user_over_shared_copies_of_the_layers() {
    let Some(user) = User::new(Ranges::Given) else {
        return;
    };
    let (sub_start, _) = user.subuid.expect("useradd gave ranges");
    user.import_busybox();
    // A directory of the user's, bind-mounted into the containers.
    let work = user.home.join("work");
    std::fs::create_dir(&work).unwrap();
    std::os::unix::fs::chown(&work, Some(user.uid), Some(user.gid)).unwrap();
    let bind = format!("{}:/w", work.display());
    let keep_id = ["run", "--rm", "--network", "none", "--userns=keep-id"];

    // By default the process is the user, named from an added passwd
    // entry with the user's home; the image's files are root's inside.
    let mut args = keep_id.to_vec();
    args.extend([
        "-v",
        &bind,
        "-v",
        "vol:/v",
        "busybox",
        "sh",
        "-c",
        "id -u; id -g; id -un; echo $HOME; stat -c %u:%g /bin/busybox /etc/passwd; \
         touch /w/by-user /v/by-user",
    ]);
    let out = user.ok(&args);
    // The image has an entry for 1000 (`user`, home /home) of its own.
    let (name, home) = match user.uid {
        1000 => ("user".to_string(), "/home".to_string()),
        _ => (user.name.clone(), user.home.display().to_string()),
    };
    assert_eq!(
        out,
        format!("{}\n{}\n{name}\n{home}\n0:0\n0:0\n", user.uid, user.gid)
    );
    // What it made is the user's on the host, in its directory and in a
    // named volume.
    let owner = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.uid(), m.gid())
    };
    assert_eq!(owner(&work.join("by-user")), (user.uid, user.gid));
    let volume = user.store().join("volumes/vol/_data");
    assert_eq!(owner(&volume.join("by-user")), (user.uid, user.gid));
    // One copy per layer, under one mapping.
    let made = copies(&user.store());
    assert_eq!(made.len(), snapshots(&user.store()), "{made:?}");
    let inodes: Vec<u64> = made
        .iter()
        .map(|c| std::fs::metadata(c).unwrap().ino())
        .collect();

    // --user 0: root inside, the image's files root's, and root's files are
    // the first subordinate id on the host. The same copies serve it.
    let mut args = keep_id.to_vec();
    args.extend([
        "--user",
        "0",
        "-v",
        &bind,
        "busybox",
        "sh",
        "-c",
        "id -u; stat -c %u:%g /bin/busybox /etc/passwd; touch /w/by-root",
    ]);
    assert_eq!(user.ok(&args), "0\n0:0\n0:0\n");
    assert_eq!(owner(&work.join("by-root")), (sub_start, sub_start));
    let again = copies(&user.store());
    assert_eq!(again, made, "a second container made new copies");
    let same: Vec<u64> = again
        .iter()
        .map(|c| std::fs::metadata(c).unwrap().ino())
        .collect();
    assert_eq!(same, inodes, "the copies were made again");

    // exec enters the container's user namespace. On the default network
    // the helper serves the nested namespace too (a tun node the user may
    // open, as on Debian: this machine's may be root's alone).
    super::net::bind_tun(&user, 0o666);
    user.ok(&[
        "run",
        "-d",
        "--userns=keep-id",
        "--name",
        "k",
        "busybox",
        "sleep",
        "300",
    ]);
    wait_until("the container runs", Duration::from_secs(20), || {
        user.ok(&["inspect", "--format", "{{.State.Status}}", "k"]) == "running\n"
    });
    assert_eq!(
        user.ok(&["exec", "k", "id", "-u"]),
        format!("{}\n", user.uid)
    );
    let addr = user.ok(&["exec", "k", "ip", "-o", "-4", "addr"]);
    assert!(addr.contains("10.0.2.100/24"), "{addr}");
    user.ok(&["rm", "-f", "k"]);

    // Other namespaces of a container's own stay refused rootless.
    let out = user.out(&["run", "--rm", "--userns=auto", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("only --userns=keep-id"),
        "{}",
        stderr(&out)
    );

    // rmi removes the copies no image or container needs any more.
    user.ok(&["rmi", "busybox"]);
    assert_eq!(copies(&user.store()), Vec::<PathBuf>::new());

    // As root, keep-id means nothing (no user to keep): refused.
    let root = TempRoot::new();
    if common::import_busybox(&root.join("root"), "busybox:latest") {
        let out = user
            .netns
            .command(common::hoist_bin())
            .arg("--root")
            .arg(root.join("root"))
            .args(["run", "--rm", "--network", "none", "--userns=keep-id"])
            .args(["busybox", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("hoist runs as root"),
            "{}",
            stderr(&out)
        );
    }
    user.finish();
}
