//! Mirrors on the client side: `hoist pull docker.io/library/x` with a mirror
//! in registries.conf (podman's format) goes to the mirror, and falls back to
//! the origin when the mirror is down; docker's `registry-mirrors`
//! (daemon.json) does the same for docker.io. docker.io's endpoint is mapped
//! to a loopback registry by `HOIST_DOCKER_IO_ENDPOINT`: nothing leaves the
//! machine.

use super::peers::{make_image, DockerRegistry};
use super::{digest_of, hoist};
use hoist_testkit::TempRoot;
use std::path::Path;

/// GET requests the registry's access log shows for a path prefix.
fn gets(reg: &DockerRegistry, prefix: &str) -> usize {
    let needle = format!("\"GET {prefix}");
    reg.log().lines().filter(|l| l.contains(&needle)).count()
}

fn pull_via(
    root: &Path,
    origin: &DockerRegistry,
    conf: &Path,
    daemon: &Path,
) -> std::process::Output {
    hoist(root, &root.join("auth"))
        .env("HOIST_DOCKER_IO_ENDPOINT", origin.host())
        .env("CONTAINERS_REGISTRIES_CONF", conf)
        .env("HOIST_DOCKER_DAEMON_JSON", daemon)
        .args([
            "pull",
            "--tls-verify=false",
            "docker.io/library/mirrored:v1",
        ])
        .output()
        .unwrap()
}

#[test]
fn docker_io_pull_goes_to_the_mirror_and_falls_back_to_the_origin() {
    let Some(origin) = DockerRegistry::start(false, false) else {
        return;
    };
    let Some(mut mirror) = DockerRegistry::start(false, false) else {
        return;
    };
    let src = TempRoot::new();
    let digest = make_image(src.path(), "mirrored:v1", &[200_000, 3_000], 7);
    for reg in [&origin, &mirror] {
        let dest = format!("{}/library/mirrored:v1", reg.host());
        let out = hoist(src.path(), &src.join("auth"))
            .args(["tag", "mirrored:v1", &dest])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = hoist(src.path(), &src.join("auth"))
            .args(["push", "--tls-verify=false", &dest])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let conf = src.join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "unqualified-search-registries = [\"docker.io\"]\n[[registry]]\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"{}\"\ninsecure = true\n",
            mirror.host()
        ),
    )
    .unwrap();
    let no_daemon = src.join("no-daemon.json");
    let manifest_path = "/v2/library/mirrored/manifests/";

    // The mirror serves the pull; the origin is not asked for the image.
    let first = TempRoot::new();
    let out = pull_via(first.path(), &origin, &conf, &no_daemon);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(digest_of(&String::from_utf8_lossy(&out.stdout)), digest);
    assert_eq!(gets(&mirror, manifest_path), 1, "{}", mirror.log());
    assert_eq!(gets(&origin, manifest_path), 0, "{}", origin.log());

    // docker's registry-mirrors (daemon.json) route docker.io the same way.
    let empty = src.join("empty.conf");
    std::fs::write(&empty, "").unwrap();
    let daemon = src.join("daemon.json");
    std::fs::write(
        &daemon,
        format!("{{\"registry-mirrors\": [\"http://{}\"]}}", mirror.host()),
    )
    .unwrap();
    let second = TempRoot::new();
    let out = pull_via(second.path(), &origin, &empty, &daemon);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(gets(&mirror, manifest_path), 2, "{}", mirror.log());
    assert_eq!(gets(&origin, manifest_path), 0);

    // Mirror down: the pull falls back to the origin and succeeds.
    mirror.peer.guard.kill();
    let third = TempRoot::new();
    let out = pull_via(third.path(), &origin, &conf, &no_daemon);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(digest_of(&String::from_utf8_lossy(&out.stdout)), digest);
    assert_eq!(gets(&origin, manifest_path), 1, "{}", origin.log());

    // A broken registries.conf is an error naming the file, not a silent
    // pull from the origin.
    let broken = src.join("broken.conf");
    std::fs::write(&broken, "[[registry]]\nlocation = 5\n").unwrap();
    let fourth = TempRoot::new();
    let out = pull_via(fourth.path(), &origin, &broken, &no_daemon);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("broken.conf"), "{err}");
    assert_eq!(gets(&origin, manifest_path), 1);
}
