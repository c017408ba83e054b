//! `list`: every container with its live state, read for `ps` and its kin.
//!
//! With 2,000 containers in a store the listing is syscall-bound, so it
//! reads the two directories once and derives each container's paths from
//! them instead of asking the filesystem per container (`container_dir`'s
//! two stats, `record_of`'s readlink): a stored container's record dir is
//! `<root>/containers/<id>` (the run dir's `record` link always names it,
//! paths.rs), a `--rm` container's is its run dir; its state is in the run
//! dir while that exists, else in the record dir's copy. Files are read
//! into one reused buffer without `std::fs::read`'s size-hint stat.
//! Containers are read on a few threads when there are many.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::paths::{containers_dir, run_containers_dir};
use super::state::{self, State};
use super::ContainerRecord;

/// Below this many containers one thread reads them all.
const PER_THREAD: usize = 250;

/// Container IDs (64 hex digits) among the entries of `dir`.
pub(super) fn ids_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 64 && n.chars().all(|c| c.is_ascii_hexdigit()))
        .collect()
}

/// Where one container's files are, derived from the directory listings:
/// each file is opened relative to the store's or the run dir's containers
/// directory (`openat`), so the kernel walks two path components, not the
/// whole path, per file.
struct Where<'a> {
    id: &'a str,
    record: Base,
    state: Base,
}

#[derive(Clone, Copy, PartialEq)]
enum Base {
    Stored,
    Run,
}

/// The two containers directories, open.
struct Dirs {
    stored: Option<std::fs::File>,
    run: Option<std::fs::File>,
    run_path: PathBuf,
    stored_path: PathBuf,
}

impl Dirs {
    fn open(&self, base: Base, id: &str, file: &str) -> std::io::Result<std::fs::File> {
        let dir = match base {
            Base::Stored => self.stored.as_ref(),
            Base::Run => self.run.as_ref(),
        };
        let Some(dir) = dir else {
            return Err(std::io::ErrorKind::NotFound.into());
        };
        crate::fsutil::open_in(dir, &format!("{id}/{file}"))
    }

    fn path(&self, base: Base, id: &str) -> PathBuf {
        match base {
            Base::Stored => self.stored_path.join(id),
            Base::Run => self.run_path.join(id),
        }
    }
}

/// Every container with its live state, newest first.
pub fn list(root: &Path) -> Vec<(ContainerRecord, State)> {
    let stored_path = containers_dir(root);
    let run_path = run_containers_dir(root);
    let stored: BTreeSet<String> = ids_in(&stored_path).into_iter().collect();
    let running: BTreeSet<String> = ids_in(&run_path).into_iter().collect();
    let open_dir = |p: &Path| std::fs::File::open(p).ok();
    let dirs = Dirs {
        stored: open_dir(&stored_path),
        run: open_dir(&run_path),
        stored_path,
        run_path,
    };
    let places: Vec<Where> = stored
        .union(&running)
        .map(|id| {
            let record = if stored.contains(id) {
                Base::Stored
            } else {
                Base::Run
            };
            let state = if running.contains(id) {
                Base::Run
            } else {
                record
            };
            Where { id, record, state }
        })
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(places.len() / PER_THREAD)
        .max(1);
    let mut out: Vec<(ContainerRecord, State)> = if threads == 1 {
        read_all(&dirs, &places)
    } else {
        let chunk = places.len().div_ceil(threads);
        let dirs = &dirs;
        std::thread::scope(|s| {
            let parts: Vec<_> = places
                .chunks(chunk)
                .map(|part| s.spawn(move || read_all(dirs, part)))
                .collect();
            parts
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    out.sort_by(|a, b| b.0.created.cmp(&a.0.created));
    out
}

fn read_all(dirs: &Dirs, places: &[Where]) -> Vec<(ContainerRecord, State)> {
    let mut buf = Vec::with_capacity(16 * 1024);
    places
        .iter()
        .filter_map(|w| {
            read_into(dirs.open(w.record, w.id, "hoist.json").ok()?, &mut buf).ok()?;
            let rec: ContainerRecord = serde_json::from_slice(&buf).ok()?;
            let st = match dirs
                .open(w.state, w.id, "state.json")
                .and_then(|f| read_into(f, &mut buf))
            {
                Ok(()) => serde_json::from_slice(&buf).unwrap_or_default(),
                Err(_) => State::default(),
            };
            Some((rec, state::live(&dirs.path(w.state, w.id), st)))
        })
        .collect()
}

/// The whole file into `buf` (cleared first): reads until the end, no stat.
fn read_into(mut file: std::fs::File, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
