//! `hoist import`: a rootfs tarball (plain, gzip or zstd), a directory, or
//! stdin becomes a single-layer image. A tarball is checked entry by entry
//! as it streams and refused if any entry would land outside the root;
//! device nodes are kept (docker's import keeps them).

use super::change;
use crate::cli::image::ImportArgs;
use anyhow::{bail, Context};
use hoist_oci::oci_spec::image::{Descriptor, MediaType};
use hoist_oci::Digest;
use hoist_store::layer::{
    self, Compression, LayerLimits, PackOptions, PackedLayer, ValidateOptions,
};
use hoist_store::{host_platform, Store};
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::Path;

pub fn run(store: &Store, args: ImportArgs) -> anyhow::Result<i32> {
    let compression: Compression = args.compression.parse()?;
    // Check the name and the changes before doing any work.
    hoist_oci::Reference::parse(&args.tag)?;
    let mut config = Map::new();
    for c in &args.changes {
        change::apply(&mut config, c)?;
    }
    let created = source_date_epoch()?;
    let opts = PackOptions {
        compression,
        source_date_epoch: created,
        overlay_whiteouts: false,
    };
    let layer = pack_source(store, &args.source, &opts)?;
    let layer_digest: Digest = layer.digest.parse()?;
    let created_at = created_time(created);
    let config_json = json!({
        "created": created_at,
        "architecture": host_platform().architecture,
        "os": "linux",
        "config": Value::Object(config),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "history": [{"created": created_at, "created_by": "hoist import"}],
    });
    let layer_desc = Descriptor::new(MediaType::from(layer.media_type), layer.size, &layer_digest);
    let manifest = store.commit_image(&config_json, vec![layer_desc])?;
    let name = store.set_name(&args.tag, manifest.clone())?;
    eprintln!(
        "Imported {} ({} bytes)",
        super::display_name(&name),
        layer.size
    );
    println!("{}", manifest.digest());
    Ok(0)
}

/// Packs the source into a layer blob in the store.
fn pack_source(store: &Store, source: &str, opts: &PackOptions) -> anyhow::Result<PackedLayer> {
    let mut writer = store.blob_writer()?;
    let packed = if source == "-" {
        let stdin = std::io::stdin();
        restream(stdin, opts, &mut writer).context("cannot import from stdin")?
    } else {
        let path = Path::new(source);
        let meta = std::fs::metadata(path)
            .with_context(|| format!("cannot import {source:?}: no such file or directory"))?;
        if meta.is_dir() {
            layer::pack_dir_to(path, opts, &mut writer)
                .with_context(|| format!("cannot pack the directory {source}"))?
        } else {
            let file =
                std::fs::File::open(path).with_context(|| format!("cannot open {source}"))?;
            restream(file, opts, &mut writer).with_context(|| format!("cannot import {source}"))?
        }
    };
    let expected: Digest = packed.digest.parse()?;
    writer.finish(Some(&expected))?;
    Ok(packed)
}

fn restream(
    reader: impl Read + Send,
    opts: &PackOptions,
    out: &mut impl std::io::Write,
) -> anyhow::Result<PackedLayer> {
    // Device nodes are kept, as `docker import` keeps them: a node in an
    // image grants nothing by itself, the container's devices cgroup
    // decides what can be opened (deny-all plus docker's allow list).
    // The limits are the ones pull and unpack apply (HOIST_MAX_LAYER_SIZE).
    let limits = ValidateOptions {
        allow_devices: true,
        limits: LayerLimits::from_env()?,
    };
    Ok(layer::pack_tar_stream_to(reader, opts, &limits, out)?)
}

/// `SOURCE_DATE_EPOCH` when set (for reproducible images).
pub fn source_date_epoch() -> anyhow::Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => bail!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds since 1970"),
        },
        _ => Ok(None),
    }
}

/// RFC 3339 time: the given epoch, or now.
pub fn created_time(epoch: Option<i64>) -> String {
    let t = match epoch {
        Some(s) => std::time::UNIX_EPOCH + std::time::Duration::from_secs(s as u64),
        None => std::time::SystemTime::now(),
    };
    humantime::format_rfc3339_seconds(t).to_string()
}
