//! `hoist build` outputs for CI: `--output type=oci|docker|local`,
//! `--iidfile`, `--metadata-file`, `--label`, `--annotation` and
//! `--build-context`, on scratch images (no root needed), and their errors.

use std::fs;

use super::*;

#[test]
fn outputs_labels_annotations_and_named_contexts() {
    let root = hoist_testkit::TempRoot::new();
    let other = context(&[("shared.txt", "from the named context\n")]);
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM scratch\nCOPY app.txt /app/\nCOPY --from=extra shared.txt /app/\n",
        ),
        ("app.txt", "app\n"),
    ]);
    let out_dir = tempfile::tempdir().unwrap();
    let oci = out_dir.path().join("image.tar");
    let docker = out_dir.path().join("docker.tar");
    let local = out_dir.path().join("rootfs");
    let iid = out_dir.path().join("iid");
    let meta = out_dir.path().join("meta.json");
    let arg = |s: &std::path::Path| s.display().to_string();
    let (digest, _) = build_ok(
        root.path(),
        &[
            "-t",
            "out:1",
            "--output",
            &format!("type=oci,dest={}", arg(&oci)),
            "--output",
            &format!("type=docker,dest={}", arg(&docker)),
            "-o",
            &format!("type=local,dest={}", arg(&local)),
            "--iidfile",
            &arg(&iid),
            "--metadata-file",
            &arg(&meta),
            "--label",
            "org.example.ci=yes",
            "--annotation",
            "org.opencontainers.image.source=https://example.invalid/repo",
            "--build-context",
            &format!("extra={}", arg(other.path())),
        ],
        ctx.path(),
    );
    assert_eq!(fs::read_to_string(&iid).unwrap(), digest);
    let m: serde_json::Value = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
    assert_eq!(m["containerimage.digest"], digest.as_str());
    assert_eq!(m["image.name"], "docker.io/library/out:1");
    let manifest = manifest(root.path(), &digest);
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.source"],
        "https://example.invalid/repo"
    );
    assert_eq!(
        m["containerimage.config.digest"],
        manifest["config"]["digest"]
    );
    assert_eq!(
        config(root.path(), &digest)["config"]["Labels"]["org.example.ci"],
        "yes"
    );
    for archive in [&oci, &docker] {
        let listing = std::process::Command::new("tar")
            .arg("-tf")
            .arg(archive)
            .output()
            .unwrap();
        let names = text(&listing.stdout);
        let hex = digest.strip_prefix("sha256:").unwrap();
        assert!(
            names.contains("index.json")
                && names.contains("manifest.json")
                && names.contains(&format!("blobs/sha256/{hex}")),
            "{names}"
        );
    }
    assert_eq!(
        fs::read_to_string(local.join("app/app.txt")).unwrap(),
        "app\n"
    );
    assert_eq!(
        fs::read_to_string(local.join("app/shared.txt")).unwrap(),
        "from the named context\n"
    );
}

#[test]
fn bad_outputs_and_contexts_are_refused_before_building() {
    let root = hoist_testkit::TempRoot::new();
    let ctx = context(&[("Dockerfile", "FROM scratch\nCOPY Dockerfile /\n")]);
    for (args, expected) in [
        (
            vec!["--output", "type=docker"],
            "--output type=docker needs dest=PATH",
        ),
        (
            vec!["--output", "type=tar,dest=x"],
            "--output type=tar is not supported",
        ),
        (
            vec!["--build-context", "x=/nonexistent/dir"],
            "--build-context x=/nonexistent/dir: not a directory",
        ),
        (
            vec!["--secret", "id=a,src=/nonexistent/secret"],
            "cannot read the secret file /nonexistent/secret",
        ),
    ] {
        let out = build(root.path(), &args, ctx.path());
        assert!(!out.status.success(), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert!(names(root.path()).is_empty());
}

#[test]
fn registry_output_pushes_and_image_contexts_stand_in_for_bases() {
    let root = hoist_testkit::TempRoot::new();
    if !crate::common::import_busybox(root.path(), "busybox:latest") {
        return;
    }
    let server = crate::registry::Server::start(&[]);
    let name = format!("{}/team/out:1", server.host());
    let ctx = context(&[
        ("Dockerfile", "FROM base\nCOPY app.txt /app.txt\n"),
        ("app.txt", "app\n"),
    ]);
    let (digest, stderr) = build_ok(
        root.path(),
        &[
            "--build-context",
            "base=docker-image://busybox:latest",
            "--output",
            &format!("type=registry,name={name}"),
            "--tls-verify=false",
        ],
        ctx.path(),
    );
    assert!(stderr.contains(&format!("Pushed {name}")), "{stderr}");
    // The named context is busybox itself: the same image as FROM busybox.
    let direct = context(&[
        ("Dockerfile", "FROM busybox:latest\nCOPY app.txt /app.txt\n"),
        ("app.txt", "app\n"),
    ]);
    let (direct_digest, _) = build_ok(root.path(), &[], direct.path());
    assert_eq!(digest, direct_digest);
    let other = hoist_testkit::TempRoot::new();
    let pulled = crate::common::hoist_ok(other.path(), &["pull", "--tls-verify=false", &name]);
    assert!(pulled.contains(&digest), "{pulled}");
}
