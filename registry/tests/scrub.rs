//! Scrub: a blob corrupted on disk is found (and only it), quarantine moves
//! it aside so pulls fail cleanly with BLOB_UNKNOWN, and a re-push heals it.

mod common;

use common::*;
use reqwest::StatusCode;

/// The file of a blob's data under the registry root.
fn blob_file(reg: &Reg, digest: &str) -> std::path::PathBuf {
    let (alg, hex) = digest.split_once(':').unwrap();
    reg.config
        .root
        .as_ref()
        .unwrap()
        .join(format!("blobs/{alg}/{}/{hex}/data", &hex[..2]))
}

#[tokio::test]
async fn scrub_finds_the_corrupt_blob_and_quarantine_heals_by_repush() {
    let reg = Reg::start().await;
    let layer = random_bytes(300_000);
    let (manifest_digest, _) = reg.push_image("team/app", "v1", &layer).await;
    let other = random_bytes(1000);
    reg.push_image("team/other", "v1", &other).await;
    let layer_digest = sha256(&layer);
    let app = hoist_registry::build(&reg.config).unwrap();

    // Clean store: every blob checked, nothing reported.
    let clean = hoist_registry::scrub::run(&app.storage, false)
        .await
        .unwrap();
    assert_eq!(clean.blobs_checked, 6, "2 configs, 2 layers, 2 manifests");
    assert!(clean.mismatches.is_empty(), "{:?}", clean.mismatches);

    // Flip one byte of the layer and truncate the manifest.
    let path = blob_file(&reg, &layer_digest);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1234] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let actual_layer = sha256(&bytes);
    let mpath = blob_file(&reg, &manifest_digest);
    let mbytes = std::fs::read(&mpath).unwrap();
    std::fs::write(&mpath, &mbytes[..mbytes.len() / 2]).unwrap();

    let report = hoist_registry::scrub::run(&app.storage, false)
        .await
        .unwrap();
    let mut found: Vec<(String, String, Vec<String>)> = report
        .mismatches
        .iter()
        .map(|m| {
            (
                m.expected.to_string(),
                m.actual.to_string(),
                m.manifest_of.clone(),
            )
        })
        .collect();
    found.sort();
    let mut want = vec![
        (layer_digest.clone(), actual_layer, vec![]),
        (
            manifest_digest.clone(),
            sha256(&mbytes[..mbytes.len() / 2]),
            vec!["team/app".to_string()],
        ),
    ];
    want.sort();
    assert_eq!(found, want);
    assert!(report.mismatches.iter().all(|m| m.quarantined_to.is_none()));
    assert!(path.exists(), "a report-only scrub moved data");

    // Quarantine: the data moves under _quarantine/, the bytes kept.
    let report = hoist_registry::scrub::run(&app.storage, true)
        .await
        .unwrap();
    assert_eq!(report.mismatches.len(), 2);
    assert!(!path.exists());
    let root = reg.config.root.clone().unwrap();
    for m in &report.mismatches {
        let to = root.join(m.quarantined_to.as_ref().unwrap());
        assert!(to.exists(), "{to:?}");
    }
    let layer_m = report
        .mismatches
        .iter()
        .find(|m| m.expected.to_string() == layer_digest)
        .unwrap();
    assert_eq!(
        std::fs::read(root.join(layer_m.quarantined_to.as_ref().unwrap())).unwrap(),
        bytes
    );

    // The registry no longer serves corrupt bytes: clean 404s.
    let r = reg.get(&format!("/v2/team/app/blobs/{layer_digest}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");
    let r = reg
        .http
        .get(reg.u(&format!("/v2/team/app/manifests/{manifest_digest}")))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A second scrub is clean; the other image is untouched.
    let again = hoist_registry::scrub::run(&app.storage, false)
        .await
        .unwrap();
    assert!(again.mismatches.is_empty());
    assert_eq!(again.blobs_checked, 4);

    // Pushing the image again heals it.
    reg.push_image("team/app", "v1", &layer).await;
    let r = reg.get(&format!("/v2/team/app/blobs/{layer_digest}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), layer.as_slice());
    let healed = hoist_registry::scrub::run(&app.storage, false)
        .await
        .unwrap();
    assert!(healed.mismatches.is_empty());
    assert_eq!(healed.blobs_checked, 6);
}

/// The same through the S3 driver (moto): scrub reads and quarantines by key.
#[tokio::test]
async fn scrub_on_s3_finds_and_quarantines_a_corrupt_object() {
    let Some(moto) = hoist_testkit::shared_moto("scrub::s3") else {
        return;
    };
    moto.create_bucket("scrub-s3");
    let reg = Reg::start_with(|c| {
        c.storage.s3 = Some(hoist_registry::driver::S3Config {
            endpoint: Some(moto.endpoint()),
            bucket: "scrub-s3".into(),
            prefix: "reg".into(),
            access_key_id: Some("test".into()),
            secret_access_key: Some("test".into()),
            max_retries: 1,
            retry_timeout_seconds: 3,
            ..Default::default()
        });
    })
    .await;
    let layer = random_bytes(50_000);
    reg.push_image("s3/app", "v1", &layer).await;
    let app = hoist_registry::build(&reg.config).unwrap();
    let clean = hoist_registry::scrub::run(&app.storage, false)
        .await
        .unwrap();
    assert_eq!((clean.blobs_checked, clean.mismatches.len()), (3, 0));

    // Overwrite the layer's object with other bytes.
    let digest: hoist_registry::digests::Digest = sha256(&layer).parse().unwrap();
    let key = hoist_registry::storage::paths::blob_data(&digest);
    let driver = app.storage.driver();
    driver
        .put(&key, bytes::Bytes::from(random_bytes(50_000)))
        .await
        .unwrap();
    let report = hoist_registry::scrub::run(&app.storage, true)
        .await
        .unwrap();
    assert_eq!(report.mismatches.len(), 1);
    assert_eq!(report.mismatches[0].expected, digest);
    assert_eq!(report.mismatches[0].path, key);
    let moved = report.mismatches[0].quarantined_to.clone().unwrap();
    assert!(driver.stat(&moved).await.unwrap().is_some());
    let r = reg.get(&format!("/v2/s3/app/blobs/{digest}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");
}
