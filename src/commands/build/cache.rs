//! `--cache-from` / `--cache-to`: the build cache in a registry or an OCI
//! layout directory, in the format `hoist_builder::cache_export` describes.
//! Importing reads only the cache's manifest and config; a layer is fetched
//! when the builder reuses its step (the hook below), so an empty store
//! downloads exactly the layers of the steps it does not run.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use hoist_builder::cache::{CacheEntry, LayerRecord, StepKey};
use hoist_builder::cache_export::{self, CacheManifest, ExportMode, ImportHook, UsedStep};
use hoist_client::manifest::BlobRef;
use hoist_client::progress::{BlobKind, Sink};
use hoist_client::{ClientError, Registry};
use hoist_oci::Reference;
use hoist_store::layer::{LayerLimits, ValidateOptions};

use crate::cli::transfer::TlsArgs;
use crate::cli::GlobalArgs;
use crate::commands::transfer::{async_runtime, open_local, options};

/// Where a cache lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Location {
    Registry(String),
    Local(PathBuf),
}

/// A parsed `--cache-to` / `--cache-from` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CacheSpec {
    pub location: Location,
    pub mode: ExportMode,
}

/// Parses buildx's `type=registry,ref=R[,mode=]` / `type=local,dest|src=DIR`
/// (a bare `REF` is a registry ref, as docker accepts). `dir_key` is `dest`
/// for `--cache-to`, `src` for `--cache-from`.
pub(super) fn parse(spec: &str, flag: &str, dir_key: &str) -> anyhow::Result<CacheSpec> {
    if !spec.contains('=') {
        return Ok(CacheSpec {
            location: Location::Registry(spec.to_string()),
            mode: ExportMode::Min,
        });
    }
    let pairs = spec
        .split(',')
        .map(|part| {
            part.split_once('=')
                .with_context(|| format!("{flag} {spec:?}: {part:?} is not KEY=VALUE"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The type first, so an unknown type is named rather than its options.
    let kind = pairs.iter().find(|(k, _)| *k == "type").map(|(_, v)| *v);
    if let Some(other) = kind.filter(|k| !["registry", "local"].contains(k)) {
        bail!(
            "{flag} {spec:?}: unknown cache type {other:?}: use type=registry,ref=REF or type=local,{dir_key}=DIR"
        );
    }
    let mut reference = None;
    let mut dir = None;
    let mut mode = ExportMode::Min;
    for (k, v) in pairs {
        match k {
            "type" => {}
            "ref" => reference = Some(v.to_string()),
            k if k == dir_key => dir = Some(PathBuf::from(v)),
            "mode" => {
                mode = match v {
                    "min" => ExportMode::Min,
                    "max" => ExportMode::Max,
                    _ => bail!("{flag} {spec:?}: mode={v} is neither min nor max"),
                }
            }
            // buildx options that change nothing in hoist's format.
            "compression" | "oci-mediatypes" | "image-manifest" | "ignore-error" => {}
            _ => bail!("{flag} {spec:?}: unknown option {k:?}"),
        }
    }
    let location = match kind {
        Some("registry") => Location::Registry(reference.with_context(|| {
            format!("{flag} {spec:?}: type=registry needs ref=REGISTRY/REPO:TAG")
        })?),
        Some("local") => Location::Local(
            dir.with_context(|| format!("{flag} {spec:?}: type=local needs {dir_key}=DIR"))?,
        ),
        _ => bail!("{flag} {spec:?}: say type=registry,ref=REF or type=local,{dir_key}=DIR"),
    };
    Ok(CacheSpec { location, mode })
}

/// Where an imported record's layer can be fetched from.
enum Source {
    Registry {
        rt: Arc<tokio::runtime::Runtime>,
        reg: Arc<Registry>,
        repo: String,
        name: String,
    },
    Local(PathBuf),
}

/// Reads every `--cache-from` cache's records and returns the hook the
/// builder asks on a local miss. A cache that does not exist yet (the first
/// CI run) is a warning, as in buildx; anything that is not a cache is an error.
pub(super) fn import(
    global: &GlobalArgs,
    tls: &TlsArgs,
    specs: &[CacheSpec],
    quiet: bool,
) -> anyhow::Result<Option<ImportHook>> {
    if specs.is_empty() {
        return Ok(None);
    }
    let local = open_local(global)?;
    let mut sources = Vec::new();
    let mut records: HashMap<String, (usize, Option<LayerRecord>)> = HashMap::new();
    for spec in specs {
        let loaded = match &spec.location {
            Location::Registry(name) => import_registry(&local, tls, name)?,
            Location::Local(dir) => import_local(dir)?,
        };
        let Some((source, config)) = loaded else {
            if !quiet {
                eprintln!(
                    "WARNING: no build cache at {} yet; building without it",
                    describe(&spec.location)
                );
            }
            continue;
        };
        for step in config.steps {
            records
                .entry(step.key)
                .or_insert((sources.len(), step.layer));
        }
        sources.push(source);
    }
    let sources = Arc::new(sources);
    let local = Arc::new(local);
    Ok(Some(ImportHook(Arc::new(move |key: &StepKey| {
        let (source, layer) = records.get(&key.0)?;
        if let Some(layer) = layer {
            match fetch_layer(&local, &sources[*source], layer) {
                Ok(fetched) => {
                    if fetched && !quiet {
                        eprintln!(
                            "Fetched cached layer {} ({} bytes)",
                            layer.digest, layer.size
                        );
                    }
                }
                Err(e) => {
                    if !quiet {
                        eprintln!(
                            "WARNING: cannot fetch cached layer {}: {e:#}; running the step",
                            layer.digest
                        );
                    }
                    return None;
                }
            }
        }
        Some(CacheEntry {
            layer: layer.clone(),
        })
    }))))
}

fn describe(location: &Location) -> String {
    match location {
        Location::Registry(r) => r.clone(),
        Location::Local(d) => d.display().to_string(),
    }
}

fn import_registry(
    local: &hoist_client::local::Local,
    tls: &TlsArgs,
    name: &str,
) -> anyhow::Result<Option<(Source, cache_export::CacheConfig)>> {
    let reference = Reference::parse(name).with_context(|| format!("--cache-from ref {name:?}"))?;
    let rt = async_runtime()?;
    let opts = options(tls);
    let repo = reference.repository().to_string();
    let (reg, config) = rt
        .block_on(async {
            let reg = Registry::connect(reference.registry(), &opts, None).await?;
            let fetched = match hoist_client::pull::fetch_manifest(
                &reg,
                &repo,
                &reference.tag_or_digest(),
                None,
            )
            .await
            {
                Ok(f) => f,
                Err(ClientError::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(anyhow::Error::from(e)),
            };
            let (config_digest, config_size) = cache_export::config_of(&fetched.bytes)
                .with_context(|| format!("--cache-from {name} is not a build cache"))?;
            let blob = BlobRef {
                media_type: cache_export::CONFIG_MEDIA_TYPE.into(),
                digest: config_digest.clone(),
                size: config_size,
                platform: None,
            };
            hoist_client::download::download_blob(
                &reg,
                &repo,
                &blob,
                BlobKind::Config,
                local,
                None,
                &no_progress(),
            )
            .await?
            .publish()?;
            let bytes = local.read_blob(&config_digest)?;
            let config = cache_export::parse_config(&bytes)
                .with_context(|| format!("--cache-from {name}: its config"))?;
            Ok::<_, anyhow::Error>(Some((reg, config)))
        })?
        .map_or((None, None), |(r, c)| (Some(r), Some(c)));
    let (Some(reg), Some(config)) = (reg, config) else {
        return Ok(None);
    };
    Ok(Some((
        Source::Registry {
            rt: Arc::new(rt),
            reg: Arc::new(reg),
            repo,
            name: name.to_string(),
        },
        config,
    )))
}

fn import_local(dir: &Path) -> anyhow::Result<Option<(Source, cache_export::CacheConfig)>> {
    let index_path = dir.join("index.json");
    if !dir.exists() {
        return Ok(None);
    }
    let index: serde_json::Value = serde_json::from_slice(
        &fs::read(&index_path).with_context(|| {
            format!("--cache-from {}: no index.json; is it a directory written by --cache-to type=local?", dir.display())
        })?,
    )
    .with_context(|| format!("--cache-from {}: index.json", dir.display()))?;
    let digest = index["manifests"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["digest"].as_str())
        .with_context(|| {
            format!(
                "--cache-from {}: index.json lists no manifest",
                dir.display()
            )
        })?
        .to_string();
    let manifest = fs::read(blob_path(dir, &digest)?)?;
    let (config_digest, _) = cache_export::config_of(&manifest)
        .with_context(|| format!("--cache-from {} is not a build cache", dir.display()))?;
    let config = cache_export::parse_config(&fs::read(blob_path(dir, &config_digest)?)?)?;
    Ok(Some((Source::Local(dir.to_path_buf()), config)))
}

fn blob_path(dir: &Path, digest: &str) -> anyhow::Result<PathBuf> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .with_context(|| format!("{digest:?} is not a sha256 digest"))?;
    Ok(dir.join("blobs/sha256").join(hex))
}

fn finish_error(e: hoist_client::local::FinishError) -> String {
    match e {
        hoist_client::local::FinishError::Mismatch { actual } => {
            format!("the content's digest is {actual}")
        }
        hoist_client::local::FinishError::Other(e) => e.to_string(),
    }
}

fn no_progress() -> Sink {
    Arc::new(|_| {})
}

/// Brings `layer` into the store; true when it was not there.
fn fetch_layer(
    local: &hoist_client::local::Local,
    source: &Source,
    layer: &LayerRecord,
) -> anyhow::Result<bool> {
    if local.has_blob(&layer.digest)? {
        return Ok(false);
    }
    match source {
        Source::Registry {
            rt,
            reg,
            repo,
            name,
        } => {
            let blob = BlobRef {
                media_type: layer.media_type.clone(),
                digest: layer.digest.clone(),
                size: layer.size,
                platform: None,
            };
            // A cache is as untrusted as an image: its layers get pull's checks,
            // and must be the tar the record (and so the image config) says.
            let checks = ValidateOptions {
                allow_devices: true,
                limits: LayerLimits::from_env()?,
            };
            let downloaded = rt
                .block_on(hoist_client::download::download_blob(
                    reg,
                    repo,
                    &blob,
                    BlobKind::Layer,
                    local,
                    Some(&checks),
                    &no_progress(),
                ))
                .with_context(|| format!("from {name}"))?;
            if let Some(diff_id) = downloaded.diff_id() {
                if diff_id != layer.diff_id {
                    bail!(
                        "from {name}: the layer's content is {diff_id}, not {} as the cache says",
                        layer.diff_id
                    );
                }
            }
            downloaded
                .publish()
                .with_context(|| format!("from {name}"))?;
        }
        Source::Local(dir) => {
            let bytes = fs::read(blob_path(dir, &layer.digest)?)?;
            let mut writer = local.blob_writer_for(&layer.digest)?;
            writer.write_all(&bytes)?;
            writer.finish(&layer.digest).map_err(|e| {
                anyhow::anyhow!("{} in {}: {}", layer.digest, dir.display(), finish_error(e))
            })?;
        }
    }
    Ok(true)
}

/// Writes the build's cache to every `--cache-to` destination.
pub(super) fn export(
    global: &GlobalArgs,
    tls: &TlsArgs,
    specs: &[CacheSpec],
    built: &hoist_builder::Built,
    quiet: bool,
) -> anyhow::Result<()> {
    for spec in specs {
        let steps: Vec<UsedStep> = cache_export::select(&built.steps, &built.layers, spec.mode);
        let manifest = cache_export::cache_manifest(&steps);
        match &spec.location {
            Location::Registry(name) => export_registry(global, tls, name, &manifest)?,
            Location::Local(dir) => export_local(global, dir, &manifest)?,
        }
        if !quiet {
            eprintln!(
                "Exported build cache to {}: {} steps, {} layers ({})",
                describe(&spec.location),
                steps.len(),
                manifest.layers.len(),
                manifest.manifest_digest
            );
        }
    }
    Ok(())
}

fn export_registry(
    global: &GlobalArgs,
    tls: &TlsArgs,
    name: &str,
    manifest: &CacheManifest,
) -> anyhow::Result<()> {
    let reference = Reference::parse(name).with_context(|| format!("--cache-to ref {name:?}"))?;
    let local = open_local(global)?;
    // push_blob reads what it sends from the store: the config goes there first.
    if !local.has_blob(&manifest.config_digest)? {
        let mut w = local.blob_writer_for(&manifest.config_digest)?;
        w.write_all(&manifest.config)?;
        w.finish(&manifest.config_digest)
            .map_err(|e| anyhow::anyhow!("storing the cache config: {}", finish_error(e)))?;
    }
    let rt = async_runtime()?;
    let repo = reference.repository().to_string();
    let sources = hoist_client::sources::BlobSources::new(local.root());
    let sink = no_progress();
    rt.block_on(async {
        let reg = Registry::connect(reference.registry(), &options(tls), None).await?;
        let config = BlobRef {
            media_type: cache_export::CONFIG_MEDIA_TYPE.into(),
            digest: manifest.config_digest.clone(),
            size: manifest.config.len() as u64,
            platform: None,
        };
        hoist_client::upload::push_blob(
            &reg,
            &repo,
            &config,
            BlobKind::Config,
            &local,
            &sources,
            &sink,
        )
        .await?;
        for layer in &manifest.layers {
            let blob = BlobRef {
                media_type: layer.media_type.clone(),
                digest: layer.digest.clone(),
                size: layer.size,
                platform: None,
            };
            hoist_client::upload::push_blob(
                &reg,
                &repo,
                &blob,
                BlobKind::Layer,
                &local,
                &sources,
                &sink,
            )
            .await?;
        }
        put_manifest(&reg, &repo, &reference.tag_or_digest(), manifest).await
    })
    .with_context(|| format!("the image is built, but exporting the build cache to {name} failed"))
}

async fn put_manifest(
    reg: &Registry,
    repo: &str,
    target: &str,
    manifest: &CacheManifest,
) -> anyhow::Result<()> {
    let site = hoist_client::Site::new(&reg.host, repo, format!("pushing cache manifest {target}"));
    let scopes = [hoist_client::auth::repository_scope(repo, "pull,push")];
    let url = reg.url(&format!("/v2/{repo}/manifests/{target}"));
    let resp = reg
        .send(&site, &scopes, true, |h| {
            h.put(url.clone())
                .header("content-type", "application/vnd.oci.image.manifest.v1+json")
                .body(manifest.manifest.clone())
        })
        .await?;
    if !resp.status().is_success() {
        return Err(reg.error_for(&site, resp, "cache manifest").await.into());
    }
    Ok(())
}

/// An OCI layout: blobs first, each written whole and renamed, then
/// index.json pointing at the new manifest (so a reader never sees a
/// manifest whose blobs are missing).
fn export_local(global: &GlobalArgs, dir: &Path, manifest: &CacheManifest) -> anyhow::Result<()> {
    let local = open_local(global)?;
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs)
        .with_context(|| format!("--cache-to: cannot create {}", blobs.display()))?;
    for layer in &manifest.layers {
        let path = blob_path(dir, &layer.digest)?;
        if !path.exists() {
            let mut src = local.open_blob(&layer.digest)?;
            write_atomic(&path, |f| std::io::copy(&mut src, f).map(|_| ()))?;
        }
    }
    write_atomic(&blob_path(dir, &manifest.config_digest)?, |f| {
        f.write_all(&manifest.config)
    })?;
    write_atomic(&blob_path(dir, &manifest.manifest_digest)?, |f| {
        f.write_all(&manifest.manifest)
    })?;
    write_atomic(&dir.join("oci-layout"), |f| {
        f.write_all(br#"{"imageLayoutVersion":"1.0.0"}"#)
    })?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": cache_export::ARTIFACT_TYPE,
            "digest": manifest.manifest_digest,
            "size": manifest.manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "latest"},
        }],
    });
    write_atomic(&dir.join("index.json"), |f| {
        f.write_all(&serde_json::to_vec_pretty(&index).expect("serializable"))
    })
}

fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let parent = path.parent().expect("a file in a directory");
    let mut tmp = tempfile::NamedTempFile::new_in(parent)
        .with_context(|| format!("--cache-to: cannot write in {}", parent.display()))?;
    fill(tmp.as_file_mut()).with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_like_buildx() {
        let s = parse(
            "type=registry,ref=r:5000/c:1,mode=max",
            "--cache-to",
            "dest",
        )
        .unwrap();
        assert_eq!(s.location, Location::Registry("r:5000/c:1".into()));
        assert_eq!(s.mode, ExportMode::Max);
        let s = parse("type=local,src=/x", "--cache-from", "src").unwrap();
        assert_eq!(s.location, Location::Local("/x".into()));
        let s = parse("r:5000/c:1", "--cache-from", "src").unwrap();
        assert_eq!(s.location, Location::Registry("r:5000/c:1".into()));
        let e = parse("type=gha,scope=x", "--cache-from", "src").unwrap_err();
        assert!(e.to_string().contains("unknown cache type \"gha\""), "{e}");
        assert!(parse("type=registry", "--cache-to", "dest").is_err());
        assert!(parse("type=local,dest=/x,mode=all", "--cache-to", "dest").is_err());
    }
}
