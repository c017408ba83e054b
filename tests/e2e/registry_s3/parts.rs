//! Chunked uploads on S3 as multipart parts (registry/src/storage/
//! upload_parts.rs): chunks of any size alternating between two replicas
//! (parts of 8 MiB, tails under S3's 5 MiB minimum staged and carried on by
//! the other replica), the same chunk sent to both replicas at once (one
//! lands, the other gets 416), a replica SIGKILLed with parts in flight, and
//! a wrong digest leaving no object and no multipart upload behind.

use super::{bucket_name, replica};
use crate::registry::http::{random_bytes, request, sha256, Reply};
use hoist_testkit::{shared_moto, TempRoot};
use std::io::Write;
use std::net::TcpStream;

const MIB: usize = 1024 * 1024;

fn patch(port: u16, location: &str, offset: usize, chunk: &[u8]) -> Reply {
    let range = format!("{}-{}", offset, offset + chunk.len() - 1);
    request(
        port,
        "PATCH",
        location,
        &[
            ("Content-Range", &range),
            ("Content-Type", "application/octet-stream"),
        ],
        chunk,
    )
}

fn finish(port: u16, location: &str, digest: &str) -> Reply {
    let sep = if location.contains('?') { '&' } else { '?' };
    request(
        port,
        "PUT",
        &format!("{location}{sep}digest={digest}"),
        &[],
        b"",
    )
}

fn start(port: u16, repo: &str) -> String {
    let r = request(
        port,
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        &[],
        b"",
    );
    assert_eq!(r.status, 202, "{}", r.text());
    r.header("location").unwrap().to_string()
}

/// What the bucket holds under `prefix`, and its open multipart uploads
/// (moto's ListObjectsV2 and ListMultipartUploads, as XML).
fn bucket_listing(moto_port: u16, bucket: &str, prefix: &str) -> (String, String) {
    let objects = request(
        moto_port,
        "GET",
        &format!("/{bucket}?list-type=2&prefix={prefix}"),
        &[],
        b"",
    );
    assert_eq!(objects.status, 200, "{}", objects.text());
    let uploads = request(
        moto_port,
        "GET",
        &format!("/{bucket}?uploads&prefix={prefix}"),
        &[],
        b"",
    );
    assert_eq!(uploads.status, 200, "{}", uploads.text());
    (objects.text(), uploads.text())
}

