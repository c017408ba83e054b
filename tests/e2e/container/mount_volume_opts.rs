//! `--mount type=volume,...,volume-opt=K=V`: the named volume is made with
//! the local driver's options (as `volume create --opt` makes it) when it
//! does not exist, and used as it is when it does; `volume-label`,
//! `volume-nocopy` and `volume-driver=local` are taken. Bad input is exit
//! 125 with docker's style of message and leaves no volume behind. The same
//! flags under a dockerd of the test's own give the same filesystem inside.

use super::{stderr, Fixture};

const TMPFS_1M: &str = "type=volume,source=fast,target=/f,volume-driver=local,volume-nocopy,\
                        volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=1m,\
                        volume-label=tier=hot";
/// The filesystem type and size (KiB) of /f, seen inside.
const SHOW: &str =
    "grep ' /f ' /proc/mounts | cut -d' ' -f3; df -k /f | tail -n1 | awk '{print $2}'";

#[test]
fn volume_opt_makes_a_tmpfs_volume_as_docker_does() {
    let Some(f) = Fixture::new() else { return };
    let run = |mount: &str| {
        f.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--mount",
            mount,
            "busybox",
            "sh",
            "-c",
            SHOW,
        ])
    };
    assert_eq!(run(TMPFS_1M), "tmpfs\n1024");
    let v: serde_json::Value = serde_json::from_str(&f.ok(&["volume", "inspect", "fast"])).unwrap();
    assert_eq!(v[0]["Driver"], "local");
    assert_eq!(v[0]["Options"]["type"], "tmpfs");
    assert_eq!(v[0]["Options"]["o"], "size=1m");
    assert_eq!(v[0]["Labels"]["tier"], "hot");
    // It exists now: used as it is (docker ignores the options then too),
    // its files kept from the first container.
    f.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        TMPFS_1M,
        "busybox",
        "touch",
        "/f/kept",
    ]);
    let again = "type=volume,source=fast,target=/f,volume-opt=type=tmpfs,volume-opt=o=size=2m";
    assert_eq!(run(again), "tmpfs\n1024");
    f.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        again,
        "busybox",
        "test",
        "-e",
        "/f/kept",
    ]);

    for (mount, says) in [
        (
            "type=bind,source=/tmp,target=/x,volume-opt=type=tmpfs",
            "field VolumeOptions must not be specified",
        ),
        (
            "type=tmpfs,target=/x,volume-opt=type=tmpfs",
            "field VolumeOptions must not be specified",
        ),
        (
            "type=volume,source=bad1,target=/x,volume-driver=nfs",
            "volume driver \"nfs\" is not supported",
        ),
        (
            "type=volume,source=bad2,target=/x,volume-opt=color=red",
            "volume option \"color\" is not known",
        ),
        (
            "type=volume,source=bad3,target=/x,volume-opt=type=tmpfs,volume-opt=o=size=1m;rm",
            "tmpfs volume option",
        ),
        (
            "type=volume,source=bad4,target=/x,volume-opt=o",
            "KEY=VALUE",
        ),
    ] {
        let out = f.out(&["run", "--rm", "--mount", mount, "busybox", "true"]);
        assert_eq!(out.status.code(), Some(125), "{mount}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{mount}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("--mount"),
            "{mount}: {}",
            stderr(&out)
        );
    }
    assert_eq!(f.ok(&["volume", "ls", "-q"]), "fast", "nothing else made");
    // The container could not be created (its name is taken): the volume
    // made for it goes again.
    f.ok(&["create", "--name", "taken", "busybox", "true"]);
    let out = f.out(&[
        "run",
        "--name",
        "taken",
        "--mount",
        "type=volume,source=orphan,target=/o,volume-opt=type=tmpfs,volume-opt=o=size=1m",
        "busybox",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert_eq!(f.ok(&["volume", "ls", "-q"]), "fast", "the orphan is gone");
    f.ok(&["rm", "taken"]);
    f.ok(&["volume", "rm", "fast"]);
}
