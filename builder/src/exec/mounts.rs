//! `RUN --mount`: resolving each mount (expanding its words, finding its
//! source) into the part of the step's cache key it contributes, then, when
//! the step runs, making what the runtime bind-mounts: a cache directory
//! under the store, a secret in a private tmpfs file, a tmpfs, or files of
//! the context, a stage or an image. Nothing a mount holds reaches the layer:
//! the mounts live in the container's own mount namespace, and the stub
//! mount points the runtime made in the upper dir are removed afterwards.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use hoist_runtime::spec::UserMount;
use sha2::{Digest as _, Sha256};

use crate::cache::LayerRecord;
use crate::cachemount::{self, CacheInUse, Ownership};
use crate::context::{clean_absolute, Source, SourceTree};
use crate::dockerfile::{Heredoc, MountKind, RunMount, Sharing};
use crate::error::{BuildError, Result};
use crate::plan::stage_ref;
use crate::secrets::SecretSource;

use super::image::load_base;
use super::layers::{mount_overlay, Mounted, RootView};
use super::private::private_file;
use super::stage::StageState;

/// A mount with its words expanded and its source found.
pub(crate) enum Resolved {
    Cache {
        target: String,
        id: String,
        sharing: Sharing,
        owner: Ownership,
        readonly: bool,
    },
    Tmpfs {
        target: String,
        size: Option<u64>,
    },
    Secret {
        target: Option<String>,
        env: Option<String>,
        source: SecretSource,
        owner: Ownership,
    },
    Bind {
        target: String,
        readwrite: bool,
        from: BindFrom,
        /// The path inside the source tree.
        source: String,
    },
    /// A `#!` heredoc, run from `/dev/pipes/NAME`.
    Script {
        target: String,
        content: String,
    },
}

pub(crate) enum BindFrom {
    /// The build context or a named one, and the source found in it.
    Context(SourceTree, Source),
    Layers(Vec<LayerRecord>),
}

