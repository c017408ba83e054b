//! Where everything lives in the byte store. One place builds every key, from
//! components that were validated before they got here (repository names by
//! the spec's grammar, tags by theirs, digests by their parser, upload ids as
//! 32 hex characters), so no key can climb out of its place.
//!
//! ```text
//! blobs/<alg>/<hh>/<hex>/data                          the content, shared by all repositories
//! repositories/<name>/_layers/<alg>/<hex>/link         the repository may serve this blob
//! repositories/<name>/_manifests/revisions/<alg>/<hex>/link   a manifest; holds its media type
//! repositories/<name>/_manifests/tags/<tag>/link       holds the tagged manifest's digest
//! repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>   descriptor of a manifest whose subject is <hex>
//! repositories/<name>/_uploads/<id>/info               an upload session (start time)
//! repositories/<name>/_uploads/<id>/data               the upload so far (drivers that append)
//! repositories/<name>/_uploads/<id>/progress           its length and hash state (same)
//! repositories/<name>/_uploads/<id>/chunk-<offset>-<nonce>   bytes received from <offset> on (others)
//! repositories/<name>/_uploads/<id>/hash-chunk-<offset>-<nonce>   hash state up to that chunk's end
//! _tmp/upload-<id>                                     a monolithic upload being received
//! ```

use crate::digests::{parts, Digest};

pub const BLOBS: &str = "blobs";
pub const REPOSITORIES: &str = "repositories";

pub fn blob_data(d: &Digest) -> String {
    let (alg, hex) = parts(d);
    format!("{BLOBS}/{alg}/{}/{hex}/data", &hex[..2])
}

pub fn repo(name: &str) -> String {
    format!("{REPOSITORIES}/{name}")
}

pub fn layers_dir(name: &str) -> String {
    format!("{REPOSITORIES}/{name}/_layers")
}

pub fn layer_link(name: &str, d: &Digest) -> String {
    let (alg, hex) = parts(d);
    format!("{REPOSITORIES}/{name}/_layers/{alg}/{hex}/link")
}

pub fn revisions_dir(name: &str) -> String {
    format!("{REPOSITORIES}/{name}/_manifests/revisions")
}

pub fn revision_link(name: &str, d: &Digest) -> String {
    let (alg, hex) = parts(d);
    format!("{REPOSITORIES}/{name}/_manifests/revisions/{alg}/{hex}/link")
}

pub fn tags_dir(name: &str) -> String {
    format!("{REPOSITORIES}/{name}/_manifests/tags")
}

pub fn tag_link(name: &str, tag: &str) -> String {
    format!("{REPOSITORIES}/{name}/_manifests/tags/{tag}/link")
}

pub fn referrers_dir(name: &str, subject: &Digest) -> String {
    let (alg, hex) = parts(subject);
    format!("{REPOSITORIES}/{name}/_referrers/{alg}/{hex}")
}

pub fn referrer(name: &str, subject: &Digest, referrer: &Digest) -> String {
    let (ralg, rhex) = parts(referrer);
    format!("{}/{ralg}-{rhex}", referrers_dir(name, subject))
}

pub fn uploads_dir(name: &str) -> String {
    format!("{REPOSITORIES}/{name}/_uploads")
}

pub fn upload_dir(name: &str, id: &str) -> String {
    format!("{REPOSITORIES}/{name}/_uploads/{id}")
}

pub fn upload_info(name: &str, id: &str) -> String {
    format!("{}/info", upload_dir(name, id))
}

/// The file an upload's chunks are appended to.
pub fn upload_data(name: &str, id: &str) -> String {
    format!("{}/data", upload_dir(name, id))
}

/// How far `upload_data` got: its acknowledged length and hash state.
pub fn upload_progress(name: &str, id: &str) -> String {
    format!("{}/progress", upload_dir(name, id))
}

/// Scratch space for a monolithic upload (verified before it is moved).
pub fn monolithic_upload(id: &str) -> String {
    format!("_tmp/upload-{id}")
}

/// A chunk's key. The nonce makes every write its own object, so two racing
/// writes at one offset never replace each other's bytes under a hash.
pub fn upload_chunk(name: &str, id: &str, offset: u64, nonce: &str) -> String {
    format!("{}/chunk-{offset:020}-{nonce}", upload_dir(name, id))
}

/// The hash state of an upload's bytes up to the end of `chunk_key` (a key
/// made by `upload_chunk`), written after it.
pub fn chunk_hash_state(chunk_key: &str) -> String {
    match chunk_key.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/hash-{name}"),
        None => format!("hash-{chunk_key}"),
    }
}

/// The offset a chunk's file name records, for names made by `upload_chunk`.
pub fn chunk_offset(file_name: &str) -> Option<u64> {
    let rest = file_name.strip_prefix("chunk-")?;
    rest.split('-').next()?.parse().ok()
}

/// Object stores: what the PATCH that started at `offset` left (multipart
/// parts, the staged tail, the hash state). Created only where absent, so
/// exactly one PATCH lands per offset, whichever replica took it.
pub fn upload_step(name: &str, id: &str, offset: u64) -> String {
    format!("{}/step-{offset:020}", upload_dir(name, id))
}

/// The offset a step's file name records, for names made by `upload_step`.
pub fn step_offset(file_name: &str) -> Option<u64> {
    file_name.strip_prefix("step-")?.parse().ok()
}

/// Object stores: bytes not yet in a multipart part (under S3's 5 MiB
/// minimum), staged after the PATCH that started at `offset`.
pub fn upload_tail(name: &str, id: &str, offset: u64, nonce: &str) -> String {
    format!("{}/tail-{offset:020}-{nonce}", upload_dir(name, id))
}

/// Whether an upload id has the shape this server hands out (so it is safe
/// as a path component).
pub fn valid_upload_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}
