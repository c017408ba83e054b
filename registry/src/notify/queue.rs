//! One endpoint's queue on disk: one file per event (`<seq>.json`, written
//! to a temp name and renamed so a crash never leaves half an event), kept
//! in order by sequence number and bounded by count and bytes — past either
//! bound the oldest event is dropped, so a long-dead endpoint costs a fixed
//! amount of disk and new events keep their place.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Queue {
    dir: PathBuf,
    max_events: usize,
    max_bytes: u64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// (sequence number, file size), oldest first.
    entries: VecDeque<(u64, u64)>,
    bytes: u64,
    next: u64,
}

impl Queue {
    /// Opens (creating) `dir` and takes up the events a previous run left.
    pub fn open(dir: &Path, max_events: usize, max_bytes: u64) -> io::Result<Queue> {
        std::fs::create_dir_all(dir)?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            match name
                .strip_suffix(".json")
                .and_then(|s| s.parse::<u64>().ok())
            {
                Some(seq) => found.push((seq, entry.metadata()?.len())),
                // A temp file from a write cut short: never renamed, never acknowledged.
                None if name.ends_with(".tmp") => {
                    let _ = std::fs::remove_file(entry.path());
                }
                None => {}
            }
        }
        found.sort_unstable();
        let state = State {
            bytes: found.iter().map(|(_, len)| len).sum(),
            next: found.last().map_or(0, |(seq, _)| seq + 1),
            entries: found.into(),
        };
        Ok(Queue {
            dir: dir.to_path_buf(),
            max_events,
            max_bytes,
            state: Mutex::new(state),
        })
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.json"))
    }

    /// Appends an event; returns how many old events were dropped for it.
    pub fn push(&self, body: &[u8]) -> io::Result<u64> {
        let mut st = self.state.lock().unwrap();
        let seq = st.next;
        let tmp = self.dir.join(format!("{seq:020}.tmp"));
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, self.path(seq))?;
        st.next += 1;
        st.entries.push_back((seq, body.len() as u64));
        st.bytes += body.len() as u64;
        let mut dropped = 0;
        while st.entries.len() > 1
            && (st.entries.len() > self.max_events || st.bytes > self.max_bytes)
        {
            let (old, len) = st.entries.pop_front().expect("non-empty");
            st.bytes -= len;
            let _ = std::fs::remove_file(self.path(old));
            dropped += 1;
        }
        Ok(dropped)
    }

    /// The oldest event, without removing it.
    pub fn peek(&self) -> Option<(u64, Vec<u8>)> {
        let mut st = self.state.lock().unwrap();
        while let Some(&(seq, len)) = st.entries.front() {
            match std::fs::read(self.path(seq)) {
                Ok(body) => return Some((seq, body)),
                Err(e) => {
                    // Removed or unreadable behind our back: skip it rather
                    // than retry it forever.
                    tracing::warn!(seq, error = %e, "notification queue: skipping unreadable event");
                    st.entries.pop_front();
                    st.bytes -= len;
                }
            }
        }
        None
    }

    /// Removes event `seq` once delivered (unless dropped meanwhile).
    pub fn ack(&self, seq: u64) {
        let mut st = self.state.lock().unwrap();
        if let Some(pos) = st.entries.iter().position(|&(s, _)| s == seq) {
            let (_, len) = st.entries.remove(pos).expect("found");
            st.bytes -= len;
            let _ = std::fs::remove_file(self.path(seq));
        }
    }

    pub fn len(&self) -> usize {
        self.state.lock().unwrap().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Queue;

    #[test]
    fn bounded_ordered_and_persistent() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(dir.path(), 3, 1 << 20).unwrap();
        for i in 0..5u8 {
            let dropped = q.push(&[b'a' + i]).unwrap();
            assert_eq!(dropped, u64::from(i >= 3));
        }
        assert_eq!(q.len(), 3);
        let (seq, body) = q.peek().unwrap();
        assert_eq!(body, b"c");
        q.ack(seq);
        drop(q);
        // A restart finds the remaining two, in order, and appends after them.
        let q = Queue::open(dir.path(), 3, 1 << 20).unwrap();
        assert_eq!(q.peek().unwrap().1, b"d");
        q.push(b"f").unwrap();
        assert_eq!(q.len(), 3);
        let bytes_bound = Queue::open(&dir.path().join("b"), 100, 4).unwrap();
        for _ in 0..3 {
            bytes_bound.push(b"xx").unwrap();
        }
        assert_eq!(bytes_bound.len(), 2);
    }
}
