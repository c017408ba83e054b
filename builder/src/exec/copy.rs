//! COPY and ADD (and WORKDIR's directory): layers written directly from the
//! build context or another stage's files, no container involved. The cache
//! key covers the sources' content, so a cached COPY does not even look at
//! the image's files.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use sha2::{Digest as _, Sha256};

use crate::cache::{CacheEntry, LayerRecord};
use crate::context::{clean_absolute, Source, SourceTree};
use crate::dockerfile::{CopyArgs, Instruction, Mode, Word};
use crate::error::{BuildError, Result};
use crate::ignore::IgnoreRules;
use crate::plan::stage_ref;

use super::image::load_base;
use super::layer_tree::LayerTree;
use super::layers::{adopt_snapshot, pack_into_store, pack_list_into_store, RootView};
use super::stage::{cached, StageState};
use super::staging::{parse_chown, Owner, Staging};
use super::NamedContext;

/// Threads hashing a directory's files, or copying them into a staging tree.
const COPY_THREADS: usize = 4;

/// Where COPY reads from.
enum From {
    /// The build context, or a named one (`--build-context NAME=DIR`).
    Tree {
        tree: SourceTree,
        name: Option<String>,
    },
    /// A stage's or image's layers, identified by a cache key or a digest.
    Layers {
        id: String,
        layers: Vec<LayerRecord>,
    },
}

