//! The distribution API's four workflows over a real socket: pull, push
//! (monolithic, POST+PUT, chunked, mount), discovery and deletion.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn base_endpoint_answers_with_api_version() {
    let reg = Reg::start().await;
    let r = reg.get("/v2/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    assert_eq!(reg.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(reg.get("/readyz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn blob_push_then_get_head_and_ranges() {
    let reg = Reg::start().await;
    let data = random_bytes(100_000);
    let digest = reg.push_blob("a/b", &data).await;

    let r = reg.get(&format!("/v2/a/b/blobs/{digest}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(r.headers()["content-length"], "100000");
    assert_eq!(r.headers()["etag"], format!("\"{digest}\"").as_str());
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);

    let r = reg.head(&format!("/v2/a/b/blobs/{digest}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "100000");

    let r = reg
        .http
        .get(reg.u(&format!("/v2/a/b/blobs/{digest}")))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], "bytes 10-19/100000");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[10..20]);

    let r = reg
        .http
        .get(reg.u(&format!("/v2/a/b/blobs/{digest}")))
        .header("range", "bytes=200000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["content-range"], "bytes */100000");

    // Another repository cannot read it without a link.
    let r = reg.get(&format!("/v2/other/blobs/{digest}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn post_then_put_and_chunked_patch_uploads() {
    let reg = Reg::start().await;
    // POST then a single PUT with the body.
    let data = random_bytes(5000);
    let digest = sha256(&data);
    let loc = reg.start_upload("r").await;
    let r = reg
        .http
        .put(format!("{loc}?digest={digest}"))
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        r.headers()["location"],
        format!("/v2/r/blobs/{digest}").as_str()
    );

    // Chunked: three PATCHes with Content-Range, status in between, empty PUT.
    let data = random_bytes(30_000);
    let digest = sha256(&data);
    let loc = reg.start_upload("r").await;
    let mut at = 0;
    for chunk in data.chunks(10_000) {
        let r = reg
            .http
            .patch(&loc)
            .header("content-range", format!("{}-{}", at, at + chunk.len() - 1))
            .header("content-type", "application/octet-stream")
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        at += chunk.len();
        assert_eq!(r.headers()["range"], format!("0-{}", at - 1).as_str());
        let s = reg.http.get(&loc).send().await.unwrap();
        assert_eq!(s.status(), StatusCode::NO_CONTENT);
        assert_eq!(s.headers()["range"], format!("0-{}", at - 1).as_str());
    }
    let r = reg
        .http
        .put(format!("{loc}?digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let got = reg
        .get(&format!("/v2/r/blobs/{digest}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), &data[..]);
    // The session is gone once complete.
    assert_eq!(
        reg.http.get(&loc).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn cancelled_upload_is_gone() {
    let reg = Reg::start().await;
    let loc = reg.start_upload("r").await;
    reg.http
        .patch(&loc)
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    let r = reg.http.delete(&loc).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = reg.http.get(&loc).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");
    assert!(reg.files_containing("chunk-").is_empty());
}

#[tokio::test]
async fn cross_repository_mount() {
    let reg = Reg::start().await;
    let digest = reg.push_blob("src", b"shared layer").await;
    let r = reg
        .http
        .post(reg.u(&format!("/v2/dst/blobs/uploads/?mount={digest}&from=src")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        reg.head(&format!("/v2/dst/blobs/{digest}")).await.status(),
        StatusCode::OK
    );
    // Mount from a repository without the blob falls back to an upload session.
    let r = reg
        .http
        .post(reg.u(&format!(
            "/v2/dst2/blobs/uploads/?mount={digest}&from=nothere"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // The data is stored once.
    assert_eq!(reg.files_containing("/blobs/sha256/").len(), 1);
}

#[tokio::test]
async fn manifests_by_tag_and_digest_with_headers() {
    let reg = Reg::start().await;
    let (digest, body) = reg.push_image("app", "v1", b"layer one").await;
    for reference in ["v1", digest.as_str()] {
        let r = reg
            .http
            .get(reg.u(&format!("/v2/app/manifests/{reference}")))
            .header("accept", OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], OCI_MANIFEST);
        assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
        assert_eq!(r.bytes().await.unwrap().as_ref(), &body[..]);
    }
    let r = reg.head("/v2/app/manifests/v1").await;
    assert_eq!(
        r.headers()["content-length"],
        body.len().to_string().as_str()
    );
    // A client accepting only Docker types does not get an OCI manifest.
    let r = reg
        .http
        .get(reg.u("/v2/app/manifests/v1"))
        .header("accept", DOCKER_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = reg.get("/v2/app/manifests/nope").await;
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn index_needs_its_children() {
    let reg = Reg::start().await;
    let (child, body) = reg.push_image("multi", "amd64", b"x").await;
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child, "size": body.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}]
    }))
    .unwrap();
    let r = reg.put_manifest("multi", "latest", OCI_INDEX, &index).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = reg.put_manifest("other", "latest", OCI_INDEX, &index).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "MANIFEST_BLOB_UNKNOWN");
}

#[tokio::test]
async fn tags_pagination_and_catalog() {
    let reg = Reg::start().await;
    let manifest = reg.image_manifest("t", b"l").await;
    for tag in ["d", "a", "c", "b", "e"] {
        reg.put_manifest("t", tag, OCI_MANIFEST, &manifest).await;
    }
    let v: Value = reg.get("/v2/t/tags/list").await.json().await.unwrap();
    assert_eq!(v, json!({"name": "t", "tags": ["a", "b", "c", "d", "e"]}));
    let r = reg.get("/v2/t/tags/list?n=2").await;
    assert_eq!(
        r.headers()["link"],
        "</v2/t/tags/list?last=b&n=2>; rel=\"next\""
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["tags"], json!(["a", "b"]));
    let r = reg.get("/v2/t/tags/list?n=2&last=d").await;
    assert!(r.headers().get("link").is_none());
    assert_eq!(r.json::<Value>().await.unwrap()["tags"], json!(["e"]));
    let r = reg.get("/v2/none/tags/list").await;
    assert_eq!(error_code(r).await, "NAME_UNKNOWN");

    reg.push_blob("x/y/z", b"1").await;
    let v: Value = reg.get("/v2/_catalog").await.json().await.unwrap();
    assert_eq!(v["repositories"], json!(["t", "x/y/z"]));
    let r = reg.get("/v2/_catalog?n=1").await;
    assert_eq!(
        r.headers()["link"],
        "</v2/_catalog?last=t&n=1>; rel=\"next\""
    );
}

#[tokio::test]
async fn referrers_with_artifact_type_filter() {
    let reg = Reg::start().await;
    let (subject, body) = reg.push_image("s", "v1", b"base").await;
    let empty = reg.push_blob("s", b"{}").await;
    let mut digests = Vec::new();
    for kind in [
        "application/vnd.example.sbom",
        "application/vnd.example.sig",
    ] {
        let m = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": kind,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": body.len()},
            "annotations": {"k": kind},
        }))
        .unwrap();
        let d = sha256(&m);
        let r = reg.put_manifest("s", &d, OCI_MANIFEST, &m).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()["oci-subject"], subject.as_str());
        digests.push(d);
    }
    let r = reg.get(&format!("/v2/s/referrers/{subject}")).await;
    assert_eq!(r.headers()["content-type"], OCI_INDEX);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["manifests"].as_array().unwrap().len(), 2);
    let r = reg
        .get(&format!(
            "/v2/s/referrers/{subject}?artifactType=application/vnd.example.sig"
        ))
        .await;
    assert_eq!(r.headers()["oci-filters-applied"], "artifactType");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(v["manifests"][0]["digest"], digests[1].as_str());
    assert_eq!(
        v["manifests"][0]["annotations"]["k"],
        "application/vnd.example.sig"
    );
    // Deleting a referrer removes it from the list.
    let r = reg
        .http
        .delete(reg.u(&format!("/v2/s/manifests/{}", digests[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = reg
        .get(&format!("/v2/s/referrers/{subject}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["manifests"].as_array().unwrap().len(), 1);
    // No referrers: an empty index, not an error.
    let v: Value = reg
        .get(&format!("/v2/s/referrers/{}", sha256(b"none")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["manifests"], json!([]));
}

#[tokio::test]
async fn deletes_of_manifests_tags_and_blobs() {
    let reg = Reg::start().await;
    let (digest, _) = reg.push_image("d", "v1", b"gone").await;
    let m = reg.get("/v2/d/manifests/v1").await.bytes().await.unwrap();
    reg.put_manifest("d", "v2", OCI_MANIFEST, &m).await;
    // Deleting a tag leaves the manifest and the other tag.
    let r = reg
        .http
        .delete(reg.u("/v2/d/manifests/v2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        reg.get("/v2/d/manifests/v2").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(reg.get("/v2/d/manifests/v1").await.status(), StatusCode::OK);
    // Deleting by digest removes it and its tags.
    let r = reg
        .http
        .delete(reg.u(&format!("/v2/d/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        reg.get("/v2/d/manifests/v1").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reg.get(&format!("/v2/d/manifests/{digest}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let blob = reg.push_blob("d", b"blob").await;
    let r = reg
        .http
        .delete(reg.u(&format!("/v2/d/blobs/{blob}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        reg.head(&format!("/v2/d/blobs/{blob}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn deletes_disabled_answer_405() {
    let reg = Reg::start_with(|c| c.delete_enabled = false).await;
    let (digest, _) = reg.push_image("d", "v1", b"kept").await;
    let r = reg
        .http
        .delete(reg.u(&format!("/v2/d/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(r).await, "UNSUPPORTED");
    assert_eq!(reg.get("/v2/d/manifests/v1").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests() {
    let reg = Reg::start().await;
    reg.push_blob("m", b"abc").await;
    reg.get("/v2/m/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000")
        .await;
    let text = reg.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(
            r#"hoist_registry_requests_total{route="upload",method="POST",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"hoist_registry_requests_total{route="blob",method="GET",status="404"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("hoist_registry_uploads_completed_total 1"),
        "{text}"
    );
    assert!(
        text.contains("hoist_registry_bytes_received_total 3"),
        "{text}"
    );
}
