//! Faults: the object store going away (a TCP relay between the registry and
//! moto is cut, since moto keeps data in memory only and a restart would lose
//! it), and a replica SIGKILLed in the middle of an upload.

use super::{bucket_name, replica};
use crate::registry::http;
use hoist_testkit::{shared_moto, TcpProxy, TempRoot};
use http::{random_bytes, request, sha256};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn store_outage_is_503_then_recovers_with_data_intact() {
    let Some(moto) = shared_moto("registry_s3::store_outage") else {
        return;
    };
    let bucket = bucket_name("outage");
    moto.create_bucket(&bucket);
    let proxy = TcpProxy::start(moto.port);
    let tmp = TempRoot::new();
    let a = replica(&tmp, proxy.port, &bucket);
    assert_eq!(request(a.port, "GET", "/readyz", &[], b"").status, 200);
    let before = random_bytes(200 * 1024);
    let before_digest = http::push_blob(a.port, "s3/outage", &before);
    // A push in flight when the store goes: half its body is sent before the
    // cut, the rest after; it must end in an error, never in a hang or a
    // half-visible blob.
    let torn = random_bytes(300 * 1024);
    let torn_digest = sha256(&torn);
    let mut in_flight = TcpStream::connect(("127.0.0.1", a.port)).unwrap();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        in_flight,
        "POST /v2/s3/outage/blobs/uploads/?digest={torn_digest} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        torn.len()
    )
    .unwrap();
    in_flight.write_all(&torn[..torn.len() / 2]).unwrap();
    in_flight.flush().unwrap();
    // Cut once its session exists in the bucket, so the failure hits the
    // body's write, not the session's start.
    let listing = format!("/{bucket}?list-type=2&prefix=repositories/s3/outage/_uploads/");
    hoist_testkit::wait_until("the torn push's session", Duration::from_secs(30), || {
        request(moto.port, "GET", &listing, &[], b"")
            .text()
            .contains("/info</Key>")
    });

    proxy.cut();
    let started = Instant::now();
    in_flight.write_all(&torn[torn.len() / 2..]).unwrap();
    let mut reply = String::new();
    let _ = in_flight.read_to_string(&mut reply);
    let status = reply.split_whitespace().nth(1).unwrap_or("none");
    assert_eq!(
        status,
        "503",
        "push torn by the outage: {reply}; replica log:\n{}",
        std::fs::read_to_string(tmp.join(format!("replica-{}.log", a.port))).unwrap_or_default()
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the torn push hung for {:?}",
        started.elapsed()
    );
    hoist_testkit::wait_until(
        "readyz fails while the store is cut",
        Duration::from_secs(30),
        || request(a.port, "GET", "/readyz", &[], b"").status == 503,
    );
    let started = Instant::now();
    let blob = random_bytes(100 * 1024);
    let r = request(
        a.port,
        "POST",
        &format!("/v2/s3/outage/blobs/uploads/?digest={}", sha256(&blob)),
        &[],
        &blob,
    );
    assert_eq!(r.status, 503, "push during the outage: {}", r.text());
    assert!(r.text().contains("UNAVAILABLE"), "{}", r.text());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the registry hung for {:?}",
        started.elapsed()
    );

    proxy.restore();
    hoist_testkit::wait_until("readyz recovers", Duration::from_secs(30), || {
        request(a.port, "GET", "/readyz", &[], b"").status == 200
    });
    let got = request(
        a.port,
        "GET",
        &format!("/v2/s3/outage/blobs/{before_digest}"),
        &[],
        b"",
    );
    assert!(
        got.status == 200 && got.body == before,
        "acknowledged blob lost"
    );
    let r = request(
        a.port,
        "HEAD",
        &format!("/v2/s3/outage/blobs/{torn_digest}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 404, "the torn push left a visible blob");
    http::push_blob(a.port, "s3/outage", &blob);
    http::push_blob(a.port, "s3/outage", &torn);
}

#[test]
fn replica_sigkilled_mid_upload_resumes_on_the_other() {
    let Some(moto) = shared_moto("registry_s3::replica_sigkilled_mid_upload") else {
        return;
    };
    let bucket = bucket_name("sigkill");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    let mut a = replica(&tmp, moto.port, &bucket);
    let b = replica(&tmp, moto.port, &bucket);
    let data = random_bytes(2 * 1024 * 1024 + 77);
    let digest = sha256(&data);
    let first = 768 * 1024;

    // One chunk acknowledged by A, then a second one half sent when A dies.
    let r = request(a.port, "POST", "/v2/s3/killed/blobs/uploads/", &[], b"");
    assert_eq!(r.status, 202, "{}", r.text());
    let location = r.header("location").unwrap().to_string();
    let r = request(
        a.port,
        "PATCH",
        &location,
        &[("Content-Range", &format!("0-{}", first - 1))],
        &data[..first],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let location = r.header("location").unwrap().to_string();
    let mut in_flight = TcpStream::connect(("127.0.0.1", a.port)).unwrap();
    write!(
        in_flight,
        "PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Range: {first}-{}\r\nContent-Length: {}\r\n\r\n",
        data.len() - 1,
        data.len() - first
    )
    .unwrap();
    in_flight
        .write_all(&data[first..first + 600 * 1024])
        .unwrap();
    in_flight.flush().unwrap();
    a.peer.guard.kill();
    assert!(
        a.peer.guard.exited(),
        "replica A still running after SIGKILL"
    );
    drop(in_flight);

    // B sees exactly the acknowledged chunk and takes the rest.
    let r = request(b.port, "GET", &location, &[], b"");
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("range"), Some(format!("0-{}", first - 1).as_str()));
    let r = request(
        b.port,
        "PATCH",
        &location,
        &[("Content-Range", &format!("{first}-{}", data.len() - 1))],
        &data[first..],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let location = r.header("location").unwrap().to_string();
    let sep = if location.contains('?') { '&' } else { '?' };
    let r = request(
        b.port,
        "PUT",
        &format!("{location}{sep}digest={digest}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("docker-content-digest"), Some(digest.as_str()));
    let got = request(
        b.port,
        "GET",
        &format!("/v2/s3/killed/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!(got.status, 200);
    assert_eq!(sha256(&got.body), digest, "resumed blob's content differs");
}
