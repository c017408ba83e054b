//! The listing `ps` reads: every container's `Row` (ps_row.rs) and state, from one cache
//! file per store (`<root>/containers/.ps-cache.json`) where it is still right, else from
//! the container's own files.
//!
//! Why: with 2,000 containers, `ps -a` spent most of its time opening and parsing 2,000
//! full records (hoist.json, ~1.2 kB each) and looking for 2,000 state files. The cache
//! holds only what ps shows, and is checked per container with one `fstatat` of each file
//! the row came from (`hoist.json`, `state.json`): inode, size, mtime and ctime must all be
//! what they were when the row was read. Every writer of those files (the CLI, the
//! monitors) replaces or rewrites them, which changes at least one of these, so nothing
//! needs to tell the cache: a state change, rename, create or rm shows at the next `ps`.
//! A state file that was missing (a created container's run dir has none) is checked by
//! the stamp of its directory instead, which changes when any entry is created in it: a
//! lookup of a missing name costs a dentry allocated and freed on tmpfs every time.
//!
//! Racy rows (git's "racily clean" problem): a file written twice within one tick of the
//! filesystem's clock can keep its ctime. A row is therefore stored only when its files'
//! ctimes are older than `SETTLED` before this `ps` started looking; younger ones are read
//! from their files each time until they settle. The file's stamp is taken before the
//! file is read, so a write in between leaves a row whose stamp no longer matches.
//!
//! Concurrent `ps`es each write a whole new file (temp + rename): readers see an old or a
//! new cache, never half of one. A cache that does not parse, or of another version, is
//! ignored and written again. Without write access (another user's store) ps works as
//! before, uncached.

use super::ps_row::Row;
use hoist_runtime::container::paths::{containers_dir, run_containers_dir};
use hoist_runtime::container::state::{self, State};
use hoist_runtime::container::ContainerRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const CACHE_FILE: &str = ".ps-cache.json";
/// Bumped whenever `Row`, `Key` or the stored `State` change shape.
const VERSION: u32 = 3;
/// Above twice this many containers, their files are stamped on 2 threads.
const PER_THREAD: usize = 250;
/// How old a file's ctime must be before a row read from it is cached: well above any
/// filesystem's timestamp granularity (ext4 without large inodes: 1 s).
const SETTLED: Duration = Duration::from_millis(1500);

/// What a file was when its row was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    ino: u64,
    size: i64,
    mtime_ns: i64,
    ctime_ns: i64,
}

/// Where a row came from: which directory (store or run dir) held the record and the
/// state, and their files' stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Key {
    record_in_run: bool,
    state_in_run: bool,
    record: Stamp,
    state: StateStamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum StateStamp {
    File(Stamp),
    /// No state.json: the stamp of the directory it would be in (None: no directory).
    Missing(Option<Stamp>),
}

impl Key {
    /// Whether every stamp is older than `settled_before`, so that no later write can
    /// share it (see the module's comment).
    fn settled(&self, settled_before: i64) -> bool {
        let state = match self.state {
            StateStamp::File(s) | StateStamp::Missing(Some(s)) => Some(s),
            StateStamp::Missing(None) => None,
        };
        self.record.ctime_ns < settled_before && state.is_none_or(|s| s.ctime_ns < settled_before)
    }
}

/// The file: entries newest first, as `ps` lists them, so that a listing whose rows all
/// come from the cache is already in order (the sort then moves nothing: rows are ~600
/// bytes, and moving 2,000 of them through fresh vectors was a third of the CPU time).
#[derive(Deserialize)]
struct CacheFile {
    version: u32,
    entries: Vec<Entry>,
}

#[derive(Serialize)]
struct CacheFileOut<'a> {
    version: u32,
    entries: Vec<&'a Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: Key,
    row: Row,
    state: State,
    /// Read just now from files too young to be trusted: not written to the cache.
    #[serde(skip)]
    unsettled: bool,
}

/// The store's and the run dir's containers directories, open for `*at` calls.
struct Dirs {
    stored: Option<File>,
    run: Option<File>,
    stored_path: PathBuf,
    run_path: PathBuf,
}

