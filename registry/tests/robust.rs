//! Interrupted and resumed uploads, restarts, and concurrent pushes.

mod common;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn chunked_upload_interrupted_then_resumed() {
    use tokio::io::AsyncWriteExt;
    let reg = Reg::start().await;
    let data = random_bytes(64 * 1024);
    let digest = sha256(&data);
    let loc = reg.start_upload("i").await;
    let r = reg
        .http
        .patch(&loc)
        .header("content-range", "0-16383")
        .body(data[..16384].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    // A second chunk cut off half-way: the connection drops mid-body.
    let addr = reg.url.trim_start_matches("http://").to_string();
    let path = loc.trim_start_matches(&reg.url).to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!("PATCH {path} HTTP/1.1\r\nHost: x\r\nContent-Range: 16384-32767\r\nContent-Length: 16384\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&data[16384..20000]).await.unwrap();
    drop(s);

    // The status still says 16384 bytes (the partial chunk is not counted)...
    hoist_testkit::wait_until(
        "the cut chunk to be discarded",
        std::time::Duration::from_secs(10),
        || reg.files_containing("_tmp/").is_empty(),
    );
    let st = reg.http.get(&loc).send().await.unwrap();
    assert_eq!(st.headers()["range"], "0-16383");
    // ...so the client resumes from there and finishes. Until the server has
    // seen the cut connection end, that request still holds the upload and a
    // PATCH gets 416 (as two PATCHes at one offset do); a client asks again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = reg
            .http
            .patch(&loc)
            .header("content-range", format!("16384-{}", data.len() - 1))
            .body(data[16384..].to_vec())
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::ACCEPTED {
            break;
        }
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(
            r.headers()["range"],
            "0-16383",
            "the cut chunk is not counted"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the upload stayed held by the cut request"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let r = reg
        .http
        .put(format!("{loc}?digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let got = reg
        .get(&format!("/v2/i/blobs/{digest}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), &data[..]);
}

#[tokio::test]
async fn upload_resumes_after_server_restart() {
    let mut reg = Reg::start().await;
    let data = random_bytes(50_000);
    let digest = sha256(&data);
    let loc = reg.start_upload("restart").await;
    let path = loc.trim_start_matches(&reg.url).to_string();
    reg.http
        .patch(&loc)
        .header("content-range", "0-29999")
        .body(data[..30000].to_vec())
        .send()
        .await
        .unwrap();
    reg.restart().await;
    let loc = reg.u(&path);
    let st = reg.http.get(&loc).send().await.unwrap();
    assert_eq!(st.status(), StatusCode::NO_CONTENT);
    assert_eq!(st.headers()["range"], "0-29999");
    let r = reg
        .http
        .patch(&loc)
        .header("content-range", "30000-49999")
        .body(data[30000..].to_vec())
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
    let got = reg
        .get(&format!("/v2/restart/blobs/{digest}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), &data[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_push_the_same_blob_concurrently() {
    let reg = std::sync::Arc::new(Reg::start().await);
    let data = random_bytes(2 * 1024 * 1024);
    let digest = sha256(&data);
    let mut tasks = Vec::new();
    for repo in ["one", "two", "one"] {
        let reg = reg.clone();
        let data = data.clone();
        let digest = digest.clone();
        tasks.push(tokio::spawn(async move {
            let loc = reg.start_upload(repo).await;
            for (i, chunk) in data.chunks(256 * 1024).enumerate() {
                let start = i * 256 * 1024;
                let r = reg
                    .http
                    .patch(&loc)
                    .header(
                        "content-range",
                        format!("{start}-{}", start + chunk.len() - 1),
                    )
                    .body(chunk.to_vec())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::ACCEPTED);
            }
            let r = reg
                .http
                .put(format!("{loc}?digest={digest}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for repo in ["one", "two"] {
        let got = reg
            .get(&format!("/v2/{repo}/blobs/{digest}"))
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(sha256(&got), digest);
    }
    assert_eq!(reg.files_containing("/blobs/sha256/").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_pushes_land_intact() {
    let reg = std::sync::Arc::new(Reg::start().await);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            let layer = random_bytes(32 * 1024 + i);
            let repo = format!("team/app{i}");
            let (digest, _) = reg.push_image(&repo, "latest", &layer).await;
            (repo, digest, layer)
        }));
    }
    let mut pushed = Vec::new();
    for t in tasks {
        pushed.push(t.await.unwrap());
    }
    for (repo, digest, layer) in pushed {
        let r = reg.get(&format!("/v2/{repo}/manifests/latest")).await;
        assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
        let m: serde_json::Value = r.json().await.unwrap();
        let layer_digest = m["layers"][0]["digest"].as_str().unwrap();
        let got = reg
            .get(&format!("/v2/{repo}/blobs/{layer_digest}"))
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(got.as_ref(), &layer[..]);
    }
    let cat: serde_json::Value = reg.get("/v2/_catalog").await.json().await.unwrap();
    assert_eq!(cat["repositories"].as_array().unwrap().len(), 50);
}