pub(crate) fn copy(
    state: &mut StageState,
    ins: &Instruction,
    args: &CopyArgs,
    is_add: bool,
    number: usize,
) -> Result<()> {
    let keyword = if is_add { "ADD" } else { "COPY" };
    let mut sources = Vec::new();
    for word in &args.sources {
        let src = state.expand(word)?;
        if is_add && (src.contains("://") || src.starts_with("git@")) {
            return Err(state.error_at(
                word.pos,
                format!("ADD {src}: hoist does not download URLs; fetch the file into the build context and ADD or COPY it from there"),
            ));
        }
        sources.push((src, word.pos));
    }
    // Inline files: `<<-` strips tabs; an unquoted delimiter expands variables.
    let mut inline = Vec::new();
    for doc in &args.heredocs {
        let text = doc.text();
        let content = if doc.expand {
            let word = Word {
                raw: text,
                pos: ins.pos,
                mode: Mode::Heredoc,
            };
            state.expand(&word)?
        } else {
            text
        };
        inline.push((doc.name.clone(), content));
    }
    let mut excludes = Vec::new();
    for w in &args.exclude {
        excludes.push(state.expand(w)?);
    }
    let exclude = if excludes.is_empty() {
        None
    } else {
        Some(
            IgnoreRules::parse(&excludes.join("\n"))
                .map_err(|e| state.error_at(args.exclude[0].pos, format!("--exclude: {}", e.0)))?,
        )
    };
    // With --parents, a source keeps its path below a `/./` pivot, or all of it.
    let keep_from: Vec<usize> = sources.iter().map(|(src, _)| pivot_depth(src)).collect();
    let dest = state.expand(&args.dest)?;
    let chown = args.chown.as_ref().map(|w| state.expand(w)).transpose()?;
    let chmod = match &args.chmod {
        Some(w) => {
            let text = state.expand(w)?;
            Some(
                u32::from_str_radix(&text, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| {
                        state.error_at(
                            w.pos,
                            format!("--chmod={text}: expected an octal mode like 0644"),
                        )
                    })?,
            )
        }
        None => None,
    };
    let from = match &args.from {
        None => From::Tree {
            tree: state.shared.context.clone(),
            name: None,
        },
        Some(w) => {
            let name = state.expand(w)?;
            let stages = &state.shared.plan.stages[..state.index];
            let named = state.shared.opts.build_contexts.get(&name);
            match (stage_ref(stages, &name), named) {
                (Some(i), _) => {
                    let out = state.shared.output_of(i);
                    From::Layers {
                        id: format!("stage {}", out.key.0),
                        layers: out.layers,
                    }
                }
                (None, Some(NamedContext::Dir(dir))) => From::Tree {
                    tree: SourceTree::context(dir)
                        .map_err(|m| state.error_at(w.pos, format!("COPY --from={name}: {m}")))?,
                    name: Some(name.clone()),
                },
                (None, named) => {
                    let image = match named {
                        Some(NamedContext::Image(reference)) => reference.clone(),
                        _ => name.clone(),
                    };
                    let base = load_base(state.shared, &image, state.platform())
                        .map_err(|m| state.error_at(w.pos, format!("COPY --from={name}: {m}")))?;
                    From::Layers {
                        id: format!("image {}", base.manifest_digest),
                        layers: base.layers,
                    }
                }
            }
        }
    };
    let workdir = state
        .config
        .string("WorkingDir")
        .unwrap_or_else(|| "/".into());
    let dest_abs = if dest.starts_with('/') {
        dest.clone()
    } else {
        format!("{workdir}/{dest}")
    };
    let dest_says_dir = dest.ends_with('/') || dest == "." || dest.ends_with("/.");
    let count = sources.len() + inline.len();
    if count > 1 && !dest_says_dir {
        return Err(state.error_at(
            args.dest.pos,
            format!("{keyword} with several sources needs a directory destination ending in '/' (got {dest:?})"),
        ));
    }

    // The key: the instruction as expanded, plus what the sources hold.
    let (inputs, context_sources) = match &from {
        From::Tree { tree, name } => {
            let mut selected = Vec::new();
            let mut h = Sha256::new();
            if let Some(name) = name {
                h.update(format!("build context {name}\n").as_bytes());
            }
            for (src, pos) in &sources {
                let mut found = tree
                    .select(src)
                    .map_err(|m| state.error_at(*pos, format!("{keyword} {m}")))?;
                if let Some(rules) = &exclude {
                    found.retain(|s| !rules.excluded(&s.rel));
                }
                for s in &found {
                    hash_tree_source(state.shared, tree, s, &mut h)
                        .map_err(|m| state.error_at(*pos, format!("{keyword} {m}")))?;
                }
                selected.push(found);
            }
            (hex::encode(h.finalize()), Some(selected))
        }
        From::Layers { id, .. } => (id.clone(), None),
    };
    let srcs: Vec<&str> = sources.iter().map(|(s, _)| s.as_str()).collect();
    let mut description = format!(
        "{keyword} {srcs:?} {dest_abs:?} dir={dest_says_dir} chown={chown:?} chmod={chmod:?}"
    );
    if !inline.is_empty() || exclude.is_some() || args.parents {
        description.push_str(&format!(
            " inline={inline:?} exclude={excludes:?} parents={}",
            args.parents
        ));
    }
    let key = state.key.child(&description, &inputs);
    if let Some(entry) = lookup(state, &key) {
        cached(state, number);
        state.key = key;
        state.record(&ins.text, entry.layer);
        return Ok(());
    }

    let view = RootView::open(state.shared, &state.layers)?;
    let image_tree = SourceTree::image_root(view.path());
    let dest_rel = image_tree
        .resolve_rel(&dest_abs, &dest_abs)
        .map_err(|m| state.error_at(args.dest.pos, m))?;
    let dest_path = format!("/{dest_rel}");
    let dest_is_dir = dest_says_dir || view.path().join(&dest_rel).is_dir();
    let owner = match &chown {
        Some(spec) => parse_chown(spec, view.path())
            .map_err(|m| state.error_at(args.chown.as_ref().expect("chown").pos, m))?,
        None => Owner::ROOT,
    };
    let scratch = state
        .shared
        .cache
        .scratch_dir("copy-")
        .map_err(BuildError::io("cannot make a scratch directory"))?;
    // ADD extracting an archive unpacks it into a staging directory; every
    // other COPY lists its layer in memory and packs it from the sources.
    let extracts = is_add
        && context_sources
            .iter()
            .flatten()
            .flatten()
            .any(|s| !s.is_dir && is_archive(&s.path));
    let mut target = if extracts {
        Target::Disk(Staging {
            root: scratch.path().to_path_buf(),
            image: view.path(),
            owner,
            chmod,
        })
    } else {
        Target::Memory(LayerTree::new(view.path(), owner, chmod))
    };
    let from_view = match &from {
        From::Layers { layers, .. } => Some(RootView::open(state.shared, layers)?),
        From::Tree { .. } => None,
    };
    let tree = match (&from_view, &from) {
        (Some(v), _) => SourceTree::image_root(v.path()),
        (None, From::Tree { tree, .. }) => tree.clone(),
        (None, From::Layers { .. }) => unreachable!("layers have a view"),
    };
    for (i, (src, pos)) in sources.iter().enumerate() {
        let found = match &context_sources {
            Some(sel) => sel[i].clone(),
            None => {
                let mut found = tree
                    .select(src)
                    .map_err(|m| state.error_at(*pos, format!("{keyword} {m}")))?;
                if let Some(rules) = &exclude {
                    found.retain(|s| !rules.excluded(&s.rel));
                }
                found
            }
        };
        let many = found.len() > 1 || count > 1 || args.parents;
        if many && !dest_says_dir && !dest_is_dir {
            return Err(state.error_at(
                args.dest.pos,
                format!("{keyword} {src} matches several files: the destination must be a directory ending in '/'"),
            ));
        }
        for s in &found {
            let how = Placement {
                dest_is_dir: dest_is_dir || many,
                extract_archives: is_add && from_view.is_none(),
                exclude: exclude.as_ref(),
                keep: args.parents.then(|| kept_path(&s.rel, keep_from[i])),
            };
            place(&tree, &mut target, s, &dest_path, &how)
                .map_err(|m| state.error_at(*pos, format!("{keyword} {src}: {m}")))?;
        }
    }
    if !inline.is_empty() {
        write_inline(
            &mut target,
            scratch.path(),
            &inline,
            &dest_path,
            dest_is_dir || count > 1,
        )
        .map_err(|e| state.error_at(ins.pos, format!("{keyword} <<: {e}")))?;
    }
    let layer = match target {
        Target::Disk(_) => {
            let layer = pack_into_store(state.shared, scratch.path(), false)?;
            keep_as_snapshot(state, &layer, scratch.path());
            layer
        }
        Target::Memory(tree) if tree.is_empty() => None,
        Target::Memory(tree) => {
            let layer = pack_list_into_store(state.shared, &tree.entries())?;
            if from_view.is_some() {
                // Another stage's files are only readable while its view is
                // mounted: write the snapshot now (best effort, as staging did).
                if tree.write_to(scratch.path()).is_ok() {
                    keep_as_snapshot(state, &Some(layer.clone()), scratch.path());
                }
            } else {
                keep_pending(state, &layer, tree);
            }
            Some(layer)
        }
    };
    drop(view);
    drop(from_view);
    store_entry(state, &key, &layer)?;
    state.key = key;
    state.record(&ins.text, layer);
    Ok(())
}