impl Dirs {
    fn dir(&self, in_run: bool) -> Option<&File> {
        if in_run {
            self.run.as_ref()
        } else {
            self.stored.as_ref()
        }
    }

    fn path(&self, in_run: bool, id: &str) -> PathBuf {
        if in_run {
            self.run_path.join(id)
        } else {
            self.stored_path.join(id)
        }
    }

    /// The stamp of `id/file`, or of `id` itself when `file` is "".
    fn stamp(&self, in_run: bool, id: &str, file: &str) -> Option<Stamp> {
        let rel = if file.is_empty() {
            CString::new(id)
        } else {
            CString::new(format!("{id}/{file}"))
        }
        .ok()?;
        // SAFETY: an all-zero `stat` is a valid value to be overwritten.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a valid directory fd, a NUL-terminated path, a `stat` to fill.
        let rc = unsafe { libc::fstatat(self.dir(in_run)?.as_raw_fd(), rel.as_ptr(), &mut st, 0) };
        (rc == 0).then_some(Stamp {
            ino: st.st_ino,
            size: st.st_size,
            mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec,
            ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec,
        })
    }

    /// The whole file into `buf` (cleared first), opened relative to its directory.
    fn read(&self, in_run: bool, id: &str, file: &str, buf: &mut Vec<u8>) -> std::io::Result<()> {
        let not_found = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let dir = self.dir(in_run).ok_or_else(not_found)?;
        let mut f = hoist_runtime::fsutil::open_in(dir, &format!("{id}/{file}"))?;
        buf.clear();
        f.read_to_end(buf).map(|_| ())
    }
}

/// Container IDs (64 hex digits) among the entries of `dir`.
fn ids_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 64 && n.chars().all(|c| c.is_ascii_hexdigit()))
        .collect()
}

fn load(path: &Path) -> Vec<Entry> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    match serde_json::from_slice::<CacheFile>(&bytes) {
        Ok(c) if c.version == VERSION => c.entries,
        _ => Vec::new(),
    }
}

/// The stamps of one container's files now (None: its record is gone). `was` is its key in
/// the cache: a state file missing then is first looked for through its directory's stamp.
fn key_of(
    dirs: &Dirs,
    stored: &BTreeSet<String>,
    running: &BTreeSet<String>,
    id: &str,
    record: Option<Stamp>,
    was: Option<&Key>,
) -> Option<Key> {
    let record_in_run = !stored.contains(id);
    let state_in_run = running.contains(id);
    let record = record?;
    let still_missing = match was {
        Some(k) if k.state_in_run == state_in_run => match k.state {
            StateStamp::Missing(Some(dir)) => {
                let now = dirs.stamp(state_in_run, id, "");
                (now == Some(dir)).then_some(StateStamp::Missing(now))
            }
            _ => None,
        },
        _ => None,
    };
    let state = still_missing.unwrap_or_else(|| match dirs.stamp(state_in_run, id, "state.json") {
        Some(file) => StateStamp::File(file),
        None => StateStamp::Missing(dirs.stamp(state_in_run, id, "")),
    });
    Some(Key {
        record_in_run,
        state_in_run,
        record,
        state,
    })
}

/// Every container with its live state, newest first (as `container::list`).
pub fn list(root: &Path) -> Vec<(Row, State)> {
    let settled_before = SystemTime::now()
        .checked_sub(SETTLED)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    list_settled(root, settled_before)
}

