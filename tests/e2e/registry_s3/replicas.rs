//! Replicas sharing one bucket: a skopeo push through A pulls through B byte
//! for byte; a chunked upload whose PATCHes alternate between replicas
//! completes; 20 concurrent pushes spread over both land intact.

use super::{bucket_name, replica};
use crate::registry::{http, layout};
use hoist_testkit::{require_program, shared_moto, TempRoot};
use http::{random_bytes, request, sha256};
use std::process::Command;

#[test]
fn skopeo_push_through_a_pull_through_b() {
    require_program!("skopeo");
    let Some(moto) = shared_moto("registry_s3::skopeo_push_through_a_pull_through_b") else {
        return;
    };
    let bucket = bucket_name("skopeo");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    let (a, b) = (
        replica(&tmp, moto.port, &bucket),
        replica(&tmp, moto.port, &bucket),
    );
    let src = tmp.join("src");
    let digest = layout::single(&src, "v1", &[64 * 1024, 6 * 1024 * 1024]);
    let skopeo = |args: &[&str]| {
        let out = Command::new("skopeo")
            .arg("--insecure-policy")
            .args(args)
            .env("REGISTRY_AUTH_FILE", tmp.join("auth.json"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", src.display()),
        &format!("docker://127.0.0.1:{}/s3/app:v1", a.port),
    ]);
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://127.0.0.1:{}/s3/app:v1", b.port),
    ]);
    assert_eq!(sha256(raw.as_bytes()), digest);
    let back = tmp.join("back");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://127.0.0.1:{}/s3/app:v1", b.port),
        &format!("oci:{}:v1", back.display()),
    ]);
    assert_eq!(layout::blob_names(&src), layout::blob_names(&back));
}

