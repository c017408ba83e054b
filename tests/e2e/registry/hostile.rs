//! The registry under hostile clients (`[limits]`): a client trickling its
//! request head or body, or idling, is cut off; upload sessions are capped
//! per repository and in total; deeply nested and oversize manifests are
//! refused. Each refusal is a clear error and a count in /metrics. Short
//! limits in a config file keep every case to a second or two.

use super::http::{push_blob, request};
use super::Server;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const CONFIG: &str = "\
max_manifest_bytes = 65536

[limits]
header_timeout_seconds = 1
idle_timeout_seconds = 2
body_timeout_seconds = 1
body_min_bytes_per_second = 1000
max_upload_sessions_per_repository = 3
max_upload_sessions = 5
max_json_depth = 16
";

fn start() -> Server {
    let root = hoist_testkit::TempRoot::new();
    let config = root.join("limits.toml");
    std::fs::write(&config, CONFIG).unwrap();
    Server::start_in(root, &["--config", config.to_str().unwrap()])
}

/// Sends `head` at once, then `trickle` one byte per 250 ms until the
/// server answers or closes; returns the answer (status, text) and how long
/// the trickle lasted. Stops after 20 s, which fails the caller's bound.
fn trickle(port: u16, head: &[u8], trickle: &[u8]) -> (u16, String, Duration) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(head).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(250)))
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let mut next = trickle.iter().cycle();
    // Waiting on the socket is the pacing: a byte goes out whenever 250 ms
    // pass without an answer.
    while started.elapsed() < Duration::from_secs(20) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if !answer.is_empty() {
                    continue;
                }
                if s.write_all(&[*next.next().unwrap()]).is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text, elapsed)
}

fn metric(port: u16, limit: &str) -> u64 {
    let text = request(port, "GET", "/metrics", &[], b"").text();
    let line = format!("hoist_registry_limit_refusals_total{{limit=\"{limit}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&line))
        .unwrap_or_else(|| panic!("no {line} in /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn slow_and_idle_clients_are_cut_off() {
    let server = start();
    let port = server.port;

    // A head sent one byte at a time: 408 after the 1 s limit, not later,
    // though bytes keep coming.
    let (status, text, took) = trickle(port, b"GET /v2/ HTTP/1.1\r\n", b"X-Slow: aaaa\r\n");
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("REQUEST_TIMEOUT"), "{text}");
    assert!(text.contains("limits.header_timeout_seconds"), "{text}");
    assert!(took < Duration::from_secs(4), "cut off after {took:?}");

    // A body trickled into an upload: 408 naming the body rule, the
    // connection closed, and nothing of it stored.
    let data = vec![7u8; 1000];
    let digest = super::http::sha256(&data);
    let head = format!(
        "POST /v2/slow/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: x\r\n\
         Content-Length: {}\r\n\r\n",
        data.len()
    );
    let (status, text, took) = trickle(port, head.as_bytes(), &data);
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("limits.body_min_bytes_per_second"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert!(took < Duration::from_secs(5), "cut off after {took:?}");
    let r = request(port, "HEAD", &format!("/v2/slow/blobs/{digest}"), &[], b"");
    assert_eq!(r.status, 404);

    // A connection that never sends a request is closed after the idle time.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let opened = Instant::now();
    let mut buf = [0u8; 64];
    assert_eq!(idle.read(&mut buf).unwrap(), 0, "closed without an answer");
    assert!(
        opened.elapsed() < Duration::from_secs(6),
        "{:?}",
        opened.elapsed()
    );

    // Counted, and the server still serves well-behaved clients at speed.
    assert_eq!(metric(port, "header_timeout"), 1);
    assert_eq!(metric(port, "body_timeout"), 1);
    push_blob(port, "slow", &data);
}

#[test]
fn upload_sessions_are_limited_per_repository_and_in_total() {
    let server = start();
    let port = server.port;
    let open = |repo: &str| {
        request(
            port,
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            &[],
            b"",
        )
    };
    let mut a: Vec<String> = (0..3)
        .map(|_| {
            let r = open("a");
            assert_eq!(r.status, 202, "{}", r.text());
            r.header("location").unwrap().to_string()
        })
        .collect();
    let r = open("a");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.text().contains("TOOMANYREQUESTS"), "{}", r.text());
    assert!(
        r.text()
            .contains("limits.max_upload_sessions_per_repository"),
        "{}",
        r.text()
    );

    // Other repositories still get sessions, up to the registry's total.
    for _ in 0..2 {
        assert_eq!(open("b").status, 202);
    }
    let r = open("c");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.text().contains("limits.max_upload_sessions)"),
        "{}",
        r.text()
    );

    // A cancelled session and a completed one give their places back.
    let cancelled = a.pop().unwrap();
    assert_eq!(request(port, "DELETE", &cancelled, &[], b"").status, 204);
    let r = open("a");
    assert_eq!(r.status, 202, "{}", r.text());
    let data = b"a finished upload".to_vec();
    let digest = super::http::sha256(&data);
    let done = request(
        port,
        "PUT",
        &format!("{}?digest={digest}", a[0]),
        &[],
        &data,
    );
    assert_eq!(done.status, 201, "{}", done.text());
    assert_eq!(open("a").status, 202);
    assert_eq!(metric(port, "upload_sessions"), 2);
}

#[test]
fn deeply_nested_and_oversize_manifests_are_refused() {
    let server = start();
    let port = server.port;
    let config = push_blob(port, "m", b"{}");
    let layer = push_blob(port, "m", b"layer");
    let manifest = |annotation: &str| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":5}}],"annotations":{{"a":{annotation}}}}}"#
        )
    };
    let put = |body: &str| {
        request(
            port,
            "PUT",
            "/v2/m/manifests/t",
            &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
            body.as_bytes(),
        )
    };
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let r = put(&manifest(&deep));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("MANIFEST_INVALID"), "{}", r.text());
    assert!(r.text().contains("limits.max_json_depth"), "{}", r.text());
    assert_eq!(metric(port, "json_depth"), 1);

    let big = format!("\"{}\"", "x".repeat(70_000));
    let r = put(&manifest(&big));
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("SIZE_INVALID"), "{}", r.text());
    assert!(r.text().contains("max_manifest_bytes"), "{}", r.text());

    // Nothing was stored under the tag; a plain manifest still goes in.
    assert_eq!(
        request(port, "GET", "/v2/m/manifests/t", &[], b"").status,
        404
    );
    let r = put(&manifest("\"fine\""));
    assert_eq!(r.status, 201, "{}", r.text());
}