/// `list`, caching rows whose files' ctimes are before `settled_before` (ns since the epoch).
fn list_settled(root: &Path, settled_before: i64) -> Vec<(Row, State)> {
    let stored_path = containers_dir(root);
    let run_path = run_containers_dir(root);
    let stored: BTreeSet<String> = ids_in(&stored_path).into_iter().collect();
    let running: BTreeSet<String> = ids_in(&run_path).into_iter().collect();
    let cache_path = stored_path.join(CACHE_FILE);
    let dirs = Dirs {
        stored: File::open(&stored_path).ok(),
        run: File::open(&run_path).ok(),
        stored_path,
        run_path,
    };
    // Sorted (a BTreeSet's order): positions are found by binary search.
    let ids: Vec<&String> = stored.union(&running).collect();
    // The records' stamps need nothing from the cache: taken on another thread while the
    // cache is read and parsed.
    let stamp_records = || -> Vec<Option<Stamp>> {
        ids.iter()
            .map(|id| dirs.stamp(!stored.contains(id.as_str()), id, "hoist.json"))
            .collect()
    };
    let (mut entries, records) = if ids.len() < 2 * PER_THREAD {
        (load(&cache_path), stamp_records())
    } else {
        std::thread::scope(|s| {
            let records = s.spawn(stamp_records);
            let entries = load(&cache_path);
            let records = records.join().unwrap_or_else(|_| vec![None; ids.len()]);
            (entries, records)
        })
    };
    let loaded = entries.len();
    let position = |id: &str| ids.binary_search_by(|x| x.as_str().cmp(id)).ok();
    let mut was: Vec<Option<Key>> = vec![None; ids.len()];
    for e in &entries {
        if let Some(p) = position(&e.row.id) {
            was[p] = Some(e.key);
        }
    }
    // Stamps first, then the reads: a write in between leaves a stale stamp (a miss next
    // time), never a stale row under a current stamp.
    let stamp_all = |from: usize, to: usize| -> Vec<Option<Key>> {
        (from..to)
            .map(|p| {
                key_of(
                    &dirs,
                    &stored,
                    &running,
                    ids[p],
                    records[p],
                    was[p].as_ref(),
                )
            })
            .collect()
    };
    let keys: Vec<Option<Key>> = if ids.len() < 2 * PER_THREAD {
        stamp_all(0, ids.len())
    } else {
        // The stamps are most of a cached listing's time: half on another thread.
        let (half, all) = (ids.len() / 2, ids.len());
        let stamp_all = &stamp_all;
        std::thread::scope(|s| {
            let other = s.spawn(move || stamp_all(half, all));
            let mut keys = stamp_all(0, half);
            keys.extend(other.join().unwrap_or_else(|_| vec![None; all - half]));
            keys
        })
    };
    // Cached rows whose stamps still match stay where they are (no row moves when all do).
    let mut done = vec![false; ids.len()];
    entries.retain(|e| match position(&e.row.id) {
        Some(p) if !done[p] && keys[p] == Some(e.key) => {
            done[p] = true;
            true
        }
        _ => false,
    });
    let hits = entries.len();
    let mut fresh = 0;
    let mut buf = Vec::with_capacity(16 * 1024);
    for ((id, key), done) in ids.iter().zip(&keys).zip(&done) {
        let Some(key) = key.filter(|_| !done) else {
            continue;
        };
        if dirs
            .read(key.record_in_run, id, "hoist.json", &mut buf)
            .is_err()
        {
            continue;
        }
        let Ok(rec) = serde_json::from_slice::<ContainerRecord>(&buf) else {
            continue;
        };
        let mut state: State = match dirs.read(key.state_in_run, id, "state.json", &mut buf) {
            Ok(()) => serde_json::from_slice(&buf).unwrap_or_default(),
            Err(_) => State::default(),
        };
        // ps shows the health status only; the probe log would bloat the cache.
        if let Some(h) = state.health.as_mut() {
            h.log.clear();
        }
        let unsettled = !key.settled(settled_before);
        fresh += usize::from(!unsettled);
        entries.push(Entry {
            key,
            row: Row::of(&rec),
            state,
            unsettled,
        });
    }
    // Newest first; a stable sort of rows already in order moves none of them.
    entries.sort_by(|a, b| b.row.created.cmp(&a.row.created));
    if fresh > 0 || hits < loaded {
        save(&cache_path, &entries);
    }
    entries
        .into_iter()
        .map(|e| {
            let dir = dirs.path(e.key.state_in_run, &e.row.id);
            let live = state::live(&dir, e.state);
            (e.row, live)
        })
        .collect()
}