#[test]
fn chunked_upload_alternating_replicas_and_concurrent_pushes() {
    let Some(moto) = shared_moto("registry_s3::chunked_upload_alternating_replicas") else {
        return;
    };
    let bucket = bucket_name("chunked");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    let replicas = [
        replica(&tmp, moto.port, &bucket),
        replica(&tmp, moto.port, &bucket),
    ];
    let data = random_bytes(3 * 1024 * 1024 + 123);
    let digest = sha256(&data);
    let r = request(
        replicas[0].port,
        "POST",
        "/v2/s3/chunked/blobs/uploads/",
        &[],
        b"",
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let mut location = r.header("location").unwrap().to_string();
    let mut offset = 0usize;
    for (i, chunk) in data.chunks(1024 * 1024).enumerate() {
        let port = replicas[i % 2].port;
        let range = format!("{}-{}", offset, offset + chunk.len() - 1);
        let r = request(
            port,
            "PATCH",
            &location,
            &[
                ("Content-Range", &range),
                ("Content-Type", "application/octet-stream"),
            ],
            chunk,
        );
        assert_eq!(
            r.status,
            202,
            "PATCH {i} on replica {}: {}",
            i % 2,
            r.text()
        );
        offset += chunk.len();
        assert_eq!(r.header("range").unwrap(), format!("0-{}", offset - 1));
        location = r.header("location").unwrap().to_string();
        // The other replica sees the same progress.
        let status = request(replicas[(i + 1) % 2].port, "GET", &location, &[], b"");
        assert_eq!(status.status, 204, "{}", status.text());
        assert_eq!(status.header("range").unwrap(), format!("0-{}", offset - 1));
    }
    let sep = if location.contains('?') { '&' } else { '?' };
    let r = request(
        replicas[1].port,
        "PUT",
        &format!("{location}{sep}digest={digest}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let got = request(
        replicas[0].port,
        "GET",
        &format!("/v2/s3/chunked/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!(got.status, 200);
    assert!(got.body == data, "blob read through replica A differs");

    // 20 concurrent monolithic pushes spread over both replicas land intact.
    let ports = [replicas[0].port, replicas[1].port];
    let pushed: Vec<(String, Vec<u8>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                s.spawn(move || {
                    let blob = random_bytes(64 * 1024 + i);
                    let digest = sha256(&blob);
                    let r = request(
                        ports[i % 2],
                        "POST",
                        &format!("/v2/s3/many{i}/blobs/uploads/?digest={digest}"),
                        &[],
                        &blob,
                    );
                    assert_eq!(r.status, 201, "{}", r.text());
                    (format!("/v2/s3/many{i}/blobs/{digest}"), blob)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, (path, blob)) in pushed.iter().enumerate() {
        let r = request(ports[(i + 1) % 2], "GET", path, &[], b"");
        assert!(
            r.status == 200 && &r.body == blob,
            "{path} not intact through the other replica"
        );
    }
}

#[test]
fn example_config_and_kubernetes_manifest() {
    let Some(moto) = shared_moto("registry_s3::example_config_and_kubernetes_manifest") else {
        return;
    };
    let bucket = bucket_name("example");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    let examples = crate::common::repo_dir().join("examples/registry-s3");
    // The example's endpoint and bucket are placeholders: the flags override them.
    let port = hoist_testkit::free_port();
    let mut cmd = super::s3_command(&tmp, moto.port, &bucket, "serve");
    cmd.arg("--config")
        .arg(examples.join("config.toml"))
        .args(["--addr", &format!("127.0.0.1:{port}")]);
    let _server = hoist_testkit::Peer::start(&mut cmd, port, &tmp.join("example.log"));
    for path in ["/healthz", "/readyz", "/v2/"] {
        let r = request(port, "GET", path, &[], b"");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    http::push_blob(port, "example/app", b"stored under the example's prefix");
    let listing = request(
        moto.port,
        "GET",
        &format!("/{bucket}?list-type=2&prefix=registry/blobs/"),
        &[],
        b"",
    );
    assert!(listing.text().contains("/data</Key>"), "{}", listing.text());

    let manifest = std::fs::read_to_string(examples.join("kubernetes.yaml")).unwrap();
    for needed in [
        "kind: Deployment",
        "replicas: 3",
        "path: /healthz",
        "path: /readyz",
    ] {
        assert!(
            manifest.contains(needed),
            "kubernetes.yaml lacks {needed:?}"
        );
    }
    for volume in ["persistentVolumeClaim", "hostPath", "emptyDir"] {
        assert!(
            !manifest.contains(volume),
            "kubernetes.yaml has a {volume} data volume"
        );
    }
}

#[test]
fn racing_tag_updates_on_two_replicas_leave_one_whole_manifest() {
    let Some(moto) = shared_moto("registry_s3::racing_tag_updates") else {
        return;
    };
    let bucket = bucket_name("tagrace");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    let replicas = [
        replica(&tmp, moto.port, &bucket),
        replica(&tmp, moto.port, &bucket),
    ];
    let ports = [replicas[0].port, replicas[1].port];
    let config = http::push_blob(ports[0], "s3/race", b"{}");
    // Each replica writes its own manifests to one tag, at the same time.
    let manifests: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|side| {
                let config = config.clone();
                s.spawn(move || {
                    let mut digests = Vec::new();
                    for round in 0..8 {
                        let body = format!(
                            r#"{{"schemaVersion":2,"mediaType":"{OCI}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[],"annotations":{{"writer":"{side}-{round}"}}}}"#,
                            OCI = layout::OCI_MANIFEST
                        );
                        let r = request(
                            ports[side],
                            "PUT",
                            "/v2/s3/race/manifests/latest",
                            &[("Content-Type", layout::OCI_MANIFEST)],
                            body.as_bytes(),
                        );
                        assert_eq!(r.status, 201, "{}", r.text());
                        digests.push(sha256(body.as_bytes()));
                    }
                    digests
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    // Both replicas agree on the tag, and it is one writer's manifest, whole.
    let seen: Vec<String> = ports
        .iter()
        .map(|&port| {
            let r = request(
                port,
                "GET",
                "/v2/s3/race/manifests/latest",
                &[("Accept", layout::OCI_MANIFEST)],
                b"",
            );
            assert_eq!(r.status, 200, "{}", r.text());
            let digest = sha256(&r.body);
            assert_eq!(r.header("docker-content-digest"), Some(digest.as_str()));
            digest
        })
        .collect();
    assert_eq!(seen[0], seen[1], "replicas disagree on the tag");
    assert!(
        manifests.contains(&seen[0]),
        "the tag names a manifest nobody wrote"
    );
}

#[test]
fn redirect_answers_307_to_a_presigned_url_of_the_store() {
    let Some(moto) = shared_moto("registry_s3::redirect") else {
        return;
    };
    let bucket = bucket_name("redirect");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    let r = super::replica_with(&tmp, moto.port, &bucket, &["--storage-s3-redirect", "true"]);
    let data = random_bytes(100 * 1024);
    let digest = http::push_blob(r.port, "s3/redirect", &data);
    let reply = request(
        r.port,
        "GET",
        &format!("/v2/s3/redirect/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!(reply.status, 307, "{}", reply.text());
    let location = reply.header("location").unwrap();
    let prefix = format!("http://127.0.0.1:{}/", moto.port);
    assert!(
        location.starts_with(&prefix) && location.contains("X-Amz-Signature="),
        "not a presigned URL of the store: {location}"
    );
    let path = &location[prefix.len() - 1..];
    let got = request(moto.port, "GET", path, &[], b"");
    assert_eq!(got.status, 200, "{}", got.text());
    assert!(got.body == data, "the presigned URL serves other bytes");
}
