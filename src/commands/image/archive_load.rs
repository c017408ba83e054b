//! `hoist load -i FILE`: reads an OCI archive (skopeo's `oci-archive:`, our
//! `save`) or a `docker save` archive (legacy `manifest.json` + `layer.tar`),
//! plain or compressed. One streaming pass: blob files go straight into the
//! store, verified against the digest their path names; nothing is named until
//! every blob an image needs is present and verified.

use anyhow::{bail, Context};
use hoist_oci::oci_spec::image::{Descriptor, ImageIndex, MediaType};
use hoist_oci::{media_types, Digest};
use hoist_store::layer::Compression;
use hoist_store::{Store, REF_NAME_ANNOTATION};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

/// Metadata files are small; a larger one is refused rather than buffered.
const MAX_METADATA: u64 = 16 << 20;

#[derive(Default)]
struct Archive {
    /// Small JSON files by path (index.json, manifest.json, legacy configs).
    metadata: HashMap<String, Vec<u8>>,
    /// Every other regular file, stored as a blob, by path.
    files: HashMap<String, Digest>,
    /// Symlinks (legacy archives dedupe layers with them), resolved to paths.
    links: HashMap<String, String>,
}

pub fn run(store: &Store, input: &Path) -> anyhow::Result<i32> {
    let file = std::fs::File::open(input)
        .with_context(|| format!("cannot read {}: no such file", input.display()))?;
    let archive = read_archive(store, file)
        .with_context(|| format!("{} is not a readable image archive", input.display()))?;
    let loaded = if archive.metadata.contains_key("index.json") {
        load_oci(store, &archive)?
    } else if archive.metadata.contains_key("manifest.json") {
        load_docker(store, &archive)?
    } else {
        bail!(
            "{} has neither index.json (OCI archive) nor manifest.json (docker save archive)",
            input.display()
        );
    };
    for line in loaded {
        println!("{line}");
    }
    Ok(0)
}

fn read_archive(store: &Store, file: std::fs::File) -> anyhow::Result<Archive> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let head = reader.fill_buf()?.to_vec();
    let stream: Box<dyn Read> = match head.as_slice() {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Box::new(zstd::Decoder::with_buffer(reader)?),
        _ => Box::new(reader),
    };
    let mut tar = tar::Archive::new(stream);
    let mut archive = Archive::default();
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = normalize(&entry.path()?)?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry.link_name()?.context("link without a target")?;
            let base = if kind.is_symlink() {
                Path::new(&path)
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(target)
            } else {
                target.into_owned()
            };
            archive.links.insert(path, normalize(&base)?);
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        if let Some(digest) = blob_path_digest(&path) {
            store
                .write_blob_from(&mut entry, Some(&digest))
                .with_context(|| format!("archive entry {path}"))?;
            archive.files.insert(path, digest);
        } else if path.ends_with(".json") || !path.contains('/') {
            if entry.size() > MAX_METADATA {
                bail!("archive entry {path} is larger than 16 MiB; not an image archive");
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            archive.metadata.insert(path, bytes);
        } else {
            let (digest, _) = store.write_blob_from(&mut entry, None)?;
            archive.files.insert(path, digest);
        }
    }
    Ok(archive)
}

/// A relative path with `.` removed; `..` that climbs out or absolute paths are refused.
fn normalize(p: &Path) -> anyhow::Result<String> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir if out.pop() => {}
            _ => bail!("archive entry {} points outside the archive", p.display()),
        }
    }
    Ok(out.to_string_lossy().into_owned())
}

/// `blobs/sha256/<hex>` names its own digest.
fn blob_path_digest(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    format!("{alg}:{hex}").parse().ok()
}

impl Archive {
    fn file_digest(&self, path: &str) -> Option<Digest> {
        let mut p = path.to_string();
        for _ in 0..16 {
            if let Some(d) = self.files.get(&p) {
                return Some(d.clone());
            }
            p = self.links.get(&p)?.clone();
        }
        None
    }
}