/// The staging tree of a new layer is exactly that layer's snapshot.
fn keep_as_snapshot(state: &StageState, layer: &Option<LayerRecord>, dir: &std::path::Path) {
    if let Some(l) = layer {
        let mut stack = state.layers.clone();
        stack.push(l.clone());
        adopt_snapshot(state.shared, &stack, dir);
    }
}

/// Remembers a COPY's tree, to be written out as the snapshot of its layer
/// stack only if a later step needs the root filesystem.
fn keep_pending(state: &StageState, layer: &LayerRecord, tree: LayerTree) {
    let diff_ids: Option<Vec<hoist_oci::Digest>> = state
        .layers
        .iter()
        .chain(std::iter::once(layer))
        .map(|l| l.diff_id.parse().ok())
        .collect();
    let Some(chain) = diff_ids.and_then(|d| hoist_runtime::snapshot::chain_ids(&d).pop()) else {
        return;
    };
    state
        .shared
        .pending_snapshots
        .lock()
        .expect("pending lock")
        .insert(chain.hex().to_string(), tree.into_pending());
}

/// Where COPY puts what it copies: a staging directory on disk (ADD
/// extracting an archive) or a layer tree in memory.
enum Target<'a> {
    Disk(Staging<'a>),
    Memory(LayerTree<'a>),
}

impl Target<'_> {
    fn put(
        &mut self,
        source: &std::path::Path,
        meta: &fs::Metadata,
        image_path: &str,
    ) -> std::io::Result<()> {
        match self {
            Target::Disk(s) => s.put(source, meta, image_path),
            Target::Memory(t) => t.put(source, meta, image_path),
        }
    }

    fn put_in_place(
        &mut self,
        source: &std::path::Path,
        meta: &fs::Metadata,
        image_path: &str,
    ) -> std::io::Result<()> {
        match self {
            Target::Disk(s) => s.put_in_place(source, meta, image_path),
            Target::Memory(t) => t.put_in_place(source, meta, image_path),
        }
    }
}