/// Resolves the step's mounts; also returns what they add to the cache key
/// (never a secret's value, nor a cache's content).
pub(crate) fn resolve(
    state: &StageState,
    mounts: &[RunMount],
    script: Option<&Heredoc>,
) -> Result<(Vec<Resolved>, String)> {
    let workdir = state
        .config
        .string("WorkingDir")
        .unwrap_or_else(|| "/".into());
    let absolute = |p: &str| {
        if p.starts_with('/') {
            clean_absolute(p)
        } else {
            clean_absolute(&format!("{workdir}/{p}"))
        }
    };
    let mut out = Vec::new();
    let mut key = String::new();
    for m in mounts {
        let target = m
            .target
            .as_ref()
            .map(|w| state.expand(w))
            .transpose()?
            .map(|t| absolute(&t));
        if target.as_deref() == Some("/") {
            return Err(state.error_at(
                m.pos,
                "a RUN mount cannot cover / (the step's own root): pick a directory",
            ));
        }
        let id = m.id.as_ref().map(|w| state.expand(w)).transpose()?;
        match m.kind {
            MountKind::Cache => {
                let target = target.expect("the parser requires a target");
                let id = id.unwrap_or_else(|| target.clone());
                let readonly = m.readwrite == Some(false);
                key.push_str(&format!(
                    "cache target={target:?} id={id:?} sharing={:?} ro={readonly} mode={:?} uid={:?} gid={:?};",
                    m.sharing, m.mode, m.uid, m.gid
                ));
                out.push(Resolved::Cache {
                    target,
                    id,
                    sharing: m.sharing,
                    owner: Ownership {
                        mode: m.mode.unwrap_or(0o755),
                        uid: m.uid.unwrap_or(0),
                        gid: m.gid.unwrap_or(0),
                    },
                    // Cache mounts are writable unless `ro` was given.
                    readonly,
                });
            }
            MountKind::Tmpfs => {
                let target = target.expect("the parser requires a target");
                key.push_str(&format!("tmpfs target={target:?} size={:?};", m.size));
                out.push(Resolved::Tmpfs {
                    target,
                    size: m.size,
                });
            }
            MountKind::Secret => {
                let id = match id.or_else(|| {
                    target
                        .as_deref()
                        .and_then(|t| t.rsplit('/').next())
                        .map(String::from)
                }) {
                    Some(id) => id,
                    None => unreachable!("the parser requires id or target"),
                };
                let env = m.env.as_ref().map(|w| state.expand(w)).transpose()?;
                // BuildKit: with env= alone the secret is not also a file.
                let target = match (&target, &env) {
                    (Some(t), _) => Some(t.clone()),
                    (None, Some(_)) => None,
                    (None, None) => Some(format!("/run/secrets/{id}")),
                };
                key.push_str(&format!(
                    "secret id={id:?} target={target:?} env={env:?} required={};",
                    m.required
                ));
                let Some(source) = state.shared.opts.secrets.get(&id) else {
                    if m.required {
                        return Err(state.error_at(
                            m.pos,
                            format!(
                                "secret {id:?} is required but the build was not given it: add --secret id={id},src=FILE (or env=VARIABLE)"
                            ),
                        ));
                    }
                    continue; // BuildKit skips a missing optional secret
                };
                out.push(Resolved::Secret {
                    target,
                    env,
                    source: source.clone(),
                    owner: Ownership {
                        mode: m.mode.unwrap_or(0o400),
                        uid: m.uid.unwrap_or(0),
                        gid: m.gid.unwrap_or(0),
                    },
                });
            }
            MountKind::Bind => {
                let target = target.expect("the parser requires a target");
                let source = m
                    .source
                    .as_ref()
                    .map(|w| state.expand(w))
                    .transpose()?
                    .unwrap_or_else(|| "/".into());
                let readwrite = m.readwrite.unwrap_or(false);
                let (from, input) = bind_source(state, m, &source)?;
                key.push_str(&format!(
                    "bind target={target:?} source={source:?} rw={readwrite} from={input};"
                ));
                out.push(Resolved::Bind {
                    target,
                    readwrite,
                    from,
                    source,
                });
            }
        }
    }
    if let Some(doc) = script {
        // The script's text is in the key through the command's argv? No:
        // the argv is only its path, so the content is keyed here.
        let content = doc.text();
        key.push_str(&format!(
            "script {} {};",
            doc.name,
            hex::encode(Sha256::digest(content.as_bytes()))
        ));
        out.push(Resolved::Script {
            target: format!("/dev/pipes/{}", doc.name),
            content,
        });
    }
    Ok((out, key))
}

/// Where a bind mount's files come from, and the key input naming them.
fn bind_source(state: &StageState, m: &RunMount, source: &str) -> Result<(BindFrom, String)> {
    let Some(from_word) = &m.from else {
        let found = state
            .shared
            .context
            .select(source)
            .map_err(|e| state.error_at(m.pos, format!("RUN --mount=type=bind: {e}")))?;
        let [one] = found.as_slice() else {
            return Err(state.error_at(
                m.pos,
                format!("RUN --mount=type=bind,source={source}: matches several files; name one file or directory"),
            ));
        };
        let mut h = Sha256::new();
        super::copy::hash_source(state.shared, one, &mut h)
            .map_err(|e| state.error_at(m.pos, format!("RUN --mount=type=bind: {e}")))?;
        return Ok((
            BindFrom::Context(state.shared.context.clone(), one.clone()),
            format!("context:{}", hex::encode(h.finalize())),
        ));
    };
    let name = state.expand(from_word)?;
    let stages = &state.shared.plan.stages[..state.index];
    if let Some(i) = stage_ref(stages, &name) {
        let out = state.shared.output_of(i);
        return Ok((BindFrom::Layers(out.layers), format!("stage:{}", out.key.0)));
    }
    if let Some(super::NamedContext::Dir(dir)) = state.shared.opts.build_contexts.get(&name) {
        let tree = SourceTree::context(dir).map_err(|e| state.error_at(from_word.pos, e))?;
        let found = tree
            .select(source)
            .map_err(|e| state.error_at(m.pos, format!("RUN --mount=type=bind: {e}")))?;
        let one = found.into_iter().next().expect("select finds one or fails");
        let mut h = Sha256::new();
        super::copy::hash_tree_source(state.shared, &tree, &one, &mut h)
            .map_err(|e| state.error_at(m.pos, format!("RUN --mount=type=bind: {e}")))?;
        return Ok((
            BindFrom::Context(tree, one),
            format!("context {name}:{}", hex::encode(h.finalize())),
        ));
    }
    let image = match state.shared.opts.build_contexts.get(&name) {
        Some(super::NamedContext::Image(reference)) => reference.clone(),
        _ => name.clone(),
    };
    let base = load_base(state.shared, &image, state.platform())
        .map_err(|e| state.error_at(from_word.pos, format!("RUN --mount from={name}: {e}")))?;
    Ok((
        BindFrom::Layers(base.layers),
        format!("image:{}", base.manifest_digest),
    ))
}

