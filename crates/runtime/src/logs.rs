//! Container logs in docker's json-file format: one JSON object per line,
//! `{"log":"hi\n","stream":"stdout","time":"2026-...Z"}`.

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::error::{IoContext, Result};
use crate::time;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogRecord {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// Appends records; shared by the stdout and stderr pumps.
#[derive(Clone)]
pub struct LogWriter {
    file: Arc<Mutex<File>>,
}

impl LogWriter {
    pub fn open(path: &Path) -> Result<LogWriter> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ctx(|| format!("opening {}", path.display()))?;
        Ok(LogWriter {
            file: Arc::new(Mutex::new(file)),
        })
    }

    pub fn write(&self, stream: &str, bytes: &[u8]) {
        let rec = LogRecord {
            log: String::from_utf8_lossy(bytes).into_owned(),
            stream: stream.to_string(),
            time: time::now(),
        };
        let mut line = serde_json::to_vec(&rec).unwrap_or_default();
        line.push(b'\n');
        if let Ok(mut f) = self.file.lock() {
            let _ = f.write_all(&line);
        }
    }
}

/// Copies `from` into the log as records, one per line (long lines split at
/// 16 KiB like docker), and also to `tee` when the CLI is attached.
pub fn pump(
    mut from: impl Read,
    stream: &str,
    log: &LogWriter,
    mut tee: Option<Box<dyn Write + Send>>,
) {
    const MAX_LINE: usize = 16 * 1024;
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if let Some(t) = tee.as_mut() {
            if t.write_all(&buf[..n]).and_then(|_| t.flush()).is_err() {
                tee = None;
            }
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=pos).collect();
            log.write(stream, &line);
        }
        while pending.len() >= MAX_LINE {
            let chunk: Vec<u8> = pending.drain(..MAX_LINE).collect();
            log.write(stream, &chunk);
        }
    }
    if !pending.is_empty() {
        log.write(stream, &pending);
    }
}

/// Reads records from `path` starting at byte `offset`; returns them and the
/// offset after the last complete line.
pub fn read_from(path: &Path, offset: u64) -> Result<(Vec<LogRecord>, u64)> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), offset)),
        Err(e) => {
            return Err(crate::RuntimeError::io(
                format!("reading {}", path.display()),
                e,
            ))
        }
    };
    f.seek(SeekFrom::Start(offset))
        .ctx(|| format!("reading {}", path.display()))?;
    let mut reader = BufReader::new(f);
    let mut out = Vec::new();
    let mut pos = offset;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .ctx(|| format!("reading {}", path.display()))?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        pos += n as u64;
        if let Ok(rec) = serde_json::from_str::<LogRecord>(&line) {
            out.push(rec);
        }
    }
    Ok((out, pos))
}

/// Keeps the records at or after `since` and then the last `tail` of them.
pub fn filter(
    records: Vec<LogRecord>,
    since: Option<SystemTime>,
    tail: Option<usize>,
) -> Vec<LogRecord> {
    let mut v: Vec<LogRecord> = records
        .into_iter()
        .filter(|r| match since {
            None => true,
            Some(s) => time::parse_rfc3339(&r.time).is_some_and(|t| t >= s),
        })
        .collect();
    if let Some(n) = tail {
        let skip = v.len().saturating_sub(n);
        v.drain(..skip);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pump_splits_lines_and_keeps_the_partial_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let w = LogWriter::open(&path).unwrap();
        pump(&b"one\ntwo\nthree"[..], "stdout", &w, None);
        let (recs, _) = read_from(&path, 0).unwrap();
        let logs: Vec<&str> = recs.iter().map(|r| r.log.as_str()).collect();
        assert_eq!(logs, vec!["one\n", "two\n", "three"]);
        assert_eq!(filter(recs, None, Some(1)).len(), 1);
    }
}
