//! SIGKILL in the middle of uploads: after a restart every acknowledged blob
//! is intact, nothing partial is visible, and open sessions resume.

use super::http::{push_blob, random_bytes, request, sha256};
use super::Server;
use std::io::Write;
use std::net::TcpStream;

#[test]
fn sigkill_mid_upload_loses_nothing_acknowledged() {
    let server = Server::start(&[]);
    let port = server.port;
    let acknowledged: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| {
            let data = random_bytes(100_000 + i);
            (push_blob(port, "crash/app", &data), data)
        })
        .collect();

    // Uploads in flight: a session with one stored chunk and a second chunk
    // half sent, and a monolithic upload half sent.
    let big = random_bytes(1 << 20);
    let r = request(port, "POST", "/v2/crash/app/blobs/uploads/", &[], b"");
    let location = r.header("location").unwrap().to_string();
    let r = request(
        port,
        "PATCH",
        &location,
        &[("Content-Range", "0-65535")],
        &big[..65536],
    );
    assert_eq!(r.status, 202);
    let mut half_chunk = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(half_chunk, "PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Range: 65536-{}\r\nContent-Length: {}\r\n\r\n", big.len() - 1, big.len() - 65536).unwrap();
    half_chunk.write_all(&big[65536..500_000]).unwrap();
    let mono_digest = sha256(&big);
    let mut half_mono = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(half_mono, "POST /v2/crash/app/blobs/uploads/?digest={mono_digest} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", big.len()).unwrap();
    half_mono.write_all(&big[..300_000]).unwrap();
    half_chunk.flush().unwrap();
    half_mono.flush().unwrap();

    let root = server.kill();
    drop((half_chunk, half_mono));
    let server = Server::start_in(root, &[]);
    let port = server.port;

    for (digest, data) in &acknowledged {
        let r = request(
            port,
            "GET",
            &format!("/v2/crash/app/blobs/{digest}"),
            &[],
            b"",
        );
        assert_eq!(r.status, 200);
        assert_eq!(sha256(&r.body), *digest);
        assert_eq!(r.body.len(), data.len());
    }
    let r = request(
        port,
        "HEAD",
        &format!("/v2/crash/app/blobs/{mono_digest}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 404, "a half-sent blob is visible");
    let stored = std::fs::read_dir(server.root.join("registry/blobs/sha256"))
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .count();
    assert_eq!(
        stored,
        acknowledged.len(),
        "only acknowledged blobs are stored"
    );

    // The session resumes after the last acknowledged chunk.
    let r = request(port, "GET", &location, &[], b"");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("range"), Some("0-65535"));
    let r = request(
        port,
        "PATCH",
        &location,
        &[("Content-Range", &format!("65536-{}", big.len() - 1))],
        &big[65536..],
    );
    assert_eq!(r.status, 202);
    let r = request(
        port,
        "PUT",
        &format!("{location}?digest={mono_digest}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = request(
        port,
        "GET",
        &format!("/v2/crash/app/blobs/{mono_digest}"),
        &[],
        b"",
    );
    assert_eq!(sha256(&r.body), mono_digest);
}