/// What a running step holds for its mounts; dropping it unmounts, unlocks
/// and deletes (secrets first of all).
#[derive(Default)]
pub(crate) struct Prepared {
    pub mounts: Vec<UserMount>,
    /// Secrets given as environment variables.
    pub env: Vec<String>,
    /// Container paths the runtime creates as mount points.
    pub targets: Vec<String>,
    // Field order is drop order: overlays go before the views under them.
    _overlays: Vec<Mounted>,
    _views: Vec<RootView>,
    _caches: Vec<CacheInUse>,
    _files: Vec<tempfile::TempDir>,
}

/// Makes the mounts of a step that is about to run. `scratch` is the
/// step's own scratch directory (removed after `Prepared` is dropped).
pub(crate) fn prepare(
    state: &StageState,
    resolved: &[Resolved],
    scratch: &Path,
) -> Result<Prepared> {
    let mut p = Prepared::default();
    for (n, r) in resolved.iter().enumerate() {
        match r {
            Resolved::Cache {
                target,
                id,
                sharing,
                owner,
                readonly,
            } => {
                let cache =
                    cachemount::acquire(state.shared.store.root(), id, *sharing, *owner, scratch)
                        .map_err(BuildError::io(format!(
                        "cannot open the cache mount {id:?}"
                    )))?;
                p.mounts.push(UserMount::Bind {
                    source: cache.path.clone(),
                    target: target.clone(),
                    readonly: *readonly,
                });
                p.targets.push(target.clone());
                p._caches.push(cache);
            }
            Resolved::Tmpfs { target, size } => {
                let options = size.map(|s| vec![format!("size={s}")]).unwrap_or_default();
                p.mounts.push(UserMount::Tmpfs {
                    target: target.clone(),
                    options,
                });
                p.targets.push(target.clone());
            }
            Resolved::Secret {
                target,
                env,
                source,
                owner,
            } => {
                let bytes = source.read().map_err(|e| BuildError::Io {
                    what: match source {
                        SecretSource::File(f) => {
                            format!("cannot read the secret file {}", f.display())
                        }
                        SecretSource::Value(_) => "cannot read a secret".into(),
                    },
                    source: e,
                })?;
                if let Some(var) = env {
                    p.env
                        .push(format!("{var}={}", String::from_utf8_lossy(&bytes)));
                }
                if let Some(target) = target {
                    let file = private_file(&bytes, *owner, scratch)?;
                    p.mounts.push(UserMount::Bind {
                        source: file.path().join("secret"),
                        target: target.clone(),
                        readonly: true,
                    });
                    p.targets.push(target.clone());
                    p._files.push(file);
                }
            }
            Resolved::Script { target, content } => {
                let owner = Ownership {
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                };
                let file = private_file(content.as_bytes(), owner, scratch)?;
                p.mounts.push(UserMount::Bind {
                    source: file.path().join("secret"),
                    target: target.clone(),
                    readonly: true,
                });
                p._files.push(file);
            }
            Resolved::Bind {
                target,
                readwrite,
                from,
                source,
            } => {
                let path = match from {
                    BindFrom::Context(tree, src) => {
                        if tree.has_ignore_rules() && src.is_dir {
                            // The directory itself would show what .dockerignore hides.
                            let copy = scratch.join(format!("bind-{n}-copy"));
                            copy_filtered(tree, src, &copy)?;
                            copy
                        } else {
                            src.path.clone()
                        }
                    }
                    BindFrom::Layers(layers) => {
                        let view = RootView::open(state.shared, layers)?;
                        let tree = SourceTree::image_root(view.path());
                        let rel = tree
                            .resolve_rel(source, source)
                            .map_err(|e| BuildError::Runtime(format!("RUN --mount: {e}")))?;
                        let path = view.path().join(rel);
                        p._views.push(view);
                        path
                    }
                };
                let source_path = if *readwrite && path.is_dir() {
                    // Writes land in a throw-away upper dir, as BuildKit's rw binds do.
                    let base = scratch.join(format!("bind-{n}"));
                    let (upper, work, merged) =
                        (base.join("upper"), base.join("work"), base.join("merged"));
                    for d in [&upper, &work, &merged] {
                        fs::create_dir_all(d)
                            .map_err(BuildError::io(format!("cannot create {}", d.display())))?;
                    }
                    let options = format!(
                        "lowerdir={},upperdir={},workdir={}",
                        overlay_path(&path)?,
                        upper.display(),
                        work.display()
                    );
                    p._overlays
                        .push(mount_overlay(&merged, &options, 0).map_err(BuildError::io(
                            "cannot mount a writable view for RUN --mount",
                        ))?);
                    merged
                } else if *readwrite {
                    let copy = scratch.join(format!("bind-{n}-file"));
                    fs::copy(&path, &copy)
                        .map_err(BuildError::io(format!("cannot copy {}", path.display())))?;
                    copy
                } else {
                    path
                };
                p.mounts.push(UserMount::Bind {
                    source: source_path,
                    target: target.clone(),
                    readonly: !readwrite,
                });
                p.targets.push(target.clone());
            }
        }
    }
    Ok(p)
}

