//! `hoist registry serve` replicas over one S3 bucket (moto on 127.0.0.1):
//! replicas.rs pushes through one replica and pulls through another, and
//! alternates a chunked upload's PATCHes; parts.rs does so with chunks that
//! become multipart parts, races and kills; faults.rs cuts the store and
//! SIGKILLs a replica mid-upload; gc.rs collects on one replica while
//! another takes pushes.

mod faults;
mod gc;
mod parts;
mod replicas;
mod startup;

use crate::common::hoist;
use crate::registry::http::sha256;
use hoist_testkit::{Peer, TempRoot};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// One replica serving `bucket` through `endpoint_port`.
pub struct Replica {
    pub peer: Peer,
    pub port: u16,
}

/// `hoist registry <verb>` with the S3 flags every replica of `bucket` uses
/// (short retries so a cut store turns into 503 quickly).
pub fn s3_command(root: &TempRoot, endpoint_port: u16, bucket: &str, verb: &str) -> Command {
    let mut cmd = hoist(root.path());
    cmd.args(["registry", verb])
        .arg("--storage-root")
        .arg(root.join("unused"))
        .args(["--storage-s3-bucket", bucket])
        .args([
            "--storage-s3-endpoint",
            &format!("http://127.0.0.1:{endpoint_port}"),
        ])
        .args(["--storage-s3-path-style", "true"])
        .args(["--storage-s3-max-retries", "1"])
        .args(["--storage-s3-retry-timeout-seconds", "3"])
        .args(["--storage-s3-connect-timeout-seconds", "2"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test");
    cmd
}

pub fn replica(root: &TempRoot, endpoint_port: u16, bucket: &str) -> Replica {
    replica_with(root, endpoint_port, bucket, &[])
}

/// A replica with extra `registry serve` flags.
pub fn replica_with(root: &TempRoot, endpoint_port: u16, bucket: &str, extra: &[&str]) -> Replica {
    let port = hoist_testkit::free_port();
    let mut cmd = s3_command(root, endpoint_port, bucket, "serve");
    cmd.args(["--addr", &format!("127.0.0.1:{port}")])
        .args(extra);
    let log: PathBuf = root.join(format!("replica-{port}.log"));
    let peer = Peer::start(&mut cmd, port, &log);
    Replica { peer, port }
}

/// A fresh bucket name per test and run (the moto server is shared).
pub fn bucket_name(test: &str) -> String {
    let tag: String = sha256(format!("{test}{:?}", Instant::now()).as_bytes())[7..19].into();
    format!("e2e-{tag}")
}
