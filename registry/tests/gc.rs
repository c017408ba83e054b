//! Garbage collection: what goes, what stays, and pushes during a GC.

mod common;

use common::*;
use hoist_registry::gc::{Gc, GcOptions};
use reqwest::StatusCode;
use std::time::Duration;

fn opts(dry_run: bool) -> GcOptions {
    GcOptions {
        dry_run,
        delete_untagged: false,
        grace: Duration::ZERO,
        upload_max_age: Duration::from_secs(3600),
        ..Default::default()
    }
}

async fn storage(reg: &Reg) -> std::sync::Arc<hoist_registry::api::App> {
    hoist_registry::build(&reg.config).unwrap()
}

#[tokio::test]
async fn blob_of_a_deleted_manifest_is_collected_and_live_ones_stay() {
    let reg = Reg::start().await;
    let (kept, kept_body) = reg.push_image("g", "keep", b"kept layer").await;
    let (gone, gone_body) = reg.push_image("g", "drop", b"dropped layer").await;
    let gone_layer = serde_json::from_slice::<serde_json::Value>(&gone_body).unwrap()["layers"][0]
        ["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let r = reg
        .http
        .delete(reg.u(&format!("/v2/g/manifests/{gone}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    let app = storage(&reg).await;
    // Dry run: reports, removes nothing.
    let report = hoist_registry::gc::run(&app.storage, opts(true))
        .await
        .unwrap();
    let removed: Vec<String> = report
        .blobs_removed
        .iter()
        .map(|(d, _)| d.to_string())
        .collect();
    assert!(removed.contains(&gone_layer), "{removed:?}");
    assert!(removed.contains(&gone), "{removed:?}");
    assert!(
        reg.files_containing(&gone_layer.replace("sha256:", ""))
            .len()
            >= 2
    );

    let report = hoist_registry::gc::run(&app.storage, opts(false))
        .await
        .unwrap();
    assert_eq!(report.blobs_removed.len(), removed.len());
    assert!(reg
        .files_containing(&gone_layer.replace("sha256:", ""))
        .is_empty());
    assert_eq!(
        reg.head(&format!("/v2/g/blobs/{gone_layer}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Everything the kept image needs is still there and intact.
    let m: serde_json::Value = reg.get("/v2/g/manifests/keep").await.json().await.unwrap();
    for d in [&m["config"]["digest"], &m["layers"][0]["digest"]] {
        let r = reg
            .get(&format!("/v2/g/blobs/{}", d.as_str().unwrap()))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(
        reg.get(&format!("/v2/g/manifests/{kept}"))
            .await
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        &kept_body[..]
    );
}

#[tokio::test]
async fn blob_uploaded_during_gc_stays() {
    let reg = Reg::start().await;
    let app = storage(&reg).await;
    let mut gc = Gc::new(&app.storage, opts(false)).await.unwrap();
    gc.mark().await.unwrap();
    // A push lands between mark and sweep: its layer is in no manifest yet.
    let fresh = reg.push_blob("g", b"uploaded while gc runs").await;
    let report = gc.sweep().await.unwrap();
    assert!(
        report.blobs_removed.is_empty(),
        "{:?}",
        report.blobs_removed
    );
    assert_eq!(
        reg.get(&format!("/v2/g/blobs/{fresh}"))
            .await
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"uploaded while gc runs"
    );
}

#[tokio::test]
async fn stale_uploads_and_untagged_manifests() {
    let reg = Reg::start().await;
    let loc = reg.start_upload("g").await;
    reg.http
        .patch(&loc)
        .body(vec![1u8; 100])
        .send()
        .await
        .unwrap();
    let (untagged, _) = reg.push_image("g", "t", b"untagged soon").await;
    reg.http
        .delete(reg.u("/v2/g/manifests/t"))
        .send()
        .await
        .unwrap();
    // A session in a repository that holds nothing else yet.
    let lonely = reg.start_upload("lonely").await;
    let app = storage(&reg).await;
    let mut o = opts(false);
    o.upload_max_age = Duration::ZERO;
    o.delete_untagged = true;
    let report = hoist_registry::gc::run(&app.storage, o).await.unwrap();
    assert_eq!(
        report.uploads_removed.len(),
        2,
        "{:?}",
        report.uploads_removed
    );
    assert_eq!(
        reg.http.get(&lonely).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(report.manifests_removed.len(), 1);
    assert_eq!(report.manifests_removed[0].1.to_string(), untagged);
    assert_eq!(
        reg.http.get(&loc).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reg.get(&format!("/v2/g/manifests/{untagged}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

/// The manifest PUT's half of the race with a sweep: it refreshes the link
/// before it looks for the data, so a blob a sweep has hidden (its data
/// renamed aside, the sweep about to read the links a last time) fails the
/// PUT instead of being referenced and then deleted, and the refreshed link
/// is there for the sweep to see. A sweep's leftover hidden data is removed
/// by the next sweep once nothing references the blob.
#[tokio::test]
async fn a_manifest_put_racing_a_sweep_fails_rather_than_reference_a_hidden_blob() {
    let reg = Reg::start().await;
    let layer = b"a layer a sweep is about to take";
    let (first, body) = reg.push_image("race", "one", layer).await;
    let hex = sha256(layer).replace("sha256:", "");
    let files = reg.files_containing(&hex);
    let data = files.iter().find(|f| f.ends_with("/data")).unwrap().clone();
    let link = files.iter().find(|f| f.ends_with("/link")).unwrap().clone();
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&link)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    // What a sweep does first: the data goes aside.
    let hidden = format!("{data}{}", hoist_registry::gc::HIDDEN_SUFFIX);
    std::fs::rename(&data, &hidden).unwrap();

    let r = reg.put_manifest("race", "two", OCI_MANIFEST, &body).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "MANIFEST_BLOB_UNKNOWN");
    let touched = std::fs::metadata(&link).unwrap().modified().unwrap();
    assert!(
        touched > hour_ago + Duration::from_secs(3000),
        "the PUT did not refresh the link before looking for the data"
    );

    // Nothing references it once the first manifest goes: the next sweep
    // removes the hidden data and leaves nothing of the blob.
    let r = reg
        .http
        .delete(reg.u(&format!("/v2/race/manifests/{first}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let app = storage(&reg).await;
    hoist_registry::gc::run(&app.storage, opts(false))
        .await
        .unwrap();
    assert!(
        !std::path::Path::new(&hidden).exists(),
        "{:?}",
        reg.files_containing(&hex)
    );
}
