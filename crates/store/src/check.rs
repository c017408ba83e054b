//! `hoist system check`: the store checks itself. Every blob is hashed
//! against its name; the index must parse; every name must reach its
//! manifest, config and layers; every snapshot that an image still uses is
//! compared with the layer it was unpacked from. With `repair`, a corrupt
//! index is restored from the copy kept before its last write, corrupt blobs
//! are removed (their images are named as needing a new pull) and corrupt
//! snapshots are removed (the next run unpacks them again).

use crate::error::io_err;
use crate::{paths, Result, Store, StoreError};
use hoist_oci::{parse_manifest, AnyManifest, Digest, Hasher};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Read;
use std::path::PathBuf;

/// What to check and whether to repair.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Remove what is corrupt and restore the index.
    pub repair: bool,
    /// Manifest digests of images that containers use: their snapshots may
    /// be mounted, so a repair leaves them in place and says so.
    pub in_use: Vec<Digest>,
}

/// What a check found and did.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub blobs_checked: usize,
    pub snapshots_checked: usize,
    /// Snapshots no image uses (prune removes them) or whose layer is gone.
    pub snapshots_not_verified: usize,
    pub problems: Vec<Problem>,
    /// Images (full names, or digests for unnamed container images) that
    /// lack content now and need a new pull (or build, or import).
    pub needs_pull: BTreeSet<String>,
}

impl CheckReport {
    /// Whether every problem found was repaired (true when there were none).
    pub fn all_repaired(&self) -> bool {
        self.problems
            .iter()
            .all(|p| matches!(p.repair, Repair::Done(_)))
    }
}

/// One thing found wrong, and what was done about it.
#[derive(Debug)]
pub struct Problem {
    pub kind: ProblemKind,
    pub repair: Repair,
}

#[derive(Debug)]
pub enum ProblemKind {
    /// index.json does not parse.
    CorruptIndex { path: PathBuf, reason: String },
    /// A blob's content does not hash to its name (or cannot be read).
    CorruptBlob {
        digest: Digest,
        reason: String,
        images: Vec<String>,
    },
    /// A name reaches a blob the store does not have.
    MissingBlob {
        digest: Digest,
        role: &'static str,
        images: Vec<String>,
    },
    /// An unpacked layer differs from its blob.
    CorruptSnapshot {
        path: PathBuf,
        differences: Vec<String>,
        images: Vec<String>,
    },
}

#[derive(Debug)]
pub enum Repair {
    /// No repair was asked for.
    NotAsked,
    /// Repaired; says how.
    Done(String),
    /// Cannot be repaired here; says what to do.
    NotPossible(String),
    /// The repair failed; says why.
    Failed(String),
}

/// Which images reach which blobs, and which snapshots they need.
#[derive(Default)]
struct References {
    /// blob → (its role, the images that need it)
    blobs: BTreeMap<Digest, (&'static str, BTreeSet<String>)>,
    /// snapshot dir name (chain ID hex) → (layer digest, images)
    snapshots: BTreeMap<String, (Digest, BTreeSet<String>)>,
    /// Images reached from `CheckOptions::in_use`.
    in_use: BTreeSet<String>,
}

impl Store {
    /// Checks the whole store; with `opts.repair`, repairs what it can.
    pub fn check(&self, opts: &CheckOptions) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        let index_ok = self.check_index(opts, &mut report)?;
        let corrupt = self.check_blobs(&mut report)?;
        let refs = if index_ok {
            self.references(&opts.in_use)?
        } else {
            References::default()
        };
        for (digest, reason) in corrupt {
            let images: Vec<String> = refs
                .blobs
                .get(&digest)
                .map(|(_, names)| names.iter().cloned().collect())
                .unwrap_or_default();
            let repair = if opts.repair {
                let path = self.blob_path(&digest);
                match std::fs::remove_file(&path) {
                    Ok(()) => {
                        report.needs_pull.extend(images.iter().cloned());
                        Repair::Done("removed".into())
                    }
                    Err(e) => Repair::Failed(format!("cannot remove {}: {e}", path.display())),
                }
            } else {
                Repair::NotAsked
            };
            report.problems.push(Problem {
                kind: ProblemKind::CorruptBlob {
                    digest,
                    reason,
                    images,
                },
                repair,
            });
        }
        for (digest, (role, names)) in &refs.blobs {
            if self.has_blob(digest) || report.problems.iter().any(|p| is_blob(p, digest)) {
                continue;
            }
            let images: Vec<String> = names.iter().cloned().collect();
            report.needs_pull.extend(images.iter().cloned());
            report.problems.push(Problem {
                kind: ProblemKind::MissingBlob {
                    digest: digest.clone(),
                    role,
                    images,
                },
                repair: if opts.repair {
                    Repair::NotPossible("pull the images that need it again".into())
                } else {
                    Repair::NotAsked
                },
            });
        }
        self.check_snapshots(opts, &refs, &mut report)?;
        Ok(report)
    }

