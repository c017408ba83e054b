//! Content addressed by sha512: blobs and manifests are stored and served
//! under the digest the client pushed them by, indexes and referrers may
//! name them so, `?tag=` parameters tag them, and delete and GC treat them
//! like any other.

mod common;

use common::*;
use hoist_registry::gc::GcOptions;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha512};
use std::time::Duration;

fn sha512(data: &[u8]) -> String {
    format!("sha512:{}", hex::encode(Sha512::digest(data)))
}

fn hex_of(digest: &str) -> &str {
    digest.split_once(':').unwrap().1
}

/// Pushes a blob as POST + PATCH + PUT with `digest-algorithm=sha512`.
async fn push_blob_sha512(reg: &Reg, repo: &str, data: &[u8]) -> String {
    let digest = sha512(data);
    let r = reg
        .http
        .post(reg.u(&format!(
            "/v2/{repo}/blobs/uploads/?digest-algorithm=sha512"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let loc = reg.u(r.headers()["location"].to_str().unwrap());
    let r = reg
        .http
        .patch(&loc)
        .header("content-range", format!("0-{}", data.len() - 1))
        .body(data.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = reg
        .http
        .put(format!("{loc}?digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    digest
}

/// An image manifest whose config and layer are sha512 blobs.
async fn image_manifest_sha512(reg: &Reg, repo: &str, layer: &[u8]) -> Vec<u8> {
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = push_blob_sha512(reg, repo, config).await;
    let layer_digest = push_blob_sha512(reg, repo, layer).await;
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
    }))
    .unwrap()
}

#[tokio::test]
async fn blob_by_sha512_is_served_under_that_digest() {
    let reg = Reg::start().await;
    let data = random_bytes(70_000);
    let digest = push_blob_sha512(&reg, "b", &data).await;
    for r in [
        reg.head(&format!("/v2/b/blobs/{digest}")).await,
        reg.get(&format!("/v2/b/blobs/{digest}")).await,
    ] {
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
        assert_eq!(r.headers()["content-length"], data.len().to_string());
    }
    let got = reg.get(&format!("/v2/b/blobs/{digest}")).await;
    assert_eq!(got.bytes().await.unwrap().as_ref(), &data[..]);
    assert_eq!(
        reg.files_containing(&format!("blobs/sha512/{}", &hex_of(&digest)[..2]))
            .len(),
        1
    );
    // The same bytes are not reachable by their sha256: nothing was pushed so.
    let r = reg.head(&format!("/v2/b/blobs/{}", sha256(&data))).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Monolithic, by sha512.
    let small = b"monolithic sha512".to_vec();
    let r = reg
        .http
        .post(reg.u(&format!("/v2/b/blobs/uploads/?digest={}", sha512(&small))))
        .body(small.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        r.headers()["docker-content-digest"],
        sha512(&small).as_str()
    );
    // An algorithm the registry cannot hash is refused when the session
    // starts, not after the client has sent the whole blob.
    let r = reg
        .http
        .post(reg.u("/v2/b/blobs/uploads/?digest-algorithm=md5"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
}

#[tokio::test]
async fn manifest_pushed_by_sha512_is_fetched_by_it() {
    let reg = Reg::start().await;
    let manifest = image_manifest_sha512(&reg, "m", b"layer").await;
    let digest = sha512(&manifest);
    let r = reg
        .put_manifest("m", &digest, OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(
        r.headers()["location"],
        format!("/v2/m/manifests/{digest}").as_str()
    );
    for r in [
        reg.head(&format!("/v2/m/manifests/{digest}")).await,
        reg.get(&format!("/v2/m/manifests/{digest}")).await,
    ] {
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
        assert_eq!(r.headers()["content-type"], OCI_MANIFEST);
    }
    let body = reg.get(&format!("/v2/m/manifests/{digest}")).await;
    assert_eq!(body.bytes().await.unwrap().as_ref(), &manifest[..]);
    // Stored under sha512 only: no sha256 name for it appeared.
    let r = reg
        .head(&format!("/v2/m/manifests/{}", sha256(&manifest)))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(reg
        .files_containing(&format!("revisions/sha512/{}", hex_of(&digest)))
        .iter()
        .any(|f| f.ends_with("/link")));
    // A sha512 digest that does not match the body is refused.
    let wrong = sha512(b"something else");
    let r = reg.put_manifest("m", &wrong, OCI_MANIFEST, &manifest).await;
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
}

#[tokio::test]
async fn index_refers_to_children_by_sha512_and_tags_name_it() {
    let reg = Reg::start().await;
    let child = image_manifest_sha512(&reg, "i", b"child layer").await;
    let child_digest = sha512(&child);
    let r = reg
        .put_manifest("i", &child_digest, OCI_MANIFEST, &child)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child_digest, "size": child.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    }))
    .unwrap();
    let index_digest = sha512(&index);
    // `?tag=` parameters tag a manifest pushed by digest (the only way to
    // tag a sha512 manifest: a push by tag names it by sha256).
    let r = reg
        .http
        .put(reg.u(&format!("/v2/i/manifests/{index_digest}?tag=v1&tag=latest")))
        .header("content-type", OCI_INDEX)
        .body(index.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["docker-content-digest"], index_digest.as_str());
    let tags: Vec<&str> = r
        .headers()
        .get_all("oci-tag")
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(str::trim)
        .collect();
    assert_eq!(tags, ["v1", "latest"]);
    for tag in ["v1", "latest"] {
        let r = reg.get(&format!("/v2/i/manifests/{tag}")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["docker-content-digest"], index_digest.as_str());
        assert_eq!(r.bytes().await.unwrap().as_ref(), &index[..]);
    }
    let v: Value = reg.get("/v2/i/tags/list").await.json().await.unwrap();
    assert_eq!(v["tags"], json!(["latest", "v1"]));
    // An invalid tag parameter refuses the whole push.
    let r = reg
        .http
        .put(reg.u(&format!("/v2/i/manifests/{index_digest}?tag=.bad")))
        .header("content-type", OCI_INDEX)
        .body(index.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "TAG_INVALID");
    // Past the per-request bound: 414, and no tag is created.
    let many: String = (0..101).map(|i| format!("&tag=many{i}")).collect();
    let r = reg
        .http
        .put(reg.u(&format!("/v2/i/manifests/{index_digest}?{}", &many[1..])))
        .header("content-type", OCI_INDEX)
        .body(index.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::URI_TOO_LONG);
    let v: Value = reg.get("/v2/i/tags/list").await.json().await.unwrap();
    assert_eq!(v["tags"], json!(["latest", "v1"]));

    // Deleting the index by its sha512 digest removes it and its tags.
    let r = reg
        .http
        .delete(reg.u(&format!("/v2/i/manifests/{index_digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = reg.get(&format!("/v2/i/manifests/{index_digest}")).await;
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
    let r = reg.get("/v2/i/manifests/latest").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v: Value = reg.get("/v2/i/tags/list").await.json().await.unwrap();
    assert_eq!(v["tags"], json!([]));
    // The child is untouched.
    let r = reg.head(&format!("/v2/i/manifests/{child_digest}")).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn referrers_of_a_sha512_subject() {
    let reg = Reg::start().await;
    let subject = image_manifest_sha512(&reg, "r", b"subject layer").await;
    let subject_digest = sha512(&subject);
    let r = reg
        .put_manifest("r", &subject_digest, OCI_MANIFEST, &subject)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let empty = push_blob_sha512(&reg, "r", b"{}").await;
    let sbom = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sbom",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": subject.len()},
    }))
    .unwrap();
    let sbom_digest = sha512(&sbom);
    let r = reg
        .put_manifest("r", &sbom_digest, OCI_MANIFEST, &sbom)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["oci-subject"], subject_digest.as_str());
    let v: Value = reg
        .get(&format!("/v2/r/referrers/{subject_digest}"))
        .await
        .json()
        .await
        .unwrap();
    let listed = v["manifests"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{v}");
    assert_eq!(listed[0]["digest"], sbom_digest.as_str());
    assert_eq!(listed[0]["size"], sbom.len());
    assert_eq!(listed[0]["artifactType"], "application/vnd.example.sbom");
    // The same subject named by sha256 has no referrers.
    let v: Value = reg
        .get(&format!("/v2/r/referrers/{}", sha256(&subject)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["manifests"], json!([]));
}

#[tokio::test]
async fn gc_keeps_live_sha512_content_and_collects_deleted() {
    let reg = Reg::start().await;
    let kept = image_manifest_sha512(&reg, "g", b"kept layer").await;
    let kept_digest = sha512(&kept);
    let gone = image_manifest_sha512(&reg, "g", b"dropped layer").await;
    let gone_digest = sha512(&gone);
    for (d, m) in [(&kept_digest, &kept), (&gone_digest, &gone)] {
        let r = reg
            .http
            .put(reg.u(&format!("/v2/g/manifests/{d}?tag=t{}", &hex_of(d)[..8])))
            .header("content-type", OCI_MANIFEST)
            .body(m.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let layer_of = |m: &[u8]| {
        serde_json::from_slice::<Value>(m).unwrap()["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (kept_layer, gone_layer) = (layer_of(&kept), layer_of(&gone));
    let r = reg
        .http
        .delete(reg.u(&format!("/v2/g/manifests/{gone_digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    let app = hoist_registry::build(&reg.config).unwrap();
    let opts = GcOptions {
        dry_run: false,
        delete_untagged: false,
        grace: Duration::ZERO,
        upload_max_age: Duration::from_secs(3600),
        ..Default::default()
    };
    let report = hoist_registry::gc::run(&app.storage, opts).await.unwrap();
    let removed: Vec<String> = report
        .blobs_removed
        .iter()
        .map(|(d, _)| d.to_string())
        .collect();
    assert!(removed.contains(&gone_layer), "{removed:?}");
    assert!(removed.contains(&gone_digest), "{removed:?}");
    assert!(!removed.contains(&kept_layer), "{removed:?}");
    assert!(!removed.contains(&kept_digest), "{removed:?}");
    assert!(reg
        .files_containing(&format!("blobs/sha512/{}", &hex_of(&gone_layer)[..2]))
        .iter()
        .all(|f| !f.contains(hex_of(&gone_layer))));
    let r = reg.get(&format!("/v2/g/manifests/{kept_digest}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["docker-content-digest"], kept_digest.as_str());
    let r = reg.get(&format!("/v2/g/blobs/{kept_layer}")).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"kept layer");
}
