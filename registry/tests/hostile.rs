//! Hostile and malformed input: each gets the spec's error and changes nothing.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest as _, Sha512};

#[tokio::test]
async fn wrong_digest_is_refused_and_nothing_is_visible() {
    let reg = Reg::start().await;
    let claimed = sha256(b"something else");
    let r = reg
        .http
        .post(reg.u(&format!("/v2/h/blobs/uploads/?digest={claimed}")))
        .body(b"actual content".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    assert_eq!(
        reg.head(&format!("/v2/h/blobs/{claimed}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(reg.files_containing("/blobs/").is_empty());
    assert!(reg.files_containing("chunk-").is_empty());

    // The same through a session's final PUT.
    let loc = reg.start_upload("h").await;
    reg.http
        .patch(&loc)
        .body(b"actual".to_vec())
        .send()
        .await
        .unwrap();
    let r = reg
        .http
        .put(format!("{loc}?digest={claimed}"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    assert!(reg.files_containing("/blobs/").is_empty());
}

#[tokio::test]
async fn sha512_digests_verify_and_mismatches_fail() {
    let reg = Reg::start().await;
    let data = b"sha512 content".to_vec();
    let good = format!("sha512:{}", hex::encode(Sha512::digest(&data)));
    let r = reg
        .http
        .post(reg.u(&format!("/v2/h/blobs/uploads/?digest={good}")))
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let got = reg
        .get(&format!("/v2/h/blobs/{good}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), &data[..]);

    let wrong = format!("sha512:{}", hex::encode(Sha512::digest(b"other")));
    let r = reg
        .http
        .post(reg.u(&format!("/v2/h/blobs/uploads/?digest={wrong}")))
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
}

#[tokio::test]
async fn unknown_algorithms_and_malformed_digests() {
    let reg = Reg::start().await;
    for bad in [
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha256:XYZ",
        "sha256",
        "sha256:abc",
    ] {
        let r = reg
            .http
            .post(reg.u(&format!("/v2/h/blobs/uploads/?digest={bad}")))
            .body(b"x".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(r).await, "DIGEST_INVALID", "{bad}");
        let r = reg.get(&format!("/v2/h/blobs/{bad}")).await;
        assert_eq!(error_code(r).await, "DIGEST_INVALID", "{bad}");
    }
    assert!(reg.files_containing("/blobs/").is_empty());
}

#[tokio::test]
async fn invalid_names_are_refused() {
    let reg = Reg::start().await;
    for name in [
        "UPPER",
        "a/../b",
        "..",
        "a/./b",
        "-a",
        "a-",
        "a/.hidden",
        "a%2F..%2Fb",
        "a/%2e%2e/b",
    ] {
        let head = format!(
            "POST /v2/{name}/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let text = raw(&reg, &head, b"").await;
        assert!(text.starts_with("HTTP/1.1 400"), "{name}: {text}");
        assert!(text.contains("NAME_INVALID"), "{name}: {text}");
    }
    assert!(reg.files_containing("info").is_empty());
}

#[tokio::test]
async fn malformed_manifests_are_refused() {
    let reg = Reg::start().await;
    let cases: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        b"{}".to_vec(),
        json!({"schemaVersion": 1, "name": "x"}).to_string().into_bytes(),
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST}).to_string().into_bytes(),
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"digest": "sha256:zz", "size": 1}, "layers": []}).to_string().into_bytes(),
        json!({"schemaVersion": 2, "mediaType": "application/x-unknown", "config": {}, "layers": []}).to_string().into_bytes(),
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX}).to_string().into_bytes(),
    ];
    for body in cases {
        let r = reg.put_manifest("m", "v1", OCI_MANIFEST, &body).await;
        assert_eq!(
            r.status(),
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(
            error_code(r).await,
            "MANIFEST_INVALID",
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    // Content-Type disagreeing with the body's mediaType.
    let good = reg.image_manifest("m", b"l").await;
    let r = reg.put_manifest("m", "v1", OCI_INDEX, &good).await;
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
    assert_eq!(
        reg.get("/v2/m/manifests/v1").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn manifest_with_missing_blob_is_refused() {
    let reg = Reg::start().await;
    let config = reg.push_blob("m", b"{}").await;
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(b"missing"), "size": 7}],
    }))
    .unwrap();
    let r = reg.put_manifest("m", "v1", OCI_MANIFEST, &body).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        reg.get("/v2/m/manifests/v1").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn manifest_digest_mismatch_and_size_limit() {
    let reg = Reg::start_with(|c| c.max_manifest_bytes = 1024).await;
    let good = reg.image_manifest("m", b"l").await;
    let r = reg
        .put_manifest("m", &sha256(b"other"), OCI_MANIFEST, &good)
        .await;
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    let mut big: serde_json::Value = serde_json::from_slice(&good).unwrap();
    big["annotations"] = json!({"pad": "x".repeat(2000)});
    let r = reg
        .put_manifest("m", "v1", OCI_MANIFEST, big.to_string().as_bytes())
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reg.get("/v2/m/tags/list").await.status(), StatusCode::OK);
    let tags: serde_json::Value = reg.get("/v2/m/tags/list").await.json().await.unwrap();
    assert_eq!(tags["tags"], json!([]));
}

#[tokio::test]
async fn content_range_overlaps_and_gaps() {
    let reg = Reg::start().await;
    let loc = reg.start_upload("c").await;
    let patch = |range: &str, body: Vec<u8>| {
        reg.http
            .patch(&loc)
            .header("content-range", range.to_string())
            .body(body)
            .send()
    };
    assert_eq!(
        patch("0-9", vec![1; 10]).await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    // Overlap: starts before the end of what is stored.
    let r = patch("5-14", vec![2; 10]).await.unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["range"], "0-9");
    assert_eq!(error_code(r).await, "RANGE_INVALID");
    // Gap: starts after it.
    let r = patch("20-29", vec![3; 10]).await.unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // Range length disagreeing with the body.
    let r = patch("10-19", vec![4; 5]).await.unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // Nothing changed: the upload still holds the first 10 bytes.
    let s = reg.http.get(&loc).send().await.unwrap();
    assert_eq!(s.headers()["range"], "0-9");
    let r = reg
        .http
        .put(format!("{loc}?digest={}", sha256(&[1; 10])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn body_longer_than_declared_is_cut_and_refused() {
    let reg = Reg::start().await;
    let body = b"0123456789abcdefghij";
    let digest = sha256(body);
    let head = format!(
        "POST /v2/l/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
    );
    let text = raw(&reg, &head, body).await;
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("DIGEST_INVALID"), "{text}");
    assert_eq!(
        reg.head(&format!("/v2/l/blobs/{digest}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(reg.files_containing("/blobs/").is_empty());
}

#[tokio::test]
async fn upload_size_cap() {
    let reg = Reg::start_with(|c| c.max_upload_bytes = 1000).await;
    let data = random_bytes(1500);
    let r = reg
        .http
        .post(reg.u(&format!("/v2/cap/blobs/uploads/?digest={}", sha256(&data))))
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(r).await, "SIZE_INVALID");
    // Chunked uploads are capped across chunks too.
    let loc = reg.start_upload("cap").await;
    assert_eq!(
        reg.http
            .patch(&loc)
            .body(vec![0; 800])
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    let r = reg
        .http
        .patch(&loc)
        .body(vec![0; 800])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reg.files_containing("/blobs/").is_empty());
}

#[tokio::test]
async fn unknown_upload_ids_and_paths() {
    let reg = Reg::start().await;
    for id in ["../../etc", "0123456789abcdef0123456789abcdef", "x"] {
        let r = reg.get(&format!("/v2/u/blobs/uploads/{id}")).await;
        assert!(r.status() == StatusCode::NOT_FOUND, "{id}: {}", r.status());
    }
    assert_eq!(
        reg.get("/v2/u/nothing").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn malformed_manifest_references_are_unknown_except_on_put() {
    let reg = Reg::start().await;
    let (_, manifest) = reg.push_image("m", "v1", b"layer").await;
    for bad in [
        ".INVALID_MANIFEST_NAME",
        "-dash",
        "sha256:baddigeststring",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
    ] {
        // GET, HEAD and DELETE: no manifest can exist there (OCI spec: 404).
        let r = reg.get(&format!("/v2/m/manifests/{bad}")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "GET {bad}");
        assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN", "GET {bad}");
        let r = reg.head(&format!("/v2/m/manifests/{bad}")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "HEAD {bad}");
        let r = reg
            .http
            .delete(reg.u(&format!("/v2/m/manifests/{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "DELETE {bad}");
        assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN", "DELETE {bad}");
    }
    // PUT still says what is wrong with the reference.
    let r = reg
        .put_manifest("m", ".INVALID_MANIFEST_NAME", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "TAG_INVALID");
    let r = reg
        .put_manifest("m", "sha256:baddigeststring", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    // The valid tag is untouched.
    assert_eq!(
        reg.head("/v2/m/manifests/v1").await.status(),
        StatusCode::OK
    );
}