    /// Parses index.json; restores it on repair. Returns whether the index
    /// is usable afterwards.
    fn check_index(&self, opts: &CheckOptions, report: &mut CheckReport) -> Result<bool> {
        let (path, reason) = match self.read_index() {
            Ok(_) => return Ok(true),
            Err(StoreError::IndexCorrupt { path, reason }) => (path, reason),
            Err(e) => return Err(e),
        };
        let repair = if !opts.repair {
            Repair::NotAsked
        } else {
            match self.restore_previous_index() {
                Ok(()) => Repair::Done(format!(
                    "restored from {} (a name set by the last change may be lost)",
                    self.index_prev_path().display()
                )),
                Err(e) => Repair::Failed(e.to_string()),
            }
        };
        let usable = matches!(repair, Repair::Done(_));
        report.problems.push(Problem {
            kind: ProblemKind::CorruptIndex { path, reason },
            repair,
        });
        Ok(usable)
    }

    /// Hashes every blob; returns those whose content does not match.
    fn check_blobs(&self, report: &mut CheckReport) -> Result<Vec<(Digest, String)>> {
        let mut corrupt = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        for digest in self.all_blobs()? {
            report.blobs_checked += 1;
            match self.hash_blob(&digest, &mut buf) {
                Ok(actual) if actual == digest => {}
                Ok(actual) => corrupt.push((digest, format!("its content hashes to {actual}"))),
                Err(e) => corrupt.push((digest, format!("cannot be read: {e}"))),
            }
        }
        Ok(corrupt)
    }

