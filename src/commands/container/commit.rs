//! `commit [-c CHANGE] [-m MSG] [-a AUTHOR] [--pause] CONTAINER [REPO[:TAG]]`:
//! a new image = the container's image + one layer of its changes (the
//! same list `diff` prints, whiteouts as OCI `.wh.` files), with the
//! image's config updated from the container's (command, entrypoint, env,
//! working dir, user, labels, stop signal) and then the `--change` lines
//! (the Dockerfile subset `import` takes: commands/image/change.rs).
//! Prints the new image's ID, as docker.

use std::path::Path;

use anyhow::Context;
use hoist_oci::oci_spec::image::{Descriptor, MediaType};
use hoist_oci::Digest;
use hoist_runtime::container::ContainerRecord;
use hoist_runtime::RuntimeError;
use hoist_store::layer::{self, Compression, LayerLimits, PackOptions, ValidateOptions};
use hoist_store::Store;
use serde_json::{json, Map, Value};

use super::run::lifecycle;
use crate::cli::container::CommitArgs;
use crate::commands::image::change;

pub fn commit(root: &Path, a: &CommitArgs) -> anyhow::Result<i32> {
    if let Some(name) = &a.repository {
        hoist_oci::Reference::parse(name)?;
    }
    let lc = lifecycle(root)?;
    let rec = match lc.find(&a.container) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(1);
        }
    };
    let store = Store::open(root)?;
    let base = store
        .resolve(&rec.image_digest)
        .and_then(|named| store.load_image(&named.descriptor))
        .with_context(|| format!("the image of {} ({})", rec.name, rec.image_ref))?;
    let mut config = container_config(&base.config_json, &rec);
    for c in &a.change {
        change::apply(&mut config, c)?;
    }
    // Paused while its changes are read, so the layer is one moment's.
    let paused = a.pause && lc.pause(&rec).is_ok();
    let layer = pack_changes(root, &store, &rec);
    if paused {
        match lc.unpause(&rec) {
            Ok(()) | Err(RuntimeError::NotPaused(_)) => {}
            Err(e) => eprintln!("Error: {e}"),
        }
    }
    let layer = layer?;
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let mut image = base.config_json.clone();
    image["config"] = Value::Object(config);
    image["created"] = json!(created);
    if let Some(author) = &a.author {
        image["author"] = json!(author);
    }
    let diff_ids = image["rootfs"]["diff_ids"].as_array().cloned();
    let mut diff_ids = diff_ids.unwrap_or_default();
    diff_ids.push(json!(layer.diff_id));
    image["rootfs"] = json!({"type": "layers", "diff_ids": diff_ids});
    let mut entry = json!({"created": created, "created_by": rec.args().join(" ")});
    if let Some(m) = &a.message {
        entry["comment"] = json!(m);
    }
    if let Some(author) = &a.author {
        entry["author"] = json!(author);
    }
    let mut history = image["history"].as_array().cloned().unwrap_or_default();
    history.push(entry);
    image["history"] = Value::Array(history);
    let digest: Digest = layer.digest.parse()?;
    let mut layers = base.layers().to_vec();
    layers.push(Descriptor::new(
        MediaType::from(layer.media_type),
        layer.size,
        &digest,
    ));
    let manifest = store.commit_image(&image, layers)?;
    if let Some(name) = &a.repository {
        store.set_name(name, manifest.clone())?;
    }
    let id = store.load_image(&manifest)?.config_digest;
    println!("{id}");
    Ok(0)
}

/// The image's `config` with what the container ran with over it.
fn container_config(image: &Value, rec: &ContainerRecord) -> Map<String, Value> {
    let mut c = image["config"].as_object().cloned().unwrap_or_default();
    let list = |v: &[String]| {
        if v.is_empty() {
            Value::Null
        } else {
            json!(v)
        }
    };
    c.insert("Env".into(), json!(rec.env));
    c.insert("Cmd".into(), list(&rec.cmd));
    c.insert("Entrypoint".into(), list(&rec.entrypoint));
    if !rec.workdir.is_empty() {
        c.insert("WorkingDir".into(), json!(rec.workdir));
    }
    if !rec.user.is_empty() {
        c.insert("User".into(), json!(rec.user));
    }
    if !rec.labels.is_empty() {
        c.insert("Labels".into(), json!(rec.labels));
    }
    if let Some(s) = &rec.stop_signal {
        c.insert("StopSignal".into(), json!(s));
    }
    c
}

/// The changes as a gzip layer blob in the store.
fn pack_changes(
    root: &Path,
    store: &Store,
    rec: &ContainerRecord,
) -> anyhow::Result<layer::PackedLayer> {
    let changes = hoist_runtime::copy::changes(root, rec)?;
    let opts = PackOptions {
        compression: Compression::Gzip,
        source_date_epoch: None,
        overlay_whiteouts: false,
    };
    let limits = ValidateOptions {
        allow_devices: true,
        limits: LayerLimits::from_env()?,
    };
    let mut writer = store.blob_writer()?;
    let (reader, pipe) = std::io::pipe()?;
    let packed = std::thread::scope(|s| {
        let producer = s.spawn(move || hoist_runtime::copy::layer_tar(root, rec, &changes, pipe));
        let packed = layer::pack_tar_stream_to(reader, &opts, &limits, &mut writer);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(hoist_runtime::copy::CopyError::SourceMissing("?".into())));
        produced?;
        anyhow::Ok(packed?)
    })?;
    let expected: Digest = packed.digest.parse()?;
    writer.finish(Some(&expected))?;
    Ok(packed)
}
