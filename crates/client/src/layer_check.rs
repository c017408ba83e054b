//! Checking a layer while it downloads: the bytes written to the store are
//! also fed to `hoist_store::layer::validate_blob_tar` on a thread of its
//! own (it decompresses on another), so a hostile layer — escaping names,
//! symlink tricks, a decompression bomb, names no filesystem holds — is
//! refused with the same message and the same limits as `hoist import`,
//! during the download and without a second pass over the blob. The diff
//! ID of an uncompressed layer is its digest, which the download verifies
//! anyway: the checker does not hash it again.

use bytes::Bytes;
use hoist_oci::Digest;
use hoist_store::layer::{validate_blob_tar, LayerError, TarSummary, ValidateOptions};
use std::io::{self, Read};
use tokio::sync::{mpsc, oneshot};

/// Chunks queued between the download and the checker (network chunks are
/// small; this bounds memory to a few MiB while letting both run).
const QUEUE: usize = 64;

/// Whether a layer of this media type is a tar the checker can read. Other
/// blobs listed as layers (artifacts, encrypted layers) are stored as they
/// are (`run` refuses at unpack what it cannot read).
pub fn is_tar_layer(media_type: &str) -> bool {
    // OCI and Docker layer types, distributable or not (with or without
    // +gzip / +zstd / .gzip suffixes); an empty media type is a Docker
    // schema2 layer written by a careless tool. Encrypted layers (ocicrypt's
    // `+encrypted`) cannot be read without their key.
    let layer = media_type.is_empty()
        || media_type.starts_with("application/vnd.oci.image.layer.")
        || media_type.starts_with("application/vnd.docker.image.rootfs.");
    layer && !media_type.ends_with("+encrypted")
}

/// Compares the diff IDs the checker computed with the image config's
/// `rootfs.diff_ids`, layer by layer (`layers`: manifest order, digest and
/// computed diff ID when the layer was checked). Snapshots are keyed by
/// chain IDs made from the config's diff IDs, so a layer whose content is
/// not the diff ID its config claims could take the place of another
/// image's layer; docker refuses such images too. Err: the layer's digest
/// and why. Configs without `rootfs.diff_ids` (artifacts) are not checked.
pub fn check_diff_ids(
    config: &[u8],
    layers: &[(&str, Option<&str>)],
) -> Result<(), (String, String)> {
    let Ok(config) = serde_json::from_slice::<serde_json::Value>(config) else {
        return Ok(()); // not JSON: not an image config `run` could use
    };
    let Some(claimed) = config
        .pointer("/rootfs/diff_ids")
        .and_then(|v| v.as_array())
    else {
        return Ok(());
    };
    for (i, (digest, computed)) in layers.iter().enumerate() {
        let (Some(computed), Some(claimed)) = (computed, claimed.get(i)) else {
            continue;
        };
        let claimed = claimed.as_str().unwrap_or("(not a string)");
        if claimed != *computed {
            return Err((
                digest.to_string(),
                format!(
                    "its uncompressed content is {computed}, but the image config names {claimed} for it (rootfs.diff_ids[{i}])"
                ),
            ));
        }
    }
    Ok(())
}

/// A running check of one layer.
pub struct LayerCheck {
    tx: Option<mpsc::Sender<Bytes>>,
    result: oneshot::Receiver<Result<TarSummary, LayerError>>,
}

impl LayerCheck {
    /// Starts the checker thread for the blob `digest` (its summary's diff
    /// ID is `digest` when the layer is uncompressed: the caller must verify
    /// the blob before trusting it, as the download does).
    pub fn start(opts: ValidateOptions, digest: Digest) -> io::Result<LayerCheck> {
        let (tx, rx) = mpsc::channel::<Bytes>(QUEUE);
        let (done, result) = oneshot::channel();
        std::thread::Builder::new()
            .name("layer-check".into())
            .spawn(move || {
                let reader = ChannelReader {
                    rx,
                    chunk: Bytes::new(),
                };
                let _ = done.send(validate_blob_tar(reader, &opts, &digest));
            })?;
        Ok(LayerCheck {
            tx: Some(tx),
            result,
        })
    }

    /// Passes the next downloaded bytes on. Err when the checker has
    /// stopped reading: either it refused the layer (the caller should stop
    /// downloading and call [`LayerCheck::finish`]) or it saw the whole tar.
    pub async fn feed(&mut self, bytes: Bytes) -> Result<(), Stopped> {
        let Some(tx) = &self.tx else {
            return Ok(()); // finished reading early: the rest is not its business
        };
        if tx.send(bytes).await.is_err() {
            self.tx = None;
            return Err(Stopped);
        }
        Ok(())
    }

    /// Ends the input and waits for the verdict.
    pub async fn finish(mut self) -> Result<TarSummary, LayerError> {
        self.tx = None; // closes the channel: end of input
        match self.result.await {
            Ok(verdict) => verdict,
            Err(_) => Err(LayerError::Io(io::Error::other(
                "the layer checker thread ended without a verdict",
            ))),
        }
    }
}

/// The checker stopped reading (see [`LayerCheck::feed`]).
#[derive(Debug)]
pub struct Stopped;

/// The download's chunks as a `Read` for the checker thread.
struct ChannelReader {
    rx: mpsc::Receiver<Bytes>,
    chunk: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.chunk = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(name: &str) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // set_path refuses `..`; write the raw name like a hostile tool would.
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, &b"abc"[..]).unwrap();
        b.into_inner().unwrap()
    }

    async fn check(bytes: Vec<u8>) -> Result<TarSummary, LayerError> {
        let digest = Digest::sha256_of(&bytes);
        let mut c = LayerCheck::start(ValidateOptions::default(), digest).unwrap();
        for piece in bytes.chunks(700) {
            if c.feed(Bytes::copy_from_slice(piece)).await.is_err() {
                break;
            }
        }
        c.finish().await
    }

    #[tokio::test]
    async fn a_good_tar_passes_and_a_hostile_one_is_refused() {
        let summary = check(tar_with("ok")).await.unwrap();
        assert_eq!(summary.entries, 1);
        let err = check(tar_with("../escape")).await.unwrap_err();
        assert!(
            err.to_string().contains("unsafe tar entry \"../escape\""),
            "{err}"
        );
    }

    #[test]
    fn diff_ids_are_compared_in_manifest_order() {
        let config = br#"{"rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]}}"#;
        let ok = [("sha256:1", Some("sha256:aa")), ("sha256:2", None)];
        assert!(check_diff_ids(config, &ok).is_ok());
        let swapped = [
            ("sha256:1", Some("sha256:bb")),
            ("sha256:2", Some("sha256:aa")),
        ];
        let (digest, why) = check_diff_ids(config, &swapped).unwrap_err();
        assert_eq!(digest, "sha256:1");
        assert!(
            why.contains("rootfs.diff_ids[0]") && why.contains("sha256:bb"),
            "{why}"
        );
        assert!(
            check_diff_ids(b"{}", &swapped).is_ok(),
            "artifact configs pass"
        );
    }

    #[test]
    fn tar_layer_media_types() {
        assert!(is_tar_layer("application/vnd.oci.image.layer.v1.tar+gzip"));
        assert!(is_tar_layer(
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        ));
        assert!(!is_tar_layer(
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
        ));
    }
}
