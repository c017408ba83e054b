//! Writes OCI image layouts by hand (no hoist involved), for skopeo to push:
//! real gzip'd tar layers of random files, a config naming their diffIDs, a
//! manifest, and optionally a multi-platform index.

use super::http::{random_bytes, sha256};
use serde_json::{json, Value};
use std::path::Path;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn write_blob(dir: &Path, data: &[u8]) -> String {
    let digest = sha256(data);
    let path = dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
    digest
}

/// A gzip'd tar with one random file; returns (gz bytes, diffID).
fn layer(size: usize) -> (Vec<u8>, String) {
    let content = random_bytes(size);
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder
        .append_data(&mut header, "data.bin", &content[..])
        .unwrap();
    let tar = builder.into_inner().unwrap();
    let diff_id = sha256(&tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    (gz.finish().unwrap(), diff_id)
}

/// Writes one image (config + layers) and returns its manifest descriptor.
fn image(dir: &Path, arch: &str, layer_sizes: &[usize]) -> Value {
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for &size in layer_sizes {
        let (gz, diff_id) = layer(size);
        let digest = write_blob(dir, &gz);
        layers.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": gz.len()}));
        diff_ids.push(diff_id);
    }
    let config = serde_json::to_vec(&json!({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_digest = write_blob(dir, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layers,
    }))
    .unwrap();
    let digest = write_blob(dir, &manifest);
    json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": manifest.len(),
           "platform": {"architecture": arch, "os": "linux"}})
}

fn finish(dir: &Path, entry: Value) {
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

/// A single-platform image tagged `tag`; returns the manifest digest.
pub fn single(dir: &Path, tag: &str, layer_sizes: &[usize]) -> String {
    let mut desc = image(dir, "amd64", layer_sizes);
    desc.as_object_mut().unwrap().remove("platform");
    desc["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    let digest = desc["digest"].as_str().unwrap().to_string();
    finish(dir, desc);
    digest
}

/// An index of amd64 and arm64 images tagged `tag`; returns the index digest.
pub fn multi_arch(dir: &Path, tag: &str) -> String {
    let manifests = vec![image(dir, "amd64", &[4096]), image(dir, "arm64", &[4096])];
    let index = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
    )
    .unwrap();
    let digest = write_blob(dir, &index);
    finish(
        dir,
        json!({"mediaType": OCI_INDEX, "digest": digest, "size": index.len(),
                       "annotations": {"org.opencontainers.image.ref.name": tag}}),
    );
    digest
}

/// Sorted blob file names of a layout.
pub fn blob_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("blobs/sha256"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