/// How one matched source is placed.
struct Placement<'a> {
    dest_is_dir: bool,
    extract_archives: bool,
    /// `--exclude` patterns, matched against paths from the tree's root and
    /// from the copied directory.
    exclude: Option<&'a IgnoreRules>,
    /// `--parents`: the source's path kept below the destination.
    keep: Option<String>,
}

/// Copies one matched source into the staging tree.
fn place(
    tree: &SourceTree,
    staging: &mut Target,
    s: &Source,
    dest: &str,
    how: &Placement,
) -> std::result::Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let meta = fs::metadata(&s.path).map_err(io)?;
    let kept_dest;
    let (dest, dest_is_dir) = match &how.keep {
        Some(kept) if !kept.is_empty() => {
            kept_dest = clean_absolute(&format!("{dest}/{kept}"));
            (kept_dest.as_str(), s.is_dir)
        }
        _ => (dest, how.dest_is_dir),
    };
    if s.is_dir {
        // A directory's contents go into the destination, not the directory itself.
        let root = clean_absolute(dest);
        staging.put(&s.path, &meta, &root).map_err(io)?;
        let mut entries = tree.walk(s)?;
        if let Some(rules) = how.exclude {
            let from_root = |rel: &str| {
                if s.rel.is_empty() {
                    rel.to_string()
                } else {
                    format!("{}/{rel}", s.rel)
                }
            };
            entries.retain(|e| !rules.excluded(&e.rel) && !rules.excluded(&from_root(&e.rel)));
        }
        // Directories first (the walk lists parents before children), then
        // the files in parallel: creating many small files is latency-bound.
        let (dirs, files): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.meta.is_dir());
        let target = |e: &crate::context::Entry| clean_absolute(&format!("{root}/{}", e.rel));
        for e in dirs {
            staging
                .put_in_place(&e.path, &e.meta, &target(e))
                .map_err(io)?;
        }
        let staging = match staging {
            Target::Disk(staging) => staging,
            Target::Memory(tree) => {
                for e in files {
                    tree.put_in_place(&e.path, &e.meta, &target(e))
                        .map_err(io)?;
                }
                return Ok(());
            }
        };
        let chunk = files.len().div_ceil(COPY_THREADS).max(1);
        let staging = &*staging;
        std::thread::scope(|scope| {
            let workers: Vec<_> = files
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .try_for_each(|e| staging.put_in_place(&e.path, &e.meta, &target(e)))
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a copy thread panicked")))
            })
        })
        .map_err(io)?;
        return Ok(());
    }
    if how.extract_archives && is_archive(&s.path) {
        let root = clean_absolute(dest);
        let Target::Disk(staging) = staging else {
            return Err("an archive to extract needs a staging directory".into());
        };
        staging.parents(&root, true).map_err(io)?;
        let file = fs::File::open(&s.path).map_err(io)?;
        hoist_store::layer::unpack(
            file,
            &staging.staged_path(&root),
            &hoist_store::layer::UnpackOptions::default(),
        )
        .map_err(|e| format!("cannot extract the archive: {e}"))?;
        return Ok(());
    }
    let name = s.rel.rsplit('/').next().unwrap_or(&s.rel);
    let target = if dest_is_dir {
        clean_absolute(&format!("{dest}/{name}"))
    } else {
        clean_absolute(dest)
    };
    staging.put(&s.path, &meta, &target).map_err(io)
}