fn load_oci(store: &Store, archive: &Archive) -> anyhow::Result<Vec<String>> {
    let index: ImageIndex = serde_json::from_slice(&archive.metadata["index.json"])
        .context("index.json is not an OCI image index")?;
    let mut lines = Vec::new();
    for desc in index.manifests() {
        let digest = Digest::try_from(desc.digest())?;
        check_complete(store, &digest)?;
        let ann = desc.annotations().clone().unwrap_or_default();
        let name = [
            ann.get("io.containerd.image.name"),
            ann.get(REF_NAME_ANNOTATION),
        ]
        .into_iter()
        .flatten()
        .find(|n| hoist_oci::Reference::parse(n).is_ok() && n.contains(['/', ':']));
        match name {
            Some(n) => {
                let full = store.set_name(n, desc.clone())?;
                lines.push(format!("Loaded image: {}", super::display_name(&full)));
            }
            None => lines.push(format!("Loaded image ID: {digest}")),
        }
    }
    Ok(lines)
}

/// Every blob the manifest needs is in the store (digests were verified on write).
fn check_complete(store: &Store, digest: &Digest) -> anyhow::Result<()> {
    let bytes = store
        .read_blob(digest)
        .with_context(|| format!("the archive lacks manifest {digest}"))?;
    match hoist_oci::parse_manifest(None, &bytes)?.1 {
        hoist_oci::AnyManifest::Manifest(m) => {
            let mut needed = vec![Digest::try_from(m.config().digest())?];
            for l in m.layers() {
                needed.push(Digest::try_from(l.digest())?);
            }
            if let Some(missing) = needed.iter().find(|d| !store.has_blob(d)) {
                bail!("the archive lacks blob {missing} that image {digest} needs");
            }
        }
        hoist_oci::AnyManifest::Index(i) => {
            for m in i.manifests() {
                let d = Digest::try_from(m.digest())?;
                if store.has_blob(&d) {
                    check_complete(store, &d)?;
                }
            }
        }
    }
    Ok(())
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn load_docker(store: &Store, archive: &Archive) -> anyhow::Result<Vec<String>> {
    let entries: Vec<DockerEntry> = serde_json::from_slice(&archive.metadata["manifest.json"])
        .context("manifest.json is not a docker save manifest")?;
    let mut lines = Vec::new();
    for e in entries {
        let config = match archive.metadata.get(&e.config) {
            Some(bytes) => bytes.clone(),
            None => {
                let d = archive
                    .file_digest(&e.config)
                    .with_context(|| format!("the archive lacks the config {}", e.config))?;
                store.read_blob(&d)?
            }
        };
        let mut layers = Vec::new();
        for path in &e.layers {
            let d = archive
                .file_digest(path)
                .with_context(|| format!("the archive lacks the layer {path}"))?;
            let media_type = sniff_layer_type(store, &d)?;
            layers.push(Descriptor::new(
                MediaType::from(media_type),
                store.blob_size(&d)?,
                &d,
            ));
        }
        let manifest = store.commit_image_bytes(&config, layers)?;
        let tags = e.repo_tags.unwrap_or_default();
        if tags.is_empty() {
            lines.push(format!("Loaded image ID: {}", Digest::sha256_of(&config)));
        }
        for tag in tags {
            let full = store.set_name(&tag, manifest.clone())?;
            lines.push(format!("Loaded image: {}", super::display_name(&full)));
        }
    }
    Ok(lines)
}

/// Docker archives hold plain or compressed layer tars under any name: look at the bytes.
fn sniff_layer_type(store: &Store, d: &Digest) -> anyhow::Result<&'static str> {
    let mut head = [0u8; 4];
    let n = store.open_blob(d)?.read(&mut head)?;
    Ok(match &head[..n] {
        [0x1f, 0x8b, ..] => Compression::Gzip.media_type(),
        [0x28, 0xb5, 0x2f, 0xfd] => media_types::OCI_LAYER_ZSTD,
        _ => Compression::None.media_type(),
    })
}
