//! `hoist save -o FILE NAME...`: an OCI archive (a tar of an OCI Image Layout)
//! that skopeo reads as `oci-archive:FILE:NAME`, with a docker `manifest.json`
//! beside it so `docker load` reads it too. Written to a temp file and renamed,
//! so a failed save never leaves a truncated archive behind.

use anyhow::{bail, Context};
use hoist_oci::{parse_manifest, AnyManifest, Digest};
use hoist_store::{Store, REF_NAME_ANNOTATION};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::Path;

pub fn run(store: &Store, output: &Path, names: &[String]) -> anyhow::Result<i32> {
    let mut entries = Vec::new();
    let mut docker_manifest = Vec::new();
    let mut blobs = BTreeSet::new();
    for name in names {
        let found = store.resolve(name)?;
        let digest = found.digest();
        collect_blobs(store, &digest, &mut blobs)?;
        let full = if found.name.is_empty() {
            hoist_oci::Reference::parse(name)
                .map(|r| r.to_string())
                .unwrap_or_default()
        } else {
            found.name.clone()
        };
        let mut desc = found.descriptor.clone();
        let mut ann = desc.annotations().clone().unwrap_or_default();
        if !full.is_empty() {
            ann.insert(REF_NAME_ANNOTATION.into(), full.clone());
            ann.insert("io.containerd.image.name".into(), full.clone());
        }
        desc.set_annotations(Some(ann));
        entries.push(desc.clone());
        if let Ok(img) = store.load_image(&found.descriptor) {
            let layers: Vec<String> = img
                .layers()
                .iter()
                .filter_map(|l| Digest::try_from(l.digest()).ok())
                .map(|d| format!("blobs/{}/{}", d.algorithm().name(), d.hex()))
                .collect();
            docker_manifest.push(json!({
                "Config": format!("blobs/sha256/{}", img.config_digest.hex()),
                "RepoTags": if full.is_empty() { vec![] } else { vec![super::display_name(&full)] },
                "Layers": layers,
            }));
        }
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": hoist_oci::media_types::OCI_INDEX,
        "manifests": entries,
    });
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write into {}", dir.display()))?;
    write_archive(
        store,
        tmp.as_file(),
        &index,
        &Value::Array(docker_manifest),
        &blobs,
    )
    .with_context(|| format!("cannot write {}", output.display()))?;
    tmp.as_file().sync_all()?;
    tmp.persist(output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    Ok(0)
}

/// Every blob an image needs: the manifest, nested manifests, configs, layers.
fn collect_blobs(store: &Store, digest: &Digest, out: &mut BTreeSet<Digest>) -> anyhow::Result<()> {
    if !out.insert(digest.clone()) {
        return Ok(());
    }
    let bytes = store.read_blob(digest)?;
    match parse_manifest(None, &bytes)?.1 {
        AnyManifest::Manifest(m) => {
            out.insert(Digest::try_from(m.config().digest())?);
            for l in m.layers() {
                let d = Digest::try_from(l.digest())?;
                if !store.has_blob(&d) {
                    bail!("layer {d} of {digest} is missing from the store; pull the image again");
                }
                out.insert(d);
            }
        }
        AnyManifest::Index(i) => {
            for m in i.manifests() {
                let d = Digest::try_from(m.digest())?;
                // An index may list platforms that were never pulled: save what is here.
                if store.has_blob(&d) {
                    collect_blobs(store, &d, out)?;
                }
            }
        }
    }
    Ok(())
}

fn write_archive(
    store: &Store,
    file: &File,
    index: &Value,
    docker_manifest: &Value,
    blobs: &BTreeSet<Digest>,
) -> anyhow::Result<()> {
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let add_bytes = |tar: &mut tar::Builder<_>, path: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let mut h = header(bytes.len() as u64, tar::EntryType::Regular);
        tar.append_data(&mut h, path, bytes)?;
        Ok(())
    };
    add_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    add_bytes(&mut tar, "index.json", &serde_json::to_vec(index)?)?;
    add_bytes(
        &mut tar,
        "manifest.json",
        &serde_json::to_vec(docker_manifest)?,
    )?;
    for dir in ["blobs/", "blobs/sha256/", "blobs/sha512/"] {
        let mut h = header(0, tar::EntryType::Directory);
        h.set_mode(0o755);
        tar.append_data(&mut h, dir, std::io::empty())?;
    }
    for d in blobs {
        let f = store.open_blob(d)?;
        let len = f.metadata()?.len();
        let mut h = header(len, tar::EntryType::Regular);
        // Hash while copying: a blob that rotted on disk must not leave the
        // store under a name its content no longer has.
        let mut reader = VerifyingReader {
            inner: f,
            hasher: hoist_oci::Hasher::new(d.algorithm()),
        };
        tar.append_data(
            &mut h,
            format!("blobs/{}/{}", d.algorithm().name(), d.hex()),
            &mut reader,
        )?;
        let actual = reader.hasher.finish();
        if &actual != d {
            bail!(
                "blob {d} in the store is corrupt (its content hashes to {actual}); \
                 nothing was written; run `hoist system check --repair`, then pull the image again"
            );
        }
    }
    tar.into_inner()?.flush()?;
    Ok(())
}

/// Passes a blob through, hashing what it reads.
struct VerifyingReader<R> {
    inner: R,
    hasher: hoist_oci::Hasher,
}

impl<R: std::io::Read> std::io::Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn header(size: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}