/// Writes COPY's inline files (heredocs) into the staging tree: mode 0644
/// (or --chmod), the owner from --chown, like any copied file.
fn write_inline(
    staging: &mut Target,
    scratch: &std::path::Path,
    files: &[(String, String)],
    dest: &str,
    dest_is_dir: bool,
) -> std::io::Result<()> {
    let target_of = |name: &str| {
        if dest_is_dir {
            clean_absolute(&format!("{dest}/{name}"))
        } else {
            clean_absolute(dest)
        }
    };
    if let Target::Memory(tree) = staging {
        return files
            .iter()
            .try_for_each(|(name, content)| tree.put_bytes(content.as_bytes(), &target_of(name)));
    }
    let dir = scratch.with_extension("inline");
    fs::create_dir_all(&dir)?;
    let result = files.iter().try_for_each(|(name, content)| {
        let src = dir.join("file");
        fs::write(&src, content)?;
        fs::set_permissions(&src, fs::Permissions::from_mode(0o644))?;
        let meta = fs::metadata(&src)?;
        let target = if dest_is_dir {
            clean_absolute(&format!("{dest}/{name}"))
        } else {
            clean_absolute(dest)
        };
        staging.put(&src, &meta, &target)
    });
    let _ = fs::remove_dir_all(&dir);
    result
}

/// How many leading components of a COPY --parents source are dropped: those
/// before a `/./` pivot (BuildKit's syntax), else none.
fn pivot_depth(src: &str) -> usize {
    let trimmed = src.trim_start_matches("./").trim_start_matches('/');
    match trimmed.find("/./") {
        Some(i) => crate::context::clean_relative(&trimmed[..i])
            .map_or(0, |p| p.split('/').filter(|c| !c.is_empty()).count()),
        None => 0,
    }
}

/// The part of a matched source's path that --parents keeps.
fn kept_path(rel: &str, drop: usize) -> String {
    rel.split('/')
        .filter(|c| !c.is_empty())
        .skip(drop)
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a file is a tar archive (plain, gzip, zstd, xz or bzip2) ADD
/// should extract, by its first bytes as docker decides (not its name).
fn is_archive(path: &std::path::Path) -> bool {
    let mut head = [0u8; 512];
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    (n >= 2 && head[..2] == [0x1f, 0x8b])
        || (n >= 4 && head[..4] == [0x28, 0xb5, 0x2f, 0xfd])
        || (n >= 6 && head[..6] == [0xfd, b'7', b'z', b'X', b'Z', 0])
        || (n >= 3 && &head[..3] == b"BZh")
        || (n >= 262 && &head[257..262] == b"ustar")
}

/// Feeds what COPY will read from `s` into `h`: names, types, modes, contents.
pub(crate) fn hash_source(
    shared: &super::Shared,
    s: &Source,
    h: &mut Sha256,
) -> std::result::Result<(), String> {
    hash_tree_source(shared, &shared.context, s, h)
}

/// Like `hash_source`, for a source of another tree (a named build context).
pub(crate) fn hash_tree_source(
    shared: &super::Shared,
    tree: &SourceTree,
    s: &Source,
    h: &mut Sha256,
) -> std::result::Result<(), String> {
    let meta = fs::metadata(&s.path).map_err(|e| e.to_string())?;
    let memo = &shared.file_hashes;
    hash_entry(memo, &s.rel, &s.path, &meta, h)?;
    if s.is_dir {
        let entries = tree.walk(s)?;
        prefetch_hashes(memo, &entries);
        for e in entries {
            hash_entry(memo, &e.rel, &e.path, &e.meta, h)?;
        }
    }
    Ok(())
}

/// Hashes the regular files among `entries` into the memo on several
/// threads (reading thousands of small files is latency-bound), so the
/// ordered pass that feeds the key finds them there. Errors are left for
/// that pass to report.
fn prefetch_hashes(memo: &crate::filehash::FileHashes, entries: &[crate::context::Entry]) {
    let files: Vec<_> = entries.iter().filter(|e| e.meta.is_file()).collect();
    if files.len() < 64 {
        return;
    }
    let chunk = files.len().div_ceil(COPY_THREADS);
    std::thread::scope(|scope| {
        for part in files.chunks(chunk) {
            scope.spawn(move || {
                for e in part {
                    let _ = memo.sha256(&e.path, &e.meta);
                }
            });
        }
    });
}

fn hash_entry(
    memo: &crate::filehash::FileHashes,
    name: &str,
    path: &std::path::Path,
    meta: &fs::Metadata,
    h: &mut Sha256,
) -> std::result::Result<(), String> {
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        "d"
    } else if ft.is_symlink() {
        "l"
    } else if ft.is_file() {
        "f"
    } else {
        "o"
    };
    h.update(format!("{name}\0{kind}\0{:o}\0", meta.mode() & 0o7777).as_bytes());
    if ft.is_symlink() {
        let target = fs::read_link(path).map_err(|e| e.to_string())?;
        h.update(target.to_string_lossy().as_bytes());
    } else if ft.is_file() {
        let content = memo
            .sha256(path, meta)
            .map_err(|e| format!("{name}: {e}"))?;
        h.update(content.as_bytes());
    }
    h.update(b"\n");
    Ok(())
}