    fn hash_blob(&self, digest: &Digest, buf: &mut [u8]) -> std::io::Result<Digest> {
        let mut file = std::fs::File::open(self.blob_path(digest))?;
        let mut hasher = Hasher::new(digest.algorithm());
        loop {
            match file.read(buf) {
                Ok(0) => return Ok(hasher.finish()),
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Walks every name (and every in-use image) to the blobs and snapshots
    /// it needs. Blobs that are missing or corrupt end the walk there.
    fn references(&self, in_use: &[Digest]) -> Result<References> {
        let mut refs = References::default();
        let mut roots: Vec<(Digest, String, bool)> = Vec::new();
        for named in self.names()? {
            let digest = named.digest();
            let used = in_use.contains(&digest);
            roots.push((digest, named.name, used));
        }
        for d in in_use {
            if !roots.iter().any(|(r, _, _)| r == d) {
                roots.push((d.clone(), d.to_string(), true));
            }
        }
        for (digest, name, used) in roots {
            if used {
                refs.in_use.insert(name.clone());
            }
            self.walk(&digest, "manifest", &name, &mut refs, &mut HashSet::new());
        }
        Ok(refs)
    }

    fn walk(
        &self,
        digest: &Digest,
        role: &'static str,
        image: &str,
        refs: &mut References,
        seen: &mut HashSet<Digest>,
    ) {
        refs.blobs
            .entry(digest.clone())
            .or_insert_with(|| (role, BTreeSet::new()))
            .1
            .insert(image.to_string());
        if !seen.insert(digest.clone()) {
            return;
        }
        let Ok(bytes) = self.read_blob(digest) else {
            return; // Missing or corrupt: reported from the blob's side.
        };
        match parse_manifest(None, &bytes) {
            Ok((_, AnyManifest::Manifest(m))) => {
                let Ok(config) = Digest::try_from(m.config().digest()) else {
                    return;
                };
                self.walk(&config, "config", image, refs, seen);
                let layers: Vec<Digest> = m
                    .layers()
                    .iter()
                    .filter_map(|l| Digest::try_from(l.digest()).ok())
                    .collect();
                for l in &layers {
                    self.walk(l, "layer", image, refs, seen);
                }
                let diff_ids = self.diff_ids(&config);
                if diff_ids.len() == layers.len() {
                    for (layer, chain) in layers.into_iter().zip(chain_ids(&diff_ids)) {
                        refs.snapshots
                            .entry(chain.hex().to_string())
                            .or_insert_with(|| (layer, BTreeSet::new()))
                            .1
                            .insert(image.to_string());
                    }
                }
            }
            Ok((_, AnyManifest::Index(i))) => {
                for m in i.manifests() {
                    // An index lists platforms never pulled: follow what is here.
                    if let Ok(d) = Digest::try_from(m.digest()) {
                        if self.has_blob(&d) {
                            self.walk(&d, "manifest", image, refs, seen);
                        }
                    }
                }
            }
            Err(_) => {}
        }
    }

    fn diff_ids(&self, config: &Digest) -> Vec<Digest> {
        let Ok(bytes) = self.read_blob(config) else {
            return Vec::new();
        };
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return Vec::new();
        };
        json["rootfs"]["diff_ids"]
            .as_array()
            .map(|a| a.iter().filter_map(|d| d.as_str()?.parse().ok()).collect())
            .unwrap_or_default()
    }

    /// Compares each snapshot an image uses with its layer blob.
    fn check_snapshots(
        &self,
        opts: &CheckOptions,
        refs: &References,
        report: &mut CheckReport,
    ) -> Result<()> {
        let dir = self.root().join(paths::SNAPSHOTS);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(&dir)(e)),
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let Some((layer, images)) = refs.snapshots.get(&name) else {
                report.snapshots_not_verified += 1;
                continue;
            };
            if !self.has_blob(layer) || report.problems.iter().any(|p| is_blob(p, layer)) {
                report.snapshots_not_verified += 1;
                continue;
            }
            report.snapshots_checked += 1;
            let differences = self.verify_unpacked_layer(layer, &path)?;
            if differences.is_empty() {
                continue;
            }
            let repair = if !opts.repair {
                Repair::NotAsked
            } else if images.iter().any(|i| refs.in_use.contains(i)) {
                Repair::NotPossible(
                    "a container's image uses it (it may be mounted): remove the container, \
                     then run `hoist system check --repair` again"
                        .into(),
                )
            } else {
                remove_snapshot(&dir, &name)
            };
            report.problems.push(Problem {
                kind: ProblemKind::CorruptSnapshot {
                    path,
                    differences,
                    images: images.iter().cloned().collect(),
                },
                repair,
            });
        }
        Ok(())
    }
}

/// Moves the snapshot out of the name the runtime looks up (so nothing can
/// start from a half-removed tree), then removes it.
fn remove_snapshot(dir: &std::path::Path, name: &str) -> Repair {
    let aside = dir.join(format!(".corrupt-{name}-{:016x}", rand::random::<u64>()));
    if let Err(e) = std::fs::rename(dir.join(name), &aside) {
        return Repair::Failed(format!("cannot move it aside: {e}"));
    }
    match std::fs::remove_dir_all(&aside) {
        Ok(()) => Repair::Done("removed; the next run unpacks it again".into()),
        Err(e) => Repair::Failed(format!("cannot remove {}: {e}", aside.display())),
    }
}

fn is_blob(p: &Problem, digest: &Digest) -> bool {
    matches!(&p.kind, ProblemKind::CorruptBlob { digest: d, .. } if d == digest)
}

/// OCI chain IDs of a layer stack, bottom first: the names of the runtime's
/// snapshot dirs (the runtime re-exports this one definition).
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => Digest::sha256_of(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}