/// An overlay lower dir option must not hold the option syntax's separators.
fn overlay_path(path: &Path) -> Result<String> {
    let s = path.display().to_string();
    if s.contains([',', ':']) {
        return Err(BuildError::Runtime(format!(
            "RUN --mount=type=bind,rw: the source path {s} holds ',' or ':', which an overlay mount cannot take; rename it or drop rw"
        )));
    }
    Ok(s)
}

/// Copies a context directory into `dest`, leaving out what .dockerignore hides.
fn copy_filtered(tree: &SourceTree, src: &Source, dest: &Path) -> Result<()> {
    let io =
        |what: &Path| BuildError::io(format!("cannot copy {} for RUN --mount", what.display()));
    fs::create_dir_all(dest).map_err(io(dest))?;
    let entries = tree
        .walk(src)
        .map_err(|e| BuildError::Runtime(format!("RUN --mount: {e}")))?;
    for e in entries {
        let to = dest.join(&e.rel);
        let ft = e.meta.file_type();
        if ft.is_dir() {
            fs::create_dir_all(&to).map_err(io(&to))?;
            fs::set_permissions(&to, fs::Permissions::from_mode(e.meta.mode() & 0o7777))
                .map_err(io(&to))?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&e.path).map_err(io(&e.path))?;
            std::os::unix::fs::symlink(target, &to).map_err(io(&to))?;
        } else if ft.is_file() {
            fs::copy(&e.path, &to).map_err(io(&to))?;
        }
    }
    Ok(())
}