/// A usable cache entry: present, not disabled, and its layer still in the
/// store — or, failing that, one an imported cache (`--cache-from`) has,
/// its layer fetched, then remembered locally.
pub(crate) fn lookup(state: &StageState, key: &crate::cache::StepKey) -> Option<CacheEntry> {
    if state.shared.opts.no_cache {
        return None;
    }
    let entry = local_entry(state, key).or_else(|| {
        let hook = state.shared.opts.cache_import.as_ref()?;
        let entry = (hook.0)(key)?;
        // Best effort: a record that cannot be written costs a fetch next time.
        let _ = state.shared.cache.put(key, &entry);
        Some(entry)
    })?;
    note_used(state, key, &entry);
    Some(entry)
}

fn local_entry(state: &StageState, key: &crate::cache::StepKey) -> Option<CacheEntry> {
    let Some(entry) = state.shared.cache.get(key) else {
        tracing::debug!(key = %key.0, "build cache miss");
        return None;
    };
    if let Some(layer) = &entry.layer {
        let digest: hoist_oci::Digest = layer.digest.parse().ok()?;
        if !state.shared.store.has_blob(&digest) {
            return None;
        }
    }
    Some(entry)
}

fn note_used(state: &StageState, key: &crate::cache::StepKey, entry: &CacheEntry) {
    state
        .shared
        .used
        .lock()
        .expect("used lock")
        .push(crate::cache_export::UsedStep {
            key: key.clone(),
            entry: entry.clone(),
        });
}

pub(crate) fn store_entry(
    state: &StageState,
    key: &crate::cache::StepKey,
    layer: &Option<LayerRecord>,
) -> Result<()> {
    let entry = CacheEntry {
        layer: layer.clone(),
    };
    state
        .shared
        .cache
        .put(key, &entry)
        .map_err(BuildError::io("cannot write the build cache"))?;
    note_used(state, key, &entry);
    Ok(())
}

/// WORKDIR's directory: a layer holding it when the image lacks it.
pub(crate) fn ensure_dir(
    state: &mut StageState,
    ins: &Instruction,
    path: &str,
    number: usize,
) -> Result<()> {
    let key = state.key.child(&format!("WORKDIR {path:?}"), "");
    if let Some(entry) = lookup(state, &key) {
        cached(state, number);
        state.key = key;
        state.record(&ins.text, entry.layer);
        return Ok(());
    }
    let view = RootView::open(state.shared, &state.layers)?;
    let tree = SourceTree::image_root(view.path());
    let rel = tree
        .resolve_rel(path, path)
        .map_err(|m| state.error_at(ins.pos, m))?;
    let layer = if view.path().join(&rel).is_dir() {
        None
    } else {
        let scratch = state
            .shared
            .cache
            .scratch_dir("workdir-")
            .map_err(BuildError::io("cannot make a scratch directory"))?;
        let staging = Staging {
            root: scratch.path().to_path_buf(),
            image: view.path(),
            owner: Owner::ROOT,
            chmod: None,
        };
        staging
            .parents(&format!("/{rel}"), true)
            .map_err(BuildError::io(format!("cannot create WORKDIR {path}")))?;
        let layer = pack_into_store(state.shared, scratch.path(), false)?;
        keep_as_snapshot(state, &layer, scratch.path());
        layer
    };
    store_entry(state, &key, &layer)?;
    state.key = key;
    state.record(&ins.text, layer);
    Ok(())
}
