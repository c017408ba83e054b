//! Compiled seccomp programs, cached so that starting a container does not
//! compile: keyed by the SHA-256 of the spec's `linux.seccomp` section, kept
//! in this process (a build's steps, a monitor's restarts) and under the
//! store as `<root>/seccomp/<hex>.bpf` (written once, atomically; a file of
//! the wrong size is compiled again). The child only loads the program.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// A compiled filter, ready for seccomp(SECCOMP_SET_MODE_FILTER).
pub struct Program {
    pub filter: Vec<libc::sock_filter>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Program({} instructions)", self.filter.len())
    }
}

impl Program {
    fn from_bytes(bytes: &[u8]) -> Option<Program> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(8) || bytes.len() / 8 > u16::MAX as usize
        {
            return None;
        }
        let filter = super::bpf_ranges::from_bytes(bytes);
        Some(Program { filter })
    }
}

/// Part of the cache key: a change in how sections are compiled (v2: the
/// binary tree, compile.rs; v3: re-emitted as ranges, bpf_ranges.rs) must
/// not load programs an older hoist stored.
const COMPILER_VERSION: &[u8] = b"hoist-seccomp-v3\0";

fn memo() -> &'static Mutex<HashMap<[u8; 32], Arc<Program>>> {
    static MEMO: OnceLock<Mutex<HashMap<[u8; 32], Arc<Program>>>> = OnceLock::new();
    MEMO.get_or_init(Default::default)
}

/// What a key is hashed with.
pub type Hasher = Sha256;

/// A program's cache key: the compiler's version and what `feed` hashes
/// (the section's fields, mod.rs), so the section need not be printed.
pub struct Key([u8; 32]);

impl Key {
    pub fn of(feed: impl FnOnce(&mut Hasher)) -> Key {
        let mut h = Sha256::new();
        h.update(COMPILER_VERSION);
        feed(&mut h);
        Key(h.finalize().into())
    }

    /// As the store's file is named.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// The program for the section `key` names: from this process's memo,
/// else `<store>/seccomp/`, else compiled from `section()` (its JSON) and
/// stored there when a store is given.
pub fn program(
    key: &Key,
    section: impl FnOnce() -> Result<Vec<u8>, String>,
    store: Option<&Path>,
) -> Result<Arc<Program>, String> {
    let file = store.map(|s| s.join("seccomp").join(format!("{}.bpf", key.hex())));
    let key = key.0;
    if let Some(p) = memo().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(p.clone());
    }
    let cached = file
        .as_ref()
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|b| Program::from_bytes(&b));
    let program = match cached {
        Some(p) => p,
        None => {
            let bytes = super::compile::compile(&section()?)?;
            if let Some(f) = &file {
                // A cache that cannot be written only costs the next start a compile.
                let _ = store_file(f, &bytes);
            }
            Program::from_bytes(&bytes).ok_or_else(|| {
                format!("the compiler produced a program of {} bytes", bytes.len())
            })?
        }
    };
    let program = Arc::new(program);
    memo()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, program.clone());
    Ok(program)
}

fn store_file(path: &Path, bytes: &[u8]) -> crate::error::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| crate::error::RuntimeError::io("creating the seccomp cache", e))?;
    }
    crate::fsutil::write_atomic(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_compiled_once_then_read_from_the_store() {
        let store = tempfile::tempdir().unwrap();
        let section = br#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#;
        let key = || Key::of(|h| h.update(section));
        let json = || Ok(section.to_vec());
        let first = program(&key(), json, Some(store.path())).unwrap();
        let dir = store.path().join("seccomp");
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(files.len(), 1);
        let on_disk = std::fs::read(files[0].path()).unwrap();
        assert_eq!(on_disk.len(), first.filter.len() * 8);
        // A damaged file is compiled again, not loaded.
        memo().lock().unwrap().clear();
        std::fs::write(files[0].path(), b"xyz").unwrap();
        let again = program(&key(), json, Some(store.path())).unwrap();
        assert_eq!(again.filter.len(), first.filter.len());
        assert_eq!(std::fs::read(files[0].path()).unwrap(), on_disk);
    }
}
