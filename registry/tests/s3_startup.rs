//! Starting on S3 (moto on 127.0.0.1): a loopback endpoint works without
//! `path_style`, and a bucket that cannot be used stops the start with an
//! error naming the bucket, the endpoint and the failing call.

mod common;

use common::*;
use hoist_registry::driver::S3Config;
use hoist_registry::{Config, ServeError};
use reqwest::StatusCode;

fn s3_config(endpoint: String, bucket: &str) -> S3Config {
    S3Config {
        endpoint: Some(endpoint),
        bucket: bucket.into(),
        // Left false on purpose: a loopback endpoint must imply it.
        path_style: false,
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
        max_retries: 1,
        retry_timeout_seconds: 3,
        ..S3Config::default()
    }
}

async fn start_on(s3: S3Config) -> Result<hoist_registry::Running, ServeError> {
    let config = Config {
        addr: "127.0.0.1:0".into(),
        root: Some(hoist_testkit::TempRoot::new().join("unused")),
        storage: hoist_registry::config::StorageConfig { s3: Some(s3) },
        ..Config::default()
    };
    hoist_registry::start(&config).await
}

#[tokio::test]
async fn loopback_endpoint_implies_path_style() {
    let Some(moto) = hoist_testkit::shared_moto("s3_startup::loopback_path_style") else {
        return;
    };
    moto.create_bucket("implied-path-style");
    for host in ["127.0.0.1", "localhost"] {
        let endpoint = format!("http://{host}:{}", moto.port);
        let running = start_on(s3_config(endpoint.clone(), "implied-path-style"))
            .await
            .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        let url = format!("http://{}", running.addr);
        let http = reqwest::Client::new();
        let ready = http.get(format!("{url}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK, "{endpoint}");
        let data = random_bytes(10_000);
        let digest = sha256(&data);
        let r = http
            .post(format!("{url}/v2/p/{host}/blobs/uploads/?digest={digest}"))
            .body(data.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{endpoint}: {}",
            r.text().await.unwrap()
        );
        let got = http
            .get(format!("{url}/v2/p/{host}/blobs/{digest}"))
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap().as_ref(), &data[..], "{endpoint}");
        running.stop().await;
    }
}

#[tokio::test]
async fn missing_bucket_stops_the_start_naming_bucket_endpoint_and_call() {
    let Some(moto) = hoist_testkit::shared_moto("s3_startup::missing_bucket") else {
        return;
    };
    let endpoint = moto.endpoint();
    let err = match start_on(s3_config(endpoint.clone(), "no-such-bucket-here")).await {
        Ok(_) => panic!("the registry started on a missing bucket"),
        Err(e) => e,
    };
    assert!(matches!(err, ServeError::StorageCheck(_)), "{err:?}");
    let message = err.to_string();
    for part in [
        "\"no-such-bucket-here\"",
        endpoint.as_str(),
        "ListObjectsV2",
    ] {
        assert!(message.contains(part), "{part} missing from: {message}");
    }
}