/// Writes the settled rows; failures only cost the next `ps` its cache.
fn save(path: &Path, entries: &[Entry]) {
    let file = CacheFileOut {
        version: VERSION,
        entries: entries.iter().filter(|e| !e.unsettled).collect(),
    };
    if let Ok(data) = serde_json::to_vec(&file) {
        let _ = hoist_runtime::fsutil::write_atomic(path, &data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_runtime::container::Status;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    /// Every file counts as settled: rows are cached at once.
    const ALL_SETTLED: i64 = i64::MAX;

    fn write_record(root: &Path, id: &str, name: &str, created: &str) {
        let dir = containers_dir(root).join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let rec = ContainerRecord {
            id: id.into(),
            name: name.into(),
            created: created.into(),
            ..Default::default()
        };
        let data = serde_json::to_vec(&rec).unwrap();
        hoist_runtime::fsutil::write_atomic(&dir.join("hoist.json"), &data).unwrap();
        // An mtime in the past: the next entry made in the directory changes it even
        // within the same tick of the filesystem's clock (the settling ps waits out).
        let past = UNIX_EPOCH + Duration::from_secs(1_000_000);
        File::open(&dir).unwrap().set_modified(past).unwrap();
    }

    fn names(root: &Path) -> Vec<String> {
        list_settled(root, ALL_SETTLED)
            .into_iter()
            .map(|(r, _)| r.name)
            .collect()
    }

    fn cache_text(root: &Path) -> String {
        std::fs::read_to_string(containers_dir(root).join(CACHE_FILE)).unwrap_or_default()
    }

    #[test]
    fn cached_rows_are_used_only_while_their_files_are_unchanged() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write_record(root, A, "first", "2026-01-01T00:00:00Z");
        write_record(root, B, "second", "2026-01-02T00:00:00Z");
        assert_eq!(names(root), ["second", "first"]);
        // The cache is what the next listing shows while the files are as they were:
        // change a name in the cache only, and that name comes back.
        let cache = cache_text(root);
        assert!(cache.contains("\"first\""), "{cache}");
        let tampered = cache.replace("\"first\"", "\"cached\"");
        std::fs::write(containers_dir(root).join(CACHE_FILE), tampered).unwrap();
        assert_eq!(names(root), ["second", "cached"]);
        // A rewritten record (rename) is read again, at once.
        write_record(root, A, "renamed", "2026-01-01T00:00:00Z");
        assert_eq!(names(root), ["second", "renamed"]);
        // A state written after the cached row is seen (the monitor's exit).
        let exited = State {
            status: Status::Exited,
            exit_code: 7,
            ..Default::default()
        };
        let dir = containers_dir(root).join(B);
        std::fs::write(dir.join("state.json"), serde_json::to_vec(&exited).unwrap()).unwrap();
        let rows = list_settled(root, ALL_SETTLED);
        assert_eq!((rows[0].1.status, rows[0].1.exit_code), (Status::Exited, 7));
        // A removed container leaves the listing and the cache.
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names(root), ["renamed"]);
        assert!(!cache_text(root).contains(B));
    }

    #[test]
    fn a_broken_cache_is_ignored_and_written_again() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write_record(root, A, "one", "2026-01-01T00:00:00Z");
        for junk in ["", "{not json", "{\"version\":999,\"entries\":[]}"] {
            std::fs::write(containers_dir(root).join(CACHE_FILE), junk).unwrap();
            assert_eq!(names(root), ["one"]);
            assert!(cache_text(root).contains(A), "rewritten after {junk:?}");
        }
    }

    #[test]
    fn rows_of_files_written_just_now_are_not_cached() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write_record(root, A, "young", "2026-01-01T00:00:00Z");
        // Nothing is settled: the row is read from its file and left out of the cache.
        let rows = list_settled(root, 0);
        assert_eq!(rows[0].0.name, "young");
        assert!(!cache_text(root).contains(A));
    }
}