#[test]
fn multipart_chunks_across_replicas_race_kill_and_wrong_digest() {
    let Some(moto) = shared_moto("registry_s3::multipart_chunks_across_replicas") else {
        return;
    };
    let bucket = bucket_name("parts");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    let mut replicas = [
        replica(&tmp, moto.port, &bucket),
        replica(&tmp, moto.port, &bucket),
    ];
    let ports = [replicas[0].port, replicas[1].port];

    // Chunks of uneven sizes, alternating: 3 MiB stays a tail; +7 MiB fills
    // one 8 MiB part on the other replica; 100 KiB, then 6 MiB fills the
    // next part; the rest is the last, short part at the PUT.
    let data = random_bytes(19 * MIB + 321);
    let digest = sha256(&data);
    let sizes = [3 * MIB, 7 * MIB, 100 * 1024, 6 * MIB];
    let mut location = start(ports[0], "s3/parts");
    let mut offset = 0;
    for (i, size) in sizes.iter().enumerate() {
        let r = patch(
            ports[i % 2],
            &location,
            offset,
            &data[offset..offset + size],
        );
        assert_eq!(r.status, 202, "PATCH {i}: {}", r.text());
        offset += size;
        assert_eq!(r.header("range").unwrap(), format!("0-{}", offset - 1));
        location = r.header("location").unwrap().to_string();
        if i == 1 {
            // 10 MiB in: one 8 MiB part is in the store's multipart upload,
            // not in an object of its own.
            let (_, uploads) = bucket_listing(moto.port, &bucket, "repositories/s3/parts");
            assert_eq!(uploads.matches("<Upload>").count(), 1, "{uploads}");
        }
    }

    // The same chunk to both replicas at once: exactly one lands.
    let last = &data[offset..];
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = ports
            .iter()
            .map(|&port| {
                let location = &location;
                s.spawn(move || patch(port, location, offset, last).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [202, 416],
        "racing PATCHes at one offset: {statuses:?}"
    );
    let status = request(ports[1], "GET", &location, &[], b"");
    assert_eq!(
        status.header("range"),
        Some(format!("0-{}", data.len() - 1).as_str())
    );
    let r = finish(ports[1], &location, &digest);
    assert_eq!(r.status, 201, "{}", r.text());
    let got = request(
        ports[0],
        "GET",
        &format!("/v2/s3/parts/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!(got.status, 200);
    assert!(
        got.body == data,
        "the assembled blob differs from the chunks"
    );
    let (objects, uploads) = bucket_listing(moto.port, &bucket, "repositories/s3/parts/_uploads");
    assert!(
        !objects.contains("<Key>"),
        "session objects left: {objects}"
    );
    assert!(!uploads.contains("<Upload>"), "multipart left: {uploads}");

    // A wrong digest: 400, and no blob, session object or multipart upload
    // stays behind.
    let other = random_bytes(9 * MIB);
    let location = start(ports[0], "s3/wrong");
    let r = patch(ports[0], &location, 0, &other);
    assert_eq!(r.status, 202, "{}", r.text());
    let location = r.header("location").unwrap().to_string();
    let claimed = sha256(b"something else");
    let r = finish(ports[1], &location, &claimed);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("DIGEST_INVALID"), "{}", r.text());
    let r = request(ports[0], "GET", &location, &[], b"");
    assert_eq!(r.status, 404, "the session outlived a wrong digest");
    for wrong in [&claimed, &sha256(&other)] {
        let r = request(
            ports[1],
            "HEAD",
            &format!("/v2/s3/wrong/blobs/{wrong}"),
            &[],
            b"",
        );
        assert_eq!(r.status, 404, "{wrong} became visible");
    }
    let (objects, uploads) = bucket_listing(moto.port, &bucket, "repositories/s3/wrong");
    assert!(!objects.contains("<Key>"), "objects left: {objects}");
    assert!(!uploads.contains("<Upload>"), "multipart left: {uploads}");

    // A replica SIGKILLed while a 12 MiB chunk (one full part) is arriving:
    // the other resumes at the acknowledged offset and the blob is whole.
    let data = random_bytes(17 * MIB + 5);
    let digest = sha256(&data);
    let location = start(ports[0], "s3/killed");
    let first = 2 * MIB;
    let r = patch(ports[0], &location, 0, &data[..first]);
    assert_eq!(r.status, 202, "{}", r.text());
    let location = r.header("location").unwrap().to_string();
    let mut in_flight = TcpStream::connect(("127.0.0.1", ports[0])).unwrap();
    write!(
        in_flight,
        "PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Range: {first}-{}\r\nContent-Length: {}\r\n\r\n",
        first + 12 * MIB - 1,
        12 * MIB
    )
    .unwrap();
    in_flight.write_all(&data[first..first + 10 * MIB]).unwrap();
    in_flight.flush().unwrap();
    replicas[0].peer.guard.kill();
    assert!(
        replicas[0].peer.guard.exited(),
        "replica A survived SIGKILL"
    );
    drop(in_flight);
    let r = request(ports[1], "GET", &location, &[], b"");
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("range"), Some(format!("0-{}", first - 1).as_str()));
    let r = patch(ports[1], &location, first, &data[first..]);
    assert_eq!(r.status, 202, "{}", r.text());
    let location = r.header("location").unwrap().to_string();
    let r = finish(ports[1], &location, &digest);
    assert_eq!(r.status, 201, "{}", r.text());
    let got = request(
        ports[1],
        "GET",
        &format!("/v2/s3/killed/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!(got.status, 200);
    assert_eq!(sha256(&got.body), digest, "the resumed blob differs");
}
